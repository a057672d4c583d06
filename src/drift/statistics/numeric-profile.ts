/**
 * Building numeric profiles from data. Sorting once (O(n log n)) gives every summary in O(n).
 */
import { DEFAULT_SKETCH_SIZE, midQuantiles } from './sketch.ts';
import {
  countDistinct,
  lowerBound,
  prepareNumeric,
  quantileSorted,
  type SortedSample,
  upperBound,
  valueCounts,
} from './sorted.ts';
import type { Histogram, NumericProfile } from './types.ts';

export const DEFAULT_HISTOGRAM_BINS = 20;
export const DEFAULT_PSI_BINS = 10;
/** Exact value counts are kept up to this many distinct values (Evidently's n_unique rule needs 5). */
export const DISCRETE_LIMIT = 20;
export const PROFILE_QUANTILES: readonly number[] = [0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1];

/** Binning taken from a reference profile, so that current profiles line up with it. */
export type NumericBinning = Pick<NumericProfile, 'histogram' | 'psiBins'>;

export interface NumericProfileOptions {
  /** Atoms kept when there are more values than this (default 1000). */
  sketchSize?: number;
  /** Equal-width histogram bins (default 20); ignored with `binning`. */
  histogramBins?: number;
  /** Quantile bins for PSI (default 10, deciles); ignored with `binning`. */
  psiBins?: number;
  /** Use these histogram edges and PSI cuts (a reference's) instead of deriving them from the data. */
  binning?: NumericBinning;
}

/**
 * Summarises a numeric column: counts, moments, quantiles, histogram, PSI bins and a bounded
 * sketch that KS and Wasserstein can run against without the raw rows.
 *
 * @example
 * ```ts
 * const profile = buildNumericProfile(Float64Array.of(1, 2, 3, Number.NaN));
 * profile.count; // 3
 * profile.missing; // 1
 * profile.sketch; // { exact: true, values: [1, 2, 3] }
 * ```
 */
export function buildNumericProfile(
  values: ArrayLike<number | null | undefined> | SortedSample,
  options: NumericProfileOptions = {},
): NumericProfile {
  const sample = isSortedSample(values) ? values : prepareNumeric(values);
  const sorted = sample.values;
  const n = sorted.length;
  const sketchSize = checkedSize(options.sketchSize ?? DEFAULT_SKETCH_SIZE, 'sketchSize');
  const min = n > 0 ? (sorted[0] ?? null) : null;
  const max = n > 0 ? (sorted[n - 1] ?? null) : null;
  const { mean, std } = moments(sorted);
  const edges =
    options.binning?.histogram.edges ??
    equalWidthEdges(min, max, checkedSize(options.histogramBins ?? DEFAULT_HISTOGRAM_BINS, 'histogramBins'));
  const cuts =
    options.binning?.psiBins.cuts ??
    quantileCuts(sorted, checkedSize(options.psiBins ?? DEFAULT_PSI_BINS, 'psiBins'));
  return {
    kind: 'numeric',
    count: n,
    missing: sample.missing,
    min,
    max,
    mean,
    std,
    distinct: countDistinct(sorted),
    quantiles: n === 0 ? [] : PROFILE_QUANTILES.map((p) => ({ p, value: quantileSorted(sorted, p) })),
    discrete: valueCounts(sorted, DISCRETE_LIMIT),
    histogram: histogramOf(sorted, edges),
    psiBins: { cuts: [...cuts], counts: binCounts(sorted, cuts) },
    sketch:
      n <= sketchSize
        ? { exact: true, values: Array.from(sorted) }
        : { exact: false, values: Array.from(midQuantiles(sorted, null, sketchSize)) },
  };
}

/**
 * `bins` equal-width bin edges from `min` to `max` (a single bin when they are equal, no edges
 * without data).
 *
 * @example
 * ```ts
 * equalWidthEdges(0, 1, 4); // [0, 0.25, 0.5, 0.75, 1]
 * ```
 */
export function equalWidthEdges(min: number | null, max: number | null, bins: number): number[] {
  if (min === null || max === null) return [];
  if (min === max) return [min, max];
  const edges = new Array<number>(bins + 1);
  for (let i = 0; i < bins; i++) edges[i] = min + ((max - min) * i) / bins;
  edges[bins] = max;
  return edges;
}

/**
 * Counts sorted values into [e_i, e_i+1) bins, the last one closed, with values outside the edges
 * counted in `below` / `above` (NumPy's `histogram` convention inside the edges).
 *
 * @example
 * ```ts
 * histogramOf(Float64Array.of(-1, 0, 0.5, 1, 2), [0, 0.5, 1]); // counts [1, 2], below 1, above 1
 * ```
 */
export function histogramOf(sorted: ArrayLike<number>, edges: readonly number[]): Histogram {
  const n = sorted.length;
  const bins = Math.max(0, edges.length - 1);
  if (bins === 0) return { edges: [...edges], counts: [], below: 0, above: n };
  const counts = new Array<number>(bins);
  const below = lowerBound(sorted, edges[0] ?? Number.NaN);
  let start = below;
  for (let i = 0; i < bins; i++) {
    const edge = edges[i + 1] ?? Number.NaN;
    const end = i === bins - 1 ? upperBound(sorted, edge) : lowerBound(sorted, edge);
    counts[i] = end - start;
    start = end;
  }
  return { edges: [...edges], counts, below, above: n - start };
}

/**
 * Cut points for `bins` quantile bins: the type-7 quantiles at i/bins, deduplicated, dropping any
 * at the maximum so the last bin (cut, ∞) keeps reference mass.
 *
 * @example
 * ```ts
 * quantileCuts(Float64Array.of(1, 2, 3, 4, 5), 2); // [3]
 * ```
 */
export function quantileCuts(sorted: ArrayLike<number>, bins: number): number[] {
  const n = sorted.length;
  const cuts: number[] = [];
  if (n === 0) return cuts;
  const max = sorted[n - 1] ?? Number.NaN;
  for (let i = 1; i < bins; i++) {
    const cut = quantileSorted(sorted, i / bins);
    if (cut < max && cut !== cuts[cuts.length - 1]) cuts.push(cut);
  }
  return cuts;
}

/**
 * Counts sorted values into right-closed bins (-∞, c0], (c0, c1], …, (c_last, ∞).
 *
 * @example
 * ```ts
 * binCounts(Float64Array.of(1, 2, 3, 4, 5), [3]); // [3, 2]
 * ```
 */
export function binCounts(sorted: ArrayLike<number>, cuts: readonly number[]): number[] {
  const counts: number[] = [];
  let start = 0;
  for (const cut of cuts) {
    const end = upperBound(sorted, cut);
    counts.push(end - start);
    start = end;
  }
  counts.push(sorted.length - start);
  return counts;
}

function moments(sorted: Float64Array): { mean: number | null; std: number | null } {
  const n = sorted.length;
  if (n === 0) return { mean: null, std: null };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i] ?? 0;
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const d = (sorted[i] ?? 0) - mean;
    squares += d * d;
  }
  return { mean, std: Math.sqrt(squares / n) };
}

function isSortedSample(values: unknown): values is SortedSample {
  return typeof values === 'object' && values !== null && (values as { kind?: unknown }).kind === 'sorted';
}

function checkedSize(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
