/**
 * Wasserstein-1 (earth mover's) distance between one-dimensional distributions.
 */
import type { Distribution } from './ks.ts';
import type { TestResult } from './types.ts';

/** Evidently divides by max(std, 0.001) so a constant reference does not divide by zero. */
export const MIN_WASSERSTEIN_NORM = 0.001;

/**
 * W₁ = ∫ |F_a(x) − G_b(x)| dx between the empirical distributions of two sorted samples (equal
 * mass per element), in one merge pass. Matches SciPy's `wasserstein_distance(a, b)`.
 *
 * @example
 * ```ts
 * wasserstein1([0, 1, 3], [5, 6, 8]); // 5
 * ```
 */
export function wasserstein1(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = a.length;
  const nb = b.length;
  if (na === 0 || nb === 0) return Number.NaN;
  let i = 0;
  let j = 0;
  let previous = Math.min(a[0] ?? Number.NaN, b[0] ?? Number.NaN);
  let area = 0;
  while (i < na || j < nb) {
    const ai = i < na ? (a[i] ?? Number.NaN) : Number.POSITIVE_INFINITY;
    const bj = j < nb ? (b[j] ?? Number.NaN) : Number.POSITIVE_INFINITY;
    const x = Math.min(ai, bj);
    area += Math.abs(i / na - j / nb) * (x - previous);
    while (i < na && (a[i] ?? Number.NaN) <= x) i++;
    while (j < nb && (b[j] ?? Number.NaN) <= x) j++;
    previous = x;
  }
  return area;
}

/**
 * Evidently's normalised Wasserstein distance: W₁(reference, current) / max(σ_ref, 0.001), with
 * σ_ref the population standard deviation of the reference; drift when >= `threshold` (0.1).
 *
 * @example
 * ```ts
 * wassersteinTest({ atoms: [0, 2], size: 2 }, { atoms: [1, 3], size: 2 }, 1, 0.1).statistic; // 1
 * ```
 */
export function wassersteinTest(
  reference: Distribution,
  current: Distribution,
  referenceStd: number,
  threshold: number,
): TestResult {
  const statistic =
    wasserstein1(reference.atoms, current.atoms) / Math.max(referenceStd, MIN_WASSERSTEIN_NORM);
  return { test: 'wasserstein', statistic, threshold, drifted: statistic >= threshold };
}
