import type { Tensor } from 'onnxruntime-node';
import { BadRequestError } from '../errors.ts';
import type { ModelSignature, RequestInput, TensorSpec } from '../types.ts';
import { decodeBinaryData } from './binary.ts';
import { ORT_TYPE_OF } from './datatypes.ts';
import { countOf, describeValue, formatShape, listNames, quote } from './describe.ts';
import { ELEMENT_CODECS, type ElementCodec, type TensorStorage } from './elements.ts';
import { NumberArrayText } from './number-arrays.ts';
import { ortTensor } from './ort-tensor.ts';

/**
 * Turns parsed request inputs into onnxruntime tensors, checked against the model's inputs.
 *
 * Every model input must be given exactly once, with the model's datatype, its rank (any rank when
 * the model does not declare one) and its fixed dimensions (`-1` dimensions take any size).
 * `data` may be flat or nested row-major; nested data must be rectangular and match `shape`
 * level by level. A single value stands for a one-element tensor, such as a scalar (shape `[]`).
 *
 * Elements, by datatype:
 * - FP16, FP32, FP64: finite JSON numbers only (JSON has no NaN or Infinity, and strings are
 *   refused). Values are rounded to the nearest representable one, ties to even; magnitudes beyond
 *   the type's range become ±Infinity. FP16 goes to onnxruntime as IEEE half bit patterns in a
 *   `Uint16Array`, which is what onnxruntime-node 1.30 takes for 'float16'.
 * - INT8 … UINT32: integers within the type's range.
 * - INT64, UINT64: integers within the type's range, as JSON numbers within ±(2^53−1) or as
 *   decimal strings (`"9223372036854775807"`) for values a JSON number cannot carry exactly.
 * - BOOL: `true` or `false` only; `0`/`1` are refused, as Triton does, so a wrong datatype
 *   cannot slip through.
 * - BYTES: strings, passed to onnxruntime as a string tensor.
 *
 * An input given as binary data (`input.binary`, see binary.ts) is checked for its byte size
 * instead and copied as it is.
 *
 * Flat data is converted in one pass into a preallocated typed array.
 *
 * @throws BadRequestError naming the input and the expected versus the received value.
 * @example
 * ```ts
 * const feeds = decodeInputs(request.inputs, model.signature.inputs);
 * const results = await session.run(feeds);
 * ```
 */
export function decodeInputs(
  inputs: RequestInput[],
  signature: ModelSignature['inputs'],
): Record<string, Tensor> {
  const specs = new Map(signature.map((spec) => [spec.name, spec]));
  const modelNames = signature.map((spec) => spec.name);
  const pairs: [RequestInput, TensorSpec][] = [];
  const given = new Set<string>();
  for (const input of inputs) {
    const spec = specs.get(input.name);
    if (spec === undefined) {
      throw new BadRequestError(
        `unknown input ${quote(input.name)}; the model's inputs are ${listNames(modelNames)}`,
      );
    }
    if (given.has(input.name))
      throw new BadRequestError(`input ${quote(input.name)} is given more than once`);
    given.add(input.name);
    pairs.push([input, spec]);
  }
  const missing = modelNames.filter((name) => !given.has(name));
  if (missing.length > 0) {
    throw new BadRequestError(
      `missing input ${listNames(missing)}; the model's inputs are ${listNames(modelNames)}`,
    );
  }
  // fromEntries defines properties, so even an input named '__proto__' stays a plain key.
  return Object.fromEntries(pairs.map(([input, spec]) => [input.name, decodeInput(input, spec)]));
}

function decodeInput(input: RequestInput, spec: TensorSpec): Tensor {
  const label = `input ${quote(input.name)}`;
  if (input.datatype !== spec.datatype) {
    throw new BadRequestError(`${label}: expected datatype ${spec.datatype}, got ${input.datatype}`);
  }
  checkShape(input.shape, spec.shape, label);
  const storage =
    input.binary !== undefined
      ? decodeBinaryData({ ...input, binary: input.binary })
      : decodeData(input.data, input.shape, ELEMENT_CODECS[input.datatype], label);
  return ortTensor(ORT_TYPE_OF[input.datatype], storage, input.shape);
}

