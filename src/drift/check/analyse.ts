/**
 * Turns one version's accumulated captures into data drift and prediction drift sections, with the
 * statistics module: one test per feature as Evidently chooses it, PSI beside it, the
 * multiple-testing correction across features and the dataset verdict.
 */

import type { FeatureProfile, ReferenceDocument } from '../profiles/reference-types.ts';
import type {
  CategoricalSummary,
  ColumnDrift,
  ColumnSummary,
  DataDriftSection,
  NumericSummary,
  PredictionDriftSection,
  ReportedTest,
} from '../report/report-types.ts';
import { profileFromCounts } from '../statistics/categorical-profile.ts';
import {
  applyCalibration,
  assessDataset,
  buildNumericProfile,
  type CategoricalProfile,
  compareCategorical,
  compareNumeric,
  DEFAULT_MAX_CATEGORIES,
  type DriftOptions,
  type FeatureDrift,
  type NumericProfile,
  predictionLabelDrift,
  predictionScoreDrift,
  type TestResult,
} from '../statistics/index.ts';
import { type CategoryCounts, FloatColumn } from './columns.ts';
import type { FeatureQualityCounts } from './data-quality.ts';
import { type DriftSettings, featureOptions } from './settings.ts';

/**
 * What the analysis needs of a version's window: raw columns (a `VersionAccumulator`, read in one
 * pass) or profiles merged from per-hour summaries (built with the reference's binning).
 */
export interface AnalysedVersion {
  readonly version: string;
  readonly reference: ReferenceDocument | null;
  readonly predictions: number;
  readonly nonTabular: number;
  readonly numeric: readonly (FloatColumn | NumericProfile | null)[];
  readonly categorical: readonly (CategoryCounts | null)[];
  readonly quality: readonly FeatureQualityCounts[];
  readonly labels: CategoryCounts | null;
  readonly scores: FloatColumn | NumericProfile | null;
}

/** Categories named in a current profile; the rest are pooled (as in the reference). */
const CURRENT_MAX_CATEGORIES = DEFAULT_MAX_CATEGORIES;

/**
 * The data drift section of a version. Without a reference, or with fewer tabular predictions
 * than `minPredictions`, there is no verdict (`no_reference` / `insufficient_data`) and no test
 * is run: too few rows would make any verdict noise.
 *
 * The feature columns are consumed (their memory released) as each feature is analysed.
 */
export function analyseDataDrift(version: AnalysedVersion, settings: DriftSettings): DataDriftSection {
  const options = settings.options;
  const empty = {
    tested: 0,
    drifted: 0,
    warnings: 0,
    untested: 0,
    share: 0,
    drift_share: options.driftShare,
    correction: options.correction,
    max_psi: null,
    drifted_features: [],
    features: [],
  };
  const reference = version.reference;
  if (reference === null) {
    return { ...empty, verdict: 'no_reference', reason: `no reference.json for version ${version.version}` };
  }
  if (reference.features.length === 0) {
    return { ...empty, verdict: 'no_reference', reason: 'the reference has no features' };
  }
  const tabular = version.predictions - version.nonTabular;
  if (tabular < settings.minPredictions) {
    return {
      ...empty,
      verdict: 'insufficient_data',
      reason: `${tabular} prediction${tabular === 1 ? '' : 's'} with tabular inputs in the window, fewer than the ${settings.minPredictions} required`,
    };
  }

  const compared: { drift: FeatureDrift; reference: ColumnSummary; current: ColumnSummary }[] = [];
  reference.features.forEach((feature, index) => {
    const featureSettings = featureOptions(settings, feature.name);
    const result = compareColumn(
      feature.name,
      feature.profile,
      version.numeric[index] ?? null,
      version.categorical[index] ?? null,
      featureSettings,
    );
    compared.push({ ...result, drift: applyCalibration(result.drift, feature.calibration, featureSettings) });
  });
  const dataset = assessDataset(
    compared.map((entry) => entry.drift),
    options,
  );
  const features = dataset.features.map((drift, index) => {
    const entry = compared[index] as (typeof compared)[number];
    return toColumnDrift(drift, entry.reference, entry.current);
  });
  let maxPsi: number | null = null;
  for (const feature of features) {
    const psi = feature.psi?.statistic;
    if (typeof psi === 'number' && Number.isFinite(psi) && (maxPsi === null || psi > maxPsi)) maxPsi = psi;
  }
  return {
    verdict: dataset.verdict,
    tested: dataset.tested,
    drifted: dataset.drifted,
    warnings: dataset.warnings,
    untested: dataset.untested,
    share: dataset.share,
    drift_share: dataset.driftShare,
    correction: dataset.correction,
    max_psi: maxPsi,
    drifted_features: features.filter((f) => f.verdict === 'drift').map((f) => f.name),
    features,
  };
}

/**
 * The prediction drift section: predicted labels or scores against the model's predictions on
 * its reference rows. Judged on its own (not part of the features' correction family).
 */
