/**
 * Performance on the predictions joined with outcomes, compared with the reference performance.
 */
import type { Task } from '../../repository/model-config.ts';
import type { ReferencePerformance } from '../profiles/reference-types.ts';
import type { MetricValues, PerformanceCurves, PerformanceSection } from '../report/report-types.ts';
import {
  type ClassificationMetrics,
  classificationMetrics,
  type RegressionMetrics,
  regressionMetrics,
  reliabilityCurve,
  rocCurve,
} from '../statistics/index.ts';
import type { JoinedRows } from './accumulator.ts';
import { type DriftSettings, PERFORMANCE_METRICS, type PerformanceMetricName } from './settings.ts';

/** Absolute drop tolerated by default for a higher-is-better metric (accuracy: 5 points). */
export const DEFAULT_MAX_DROP = 0.05;
/** Relative rise tolerated by default for a lower-is-better metric (RMSE: 10 %). */
export const DEFAULT_MAX_RELATIVE_DROP = 0.1;

/**
 * Flat metric values of full classification or regression metrics.
 *
 * @example
 * ```ts
 * metricValues(classificationMetrics({ actual, predicted })).accuracy;
 * ```
 */
export function metricValues(metrics: {
  classification?: ClassificationMetrics;
  regression?: RegressionMetrics;
}): MetricValues {
  if (metrics.classification) {
    const m = metrics.classification;
    return {
      accuracy: m.accuracy,
      precision_macro: m.macro.precision,
      recall_macro: m.macro.recall,
      f1_macro: m.macro.f1,
      roc_auc: m.rocAuc,
      log_loss: m.logLoss,
    };
  }
  if (metrics.regression) {
    const m = metrics.regression;
    return { mae: m.mae, rmse: m.rmse, r2: m.r2, mean_error: m.meanError };
  }
  return {};
}

/**
 * Computes the performance section of a version: metrics on the joined rows (at least
 * `minOutcomes` of them), the reference metrics, their deltas, and the verdict of the
 * degradation rule (default: accuracy down by more than 0.05 for classification, RMSE up by more
 * than 10 % for regression; warning from `warningRatio` of that).
 *
 * @example
 * ```ts
 * const section = assessPerformance('classification', version.joined, ['a', 'b', 'c'], reference.performance, settings);
 * section.verdict; // 'ok' | 'warning' | 'degraded' | 'insufficient_data' | 'not_available'
 * ```
 */
export function assessPerformance(
  task: Task,
  joined: JoinedRows,
  labels: readonly string[],
  reference: ReferencePerformance | null,
  settings: DriftSettings,
): PerformanceSection {
  const rows = joined.actual.length;
  const base = {
    task,
    rows,
    min_outcomes: settings.minOutcomes,
    metrics: {},
    reference: reference ? metricValues(reference) : null,
    deltas: {},
    rule: null,
    ...(task === 'classification' ? { labels: [...labels] } : {}),
    ...(reference?.classification ? { reference_classification: reference.classification } : {}),
    ...(reference?.regression ? { reference_regression: reference.regression } : {}),
  };
  if (task !== 'classification' && task !== 'regression') {
    return { ...base, verdict: 'not_available', reason: `no performance metrics for task '${task}'` };
  }
  if (rows === 0)
    return { ...base, verdict: 'not_available', reason: 'no outcomes joined with the predictions' };
  if (rows < settings.minOutcomes) {
    return {
      ...base,
      verdict: 'insufficient_data',
      reason: `${rows} joined outcome${rows === 1 ? '' : 's'}, fewer than the ${settings.minOutcomes} required`,
    };
  }
  const actual = joined.actual.toArray();
  const predicted = joined.predicted.toArray();
  const probabilities = task === 'classification' ? (joined.probabilities?.toArray() ?? null) : null;
  const full =
    task === 'classification'
      ? {
          classification: classificationMetrics({
            actual,
            predicted,
            classes: Math.max(1, labels.length),
            ...(probabilities ? { probabilities } : {}),
          }),
        }
      : { regression: regressionMetrics(actual, predicted) };
  const metrics = metricValues(full);
  const deltas: MetricValues = {};
  for (const [name, value] of Object.entries(metrics)) {
    const ref = base.reference?.[name];
    deltas[name] = value === null || ref === null || ref === undefined ? null : value - ref;
  }
  const rule = degradation(task, metrics, base.reference, settings);
  return {
    ...base,
    ...full,
    metrics,
    deltas,
    rule: rule.rule,
    ...(probabilities ? { curves: performanceCurves(actual, probabilities, labels) } : {}),
    verdict: rule.verdict,
    ...(rule.reason ? { reason: rule.reason } : {}),
  };
}

