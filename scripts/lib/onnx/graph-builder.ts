/**
 * The project's own ONNX graph builder: a typed description of a model in, serialized
 * `ModelProto` bytes out, ready for `InferenceSession.create(bytes)` or an S3 upload.
 *
 * Field numbers follow onnx.proto. Repeated scalars that onnx.proto declares without
 * `[packed = true]` (dims, attribute ints/floats) are written unpacked, as the ONNX tools do.
 */

import { toFloat16Bits } from '../../../src/codec/float16.ts';
import { type ElemType, ONNX_ELEM_TYPE } from '../../../src/onnx/elem-types.ts';
import { ProtoWriter } from '../../../src/onnx/protobuf-writer.ts';

export type { ElemType } from '../../../src/onnx/elem-types.ts';

/** Element values of a tensor; the element type decides how they are written. */
export type TensorData =
  | readonly number[]
  | readonly bigint[]
  | readonly boolean[]
  | readonly string[]
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/**
 * A constant tensor, row-major. Numeric data is written as little-endian `raw_data`, strings as
 * `string_data`. `float16` takes numbers and rounds them to half precision.
 */
export interface TensorValue {
  name?: string;
  elemType: ElemType;
  dims: readonly number[];
  data: TensorData;
}

/** A named constant tensor of the graph (an ONNX initializer). */
export interface Initializer extends TensorValue {
  name: string;
  /**
   * Store the values in an external file instead: `location` is written as given (hostile paths
   * included, for tests), `data` is then left out of the model and must be empty; the caller
   * writes the file. `offset`/`length` are written when given.
   */
  externalData?: ExternalDataRef;
}

/** The `external_data` entries of a tensor kept outside the model file. */
export interface ExternalDataRef {
  location: string;
  offset?: number;
  length?: number;
  /** Extra entries written as they are (e.g. `checksum`). */
  extra?: Readonly<Record<string, string>>;
}

/** A subgraph, for `Loop`, `If` and `Scan` attributes. */
export interface GraphSpec {
  name?: string;
  inputs: readonly ValueInfo[];
  outputs: readonly ValueInfo[];
  initializers?: readonly Initializer[];
  nodes: readonly NodeSpec[];
}

/**
 * A graph input or output.
 *
 * - `elemType` is a builder name (`'float32'`, `'int64'`, …) or a raw `TensorProto.DataType` number
 *   for types the builder cannot write data for (e.g. `16`, bfloat16).
 * - `shape`: a number is a fixed dimension, a string a symbolic one (`'batch'`), `null` a dimension
 *   with neither; leave `shape` out for a tensor of unknown rank.
 * - `sequence: true` declares a sequence of such tensors instead of a tensor.
 */
export interface ValueInfo {
  name: string;
  elemType: ElemType | number;
  shape?: readonly (number | string | null)[];
  sequence?: boolean;
  docString?: string;
}

/**
 * A node attribute. The key says which AttributeProto type is written, so `1` never turns into
 * a float by accident: `{ int: 1 }` is INT, `{ float: 1 }` is FLOAT.
 */
export type AttributeValue =
  | { float: number }
  | { int: number | bigint }
  | { string: string | Uint8Array }
  | { tensor: TensorValue }
  | { graph: GraphSpec }
  | { floats: ArrayLike<number> }
  | { ints: readonly (number | bigint)[] | BigInt64Array }
  | { strings: readonly (string | Uint8Array)[] };

/** One operator application. `inputs` may contain `''` for an omitted optional input. */
export interface NodeSpec {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  domain?: string;
  attributes?: Readonly<Record<string, AttributeValue>>;
  docString?: string;
}

/** An operator set the model uses; `domain: ''` is the default ONNX domain. */
export interface OpsetImport {
  domain: string;
  version: number;
}

/** Everything {@link buildOnnxModel} writes. */
export interface OnnxModelSpec {
  /** ONNX IR version; default 8. */
  irVersion?: number;
  /** Default `'lambda-onnx-serve'`. */
  producerName?: string;
  producerVersion?: string;
  /** Default `[{ domain: '', version: 17 }]`. */
  opsetImports?: readonly OpsetImport[];
  docString?: string;
  /** Written as `metadata_props`. */
  metadata?: Readonly<Record<string, string>>;
  /** Default `'main'`. */
  graphName?: string;
  graphDocString?: string;
  inputs: readonly ValueInfo[];
  outputs: readonly ValueInfo[];
  initializers?: readonly Initializer[];
  nodes: readonly NodeSpec[];
}

