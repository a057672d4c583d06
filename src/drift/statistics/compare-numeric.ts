/**
 * Drift of a numeric column against its reference profile.
 */
import { type AlignedCounts, bucketTest, nonEmpty } from './buckets.ts';
import { CATEGORICAL_UNIQUE_LIMIT, chooseTest } from './choose.ts';
import { testAligned } from './compare-categorical.ts';
import { psiTest } from './divergence.ts';
import { type Distribution, ksTest } from './ks.ts';
import { binCounts, DISCRETE_LIMIT, histogramOf } from './numeric-profile.ts';
import { type DriftOptions, type DriftOptionsInput, resolveDriftOptions } from './options.ts';
import { countDistinct, prepareNumeric, type SortedSample, valueCounts } from './sorted.ts';
import type { FeatureDrift, NumericProfile, TestResult } from './types.ts';
import { verdictOf } from './verdict.ts';
import { wassersteinTest } from './wasserstein.ts';

/**
 * Current data: raw values (non-finite ones are missing), a `prepareNumeric` result (to sort
 * once and reuse), or a profile built with the reference's binning (e.g. merged per-hour
 * summaries; KS and Wasserstein then run on its sketch).
 */
export type NumericInput = ArrayLike<number | null | undefined> | SortedSample | NumericProfile;

interface CurrentNumeric {
  distribution: Distribution;
  missing: number;
  discrete: NumericProfile['discrete'];
  distinct: number;
  psiCounts: readonly number[];
  histogram: { counts: readonly number[]; below: number; above: number };
}

/**
 * Tests a numeric column for drift. Distinct values in reference and current together decide
 * the route, as in Evidently: at most 5 → tested as categorical over the exact values
 * (chi-squared / z, or Jensen–Shannon for a reference above 1000 values); otherwise KS for a
 * small reference, normalised Wasserstein for a large one. `options.test` forces a test. PSI is
 * reported alongside (over the reference deciles, or over the values when tested as categorical).
 * The verdict uses the raw p-value; `assessDataset` applies the multiple-testing correction.
 *
 * @example
 * ```ts
 * const reference = buildNumericProfile(trainingAges);
 * const drift = compareNumeric('age', reference, windowAges);
 * drift.test; // { test: 'wasserstein', statistic: 0.03, threshold: 0.1, drifted: false }
 * ```
 */
export function compareNumeric(
  feature: string,
  reference: NumericProfile,
  current: NumericInput,
  options: DriftOptionsInput | DriftOptions = {},
): FeatureDrift {
  const resolved = resolveDriftOptions(options);
  const cur = currentNumeric(reference, current);
  const referenceCount = reference.count;
  const currentCount = cur.distribution.size;
  const aligned = alignDiscrete(reference.discrete, cur.discrete);
  const nUnique = aligned ? aligned.labels.length : unionDistinct(reference, cur);

  const routeAsCategorical = aligned !== null && nUnique <= CATEGORICAL_UNIQUE_LIMIT;
  const forced = resolved.test;
  const wantsValues = forced === 'ks' || forced === 'wasserstein';
  if (aligned !== null && (forced === undefined ? routeAsCategorical : !wantsValues)) {
    return testAligned(feature, 'numeric', aligned, referenceCount, currentCount, cur.missing, resolved);
  }

  const base = {
    feature,
    kind: 'numeric' as const,
    referenceCount,
    currentCount,
    currentMissing: cur.missing,
    nUnique,
  };
  const missingSide = referenceCount === 0 ? 'reference' : currentCount === 0 ? 'current' : null;
  if (missingSide !== null) {
    return { ...base, test: null, psi: null, verdict: 'ok', reason: `no ${missingSide} values` };
  }
  const psi = psiTest(reference.psiBins.counts, cur.psiCounts, resolved.thresholds.psi, resolved.psiEpsilon);
  const name = forced ?? chooseTest('numeric', referenceCount, nUnique);
  const result = numericTest(name, reference, cur, resolved, psi);
  if (typeof result === 'string') return { ...base, test: null, psi, verdict: 'ok', reason: result };
  return { ...base, test: result, psi, verdict: verdictOf(result, resolved.warningRatio) };
}