function checkShape(shape: readonly number[], modelShape: readonly number[] | null, label: string): void {
  if (modelShape === null) return;
  const mismatch = `${label}: shape ${formatShape(shape)} does not match model shape ${formatShape(modelShape)}`;
  if (shape.length !== modelShape.length) {
    throw new BadRequestError(`${mismatch}: expected rank ${modelShape.length}, got ${shape.length}`);
  }
  modelShape.forEach((expected, j) => {
    if (expected >= 0 && shape[j] !== expected) {
      throw new BadRequestError(`${mismatch}: dimension ${j} expected ${expected}, got ${shape[j]}`);
    }
  });
}

function decodeData(
  data: unknown,
  shape: readonly number[],
  codec: ElementCodec,
  label: string,
): TensorStorage {
  const count = shape.reduce((product, dim) => product * dim, 1);
  if (data instanceof NumberArrayText) {
    // Scanned as float32 already (number-arrays.ts); any other case takes the general path below.
    if (codec === ELEMENT_CODECS.FP32 && data.length === count) return data.float32;
    return decodeData(data.toArray(), shape, codec, label);
  }
  const needs = `${label}: shape ${formatShape(shape)} needs ${countOf(count, 'element')}`;
  if (!Array.isArray(data)) {
    if (count !== 1) throw new BadRequestError(`${needs}, got a single value`);
    return fillRows([[data]], 1, codec, shape, label);
  }
  if (data.length > 0 && Array.isArray(data[0])) {
    if (shape.length < 2) {
      throw new BadRequestError(`${label}: data is nested deeper than shape ${formatShape(shape)} allows`);
    }
    return fillRows(collectRows(data, shape, label), count, codec, shape, label);
  }
  if (data.length !== count) throw new BadRequestError(`${needs}, got ${data.length}`);
  return fillRows([data], count, codec, shape, label);
}

/** The innermost arrays of nested data in row-major order, after checking every level against `shape`. */
function collectRows(data: unknown[], shape: readonly number[], label: string): unknown[][] {
  const rows: unknown[][] = [];
  const path: number[] = [];
  const where = () => `${label}: data${path.map((i) => `[${i}]`).join('')}`;
  const visit = (node: unknown, level: number): void => {
    const dim = shape[level] ?? 0;
    if (!Array.isArray(node)) {
      throw new BadRequestError(
        `${where()} expected an array of ${countOf(dim, 'element')} for shape ${formatShape(shape)}, got ${describeValue(node)}`,
      );
    }
    if (node.length !== dim) {
      throw new BadRequestError(
        `${where()} has ${countOf(node.length, 'element')}, expected ${dim} for shape ${formatShape(shape)}`,
      );
    }
    if (level === shape.length - 1) {
      rows.push(node);
      return;
    }
    for (let i = 0; i < node.length; i++) {
      path.push(i);
      visit(node[i], level + 1);
      path.pop();
    }
  };
  visit(data, 0);
  return rows;
}

function fillRows(
  rows: readonly unknown[][],
  count: number,
  codec: ElementCodec,
  shape: readonly number[],
  label: string,
): TensorStorage {
  const storage = codec.allocate(count);
  let offset = 0;
  for (const row of rows) {
    const bad = codec.fill(row, storage, offset);
    if (bad !== -1) {
      const value = row[bad];
      const nested = Array.isArray(value) ? ` (data is nested deeper than shape ${formatShape(shape)})` : '';
      throw new BadRequestError(
        `${label} element ${offset + bad}: expected ${codec.expected}, got ${describeValue(value)}${nested}`,
      );
    }
    offset += row.length;
  }
  return storage;
}
