import type { Tensor } from 'onnxruntime-node';
import { BadRequestError, ModelUnavailableError } from '../errors.ts';
import type { RequestOutput, ResponseOutput, TensorElement } from '../types.ts';
import { datatypeOfOrtType } from './datatypes.ts';
import { listNames, quote } from './describe.ts';
import { fromFloat16Bits } from './float16.ts';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The output names to fetch from `session.run`: the requested ones in request order, or every
 * model output when the request names none (an absent or empty `outputs`).
 *
 * @throws BadRequestError for a requested output the model does not have, listing the ones it has.
 * @example
 * ```ts
 * selectOutputs([{ name: 'probabilities' }], ['label', 'probabilities']); // ['probabilities']
 * ```
 */
export function selectOutputs(requested: RequestOutput[] | undefined, modelOutputs: string[]): string[] {
  if (requested === undefined || requested.length === 0) return [...modelOutputs];
  const available = new Set(modelOutputs);
  const names = new Set<string>();
  for (const { name } of requested) {
    if (!available.has(name)) {
      throw new BadRequestError(
        `unknown output ${quote(name)}; the model's outputs are ${listNames(modelOutputs)}`,
      );
    }
    names.add(name);
  }
  return [...names];
}

/**
 * Encodes onnxruntime results as protocol outputs `{name, datatype, shape, data}` with flat
 * row-major data, in the order of `requested` (or of `results` when no output was requested).
 *
 * Elements, by datatype:
 * - FP16, FP32, FP64: numbers. NaN, Infinity and -Infinity are not JSON numbers, so they are
 *   written as the strings `"NaN"`, `"Infinity"` and `"-Infinity"`: valid JSON that keeps the
 *   three apart, and that `Number(x)` in JavaScript and `float(x)` / numpy in Python read back.
 *   (Triton writes bare `NaN`, which JSON parsers reject; `null` would lose which one it was.)
 * - INT64, UINT64: numbers within ±(2^53−1), exact `bigint` beyond (write the response with
 *   `stringifyJson` so they come out as exact integer digits).
 * - BOOL: booleans. BYTES: strings. Other integers: numbers.
 *
 * @throws ModelUnavailableError for an element type the protocol has no datatype for.
 * @example
 * ```ts
 * const results = await session.run(feeds, selectOutputs(request.outputs, session.outputNames));
 * const outputs = encodeOutputs(results, request.outputs);
 * ```
 */
export function encodeOutputs(
  results: Record<string, Tensor>,
  requested?: RequestOutput[],
): ResponseOutput[] {
  const names =
    requested === undefined || requested.length === 0
      ? Object.keys(results)
      : [...new Set(requested.map((output) => output.name))];
  return names.map((name) => {
    const tensor = Object.hasOwn(results, name) ? results[name] : undefined;
    // selectOutputs fetched exactly these names, so a gap is a bug here, not a client mistake.
    if (tensor === undefined) throw new Error(`output ${quote(name)} is missing from the inference results`);
    return encodeTensor(name, tensor);
  });
}

function encodeTensor(name: string, tensor: Tensor): ResponseOutput {
  const datatype = datatypeOfOrtType(tensor.type);
  if (datatype === undefined) {
    throw new ModelUnavailableError(
      `output ${quote(name)} has element type ${tensor.type}, which the Open Inference Protocol cannot carry`,
    );
  }
  return { name, datatype, shape: [...tensor.dims], data: tensorElements(tensor) };
}

/** A tensor's values as protocol JSON elements, flat row-major (see `encodeOutputs` for the rules). */
export function tensorElements(tensor: Tensor): TensorElement[] {
  const data = tensor.data;
  if (Array.isArray(data)) return [...data];
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return bigIntegers(data);
  if (tensor.type === 'bool') return booleans(data as Uint8Array);
  // Without Float16Array onnxruntime hands out half bit patterns; with it, plain numbers.
  if (tensor.type === 'float16' && data instanceof Uint16Array) return halves(data);
  return numbers(data as ArrayLike<number>);
}

function numbers(values: ArrayLike<number>): TensorElement[] {
  const out = new Array<TensorElement>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i] ?? 0;
    out[i] = Number.isFinite(value) ? value : nonFinite(value);
  }
  return out;
}

function halves(bits: Uint16Array): TensorElement[] {
  const out = new Array<TensorElement>(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const value = fromFloat16Bits(bits[i] ?? 0);
    out[i] = Number.isFinite(value) ? value : nonFinite(value);
  }
  return out;
}

function bigIntegers(values: BigInt64Array | BigUint64Array): TensorElement[] {
  const out = new Array<TensorElement>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i] ?? 0n;
    out[i] = value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value;
  }
  return out;
}

function booleans(values: Uint8Array): TensorElement[] {
  const out = new Array<TensorElement>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] !== 0;
  return out;
}

function nonFinite(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}
