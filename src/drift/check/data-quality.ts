/**
 * Data quality of a window's inputs against the reference, per feature: missing values (absent,
 * null, NaN, ±Infinity), values outside the reference's range, categories the reference never
 * named, and type mismatches (text that is not a number where the reference had numbers, objects
 * or arrays where it had values). Every bad value is counted here; none is dropped unseen.
 *
 * The counters are plain sums, so the per-hour summaries add them up exactly.
 */
import type { FeatureProfile, ReferenceDocument } from '../profiles/reference-types.ts';
import { calibratedShareUpper, type FeatureCalibration, type NumericProfile } from '../statistics/index.ts';
import { type CategoryCounts, FloatColumn } from './columns.ts';

/** Counters for one feature, kept while captures are read (mergeable by addition). */
export interface FeatureQualityCounts {
  /** Absent key, null, or empty text. */
  absent: number;
  /** NaN or ±Infinity (numbers, or the codec's "NaN"/"Infinity" text). */
  nonFinite: number;
  /** Text that is not a number where numbers were expected; an object or array anywhere. */
  mismatched: number;
  /**
   * What the first mismatched value was (`text`, `object`, `array`): never the value itself, since
   * reports hold aggregates only.
   */
  example: 'text' | 'object' | 'array' | null;
}

/** Fresh counters. */
export function emptyQuality(): FeatureQualityCounts {
  return { absent: 0, nonFinite: 0, mismatched: 0, example: null };
}

/** Sum of two counters (the first example wins). */
export function addQuality(a: FeatureQualityCounts, b: FeatureQualityCounts): FeatureQualityCounts {
  return {
    absent: a.absent + b.absent,
    nonFinite: a.nonFinite + b.nonFinite,
    mismatched: a.mismatched + b.mismatched,
    example: a.example ?? b.example,
  };
}

const NON_FINITE_TEXT = /^[+-]?(nan|inf|infinity)$/i;

/**
 * Reads one value of a numeric feature into `counts` and returns the number to profile (NaN for
 * anything that is not a finite number).
 */
export function numericValue(value: unknown, counts: FeatureQualityCounts): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) counts.nonFinite++;
    return value;
  }
  if (value === undefined || value === null) {
    counts.absent++;
    return Number.NaN;
  }
  if (typeof value === 'string') {
    const text = value.trim();
    if (text === '') {
      counts.absent++;
      return Number.NaN;
    }
    const parsed = Number(text);
    if (Number.isFinite(parsed)) return parsed;
    if (NON_FINITE_TEXT.test(text)) {
      counts.nonFinite++;
      return Number.NaN;
    }
    mismatch(counts, value);
    return Number.NaN;
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'bigint') return Number(value);
  mismatch(counts, value);
  return Number.NaN;
}

/** Counts one value of a categorical feature: absent, NaN, or an object/array (mismatch). */
export function countCategoricalValue(value: unknown, counts: FeatureQualityCounts): void {
  if (value === undefined || value === null) counts.absent++;
  else if (typeof value === 'number' && Number.isNaN(value)) counts.nonFinite++;
  else if (typeof value === 'object') mismatch(counts, value);
}

function mismatch(counts: FeatureQualityCounts, value: unknown): void {
  counts.mismatched++;
  if (counts.example === null) {
    counts.example = typeof value === 'string' ? 'text' : Array.isArray(value) ? 'array' : 'object';
  }
}

/** The data-quality thresholds: a share of the window's rows above which a check fails. */
export interface DataQualityThresholds {
  /** Missing share allowed above the reference's own missing share. */
  missing: number;
  outOfRange: number;
  newCategory: number;
  typeMismatch: number;
}

export const DEFAULT_DATA_QUALITY_THRESHOLDS: Readonly<DataQualityThresholds> = {
  missing: 0.05,
  outOfRange: 0.05,
  newCategory: 0.05,
  typeMismatch: 0,
};

export type QualityVerdict = 'ok' | 'warning' | 'fail';
export type QualityCheckName = 'missing' | 'out_of_range' | 'new_category' | 'type_mismatch';

