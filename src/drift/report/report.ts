/**
 * The drift report as data: `drift.json` and the `latest.json` pointer, built from a check result.
 */
import type { ModelCheckResult, VersionResult } from '../check/check.ts';
import { reportFolder } from '../check/window.ts';
import {
  type DataDriftSection,
  DRIFT_REPORT_SCHEMA_VERSION,
  type DriftReport,
  type LatestReportPointer,
  type OtherVersionSummary,
  type PerformanceSection,
} from './report-types.ts';

/** Where the reports of `model` generated at `time` go. */
export function reportKeys(model: string, time: Date): DriftReport['keys'] {
  const folder = reportFolder(model, time);
  return { json: `${folder}drift.json`, html: `${folder}drift.html` };
}

/** `reports/{model}/latest.json`. */
export function latestKey(model: string): string {
  return `reports/${model}/latest.json`;
}

/**
 * The report of a check, generated at `generatedAt`.
 *
 * @example
 * ```ts
 * const report = buildDriftReport(await checkModel('iris', { store }), new Date());
 * report.verdict; // 'ok' | 'warning' | 'drift' | 'insufficient_data' | 'no_reference'
 * ```
 */
export function buildDriftReport(result: ModelCheckResult, generatedAt: Date): DriftReport {
  const { settings, primary } = result;
  const options = settings.options;
  const dataDrift = primary?.dataDrift ?? noTraffic(result);
  const performance: PerformanceSection = primary?.performance ?? {
    verdict: 'not_available',
    reason: 'no predictions in the window',
    task: result.config.task ?? 'other',
    rows: 0,
    min_outcomes: settings.minOutcomes,
    metrics: {},
    reference: null,
    deltas: {},
    rule: null,
  };
  const predictions = primary?.predictions ?? 0;
  const warnings = [...result.warnings, ...(primary?.warnings ?? [])];
  const reference = primary?.reference ?? null;
  return {
    schema: DRIFT_REPORT_SCHEMA_VERSION,
    model: result.model,
    version: primary?.version ?? null,
    generated_at: generatedAt.toISOString(),
    window: {
      start: result.window.start.toISOString(),
      end: result.window.end.toISOString(),
      hours: result.windowHours,
    },
    task: reference?.task ?? result.config.task ?? null,
    reference:
      primary && reference
        ? {
            key: primary.referenceKey,
            created_at: reference.created_at,
            rows: reference.rows,
            source: reference.source.file,
            compared:
              reference.inputs_profiled === 'input_summaries'
                ? 'input_summaries'
                : ('features' as 'features' | 'input_summaries'),
          }
        : null,
    counts: {
      objects: result.scan.objects,
      bytes: result.scan.bytes,
      records: result.scan.records,
      predictions,
      invalid_lines: result.scan.invalidLines,
      outside_window: result.scan.outsideWindow,
      non_tabular: primary?.nonTabular ?? 0,
      truncated: primary?.truncated ?? 0,
      without_prediction: primary?.withoutPrediction ?? 0,
      first_prediction: primary?.firstTs == null ? null : new Date(primary.firstTs).toISOString(),
      last_prediction: primary?.lastTs == null ? null : new Date(primary.lastTs).toISOString(),
      other_versions: Object.fromEntries(result.others.map((other) => [other.version, other.predictions])),
    },
    settings: {
      window_hours: result.windowHours,
      min_predictions: settings.minPredictions,
      min_outcomes: settings.minOutcomes,
      outcome_lookback_hours: settings.outcomeLookbackHours,
      thresholds: { ...options.thresholds },
      warning_ratio: options.warningRatio,
      correction: options.correction,
      drift_share: options.driftShare,
      forced_test: options.test ?? null,
      feature_overrides: Object.keys(settings.features),
      calibration: {
        features: settings.calibration.features,
        missing: settings.calibration.missing,
        estimated_performance: settings.calibration.estimatedPerformance,
        multivariate: settings.calibration.multivariate,
      },
      multivariate_max_increase: settings.multivariateMaxIncrease,
    },
    verdict: dataDrift.verdict,
    data_drift: dataDrift,
    data_quality: primary?.dataQuality ?? {
      verdict: 'insufficient_data',
      reason: 'no predictions in the window',
      rows: 0,
      thresholds: {
        missing: settings.dataQuality.missing,
        out_of_range: settings.dataQuality.outOfRange,
        new_category: settings.dataQuality.newCategory,
        type_mismatch: settings.dataQuality.typeMismatch,
      },
      failing_features: [],
      warning_features: [],
      features: [],
    },
    multivariate_drift: primary?.multivariateDrift ?? {
      method: 'pca_reconstruction_error',
      verdict: 'insufficient_data',
      reason: 'no predictions in the window',
      rows: 0,
      statistic: null,
      lower: null,
      upper: null,
      thresholds: settings.calibration.multivariate ? 'calibrated' : 'fixed',
      reference_mean: null,
      features: 0,
      components: 0,
      explained_variance: null,
    },
    prediction_drift: primary?.predictionDrift ?? null,
    performance,
    estimated_performance: primary?.estimatedPerformance ?? {
      method: 'cbpe',
      verdict: 'not_available',
      reason: 'no predictions in the window',
      rows: 0,
      metric: 'accuracy',
      calibrated: false,
      thresholds: settings.calibration.estimatedPerformance ? 'calibrated' : 'fixed',
      reference_chunk_size: null,
      metrics: {},
      hourly: [],
    },
    outcomes: {
      objects: result.outcomes.objects,
      records: result.outcomes.records,
      invalid: result.outcomes.invalid,
      duplicates: result.outcomes.duplicates,
      unmatched: result.outcomes.unmatched,
      dropped: result.outcomes.dropped,
      joined: primary?.joined ?? 0,
      coverage: predictions > 0 ? (primary?.joined ?? 0) / predictions : 0,
      late: primary?.late ?? 0,
      duplicate_predictions: primary?.duplicatePredictions ?? 0,
      delay_seconds: primary?.delaySeconds ?? { count: 0, median: null, p90: null },
      lookback_hours: settings.outcomeLookbackHours,
    },
    alert: { raised: (primary?.alertReasons.length ?? 0) > 0, reasons: primary?.alertReasons ?? [] },
    other_versions: result.others.map(summariseVersion),
    warnings,
    keys: reportKeys(result.model, generatedAt),
  };
}

