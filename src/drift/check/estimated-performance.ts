/**
 * The report's `estimated_performance` section: CBPE estimates of the window's classification
 * metrics without outcomes, beside the realised values when outcomes were joined, and the
 * estimated and realised accuracy hour by hour.
 */
import type { ReferenceDocument } from '../profiles/reference-types.ts';
import type { MetricValues } from '../report/report-types.ts';
import {
  CBPE_METRICS,
  type CbpeMetric,
  type CbpeModel,
  type CbpeSums,
  type EstimatedMetric,
  estimateCbpe,
} from '../statistics/index.ts';

/** One metric as reported: the estimate, its band and threshold, and the realised value. */
export interface ReportedEstimate extends EstimatedMetric {
  realized: number | null;
}

export interface EstimatedPerformanceSection {
  method: 'cbpe';
  verdict: 'ok' | 'degraded' | 'insufficient_data' | 'not_available';
  reason?: string;
  /** Predictions with usable probabilities in the window. */
  rows: number;
  /** The metric whose estimate decides the verdict (the performance rule's, else accuracy). */
  metric: CbpeMetric;
  /** Whether the reference recalibrated the scores (isotonic) or kept them. */
  calibrated: boolean;
  /**
   * `calibrated`: degraded below the reference chunks' mean − 3 sampling errors (NannyML's
   * default); `fixed`: below the reference value minus the performance rule's drop.
   */
  thresholds: 'calibrated' | 'fixed';
  reference_chunk_size: number | null;
  metrics: Partial<Record<CbpeMetric, ReportedEstimate>>;
  /**
   * Per hour of the window: estimated accuracy with its band and threshold at the hour's size,
   * and the accuracy realised on the outcomes joined so far.
   */
  hourly: {
    hour: string;
    predictions: number;
    estimated_accuracy: number | null;
    estimated_lower: number | null;
    estimated_upper: number | null;
    threshold: number | null;
    degraded: boolean;
    joined: number;
    realized_accuracy: number | null;
  }[];
}

/** Per-hour sums as the summaries give them. */
export interface HourlySums {
  hour: number;
  predictions: number;
  estimated: CbpeSums | null;
  joined: number;
  correct: number;
}

/**
 * Builds the section. `realized` holds the performance metrics on the joined outcomes (names as
 * in the performance section). Degraded when the watched metric's estimate is below its threshold.
 *
 * @example
 * ```ts
 * const section = estimatedPerformance(reference, sums, performance.metrics, null, 100, []);
 * section.metrics.accuracy?.estimate;
 * ```
 */
export function estimatedPerformance(
  reference: ReferenceDocument | null,
  sums: CbpeSums | null,
  realized: MetricValues,
  ruleMetric: string | null,
  minPredictions: number,
  hourly: readonly HourlySums[],
  fixed: FixedEstimateThresholds | null = null,
): EstimatedPerformanceSection {
  const model = reference?.performance?.cbpe ?? null;
  const metric: CbpeMetric = CBPE_METRICS.includes(ruleMetric as CbpeMetric)
    ? (ruleMetric as CbpeMetric)
    : 'accuracy';
  const base = {
    method: 'cbpe' as const,
    rows: sums?.rows ?? 0,
    metric,
    calibrated: model?.calibrated ?? false,
    thresholds: fixed === null ? ('calibrated' as const) : ('fixed' as const),
    reference_chunk_size: model?.chunkSize ?? null,
    metrics: {},
    hourly: [],
  };
  if (model === null || sums === null) {
    return {
      ...base,
      verdict: 'not_available',
      reason:
        'CBPE needs a classifier with a probabilities output and a labelled reference (publish with --reference and a label column)',
    };
  }
  if (sums.rows < minPredictions) {
    return {
      ...base,
      verdict: 'insufficient_data',
      reason: `${sums.rows} prediction${sums.rows === 1 ? '' : 's'} with probabilities, fewer than the ${minPredictions} required`,
    };
  }
  const thresholds = fixed === null ? undefined : fixedThresholds(model, metric, fixed);
  const estimates = estimateCbpe(model, sums, thresholds);
  const metrics: Partial<Record<CbpeMetric, ReportedEstimate>> = {};
  for (const name of CBPE_METRICS) {
    const e = estimates[name];
    if (e.estimate === null) continue;
    const value = realized[name];
    metrics[name] = { ...e, realized: typeof value === 'number' && Number.isFinite(value) ? value : null };
  }
  const watched = model.reference[metric];
  const flat = fixed === null && watched !== undefined && watched.std === 0;
  return {
    ...base,
    verdict: metrics[metric]?.degraded ? 'degraded' : 'ok',
    ...(flat
      ? {
          reason: `the reference chunks all have ${metric} ${watched.mean} (no spread, most likely the model's training rows): no calibrated threshold; publish the reference from hold-out rows, or set calibration.estimated_performance to false for a fixed one`,
        }
      : {}),
    metrics,
    hourly: hourly.map((h) => {
      const e =
        h.estimated && h.estimated.rows > 0 ? estimateCbpe(model, h.estimated, thresholds).accuracy : null;
      return {
        hour: new Date(h.hour).toISOString(),
        predictions: h.predictions,
        estimated_accuracy: e?.estimate ?? null,
        estimated_lower: e?.lower ?? null,
        estimated_upper: e?.upper ?? null,
        threshold: e?.threshold ?? null,
        degraded: e?.degraded ?? false,
        joined: h.joined,
        realized_accuracy: h.joined > 0 ? h.correct / h.joined : null,
      };
    }),
  };
}

/** The performance rule's drop, for fixed CBPE thresholds (`calibration.estimated_performance: false`). */
export interface FixedEstimateThresholds {
  maxDrop: number | null;
  maxRelativeDrop: number | null;
}

/** Fixed drop from the reference value when the rule sets none (as accuracy's default rule). */
export const DEFAULT_ESTIMATE_MAX_DROP = 0.05;

/**
 * Fixed thresholds: each metric's reference value (mean over the reference chunks) minus the
 * rule's `max_drop` (or `max_relative_drop` of the value) for the watched metric, minus 0.05 for
 * the others.
 */
function fixedThresholds(
  model: CbpeModel,
  watched: CbpeMetric,
  rule: FixedEstimateThresholds,
): Partial<Record<CbpeMetric, number>> {
  const out: Partial<Record<CbpeMetric, number>> = {};
  for (const name of CBPE_METRICS) {
    const ref = model.reference[name];
    if (!ref) continue;
    let drop = DEFAULT_ESTIMATE_MAX_DROP;
    if (name === watched && rule.maxDrop !== null) drop = rule.maxDrop;
    else if (name === watched && rule.maxRelativeDrop !== null) drop = ref.mean * rule.maxRelativeDrop;
    out[name] = ref.mean - drop;
  }
  return out;
}
