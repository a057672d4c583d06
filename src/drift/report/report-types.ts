/**
 * The drift report, `reports/{model}/{yyyy}/{MM}/{dd}/{HHmmss}/drift.json`, and the pointer
 * `reports/{model}/latest.json`. Aggregates only: no capture record, id or row is ever copied in.
 * Documented field by field in docs/monitoring.md; `DRIFT_REPORT_SCHEMA_VERSION` changes when a
 * field changes meaning or goes away.
 */
import type { Task } from '../../repository/model-config.ts';
import type { DataQualitySection } from '../check/data-quality.ts';
import type { EstimatedPerformanceSection } from '../check/estimated-performance.ts';
import type { MultivariateDriftSection } from '../check/multivariate-drift.ts';
import type { RolloutResult } from '../check/rollout.ts';
import type {
  CalibratedBand,
  ClassificationMetrics,
  Correction,
  Histogram,
  RegressionMetrics,
  ReliabilityBin,
  RocCurve,
  TestName,
  Verdict,
} from '../statistics/index.ts';

export const DRIFT_REPORT_SCHEMA_VERSION = 1;

/** Data drift verdict: the three levels, or why there is none. */
export type DataVerdict = Verdict | 'insufficient_data' | 'no_reference';
/** Performance verdict against the reference performance. */
export type PerformanceVerdict = 'ok' | 'warning' | 'degraded' | 'insufficient_data' | 'not_available';

/** One statistical test as reported. */
export interface ReportedTest {
  name: TestName;
  /** null when infinite (chi-squared goodness of fit with values the reference never saw). */
  statistic: number | null;
  /** KS: `exact` or `asymp` (SciPy's `ks_2samp(method='auto')`); chi-squared: which test ran. */
  method?: 'exact' | 'asymp' | 'goodness-of-fit' | 'homogeneity';
  /** p-value tests only (ks, chisquare, z). */
  p_value?: number;
  /** After the multiple-testing correction (features' p-value tests only). */
  adjusted_p_value?: number;
  /** Alpha for p-value tests, the distance threshold otherwise. */
  threshold: number;
  /** Degrees of freedom (chisquare). */
  df?: number;
  drifted: boolean;
  /**
   * With calibrated thresholds (`calibration.features`): the band from the reference chunks at
   * this window's size; the test then decides by its statistic against `upper`, not by `threshold`.
   */
  calibration?: CalibratedBand;
}

export interface NumericSummary {
  kind: 'numeric';
  count: number;
  missing: number;
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  quantiles: { p: number; value: number }[];
  /** Bins of the reference's equal-width histogram, current values counted into the same bins. */
  histogram: Histogram;
}

export interface CategoricalSummary {
  kind: 'categorical';
  count: number;
  missing: number;
  distinct: number;
  categories: string[];
  counts: number[];
  other: number;
}

export type ColumnSummary = NumericSummary | CategoricalSummary;

/** One feature's (or the prediction's) drift. */
export interface ColumnDrift {
  name: string;
  kind: 'numeric' | 'categorical';
  verdict: Verdict;
  /** The deciding test, chosen as Evidently does (or forced in config.json). */
  test: ReportedTest | null;
  /** Population stability index, always reported beside the deciding test. */
  psi: ReportedTest | null;
  /** Distinct values in reference and current together (Evidently's n_unique). */
  n_unique: number;
  /** Why the test could not run. */
  reason?: string;
  reference: ColumnSummary;
  current: ColumnSummary;
}

export interface DataDriftSection {
  verdict: DataVerdict;
  /** Why there is no verdict (insufficient_data, no_reference). */
  reason?: string;
  /** Features tested, drifted, at warning level, and not testable (no values on one side). */
  tested: number;
  drifted: number;
  warnings: number;
  untested: number;
  /** drifted / tested, against `drift_share`. */
  share: number;
  drift_share: number;
  correction: Correction;
  /** Largest PSI among the features (the `MaxDriftScore` metric). */
  max_psi: number | null;
  drifted_features: string[];
  features: ColumnDrift[];
}

export interface PredictionDriftSection {
  /** Predicted labels (classification) or scores (regression). */
  kind: 'label' | 'score';
  output: string | null;
  verdict: DataVerdict;
  reason?: string;
  drift: ColumnDrift | null;
}

/** Flat performance numbers, by metric name (accuracy, f1_macro, rmse, …); null when undefined. */
export type MetricValues = Record<string, number | null>;

export interface PerformanceSection {
  verdict: PerformanceVerdict;
  reason?: string;
  task: Task;
  /** Predictions joined with an outcome (and used). */
  rows: number;
  min_outcomes: number;
  metrics: MetricValues;
  reference: MetricValues | null;
  /** current − reference, per metric. */
  deltas: MetricValues;
  /** The rule deciding `degraded`, and how far the metric moved for the worse. */
  rule: {
    metric: string;
    direction: 'higher' | 'lower';
    max_drop: number | null;
    max_relative_drop: number | null;
    drop: number | null;
    relative_drop: number | null;
  } | null;
  /** Class names by index (classification): the indices of `classification` name these. */
  labels?: string[];
  /** Full metrics: confusion matrix, per-class precision/recall/F1. */
  classification?: ClassificationMetrics;
  regression?: RegressionMetrics;
  reference_classification?: ClassificationMetrics;
  reference_regression?: RegressionMetrics;
  /** ROC and calibration curves on the joined outcomes (classifiers with probabilities). */
  curves?: PerformanceCurves;
}

