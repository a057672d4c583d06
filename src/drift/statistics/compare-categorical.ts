/**
 * Drift of a categorical column against its reference profile.
 */
import { type AlignedCounts, bucketTest, nonEmpty } from './buckets.ts';
import { type CategoryValue, countCategories, DEFAULT_MAX_CATEGORIES } from './categorical-profile.ts';
import { chooseTest } from './choose.ts';
import { psiTest } from './divergence.ts';
import { type DriftOptions, type DriftOptionsInput, resolveDriftOptions } from './options.ts';
import type { CategoricalProfile, FeatureDrift } from './types.ts';
import { verdictOf } from './verdict.ts';

/** Current data: raw values, or a profile (e.g. merged from per-hour summaries). */
export type CategoricalInput = ArrayLike<CategoryValue> | CategoricalProfile;

/**
 * Reference and current counts over the reference's categories, then the categories new in
 * current (most frequent first, at most `maxNew`), then one bucket pooling both sides' `other`
 * and any further new categories.
 *
 * @example
 * ```ts
 * alignCategories(buildCategoricalProfile(['a', 'b']), ['a', 'c']);
 * // { labels: ['a', 'b', 'c'], reference: [1, 1, 0], current: [1, 0, 1], currentMissing: 0 }
 * ```
 */
export function alignCategories(
  reference: CategoricalProfile,
  current: CategoricalInput,
  maxNew = DEFAULT_MAX_CATEGORIES,
): AlignedCounts & { currentMissing: number } {
  const { counts, missing, other } = isProfile(current)
    ? {
        counts: new Map(current.categories.map((name, i) => [name, current.counts[i] ?? 0])),
        missing: current.missing,
        other: current.other,
      }
    : { ...countCategories(current), other: 0 };
  const labels = [...reference.categories];
  const ref = [...reference.counts];
  const cur = reference.categories.map((name) => counts.get(name) ?? 0);
  const known = new Set(reference.categories);
  const fresh = [...counts]
    .filter(([name]) => !known.has(name))
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  for (const [name, c] of fresh.slice(0, maxNew)) {
    labels.push(name);
    ref.push(0);
    cur.push(c);
  }
  let pooled = other;
  for (const [, c] of fresh.slice(maxNew)) pooled += c;
  if (reference.other > 0 || pooled > 0) {
    // Not a category name: a real category called 'other' must stay distinct from the pool.
    labels.push('\u0000other');
    ref.push(reference.other);
    cur.push(pooled);
  }
  return { labels, reference: ref, current: cur, currentMissing: missing };
}

/**
 * Tests a categorical column for drift: the test Evidently would choose (chi-squared or z for a
 * small reference, Jensen–Shannon for a large one) unless `options.test` forces one, with PSI
 * over the same buckets reported alongside. The verdict uses the raw p-value; `assessDataset`
 * applies the multiple-testing correction.
 *
 * @example
 * ```ts
 * const reference = buildCategoricalProfile(trainingCities);
 * compareCategorical('city', reference, windowCities).verdict; // 'ok' | 'warning' | 'drift'
 * ```
 */
export function compareCategorical(
  feature: string,
  reference: CategoricalProfile,
  current: CategoricalInput,
  options: DriftOptionsInput | DriftOptions = {},
): FeatureDrift {
  const resolved = resolveDriftOptions(options);
  const { currentMissing, ...all } = alignCategories(reference, current);
  const aligned = nonEmpty(all);
  const currentCount = sum(aligned.current);
  return testAligned(
    feature,
    'categorical',
    aligned,
    reference.count,
    currentCount,
    currentMissing,
    resolved,
  );
}

/**
 * Runs the chosen bucket test and PSI on aligned counts and wraps them as a `FeatureDrift`.
 *
 * @example
 * ```ts
 * testAligned('x', 'categorical', aligned, 100, 80, 0, resolveDriftOptions()).test?.test; // 'z' or 'chisquare'
 * ```
 */
export function testAligned(
  feature: string,
  kind: 'numeric' | 'categorical',
  aligned: AlignedCounts,
  referenceCount: number,
  currentCount: number,
  currentMissing: number,
  options: DriftOptions,
): FeatureDrift {
  const nUnique = aligned.labels.length;
  const base = { feature, kind, referenceCount, currentCount, currentMissing, nUnique };
  const missingSide = referenceCount === 0 ? 'reference' : currentCount === 0 ? 'current' : null;
  if (missingSide !== null) {
    return { ...base, test: null, psi: null, verdict: 'ok', reason: `no ${missingSide} values` };
  }
  const name = options.test ?? chooseTest('categorical', referenceCount, nUnique);
  const result = bucketTest(name, aligned, options);
  const psi = psiTest(aligned.reference, aligned.current, options.thresholds.psi, options.psiEpsilon);
  if (typeof result === 'string') return { ...base, test: null, psi, verdict: 'ok', reason: result };
  return { ...base, test: result, psi, verdict: verdictOf(result, options.warningRatio) };
}

function isProfile(current: CategoricalInput): current is CategoricalProfile {
  return (current as { kind?: unknown }).kind === 'categorical';
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