export function analysePredictionDrift(
  version: AnalysedVersion,
  settings: DriftSettings,
): PredictionDriftSection | null {
  const prediction = version.reference?.prediction ?? null;
  if (prediction === null) return null;
  const kind = prediction.kind;
  const output = prediction.output;
  const count =
    kind === 'label'
      ? (version.labels?.total ?? 0) - (version.labels?.missing ?? 0)
      : finiteCount(version.scores);
  if (count < settings.minPredictions) {
    return {
      kind,
      output,
      verdict: 'insufficient_data',
      reason: `${count} prediction${count === 1 ? '' : 's'} with a ${kind === 'label' ? 'label' : 'score'}, fewer than the ${settings.minPredictions} required`,
      drift: null,
    };
  }
  let result: { drift: FeatureDrift; reference: ColumnSummary; current: ColumnSummary };
  if (prediction.kind === 'label' && version.labels) {
    const current = currentCategorical(version.labels);
    result = {
      drift: predictionLabelDrift(prediction.profile, current, settings.options),
      reference: categoricalSummary(prediction.profile),
      current: categoricalSummary(current),
    };
  } else if (prediction.kind === 'score' && version.scores instanceof FloatColumn) {
    const sample = version.scores.toSortedSample();
    result = {
      drift: predictionScoreDrift(prediction.profile, sample, settings.options),
      reference: numericSummary(prediction.profile),
      current: numericSummary(buildNumericProfile(sample, { binning: prediction.profile })),
    };
  } else if (
    prediction.kind === 'score' &&
    version.scores !== null &&
    !(version.scores instanceof FloatColumn)
  ) {
    const current: NumericProfile = version.scores;
    result = {
      drift: predictionScoreDrift(prediction.profile, current, settings.options),
      reference: numericSummary(prediction.profile),
      current: numericSummary(current),
    };
  } else {
    return null;
  }
  const drift = toColumnDrift(result.drift, result.reference, result.current);
  return { kind, output, verdict: drift.verdict, drift };
}

function compareColumn(
  name: string,
  profile: FeatureProfile,
  numeric: FloatColumn | NumericProfile | null,
  categorical: CategoryCounts | null,
  options: DriftOptions,
): { drift: FeatureDrift; reference: ColumnSummary; current: ColumnSummary } {
  if (profile.kind === 'numeric' && numeric !== null && !(numeric instanceof FloatColumn)) {
    return {
      drift: compareNumeric(name, profile, numeric, options),
      reference: numericSummary(profile),
      current: numericSummary(numeric),
    };
  }
  if (profile.kind === 'numeric') {
    const sample = (numeric as FloatColumn).toSortedSample();
    return {
      drift: compareNumeric(name, profile, sample, options),
      reference: numericSummary(profile),
      current: numericSummary(buildNumericProfile(sample, { binning: profile })),
    };
  }
  const current = currentCategorical(categorical as CategoryCounts);
  return {
    drift: compareCategorical(name, profile, current, options),
    reference: categoricalSummary(profile),
    current: categoricalSummary(current),
  };
}

function currentCategorical(counts: CategoryCounts): CategoricalProfile {
  return profileFromCounts(counts.counts, counts.missing, 0, counts.counts.size, CURRENT_MAX_CATEGORIES);
}

function toColumnDrift(drift: FeatureDrift, reference: ColumnSummary, current: ColumnSummary): ColumnDrift {
  return {
    name: drift.feature,
    kind: drift.kind,
    verdict: drift.verdict,
    test: drift.test ? reportedTest(drift.test, drift.adjusted_p_value) : null,
    psi: drift.psi ? reportedTest(drift.psi) : null,
    n_unique: drift.nUnique,
    ...(drift.reason ? { reason: drift.reason } : {}),
    reference,
    current,
  };
}

function reportedTest(test: TestResult, adjusted?: number): ReportedTest {
  return {
    name: test.test,
    statistic: Number.isFinite(test.statistic) ? test.statistic : null,
    ...(test.method !== undefined ? { method: test.method } : {}),
    ...(test.p_value !== undefined ? { p_value: test.p_value } : {}),
    ...(adjusted !== undefined ? { adjusted_p_value: adjusted } : {}),
    threshold: test.threshold,
    ...(test.df !== undefined ? { df: test.df } : {}),
    drifted: test.drifted,
    ...(test.calibration !== undefined ? { calibration: test.calibration } : {}),
  };
}

/** A numeric profile without its sketch and PSI bins (which the report does not need). */
export function numericSummary(profile: NumericProfile): NumericSummary {
  return {
    kind: 'numeric',
    count: profile.count,
    missing: profile.missing,
    mean: profile.mean,
    std: profile.std,
    min: profile.min,
    max: profile.max,
    quantiles: profile.quantiles,
    histogram: profile.histogram,
  };
}

/** A categorical profile as the report shows it (the same fields). */
export function categoricalSummary(profile: CategoricalProfile): CategoricalSummary {
  return {
    kind: 'categorical',
    count: profile.count,
    missing: profile.missing,
    distinct: profile.distinct,
    categories: profile.categories,
    counts: profile.counts,
    other: profile.other,
  };
}

function finiteCount(column: FloatColumn | NumericProfile | null): number {
  if (column === null) return 0;
  if (!(column instanceof FloatColumn)) return column.count;
  let count = 0;
  for (let i = 0; i < column.length; i++) if (Number.isFinite(column.at(i))) count++;
  return count;
}