/** Default opset: ONNX 17, which onnxruntime 1.x fully supports. */
export const DEFAULT_OPSET_IMPORTS: readonly OpsetImport[] = [{ domain: '', version: 17 }];

const ATTRIBUTE_TYPE = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

/**
 * Serializes a model description to ONNX `ModelProto` bytes.
 *
 * @example
 * ```ts
 * const bytes = buildOnnxModel({
 *   inputs: [{ name: 'x', elemType: 'float32', shape: ['batch', 3] }],
 *   outputs: [{ name: 'y', elemType: 'float32', shape: ['batch', 3] }],
 *   nodes: [{ opType: 'Relu', inputs: ['x'], outputs: ['y'] }],
 * });
 * const session = await InferenceSession.create(bytes);
 * ```
 */
export function buildOnnxModel(spec: OnnxModelSpec): Uint8Array {
  const model = new ProtoWriter();
  model.varint(1, spec.irVersion ?? 8);
  model.string(2, spec.producerName ?? 'lambda-onnx-serve');
  if (spec.producerVersion !== undefined) model.string(3, spec.producerVersion);
  if (spec.docString !== undefined) model.string(6, spec.docString);
  model.message(7, (graph) => writeGraph(graph, spec));
  for (const opset of spec.opsetImports ?? DEFAULT_OPSET_IMPORTS) {
    model.message(8, (entry) => {
      if (opset.domain !== '') entry.string(1, opset.domain);
      entry.varint(2, opset.version);
    });
  }
  for (const [key, value] of Object.entries(spec.metadata ?? {})) {
    model.message(14, (entry) => entry.string(1, key).string(2, value));
  }
  return model.finish();
}

/**
 * Serializes one tensor as an ONNX `TensorProto` (the format of the backend tests' `*.pb` files).
 *
 * @example
 * ```ts
 * const pb = encodeTensorProto({ name: 'x', elemType: 'int64', dims: [2], data: [1n, -1n] });
 * ```
 */
export function encodeTensorProto(tensor: TensorValue): Uint8Array {
  const writer = new ProtoWriter();
  writeTensor(writer, tensor);
  return writer.finish();
}

function writeGraph(
  graph: ProtoWriter,
  spec: GraphSpec & { graphName?: string; graphDocString?: string },
): void {
  for (const node of spec.nodes) graph.message(1, (writer) => writeNode(writer, node));
  graph.string(2, spec.graphName ?? spec.name ?? 'main');
  for (const initializer of spec.initializers ?? []) {
    graph.message(5, (writer) =>
      initializer.externalData === undefined
        ? writeTensor(writer, initializer)
        : writeExternalTensor(writer, initializer, initializer.externalData),
    );
  }
  if (spec.graphDocString !== undefined) graph.string(10, spec.graphDocString);
  for (const input of spec.inputs) graph.message(11, (writer) => writeValueInfo(writer, input));
  for (const output of spec.outputs) graph.message(12, (writer) => writeValueInfo(writer, output));
}

function writeNode(writer: ProtoWriter, node: NodeSpec): void {
  for (const input of node.inputs) writer.string(1, input);
  for (const output of node.outputs) writer.string(2, output);
  if (node.name !== undefined) writer.string(3, node.name);
  writer.string(4, node.opType);
  for (const [name, value] of Object.entries(node.attributes ?? {})) {
    writer.message(5, (attribute) => writeAttribute(attribute, name, value));
  }
  if (node.docString !== undefined) writer.string(6, node.docString);
  if (node.domain !== undefined && node.domain !== '') writer.string(7, node.domain);
}

