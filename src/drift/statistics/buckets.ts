/**
 * Runs the bucket-based tests (chi-squared, z, Jensen–Shannon, PSI) on aligned counts, for
 * categorical columns and for numeric columns tested as categorical.
 */
import { chiSquaredTest, zTest } from './chi-squared.ts';
import { jensenShannonTest, psiTest } from './divergence.ts';
import type { DriftOptions } from './options.ts';
import type { TestName, TestResult } from './types.ts';

/** Counts of reference and current over the same buckets, with a label per bucket. */
export interface AlignedCounts {
  labels: string[];
  reference: number[];
  current: number[];
}

/**
 * Keeps the buckets that hold values on either side (Evidently's keys are the values present).
 *
 * @example
 * ```ts
 * nonEmpty({ labels: ['a', 'b'], reference: [1, 0], current: [2, 0] }).labels; // ['a']
 * ```
 */
export function nonEmpty(aligned: AlignedCounts): AlignedCounts {
  const keep = aligned.labels.map((_, i) => (aligned.reference[i] ?? 0) + (aligned.current[i] ?? 0) > 0);
  return {
    labels: aligned.labels.filter((_, i) => keep[i]),
    reference: aligned.reference.filter((_, i) => keep[i]),
    current: aligned.current.filter((_, i) => keep[i]),
  };
}

/**
 * One of the bucket tests, or a reason it cannot run here (`z` needs at most two buckets; `ks`
 * and `wasserstein` need values, not buckets).
 *
 * @example
 * ```ts
 * bucketTest('chisquare', { labels: ['a', 'b'], reference: [5, 5], current: [5, 5] }, resolveDriftOptions());
 * ```
 */
export function bucketTest(
  test: TestName,
  aligned: AlignedCounts,
  options: DriftOptions,
): TestResult | string {
  const threshold = options.thresholds[test];
  switch (test) {
    case 'chisquare':
      return chiSquaredTest(aligned.reference, aligned.current, threshold, options.chiSquaredMethod);
    case 'z':
      if (aligned.labels.length > 2) {
        return `the z test needs at most two values, the column has ${aligned.labels.length}`;
      }
      return zTest(aligned.reference, aligned.current, threshold);
    case 'jensenshannon':
      return jensenShannonTest(aligned.reference, aligned.current, threshold);
    case 'psi':
      return psiTest(aligned.reference, aligned.current, threshold, options.psiEpsilon);
    default:
      return `the ${test} test needs numeric values, not categories`;
  }
}