/**
 * The `latest.json` pointer of a report.
 *
 * @example
 * ```ts
 * await store.put(latestKey(report.model), JSON.stringify(latestPointer(report)));
 * ```
 */
export function latestPointer(report: DriftReport): LatestReportPointer {
  return {
    schema: DRIFT_REPORT_SCHEMA_VERSION,
    model: report.model,
    version: report.version,
    generated_at: report.generated_at,
    window: report.window,
    verdict: report.verdict,
    keys: report.keys,
    summary: {
      predictions: report.counts.predictions,
      drifted_features: report.data_drift.drifted_features,
      prediction_verdict: report.prediction_drift?.verdict ?? null,
      performance_verdict: report.performance.verdict,
      metrics: report.performance.metrics,
      outcome_coverage: report.outcomes.coverage,
      data_quality_verdict: report.data_quality.verdict,
      estimated_performance_verdict: report.estimated_performance.verdict,
      failing_quality_features: report.data_quality.failing_features,
      alert: report.alert.raised,
      alert_reasons: report.alert.reasons,
    },
  };
}

function summariseVersion(version: VersionResult): OtherVersionSummary {
  return {
    version: version.version,
    predictions: version.predictions,
    verdict: version.dataDrift.verdict,
    drifted_features: version.dataDrift.drifted_features,
    prediction_verdict: version.predictionDrift?.verdict ?? null,
    performance_verdict: version.performance.verdict,
  };
}

function noTraffic(result: ModelCheckResult): DataDriftSection {
  return {
    verdict: 'insufficient_data',
    reason: 'no predictions in the window',
    tested: 0,
    drifted: 0,
    warnings: 0,
    untested: 0,
    share: 0,
    drift_share: result.settings.options.driftShare,
    correction: result.settings.options.correction,
    max_psi: null,
    drifted_features: [],
    features: [],
  };
}