function writeAttribute(writer: ProtoWriter, name: string, value: AttributeValue): void {
  writer.string(1, name);
  if ('float' in value) {
    writer.float(2, value.float).varint(20, ATTRIBUTE_TYPE.FLOAT);
  } else if ('int' in value) {
    writer.varint(3, checkedInt64(value.int, `attribute ${name}`)).varint(20, ATTRIBUTE_TYPE.INT);
  } else if ('string' in value) {
    writeStringOrBytes(writer, 4, value.string);
    writer.varint(20, ATTRIBUTE_TYPE.STRING);
  } else if ('tensor' in value) {
    const tensor = value.tensor;
    writer.message(5, (nested) => writeTensor(nested, tensor)).varint(20, ATTRIBUTE_TYPE.TENSOR);
  } else if ('graph' in value) {
    const subgraph = value.graph;
    writer.message(6, (nested) => writeGraph(nested, subgraph)).varint(20, ATTRIBUTE_TYPE.GRAPH);
  } else if ('floats' in value) {
    for (let i = 0; i < value.floats.length; i++) writer.float(7, value.floats[i] ?? 0);
    writer.varint(20, ATTRIBUTE_TYPE.FLOATS);
  } else if ('ints' in value) {
    for (const int of value.ints) writer.varint(8, checkedInt64(int, `attribute ${name}`));
    writer.varint(20, ATTRIBUTE_TYPE.INTS);
  } else {
    for (const string of value.strings) writeStringOrBytes(writer, 9, string);
    writer.varint(20, ATTRIBUTE_TYPE.STRINGS);
  }
}

function writeStringOrBytes(writer: ProtoWriter, fieldNumber: number, value: string | Uint8Array): void {
  if (typeof value === 'string') writer.string(fieldNumber, value);
  else writer.bytes(fieldNumber, value);
}

function writeValueInfo(writer: ProtoWriter, info: ValueInfo): void {
  writer.string(1, info.name);
  const elemType = typeof info.elemType === 'number' ? info.elemType : ONNX_ELEM_TYPE[info.elemType];
  const writeTensorType = (type: ProtoWriter): void => {
    type.message(1, (tensorType) => {
      tensorType.varint(1, elemType);
      const shape = info.shape;
      if (shape === undefined) return;
      tensorType.message(2, (shapeProto) => {
        for (const dim of shape) {
          shapeProto.message(1, (dimension) => {
            if (typeof dim === 'number') dimension.varint(1, checkedDim(dim, info.name));
            else if (typeof dim === 'string') dimension.string(2, dim);
          });
        }
      });
    });
  };
  writer.message(2, (type) => {
    if (info.sequence) type.message(4, (sequence) => sequence.message(1, writeTensorType));
    else writeTensorType(type);
  });
  if (info.docString !== undefined) writer.string(3, info.docString);
}

/** A tensor whose values live in a file: dims, type, name, `external_data` entries, `data_location: EXTERNAL`. */
function writeExternalTensor(writer: ProtoWriter, tensor: Initializer, external: ExternalDataRef): void {
  if (tensor.data.length !== 0)
    throw new RangeError(`tensor ${tensor.name}: external data with inline values`);
  for (const dim of tensor.dims) writer.varint(1, checkedDim(dim, `tensor ${tensor.name}`));
  writer.varint(2, ONNX_ELEM_TYPE[tensor.elemType]);
  writer.string(8, tensor.name);
  const entries: [string, string][] = [['location', external.location]];
  if (external.offset !== undefined) entries.push(['offset', String(external.offset)]);
  if (external.length !== undefined) entries.push(['length', String(external.length)]);
  entries.push(...Object.entries(external.extra ?? {}));
  for (const [key, value] of entries) writer.message(13, (entry) => entry.string(1, key).string(2, value));
  writer.varint(14, 1);
}

function writeTensor(writer: ProtoWriter, tensor: TensorValue): void {
  const label = tensor.name === undefined ? 'tensor' : `tensor ${tensor.name}`;
  const count = tensor.dims.reduce((product, dim) => product * checkedDim(dim, label), 1);
  if (tensor.data.length !== count) {
    throw new RangeError(
      `${label}: dims [${tensor.dims.join(', ')}] need ${count} values, got ${tensor.data.length}`,
    );
  }
  for (const dim of tensor.dims) writer.varint(1, dim);
  writer.varint(2, ONNX_ELEM_TYPE[tensor.elemType]);
  if (tensor.name !== undefined) writer.string(8, tensor.name);
  if (tensor.elemType === 'string') {
    for (let i = 0; i < count; i++) {
      const value = tensor.data[i];
      if (typeof value !== 'string') throw new TypeError(`${label}: element ${i} is not a string`);
      writer.string(6, value);
    }
    return;
  }
  writer.bytes(9, rawData(tensor.elemType, tensor.data, label));
}