/** Classes drawn one-vs-rest at most (a multiclass report stays readable and small). */
export const MAX_CURVE_CLASSES = 10;

/**
 * ROC and reliability curves per class: binary, the positive class (index 1); multiclass, each
 * class one-vs-rest. Rows whose outcome is not a known class are left out.
 *
 * @example
 * ```ts
 * performanceCurves([0, 1, 1], [0.8, 0.2, 0.3, 0.7, 0.4, 0.6], ['no', 'yes']).roc[0]?.auc; // 1
 * ```
 */
export function performanceCurves(
  actual: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  labels: readonly string[],
): PerformanceCurves {
  const k = labels.length;
  const n = actual.length;
  const classes = k === 2 ? [1] : Array.from({ length: Math.min(k, MAX_CURVE_CLASSES) }, (_, c) => c);
  const scores = new Float64Array(n);
  const positive = new Uint8Array(n);
  const curves: PerformanceCurves = { roc: [], calibration: [] };
  if (k < 2 || probabilities.length < n * k) return curves;
  for (const c of classes) {
    for (let i = 0; i < n; i++) {
      const a = actual[i] as number;
      scores[i] = Number.isInteger(a) && a >= 0 && a < k ? (probabilities[i * k + c] as number) : Number.NaN;
      positive[i] = a === c ? 1 : 0;
    }
    const name = labels[c] ?? String(c);
    curves.roc.push({ class: name, ...rocCurve(scores, positive) });
    curves.calibration.push({ class: name, bins: reliabilityCurve(scores, positive) });
  }
  return curves;
}

function degradation(
  task: 'classification' | 'regression',
  metrics: MetricValues,
  reference: MetricValues | null,
  settings: DriftSettings,
): { rule: PerformanceSection['rule']; verdict: PerformanceSection['verdict']; reason?: string } {
  const metric = (settings.performance.metric ??
    (task === 'classification' ? 'accuracy' : 'rmse')) as PerformanceMetricName;
  const direction = PERFORMANCE_METRICS[metric];
  let { maxDrop, maxRelativeDrop } = settings.performance;
  if (maxDrop === null && maxRelativeDrop === null) {
    if (direction === 'higher') maxDrop = DEFAULT_MAX_DROP;
    else maxRelativeDrop = DEFAULT_MAX_RELATIVE_DROP;
  }
  const current = metrics[metric] ?? null;
  const ref = reference?.[metric] ?? null;
  const rule = {
    metric,
    direction,
    max_drop: maxDrop,
    max_relative_drop: maxRelativeDrop,
    drop: null,
    relative_drop: null,
  };
  if (ref === null) {
    return {
      rule,
      verdict: 'ok',
      reason: `no reference ${metric} to compare with (publish with --label-column)`,
    };
  }
  if (current === null)
    return { rule, verdict: 'ok', reason: `${metric} is undefined on the joined outcomes` };
  const drop = direction === 'higher' ? ref - current : current - ref;
  const relative = ref === 0 ? null : drop / Math.abs(ref);
  const ratio = settings.options.warningRatio;
  const over = (limit: number | null, value: number | null, scale: number) =>
    limit !== null && value !== null && value > limit * scale;
  const verdict =
    over(maxDrop, drop, 1) || over(maxRelativeDrop, relative, 1)
      ? 'degraded'
      : over(maxDrop, drop, ratio) || over(maxRelativeDrop, relative, ratio)
        ? 'warning'
        : 'ok';
  // A perfect reference score means the reference rows were (most likely) the training rows:
  // live traffic cannot match it, so a drop says nothing about the model getting worse.
  const perfect = direction === 'higher' ? ref >= 1 : ref === 0;
  if (perfect && verdict !== 'ok') {
    return {
      rule: { ...rule, drop, relative_drop: relative },
      verdict: 'warning',
      reason: `the reference ${metric} is perfect (${ref}): its rows look like the model's training rows, so live ${metric} is expected to be lower and is not reported as degraded; rebuild the reference from hold-out rows (npm run model -- reference holdout.csv --name … --label-column …) to compare performance`,
    };
  }
  return { rule: { ...rule, drop, relative_drop: relative }, verdict };
}
