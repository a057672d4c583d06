/**
 * Finds every tensor of a model whose values live in another file (`TensorProto.external_data`,
 * `data_location: EXTERNAL`) and checks that each file it names stays inside the model's own
 * version folder. A model file is untrusted input: without this, `location: ".local/stack.json"`
 * or `/etc/passwd` would make onnxruntime read any file of the serving function.
 */
import {
  fieldBytes,
  fieldInt,
  fieldString,
  ProtobufError,
  type ProtoField,
  readFields,
  WireType,
} from './protobuf.ts';

/** One file a model's tensors read, as the model names it, with the tensors that name it. */
export interface ExternalDataFile {
  /** The `location` entry, exactly as written in the model. */
  location: string;
  /** Names of the tensors stored there (`<unnamed>` for a nameless one), at most 10 kept. */
  tensors: string[];
}

/** Thrown for a model whose external data is outside its folder, or unreadable. */
export class ExternalDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExternalDataError';
  }
}

/** Nesting of subgraphs (`Loop` in `If` in …) followed before the model is refused. */
export const MAX_GRAPH_DEPTH = 64;
/** Longest `location` accepted. */
export const MAX_LOCATION_LENGTH = 255;
/** Most distinct external data files accepted for one model. */
export const MAX_EXTERNAL_FILES = 1000;

/** A path segment of a location: no `.`/`..`, no hidden files, no separators, no schemes. */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.+=-]{0,127}$/;
/** Files of the version folder that a tensor may not read. */
const RESERVED = new Set(['model.onnx', 'metadata.json', 'reference.json']);

/**
 * Why `location` is not a plain relative path inside the version folder, or `undefined` when it
 * is. Accepted: `/`-separated segments of letters, digits, `_`, `.`, `+`, `=` and `-`, each
 * starting with a letter, digit or `_`. Refused: absolute paths, `..` and `.` segments, hidden
 * files, backslashes, drive letters and URL schemes (`:`), NUL, percent-escapes, empty segments,
 * and the folder's own `model.onnx`, `metadata.json` and `reference.json`.
 *
 * @example
 * ```ts
 * externalLocationProblem('model.onnx.data');    // undefined
 * externalLocationProblem('../other/model.data'); // "'..' leaves the model's version folder"
 * ```
 */
export function externalLocationProblem(location: string): string | undefined {
  if (location.length === 0) return 'the location is empty';
  if (location.length > MAX_LOCATION_LENGTH)
    return `the location is longer than ${MAX_LOCATION_LENGTH} characters`;
  if (location.startsWith('/')) return 'absolute paths are not allowed';
  if (location.includes('\\')) return 'backslashes are not allowed';
  if (location.includes(':')) return "':' (drive letters, URLs) is not allowed";
  if (location.includes('%')) return "'%' escapes are not allowed";
  for (const segment of location.split('/')) {
    if (segment === '..') return "'..' leaves the model's version folder";
    if (segment === '.') return "'.' segments are not allowed";
    if (segment === '') return 'empty path segments are not allowed';
    if (!SEGMENT.test(segment)) {
      return `segment '${printable(segment)}' is not a plain file name (letters, digits, '_', '.', '+', '=', '-'; not starting with '.')`;
    }
  }
  if (RESERVED.has(location)) return `'${location}' is a file of the repository layout, not data`;
  return undefined;
}

/**
 * Every external data file the model's tensors name (initializers, sparse initializers,
 * constant attributes, subgraphs and functions included), in first-seen order. Throws
 * {@link ExternalDataError} naming the tensor and the reason when a location is not a plain
 * relative path inside the version folder (see {@link externalLocationProblem}).
 *
 * @example
 * ```ts
 * externalDataFiles(await readFile('model.onnx')); // [{ location: 'model.onnx.data', tensors: ['w1', 'b1'] }]
 * ```
 */