/**
 * Per class (binary: the positive class, index 1; multiclass: each class one-vs-rest, at most 10),
 * the ROC curve of its probability and its reliability diagram (10 bins).
 */
export interface PerformanceCurves {
  roc: ({ class: string } & RocCurve)[];
  calibration: { class: string; bins: ReliabilityBin[] }[];
}

export interface OutcomeSection {
  /** Outcome objects and lines read for the check (received in [window start, window end + lookback]). */
  objects: number;
  records: number;
  invalid: number;
  /** Extra records for an id already seen; the latest received was kept. */
  duplicates: number;
  /** Outcomes matching no prediction of the window (unknown ids, or predictions outside it). */
  unmatched: number;
  /** Outcomes for new ids beyond the check's cap (`DEFAULT_MAX_OUTCOMES`): not joined. */
  dropped: number;
  /** Outcomes joined with a prediction of this version. */
  joined: number;
  /** joined / predictions of this version. */
  coverage: number;
  /** Joined outcomes received after the window ended. */
  late: number;
  /** Predictions whose id was captured more than once (joined once). */
  duplicate_predictions: number;
  /** Outcome ts − prediction ts over the joined outcomes with a ts, in seconds. */
  delay_seconds: { count: number; median: number | null; p90: number | null };
  lookback_hours: number;
}

export interface OtherVersionSummary {
  version: string;
  predictions: number;
  verdict: DataVerdict;
  drifted_features: string[];
  prediction_verdict: DataVerdict | null;
  performance_verdict: PerformanceVerdict;
}

export interface DriftReport {
  schema: typeof DRIFT_REPORT_SCHEMA_VERSION;
  /** Comparison of the versions of a rollout (traffic split, shadows), when the model has one. */
  rollout?: RolloutResult;
  model: string;
  /** The latest version with traffic in the window (null when there was none). */
  version: string | null;
  generated_at: string;
  window: { start: string; end: string; hours: number };
  task: Task | null;
  /**
   * `compared`: what data drift compares: the model's named input `features`, or, for models
   * whose inputs are tensors (images, sequences, several tensors), `input_summaries`: per input
   * and prediction its mean, std, min, max, L2 norm and NaN share.
   */
  reference: {
    key: string;
    created_at: string;
    rows: number;
    source: string;
    compared: 'features' | 'input_summaries';
  } | null;
  counts: {
    /** Capture objects and bytes read. */
    objects: number;
    bytes: number;
    /** Records of the model in the window, all versions. */
    records: number;
    /** Records of this version. */
    predictions: number;
    /** Lines skipped: not JSON, unknown schema, wrong model, bad ts or version, or too long. */
    invalid_lines: number;
    /** Records of the listed hours whose ts fell outside the window. */
    outside_window: number;
    /** Of this version's records: inputs not tabular, tensors summarised, no label/score output. */
    non_tabular: number;
    truncated: number;
    without_prediction: number;
    first_prediction: string | null;
    last_prediction: string | null;
    /** Predictions per other version in the window. */
    other_versions: Record<string, number>;
  };
  settings: {
    window_hours: number;
    min_predictions: number;
    min_outcomes: number;
    outcome_lookback_hours: number;
    thresholds: Record<TestName, number>;
    warning_ratio: number;
    correction: Correction;
    drift_share: number;
    forced_test: TestName | null;
    feature_overrides: string[];
    /** Which thresholds are calibrated on the reference chunks (mean ± 3σ) instead of fixed. */
    calibration: {
      features: boolean;
      missing: boolean;
      estimated_performance: boolean;
      multivariate: boolean;
    };
    /** Fixed multivariate threshold (when not calibrated): relative increase of the mean error. */
    multivariate_max_increase: number;
  };
  /** The dataset verdict (data drift). */
  verdict: DataVerdict;
  data_drift: DataDriftSection;
  /** Missing values, out-of-range values, new categories and type mismatches per feature. */
  data_quality: DataQualitySection;
  /** Drift of all numeric features together: PCA reconstruction error against reference chunks. */
  multivariate_drift: MultivariateDriftSection;
  prediction_drift: PredictionDriftSection | null;
  performance: PerformanceSection;
  /** CBPE: the classification metrics estimated without outcomes, beside the realised ones. */
  estimated_performance: EstimatedPerformanceSection;
  outcomes: OutcomeSection;
  /** Whether the check raised an alert (event and DriftDetected = 1), and why. */
  alert: { raised: boolean; reasons: string[] };
  other_versions: OtherVersionSummary[];
  warnings: string[];
  keys: { json: string; html: string };
}

/** `reports/{model}/latest.json`: the newest report and its gist. */
export interface LatestReportPointer {
  schema: typeof DRIFT_REPORT_SCHEMA_VERSION;
  model: string;
  version: string | null;
  generated_at: string;
  window: DriftReport['window'];
  verdict: DataVerdict;
  keys: DriftReport['keys'];
  summary: {
    predictions: number;
    drifted_features: string[];
    prediction_verdict: DataVerdict | null;
    performance_verdict: PerformanceVerdict;
    metrics: MetricValues;
    outcome_coverage: number;
    data_quality_verdict: DataQualitySection['verdict'];
    estimated_performance_verdict: EstimatedPerformanceSection['verdict'];
    failing_quality_features: string[];
    alert: boolean;
    alert_reasons: string[];
  };
}
