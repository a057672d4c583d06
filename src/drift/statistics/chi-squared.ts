/**
 * Chi-squared tests for counts over the same buckets: Evidently's goodness-of-fit test of the
 * current counts against the reference proportions (the default), Pearson's test of homogeneity
 * on the 2 × k table (an option), and the pooled two-proportion z-test Evidently uses for binary
 * columns.
 */
import { chiSquaredSurvival, normalTwoSided } from './special.ts';
import type { TestResult } from './types.ts';

/**
 * Pearson's chi-squared test of homogeneity between two rows of counts (no continuity
 * correction; SciPy's `chi2_contingency(table, correction=False)`). Buckets empty in both rows are
 * dropped; df = (buckets − 1). With fewer than two buckets left there is nothing to compare:
 * statistic 0, p-value 1.
 *
 * Unlike Evidently's goodness-of-fit (`chisquare(current, expected from reference)`), the reference
 * is treated as a sample too, so its own noise does not read as drift.
 *
 * @example
 * ```ts
 * chiSquaredTest([10, 20, 30], [30, 20, 10], 0.05); // statistic 20, df 2, p_value ≈ 4.54e-5
 * ```
 */
export function chiSquaredHomogeneityTest(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  alpha: number,
): TestResult {
  const n1 = sum(reference);
  const n2 = sum(current);
  const total = n1 + n2;
  let statistic = 0;
  let buckets = 0;
  if (n1 > 0 && n2 > 0) {
    for (let k = 0; k < reference.length; k++) {
      const o1 = reference[k] ?? 0;
      const o2 = current[k] ?? 0;
      const column = o1 + o2;
      if (column === 0) continue;
      buckets++;
      const e1 = (n1 * column) / total;
      const e2 = (n2 * column) / total;
      statistic += ((o1 - e1) * (o1 - e1)) / e1 + ((o2 - e2) * (o2 - e2)) / e2;
    }
  }
  const df = Math.max(0, buckets - 1);
  const p = df === 0 ? 1 : chiSquaredSurvival(statistic, df);
  return {
    test: 'chisquare',
    statistic,
    p_value: p,
    threshold: alpha,
    drifted: p < alpha,
    df,
    method: 'homogeneity',
  };
}

/** Which chi-squared test to run: Evidently's goodness of fit, or the test of homogeneity. */
export type ChiSquaredMethod = 'goodness-of-fit' | 'homogeneity';

/**
 * Pearson's goodness-of-fit test of the current counts against the reference proportions, as
 * Evidently runs it: `scipy.stats.chisquare(current, expected=reference × n_cur / n_ref)` over the
 * buckets present on either side (df = buckets − 1). A bucket the reference never saw has an
 * expected count of 0, so one current value there makes the statistic infinite and p = 0, as in
 * SciPy. With fewer than two buckets there is nothing to compare: statistic 0, p-value 1.
 *
 * @example
 * ```ts
 * chiSquaredTest([10, 20, 30], [30, 20, 10], 0.05); // statistic 40 / (10·20/60) …, df 2
 * ```
 */
export function chiSquaredTest(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  alpha: number,
  method: ChiSquaredMethod = 'goodness-of-fit',
): TestResult {
  if (method === 'homogeneity') return chiSquaredHomogeneityTest(reference, current, alpha);
  const n1 = sum(reference);
  const n2 = sum(current);
  let statistic = 0;
  let buckets = 0;
  if (n1 > 0 && n2 > 0) {
    const scale = n2 / n1;
    for (let k = 0; k < reference.length; k++) {
      const o = current[k] ?? 0;
      const r = reference[k] ?? 0;
      if (o === 0 && r === 0) continue;
      buckets++;
      const e = r * scale;
      statistic += e === 0 ? Number.POSITIVE_INFINITY : ((o - e) * (o - e)) / e;
    }
  }
  const df = Math.max(0, buckets - 1);
  const p = df === 0 ? 1 : statistic === Number.POSITIVE_INFINITY ? 0 : chiSquaredSurvival(statistic, df);
  return {
    test: 'chisquare',
    statistic,
    p_value: p,
    threshold: alpha,
    drifted: p < alpha,
    df,
    method: 'goodness-of-fit',
  };
}

/**
 * Two-proportion z-test with pooled variance on the share of the first bucket against the rest (Evidently's `z`
 * test for columns with at most two values). z = (p_ref − p_cur) / √(P(1−P)(1/n₁ + 1/n₂)); its
 * two-sided p-value equals the 2 × 2 chi-squared test's, since z² = χ².
 *
 * @example
 * ```ts
 * zTest([60, 40], [40, 60], 0.05); // statistic ≈ 2.828, p_value ≈ 0.00468
 * ```
 */
export function zTest(reference: ArrayLike<number>, current: ArrayLike<number>, alpha: number): TestResult {
  const n1 = sum(reference);
  const n2 = sum(current);
  const x1 = reference[0] ?? 0;
  const x2 = current[0] ?? 0;
  let statistic = 0;
  if (n1 > 0 && n2 > 0) {
    const pooled = (x1 + x2) / (n1 + n2);
    const variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2);
    if (variance > 0) statistic = (x1 / n1 - x2 / n2) / Math.sqrt(variance);
  }
  const p = normalTwoSided(statistic);
  return { test: 'z', statistic, p_value: p, threshold: alpha, drifted: p < alpha };
}

function sum(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i] ?? 0;
  return total;
}