/** One check of one feature. */
export interface QualityCheck {
  name: QualityCheckName;
  count: number;
  share: number;
  /**
   * The share above which the check fails (for `missing`: the reference's share + the setting, or
   * with calibration the reference chunks' mean + 3σ at the window's size).
   */
  threshold: number;
  /** Whether `threshold` was calibrated on the reference chunks (`calibration.missing`). */
  calibrated: boolean;
  verdict: QualityVerdict;
}

/** One feature's data quality, as reported. */
export interface FeatureQuality {
  name: string;
  kind: 'numeric' | 'categorical';
  verdict: QualityVerdict;
  rows: number;
  missing: number;
  non_finite: number;
  reference_missing_share: number;
  type_mismatches: number;
  /** What the first mismatched value was: `text`, `object` or `array` (never the value). */
  type_mismatch_kind: 'text' | 'object' | 'array' | null;
  /** Numeric: finite values below the reference minimum or above its maximum. */
  out_of_range: number | null;
  /** Categorical: values of categories the reference did not name (see `docs/monitoring.md`). */
  new_categories: number | null;
  /** The most frequent new categories (at most 10). */
  new_category_examples: string[];
  checks: QualityCheck[];
}

/** The report's `data_quality` section. */
export interface DataQualitySection {
  verdict: QualityVerdict | 'insufficient_data' | 'no_reference';
  reason?: string;
  /** Predictions with tabular inputs in the window. */
  rows: number;
  thresholds: { missing: number; out_of_range: number; new_category: number; type_mismatch: number };
  failing_features: string[];
  warning_features: string[];
  /** Failing features first, then warnings, then the rest, each in reference order. */
  features: FeatureQuality[];
}

/** What the analysis reads of a version (an accumulator, or a window merged from summaries). */
export interface QualityInput {
  readonly reference: ReferenceDocument | null;
  readonly predictions: number;
  readonly nonTabular: number;
  readonly quality: readonly FeatureQualityCounts[];
  readonly numeric: readonly (FloatColumn | NumericProfile | null)[];
  readonly categorical: readonly (CategoryCounts | null)[];
}

/**
 * The data-quality section of a version. Must run before the drift analysis, which consumes the
 * numeric columns. A check fails when its share is above the threshold and warns from
 * `warningRatio` × the threshold (a zero threshold fails on the first bad value). With
 * `calibrateMissing`, the missing share's threshold is the reference chunks' mean + 3σ, scaled to
 * the window (features whose reference has no calibration keep the fixed one).
 *
 * @example
 * ```ts
 * const quality = analyseDataQuality(accumulator, DEFAULT_DATA_QUALITY_THRESHOLDS, 0.5, 100);
 * quality.failing_features; // ['age'] when 'age' came as text in 10 % of the rows
 * ```
 */
export function analyseDataQuality(
  version: QualityInput,
  thresholds: DataQualityThresholds,
  warningRatio: number,
  minPredictions: number,
  calibrateMissing = false,
): DataQualitySection {
  const rows = version.predictions - version.nonTabular;
  const base = {
    rows,
    thresholds: {
      missing: thresholds.missing,
      out_of_range: thresholds.outOfRange,
      new_category: thresholds.newCategory,
      type_mismatch: thresholds.typeMismatch,
    },
    failing_features: [],
    warning_features: [],
    features: [],
  };
  const reference = version.reference;
  if (reference === null || reference.features.length === 0) {
    return { ...base, verdict: 'no_reference', reason: 'no reference features to compare with' };
  }
  const features = reference.features.map((feature, index) =>
    featureQuality(
      feature.name,
      feature.profile,
      calibrateMissing ? (feature.calibration ?? null) : null,
      rows,
      version.quality[index] ?? emptyQuality(),
      version.numeric[index] ?? null,
      version.categorical[index] ?? null,
      thresholds,
      warningRatio,
    ),
  );
  const rank = { fail: 0, warning: 1, ok: 2 } as const;
  const ordered = features
    .map((feature, index) => ({ feature, index }))
    .sort((a, b) => rank[a.feature.verdict] - rank[b.feature.verdict] || a.index - b.index)
    .map((entry) => entry.feature);
  const failing = ordered.filter((f) => f.verdict === 'fail').map((f) => f.name);
  const warning = ordered.filter((f) => f.verdict === 'warning').map((f) => f.name);
  if (rows < minPredictions) {
    return {
      ...base,
      verdict: 'insufficient_data',
      reason: `${rows} prediction${rows === 1 ? '' : 's'} with tabular inputs in the window, fewer than the ${minPredictions} required`,
      features: ordered,
    };
  }
  return {
    ...base,
    verdict: failing.length > 0 ? 'fail' : warning.length > 0 ? 'warning' : 'ok',
    failing_features: failing,
    warning_features: warning,
    features: ordered,
  };
}

