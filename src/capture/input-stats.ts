/**
 * Summaries of tensor inputs, per prediction: what drift monitoring compares for models whose
 * inputs are not named features (images, sequences, several tensors). Each input of a prediction
 * becomes six numbers, named `{input}.{stat}`, the usual per-sample statistics of tensor drift
 * monitors: mean, standard deviation, minimum, maximum, L2 norm and share of NaN elements.
 */

/** The statistics of one input, in the order they are named. */
export const INPUT_STATS = ['mean', 'std', 'min', 'max', 'l2', 'nan_share'] as const;
export type InputStat = (typeof INPUT_STATS)[number];

/**
 * The feature names of an input's statistics.
 *
 * @example
 * ```ts
 * inputStatNames('image'); // ['image.mean', 'image.std', 'image.min', 'image.max', 'image.l2', 'image.nan_share']
 * ```
 */
export function inputStatNames(input: string): string[] {
  return INPUT_STATS.map((stat) => `${input}.${stat}`);
}

/**
 * Writes the statistics of `values[from…to)` into `into` under the input's stat names. Numbers,
 * bigints and booleans count; strings count by their length (the only number a text has without
 * a tokenizer). Statistics of no finite value are `null`.
 *
 * @example
 * ```ts
 * const stats = {};
 * addInputStats(stats, 'x', [3, 4, Number.NaN], 0, 3);
 * // stats: { 'x.mean': 3.5, 'x.std': 0.5, 'x.min': 3, 'x.max': 4, 'x.l2': 5, 'x.nan_share': 0.333… }
 * ```
 */
export function addInputStats(
  into: Record<string, number | null>,
  input: string,
  values: ArrayLike<unknown>,
  from: number,
  to: number,
): void {
  let count = 0;
  let nan = 0;
  let sum = 0;
  let squares = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = from; i < to; i++) {
    const value = numberOf(values[i]);
    if (!Number.isFinite(value)) {
      if (Number.isNaN(value)) nan++;
      continue;
    }
    count++;
    sum += value;
    squares += value * value;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const total = to - from;
  const mean = count === 0 ? null : sum / count;
  into[`${input}.mean`] = mean;
  into[`${input}.std`] = mean === null ? null : Math.sqrt(Math.max(0, squares / count - mean * mean));
  into[`${input}.min`] = count === 0 ? null : min;
  into[`${input}.max`] = count === 0 ? null : max;
  into[`${input}.l2`] = count === 0 ? null : Math.sqrt(squares);
  into[`${input}.nan_share`] = total === 0 ? null : nan / total;
}

function numberOf(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    // The codec writes non-finite floats as text.
    if (value === 'NaN') return Number.NaN;
    if (value === 'Infinity') return Number.POSITIVE_INFINITY;
    if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
    return value.length;
  }
  return Number.NaN;
}