export function externalDataFiles(model: Uint8Array): ExternalDataFile[] {
  const files = new Map<string, ExternalDataFile>();
  const add = (location: string, tensor: string): void => {
    const problem = externalLocationProblem(location);
    if (problem !== undefined) {
      throw new ExternalDataError(
        `tensor '${printable(tensor)}' reads external data at '${printable(location)}': ${problem}`,
      );
    }
    let file = files.get(location);
    if (file === undefined) {
      if (files.size >= MAX_EXTERNAL_FILES) {
        throw new ExternalDataError(`the model names more than ${MAX_EXTERNAL_FILES} external data files`);
      }
      file = { location, tensors: [] };
      files.set(location, file);
    }
    if (file.tensors.length < 10) file.tensors.push(tensor);
  };
  try {
    for (const field of readFields(model)) {
      if (field.fieldNumber === 7 && field.wireType === WireType.LengthDelimited)
        walkGraph(fieldBytes(field), add, 0);
      // FunctionProto.node (field 7 of a function)
      if (field.fieldNumber === 25 && field.wireType === WireType.LengthDelimited) {
        for (const inner of readFields(fieldBytes(field))) {
          if (inner.fieldNumber === 7 && inner.wireType === WireType.LengthDelimited)
            walkNode(fieldBytes(inner), add, 1);
        }
      }
    }
  } catch (error) {
    // Bytes that are not a readable model name no files; onnxruntime refuses them on its own.
    // (Its process runs in an empty private directory all the same: see `sandbox.ts`.)
    if (error instanceof ProtobufError) return [...files.values()];
    throw error;
  }
  return [...files.values()];
}

type Add = (location: string, tensor: string) => void;

function walkGraph(graph: Uint8Array, add: Add, depth: number): void {
  if (depth > MAX_GRAPH_DEPTH)
    throw new ExternalDataError(`subgraphs are nested deeper than ${MAX_GRAPH_DEPTH}`);
  for (const field of readFields(graph)) {
    if (field.wireType !== WireType.LengthDelimited) continue;
    if (field.fieldNumber === 1) walkNode(fieldBytes(field), add, depth);
    else if (field.fieldNumber === 5) walkTensor(fieldBytes(field), add);
    else if (field.fieldNumber === 15) walkSparse(fieldBytes(field), add);
  }
}

function walkNode(node: Uint8Array, add: Add, depth: number): void {
  for (const field of readFields(node)) {
    if (field.fieldNumber !== 5 || field.wireType !== WireType.LengthDelimited) continue;
    // AttributeProto: t = 5, g = 6, tensors = 10, graphs = 11, sparse_tensor = 22, sparse_tensors = 23
    for (const attribute of readFields(fieldBytes(field))) {
      if (attribute.wireType !== WireType.LengthDelimited) continue;
      const bytes = fieldBytes(attribute);
      if (attribute.fieldNumber === 5 || attribute.fieldNumber === 10) walkTensor(bytes, add);
      else if (attribute.fieldNumber === 6 || attribute.fieldNumber === 11) walkGraph(bytes, add, depth + 1);
      else if (attribute.fieldNumber === 22 || attribute.fieldNumber === 23) walkSparse(bytes, add);
    }
  }
}

function walkSparse(sparse: Uint8Array, add: Add): void {
  for (const field of readFields(sparse)) {
    if ((field.fieldNumber === 1 || field.fieldNumber === 2) && field.wireType === WireType.LengthDelimited) {
      walkTensor(fieldBytes(field), add);
    }
  }
}

/** TensorProto: name = 8, external_data = 13 (key 1, value 2), data_location = 14. */
function walkTensor(tensor: Uint8Array, add: Add): void {
  let name = '';
  let location: string | undefined;
  let external = false;
  for (const field of readFields(tensor)) {
    if (field.fieldNumber === 8 && field.wireType === WireType.LengthDelimited) name = fieldString(field);
    else if (field.fieldNumber === 14 && field.wireType === WireType.Varint) external = fieldInt(field) === 1;
    else if (field.fieldNumber === 13 && field.wireType === WireType.LengthDelimited) {
      external = true;
      const entry = readEntry(field);
      if (entry.key === 'location') location = entry.value;
    }
  }
  if (!external) return;
  const label = name === '' ? '<unnamed>' : name;
  if (location === undefined) {
    throw new ExternalDataError(`tensor '${printable(label)}' is stored externally but names no location`);
  }
  add(location, label);
}

function readEntry(field: ProtoField): { key: string; value: string } {
  let key = '';
  let value = '';
  for (const inner of readFields(fieldBytes(field))) {
    if (inner.wireType !== WireType.LengthDelimited) continue;
    if (inner.fieldNumber === 1) key = fieldString(inner);
    else if (inner.fieldNumber === 2) value = fieldString(inner);
  }
  return { key, value };
}

/** At most 80 characters, control characters shown as `?`. */
function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is replaced
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 79)}…` : clean;
}