const BYTES_PER_ELEMENT: Record<Exclude<ElemType, 'string'>, number> = {
  float32: 4,
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  int32: 4,
  int64: 8,
  bool: 1,
  float16: 2,
  float64: 8,
  uint32: 4,
  uint64: 8,
};

/** How to check and write one element of a type, little-endian. */
interface ElementCodec {
  accepts(value: unknown): boolean;
  /** Only called with values `accepts` allowed. */
  write(view: DataView, offset: number, value: unknown): void;
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

const isNumber = (value: unknown): boolean => typeof value === 'number';
const integerIn =
  (min: number, max: number) =>
  (value: unknown): boolean =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
const bigIntIn =
  (min: bigint, max: bigint) =>
  (value: unknown): boolean => {
    const big = toBigInt(value);
    return big !== undefined && big >= min && big <= max;
  };

const ELEMENT_CODECS: Record<Exclude<ElemType, 'string'>, ElementCodec> = {
  float32: {
    accepts: isNumber,
    write: (view, offset, value) => view.setFloat32(offset, Number(value), true),
  },
  float64: {
    accepts: isNumber,
    write: (view, offset, value) => view.setFloat64(offset, Number(value), true),
  },
  float16: {
    accepts: isNumber,
    write: (view, offset, value) => view.setUint16(offset, toFloat16Bits(Number(value)), true),
  },
  bool: {
    accepts: (value) => typeof value === 'boolean' || value === 0 || value === 1,
    write: (view, offset, value) => view.setUint8(offset, value ? 1 : 0),
  },
  uint8: {
    accepts: integerIn(0, 0xff),
    write: (view, offset, value) => view.setUint8(offset, Number(value)),
  },
  int8: {
    accepts: integerIn(-0x80, 0x7f),
    write: (view, offset, value) => view.setInt8(offset, Number(value)),
  },
  uint16: {
    accepts: integerIn(0, 0xffff),
    write: (view, offset, value) => view.setUint16(offset, Number(value), true),
  },
  int16: {
    accepts: integerIn(-0x8000, 0x7fff),
    write: (view, offset, value) => view.setInt16(offset, Number(value), true),
  },
  uint32: {
    accepts: integerIn(0, 0xffffffff),
    write: (view, offset, value) => view.setUint32(offset, Number(value), true),
  },
  int32: {
    accepts: integerIn(-0x80000000, 0x7fffffff),
    write: (view, offset, value) => view.setInt32(offset, Number(value), true),
  },
  int64: {
    accepts: bigIntIn(INT64_MIN, INT64_MAX),
    write: (view, offset, value) => view.setBigInt64(offset, toBigInt(value) ?? 0n, true),
  },
  uint64: {
    accepts: bigIntIn(0n, UINT64_MAX),
    write: (view, offset, value) => view.setBigUint64(offset, toBigInt(value) ?? 0n, true),
  },
};

function rawData(elemType: Exclude<ElemType, 'string'>, data: TensorData, label: string): Uint8Array {
  const width = BYTES_PER_ELEMENT[elemType];
  const codec = ELEMENT_CODECS[elemType];
  const bytes = new Uint8Array(data.length * width);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) {
    const value = data[i];
    if (!codec.accepts(value)) {
      throw new RangeError(`${label}: element ${i} (${String(value)}) is not a valid ${elemType}`);
    }
    codec.write(view, i * width, value);
  }
  return bytes;
}

function toBigInt(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value;
  return typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : undefined;
}

function checkedInt64(value: number | bigint, label: string): bigint {
  const big = toBigInt(value);
  if (big === undefined || big < INT64_MIN || big > INT64_MAX)
    throw new RangeError(`${label}: ${value} is not an int64`);
  return big;
}

function checkedDim(dim: number, label: string): number {
  if (!Number.isSafeInteger(dim) || dim < 0) throw new RangeError(`${label}: dimension ${dim} is not a size`);
  return dim;
}
