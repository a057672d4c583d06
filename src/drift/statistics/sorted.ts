/**
 * Sorted finite samples and the order-statistic helpers built on them. Everything downstream
 * (profiles, KS, Wasserstein, PSI, histograms) works from one sorted copy per column.
 */

/** The finite values of a column, sorted ascending, and how many were missing. */
export interface SortedSample {
  kind: 'sorted';
  values: Float64Array;
  /** NaN, ±Infinity, null and undefined entries. */
  missing: number;
}

/**
 * Copies the finite values of `values` into a sorted `Float64Array` (the input is not modified).
 *
 * @example
 * ```ts
 * prepareNumeric([3, Number.NaN, 1, null]); // { kind: 'sorted', values: Float64Array [1, 3], missing: 2 }
 * ```
 */
export function prepareNumeric(values: ArrayLike<number | null | undefined>): SortedSample {
  let finite = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'number' && Number.isFinite(v)) finite++;
  }
  const sorted = new Float64Array(finite);
  let j = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'number' && Number.isFinite(v)) sorted[j++] = v;
  }
  sorted.sort();
  return { kind: 'sorted', values: sorted, missing: values.length - finite };
}

/**
 * Linear-interpolation quantile of sorted values (Hyndman & Fan type 7, NumPy's default).
 *
 * @example
 * ```ts
 * quantileSorted(Float64Array.of(1, 2, 3, 4), 0.5); // 2.5
 * ```
 */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * Math.min(1, Math.max(0, p));
  const lo = Math.floor(h);
  const a = sorted[lo] ?? Number.NaN;
  const b = sorted[Math.min(lo + 1, n - 1)] ?? Number.NaN;
  return a === b ? a : a + (h - lo) * (b - a);
}

/**
 * Index of the first element greater than or equal to `x` (the count of elements below `x`).
 *
 * @example
 * ```ts
 * lowerBound([1, 2, 2, 3], 2); // 1
 * ```
 */
export function lowerBound(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? Number.NaN) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Index of the first element greater than `x` (the count of elements at or below `x`).
 *
 * @example
 * ```ts
 * upperBound([1, 2, 2, 3], 2); // 3
 * ```
 */
export function upperBound(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? Number.NaN) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Distinct values of sorted data with their counts, or null as soon as there are more than `limit`.
 *
 * @example
 * ```ts
 * valueCounts([1, 1, 2], 5); // { values: [1, 2], counts: [2, 1] }
 * ```
 */
export function valueCounts(
  sorted: ArrayLike<number>,
  limit: number,
): { values: number[]; counts: number[] } | null {
  const values: number[] = [];
  const counts: number[] = [];
  let i = 0;
  while (i < sorted.length) {
    const v = sorted[i] ?? Number.NaN;
    const end = upperBound(sorted, v);
    if (values.length === limit) return null;
    values.push(v);
    counts.push(end - i);
    i = end;
  }
  return { values, counts };
}

/**
 * Number of distinct values in sorted data.
 *
 * @example
 * ```ts
 * countDistinct([1, 1, 2, 5]); // 3
 * ```
 */
export function countDistinct(sorted: ArrayLike<number>): number {
  let distinct = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
  }
  return distinct;
}
