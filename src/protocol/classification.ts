import { Tensor } from 'onnxruntime-node';
import { quote } from '../codec/describe.ts';
import { fromFloat16Bits } from '../codec/float16.ts';
import { BadRequestError } from '../errors.ts';
import type { RequestOutput } from '../types.ts';

/** Largest `classification` count accepted; far beyond any real number of classes. */
export const MAX_CLASSIFICATION_COUNT = 1_000_000;

const NUMERIC_TYPES = new Set([
  'float32',
  'float64',
  'float16',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
]);

/**
 * The outputs a request asks to classify, and how many classes each: `parameters.classification`
 * of a requested output (Triton's classification extension). Checked before the model runs.
 *
 * @throws BadRequestError when the count is not an integer from 1 to {@link MAX_CLASSIFICATION_COUNT}.
 * @example
 * ```ts
 * classificationCounts([{ name: 'probabilities', parameters: { classification: 2 } }]); // Map { 'probabilities' => 2 }
 * ```
 */
export function classificationCounts(requested: readonly RequestOutput[] | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (const output of requested ?? []) {
    const parameters = output.parameters;
    if (parameters === undefined || !Object.hasOwn(parameters, 'classification')) continue;
    const count = parameters.classification;
    if (count === null || count === undefined || count === false) continue;
    if (
      typeof count !== 'number' ||
      !Number.isInteger(count) ||
      count < 1 ||
      count > MAX_CLASSIFICATION_COUNT
    ) {
      throw new BadRequestError(
        `output ${quote(output.name)}: parameters.classification must be an integer from 1 to ${MAX_CLASSIFICATION_COUNT}; got ${JSON.stringify(count)}`,
      );
    }
    counts.set(output.name, count);
  }
  return counts;
}

/**
 * Replaces each classified output by its top-k classes as a BYTES tensor of strings
 * `"score:index[:label]"`, highest score first (ties: lower index first), as Triton does. An
 * output of rank 2 or more is classified per row of its first (batch) dimension: shape
 * `[batch, k]`; a scalar or vector gives shape `[k]`. `k` is capped at the number of classes.
 * Labels (config.json `labels`) are added when their count equals the number of classes.
 *
 * @throws BadRequestError for an output whose values are not numbers (BYTES, BOOL).
 */
export function classifyOutputs(
  results: Record<string, Tensor>,
  counts: ReadonlyMap<string, number>,
  labels: readonly string[] | undefined,
): Record<string, Tensor> {
  if (counts.size === 0) return results;
  const classified: Record<string, Tensor> = { ...results };
  for (const [name, count] of counts) {
    const tensor = results[name];
    if (tensor === undefined) continue;
    classified[name] = classify(name, tensor, count, labels);
  }
  return classified;
}

function classify(
  name: string,
  tensor: Tensor,
  count: number,
  labels: readonly string[] | undefined,
): Tensor {
  if (!NUMERIC_TYPES.has(tensor.type)) {
    throw new BadRequestError(
      `output ${quote(name)}: classification needs numeric scores; the output is ${tensor.type}`,
    );
  }
  const dims = tensor.dims;
  const batched = dims.length >= 2;
  const rows = batched ? (dims[0] ?? 0) : 1;
  const classes = rows === 0 ? 0 : tensor.size / rows;
  const k = Math.min(count, classes);
  const values = tensor.data as ArrayLike<number | bigint>;
  const half = tensor.type === 'float16' && values instanceof Uint16Array;
  const format = formatter(tensor.type);
  const withLabels = labels !== undefined && labels.length === classes;
  const strings: string[] = [];
  for (let row = 0; row < rows; row++) {
    const offset = row * classes;
    const order = Array.from({ length: classes }, (_, index) => index);
    const score = (index: number) => {
      const value = values[offset + index] as number | bigint;
      return half ? fromFloat16Bits(value as number) : value;
    };
    order.sort((a, b) => {
      const x = score(a);
      const y = score(b);
      if (x === y || (Number.isNaN(x) && Number.isNaN(y))) return a - b;
      if (Number.isNaN(x)) return 1;
      if (Number.isNaN(y)) return -1;
      return x > y ? -1 : 1;
    });
    for (const index of order.slice(0, k)) {
      const text = `${format(score(index))}:${index}`;
      strings.push(withLabels ? `${text}:${labels[index]}` : text);
    }
  }
  return new Tensor('string', strings, batched ? [rows, k] : [k]);
}

/** Shortest decimal that reads back as the same value in the tensor's precision. */
function formatter(type: string): (value: number | bigint) => string {
  if (type === 'float32' || type === 'float16') {
    return (value) => {
      const number = Number(value);
      if (!Number.isFinite(number)) return String(number);
      for (let digits = 1; digits < 17; digits++) {
        const text = number.toPrecision(digits);
        if (Math.fround(Number(text)) === Math.fround(number)) return String(Number(text));
      }
      return String(number);
    };
  }
  return (value) => String(value);
}
