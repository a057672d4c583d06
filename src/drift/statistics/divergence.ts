/**
 * Distances between two histograms over the same buckets: Jensen–Shannon distance and the
 * population stability index.
 */
import type { TestResult } from './types.ts';

/** Proportion given to a bucket empty on one side, so PSI's logarithm stays finite. */
export const DEFAULT_PSI_EPSILON = 1e-4;

/**
 * Jensen–Shannon distance with natural logarithms, in [0, √ln 2 ≈ 0.8326]: the square root of the
 * JS divergence ½KL(p‖m) + ½KL(q‖m), m = (p + q)/2. Counts are normalised first; equals SciPy's
 * `scipy.spatial.distance.jensenshannon(p, q)` with its default base (e), which is how Evidently
 * calls it (drift when >= 0.1).
 *
 * @example
 * ```ts
 * jensenShannonDistance([1, 0], [0, 1]); // √ln 2 = 0.8325546111576977
 * ```
 */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  const sp = total(p);
  const sq = total(q);
  if (sp <= 0 || sq <= 0) return Number.NaN;
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = (p[i] ?? 0) / sp;
    const qi = (q[i] ?? 0) / sq;
    const m = (pi + qi) / 2;
    if (pi > 0) divergence += pi * Math.log(pi / m);
    if (qi > 0) divergence += qi * Math.log(qi / m);
  }
  // Rounding can leave a tiny negative divergence for identical inputs.
  return Math.min(Math.sqrt(Math.LN2), Math.sqrt(Math.max(0, divergence / 2)));
}

/**
 * Population stability index Σ (c_i − r_i)·ln(c_i / r_i) over bucket proportions, with proportions
 * of empty buckets raised to `epsilon` (not renormalised). Always >= 0; the customary reading is
 * < 0.1 stable, 0.1–0.2 moderate shift, >= 0.2 significant shift.
 *
 * @example
 * ```ts
 * populationStabilityIndex([50, 50], [40, 60]); // 0.0405…
 * ```
 */
export function populationStabilityIndex(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  epsilon = DEFAULT_PSI_EPSILON,
): number {
  const sr = total(reference);
  const sc = total(current);
  if (sr <= 0 || sc <= 0) return Number.NaN;
  let psi = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = Math.max((reference[i] ?? 0) / sr, epsilon);
    const c = Math.max((current[i] ?? 0) / sc, epsilon);
    psi += (c - r) * Math.log(c / r);
  }
  return psi;
}

/**
 * The JS-distance test; drift when the distance is >= `threshold`.
 *
 * @example
 * ```ts
 * jensenShannonTest([5, 5], [5, 5], 0.1); // { test: 'jensenshannon', statistic: 0, threshold: 0.1, drifted: false }
 * ```
 */
export function jensenShannonTest(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  threshold: number,
): TestResult {
  const statistic = jensenShannonDistance(reference, current);
  return { test: 'jensenshannon', statistic, threshold, drifted: statistic >= threshold };
}

/**
 * The PSI test; drift when PSI is >= `threshold` (0.2 by default, warning from 0.1).
 *
 * @example
 * ```ts
 * psiTest([50, 50], [40, 60], 0.2).drifted; // false
 * ```
 */
export function psiTest(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  threshold: number,
  epsilon = DEFAULT_PSI_EPSILON,
): TestResult {
  const statistic = populationStabilityIndex(reference, current, epsilon);
  return { test: 'psi', statistic, threshold, drifted: statistic >= threshold };
}

function total(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] ?? 0;
  return sum;
}
