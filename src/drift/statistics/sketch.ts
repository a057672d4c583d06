/**
 * The bounded representation of a numeric distribution kept in profiles: K equal-mass atoms at
 * the mid-quantiles (i + ½)/K, read by Hazen (type 5) interpolation so that the CDF of the atoms
 * is within 1/(2K) of the data's CDF everywhere.
 */

/** Default number of atoms: about 20 KB of JSON per feature, CDF error at most 0.0005. */
export const DEFAULT_SKETCH_SIZE = 1000;

/**
 * K atoms at the mid-quantiles of sorted `values`, each value weighing `weights[i]` (1 when
 * `weights` is omitted). Each value sits at cumulative mass position (before + w/2) / W and the
 * target probabilities (i + ½)/K are read by linear interpolation between those positions.
 *
 * @example
 * ```ts
 * midQuantiles(Float64Array.of(1, 2, 3, 4), null, 2); // Float64Array [1.5, 3.5]
 * ```
 */
export function midQuantiles(
  values: ArrayLike<number>,
  weights: ArrayLike<number> | null,
  k: number,
): Float64Array {
  const n = values.length;
  const out = new Float64Array(n === 0 ? 0 : k);
  if (n === 0) return out;
  let total = 0;
  if (weights === null) total = n;
  else for (let i = 0; i < n; i++) total += weights[i] ?? 0;

  // Targets increase with i, so one forward walk over the atoms serves them all (O(n + k)).
  let j = 0;
  let cum = 0;
  let wj = weights === null ? 1 : (weights[0] ?? 0);
  let position = wj / 2 / total;
  for (let i = 0; i < k; i++) {
    const p = (i + 0.5) / k;
    while (j < n - 1) {
      const wNext = weights === null ? 1 : (weights[j + 1] ?? 0);
      const nextPosition = (cum + wj + wNext / 2) / total;
      if (nextPosition > p) break;
      cum += wj;
      wj = wNext;
      position = nextPosition;
      j++;
    }
    const v = values[j] ?? Number.NaN;
    if (p <= position || j === n - 1) {
      out[i] = v;
      continue;
    }
    const wNext = weights === null ? 1 : (weights[j + 1] ?? 0);
    const nextPosition = (cum + wj + wNext / 2) / total;
    const next = values[j + 1] ?? v;
    out[i] = v + ((p - position) / (nextPosition - position)) * (next - v);
  }
  return out;
}

/**
 * Quantile `p` read from a sketch: piecewise-linear through (0, min), ((i + ½)/K, atom i), (1, max).
 *
 * @example
 * ```ts
 * sketchQuantile([1.5, 3.5], 1, 4, 0.5); // 2.5
 * ```
 */
export function sketchQuantile(atoms: ArrayLike<number>, min: number, max: number, p: number): number {
  const k = atoms.length;
  if (k === 0) return Number.NaN;
  const h = p * k - 0.5;
  if (h <= 0) {
    const first = atoms[0] ?? min;
    return p <= 0 ? min : min + (p / (0.5 / k)) * (first - min);
  }
  if (h >= k - 1) {
    const last = atoms[k - 1] ?? max;
    return p >= 1 ? max : last + ((p - (k - 0.5) / k) / (0.5 / k)) * (max - last);
  }
  const lo = Math.floor(h);
  const a = atoms[lo] ?? Number.NaN;
  const b = atoms[lo + 1] ?? Number.NaN;
  return a + (h - lo) * (b - a);
}

/**
 * Merges two sorted atom lists whose atoms weigh `weightA` and `weightB` each.
 *
 * @example
 * ```ts
 * mergeWeighted([1, 3], 1, [2], 2); // { values: [1, 2, 3], weights: [1, 2, 1] }
 * ```
 */
export function mergeWeighted(
  a: ArrayLike<number>,
  weightA: number,
  b: ArrayLike<number>,
  weightB: number,
): { values: Float64Array; weights: Float64Array } {
  const values = new Float64Array(a.length + b.length);
  const weights = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  for (let k = 0; k < values.length; k++) {
    const ai = i < a.length ? (a[i] ?? Number.NaN) : Number.POSITIVE_INFINITY;
    const bj = j < b.length ? (b[j] ?? Number.NaN) : Number.POSITIVE_INFINITY;
    if (ai <= bj) {
      values[k] = ai;
      weights[k] = weightA;
      i++;
    } else {
      values[k] = bj;
      weights[k] = weightB;
      j++;
    }
  }
  return { values, weights };
}