function numericTest(
  name: NonNullable<DriftOptions['test']>,
  reference: NumericProfile,
  cur: CurrentNumeric,
  options: DriftOptions,
  psi: TestResult,
): TestResult | string {
  const referenceDistribution = { atoms: reference.sketch.values, size: reference.count };
  switch (name) {
    case 'ks':
      return ksTest(referenceDistribution, cur.distribution, options.thresholds.ks);
    case 'wasserstein':
      return wassersteinTest(
        referenceDistribution,
        cur.distribution,
        reference.std ?? 0,
        options.thresholds.wasserstein,
      );
    case 'psi':
      return psi;
    default: {
      // Bucket tests on a continuous column use the reference histogram, plus below/above buckets.
      const h = reference.histogram;
      const aligned: AlignedCounts = {
        labels: ['below', ...h.counts.map((_, i) => `bin ${i}`), 'above'],
        reference: [h.below, ...h.counts, h.above],
        current: [cur.histogram.below, ...cur.histogram.counts, cur.histogram.above],
      };
      return bucketTest(name, nonEmpty(aligned), options);
    }
  }
}

function currentNumeric(reference: NumericProfile, current: NumericInput): CurrentNumeric {
  if (isNumericProfile(current)) {
    const sameBins =
      sameNumbers(current.psiBins.cuts, reference.psiBins.cuts) &&
      sameNumbers(current.histogram.edges, reference.histogram.edges);
    if (!sameBins && current.count > 0) {
      throw new RangeError(
        "the current profile's bins differ from the reference's; build it with { binning: reference }",
      );
    }
    return {
      distribution: { atoms: current.sketch.values, size: current.count },
      missing: current.missing,
      discrete: current.discrete,
      distinct: current.distinct,
      psiCounts: current.count > 0 ? current.psiBins.counts : [],
      histogram: current.histogram,
    };
  }
  const sample = isSortedSample(current) ? current : prepareNumeric(current);
  const sorted = sample.values;
  // Only needed for the n_unique rule when the reference itself has few distinct values.
  const discrete = reference.discrete ? valueCounts(sorted, DISCRETE_LIMIT) : null;
  return {
    distribution: { atoms: sorted, size: sorted.length },
    missing: sample.missing,
    discrete,
    distinct: discrete
      ? discrete.values.length
      : reference.discrete
        ? DISCRETE_LIMIT + 1
        : countDistinct(sorted),
    psiCounts: binCounts(sorted, reference.psiBins.cuts),
    histogram: histogramOf(sorted, reference.histogram.edges),
  };
}

/** Exact counts over the union of values, when both sides have few distinct values. */
function alignDiscrete(
  reference: NumericProfile['discrete'],
  current: NumericProfile['discrete'],
): AlignedCounts | null {
  if (reference === null || current === null) return null;
  const values = [...new Set([...reference.values, ...current.values])].sort((a, b) => a - b);
  const lookup = (side: { values: number[]; counts: number[] }, v: number) =>
    side.counts[side.values.indexOf(v)] ?? 0;
  return {
    labels: values.map(String),
    reference: values.map((v) => lookup(reference, v)),
    current: values.map((v) => lookup(current, v)),
  };
}

/**
 * Distinct values of reference and current together (Evidently's `n_unique`, over both samples):
 * exact when both sides hold every value (a reference sketch that is exact, raw current values),
 * otherwise the larger side's count, a lower bound.
 */
function unionDistinct(reference: NumericProfile, cur: CurrentNumeric): number {
  const a = reference.sketch.values;
  const b = cur.distribution.atoms;
  if (!reference.sketch.exact || b.length !== cur.distribution.size) {
    return Math.max(reference.distinct, cur.distinct);
  }
  let i = 0;
  let j = 0;
  let count = 0;
  while (i < a.length || j < b.length) {
    const x = Math.min(
      i < a.length ? (a[i] as number) : Number.POSITIVE_INFINITY,
      j < b.length ? (b[j] as number) : Number.POSITIVE_INFINITY,
    );
    count++;
    while (i < a.length && a[i] === x) i++;
    while (j < b.length && b[j] === x) j++;
  }
  return count;
}

function isNumericProfile(current: NumericInput): current is NumericProfile {
  return (current as { kind?: unknown }).kind === 'numeric';
}

function isSortedSample(current: NumericInput): current is SortedSample {
  return (current as { kind?: unknown }).kind === 'sorted';
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