function featureQuality(
  name: string,
  profile: FeatureProfile,
  calibration: FeatureCalibration | null,
  rows: number,
  counts: FeatureQualityCounts,
  numeric: FloatColumn | NumericProfile | null,
  categorical: CategoryCounts | null,
  thresholds: DataQualityThresholds,
  warningRatio: number,
): FeatureQuality {
  const missing = counts.absent + counts.nonFinite;
  const referenceRows = profile.count + profile.missing;
  const referenceMissingShare = referenceRows > 0 ? profile.missing / referenceRows : 0;
  const share = (count: number) => (rows > 0 ? count / rows : 0);
  const check = (
    checkName: QualityCheckName,
    count: number,
    threshold: number,
    calibrated = false,
  ): QualityCheck => {
    const s = share(count);
    const verdict: QualityVerdict =
      s > threshold ? 'fail' : threshold > 0 && s > warningRatio * threshold ? 'warning' : 'ok';
    return { name: checkName, count, share: s, threshold, calibrated, verdict };
  };
  const checks: QualityCheck[] = [
    calibration
      ? check(
          'missing',
          missing,
          calibratedShareUpper(calibration.missingShare, calibration.chunkRows, rows),
          true,
        )
      : check('missing', missing, Math.min(1, referenceMissingShare + thresholds.missing)),
    check('type_mismatch', counts.mismatched, thresholds.typeMismatch),
  ];
  let outOfRange: number | null = null;
  let newCategories: number | null = null;
  let examples: string[] = [];
  if (profile.kind === 'numeric') {
    outOfRange = countOutOfRange(profile, numeric);
    checks.push(check('out_of_range', outOfRange, thresholds.outOfRange));
  } else {
    const known = new Set(profile.categories);
    const fresh: [string, number][] = [];
    for (const [category, count] of categorical?.counts ?? [])
      if (!known.has(category)) fresh.push([category, count]);
    fresh.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    newCategories = fresh.reduce((total, [, count]) => total + count, 0);
    examples = fresh.slice(0, 10).map(([category]) => category);
    checks.push(check('new_category', newCategories, thresholds.newCategory));
  }
  const verdict: QualityVerdict = checks.some((c) => c.verdict === 'fail')
    ? 'fail'
    : checks.some((c) => c.verdict === 'warning')
      ? 'warning'
      : 'ok';
  return {
    name,
    kind: profile.kind,
    verdict,
    rows,
    missing,
    non_finite: counts.nonFinite,
    reference_missing_share: referenceMissingShare,
    type_mismatches: counts.mismatched,
    type_mismatch_kind: counts.example,
    out_of_range: outOfRange,
    new_categories: newCategories,
    new_category_examples: examples,
    checks,
  };
}

/** Finite values outside [reference min, reference max]: from the raw column, or a merged profile's histogram. */
function countOutOfRange(reference: NumericProfile, current: FloatColumn | NumericProfile | null): number {
  if (current === null || reference.min === null || reference.max === null) return 0;
  if (!(current instanceof FloatColumn)) return current.histogram.below + current.histogram.above;
  const lo = reference.min;
  const hi = reference.max;
  let count = 0;
  for (let i = 0; i < current.length; i++) {
    const v = current.at(i);
    if (v < lo || v > hi) count += Number.isFinite(v) ? 1 : 0;
  }
  return count;
}
