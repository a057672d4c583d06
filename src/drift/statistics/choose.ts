/**
 * Evidently's default choice of drift test by column type and sample size.
 */
import type { TestName } from './types.ts';

/** A reference with at most this many (non-missing) values counts as small. */
export const SMALL_REFERENCE_LIMIT = 1000;
/** Numeric columns with at most this many distinct values are tested as categorical. */
export const CATEGORICAL_UNIQUE_LIMIT = 5;

/**
 * The test Evidently runs by default:
 *
 * | reference size | numeric, nUnique > 5 | categorical (or numeric, nUnique ≤ 5) |
 * | --- | --- | --- |
 * | ≤ 1000 | `ks` (p < 0.05) | `chisquare` (p < 0.05); `z` when nUnique ≤ 2 |
 * | > 1000 | `wasserstein` normalised (≥ 0.1) | `jensenshannon` (≥ 0.1) |
 *
 * `nUnique` counts distinct values in reference and current together. The `z` test (pooled
 * two-proportion) gives the same p-value as the 2 × 2 chi-squared test.
 *
 * @example
 * ```ts
 * chooseTest('numeric', 500, 40); // 'ks'
 * chooseTest('numeric', 50_000, 3); // 'jensenshannon'
 * ```
 */
export function chooseTest(
  kind: 'numeric' | 'categorical',
  referenceSize: number,
  nUnique: number,
): TestName {
  const numeric = kind === 'numeric' && nUnique > CATEGORICAL_UNIQUE_LIMIT;
  if (referenceSize <= SMALL_REFERENCE_LIMIT) {
    if (numeric) return 'ks';
    return nUnique > 2 ? 'chisquare' : 'z';
  }
  return numeric ? 'wasserstein' : 'jensenshannon';
}
