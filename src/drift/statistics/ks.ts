/**
 * Two-sample Kolmogorov–Smirnov test on sorted samples or equal-mass sketches.
 */
import { ksTwoSamplePValue } from './ks-distribution.ts';
import type { TestResult } from './types.ts';

/**
 * A sorted set of equal-mass atoms standing for `size` observations: the raw sorted sample
 * (atoms.length = size) or a reference sketch (atoms.length = K < size).
 */
export interface Distribution {
  atoms: ArrayLike<number>;
  size: number;
}

/**
 * D = sup_x |F_a(x) − G_b(x)| between the empirical CDFs of two sorted samples, in one merge
 * pass (ties are stepped together, so D is exact with repeated values).
 *
 * @example
 * ```ts
 * ksStatistic([1, 2, 3], [2, 3, 4]); // 1/3
 * ```
 */
export function ksStatistic(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = a.length;
  const nb = b.length;
  if (na === 0 || nb === 0) return Number.NaN;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < na && j < nb) {
    const ai = a[i] ?? Number.NaN;
    const bj = b[j] ?? Number.NaN;
    const x = Math.min(ai, bj);
    while (i < na && (a[i] ?? Number.NaN) <= x) i++;
    while (j < nb && (b[j] ?? Number.NaN) <= x) j++;
    const gap = Math.abs(i / na - j / nb);
    if (gap > d) d = gap;
  }
  return d;
}

/**
 * Two-sided p-value of the two-sample KS statistic as SciPy's `ks_2samp(method='auto')` gives it:
 * the exact distribution while both samples have at most 10 000 values, SciPy's asymptotic
 * `kstwo.sf(D, round(n₁n₂/(n₁+n₂)))` beyond (see `ks-distribution.ts`).
 *
 * @example
 * ```ts
 * ksPValue(0.5, 20, 20); // exact: 0.00819…
 * ```
 */
export function ksPValue(d: number, n1: number, n2: number): number {
  return ksTwoSamplePValue(d, n1, n2).p;
}

/**
 * The KS test between a reference and a current distribution; drift when p < `alpha`.
 * Sample sizes for the p-value are the observation counts, not the sketch sizes.
 *
 * @example
 * ```ts
 * const ref = { atoms: [1, 2, 3, 4], size: 4 };
 * ksTest(ref, { atoms: [1, 2, 3, 4], size: 4 }, 0.05); // { test: 'ks', statistic: 0, p_value: 1, … }
 * ```
 */
export function ksTest(reference: Distribution, current: Distribution, alpha: number): TestResult {
  const statistic = ksStatistic(reference.atoms, current.atoms);
  const { p, method } = ksTwoSamplePValue(statistic, reference.size, current.size);
  return { test: 'ks', statistic, p_value: p, threshold: alpha, drifted: p < alpha, method };
}
