/**
 * The report's `estimated_performance` section: CBPE estimates of the window's classification
 * metrics without outcomes, beside the realised values when outcomes were joined, and (from the
 * per-hour summaries) the estimated and realised accuracy hour by hour.
 */
import type { ReferenceDocument } from '../profiles/reference-types.ts';
import type { MetricValues } from '../report/report-types.ts';
import {
  CBPE_METRICS,
  type CbpeMetric,
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
  reference_chunk_size: number | null;
  metrics: Partial<Record<CbpeMetric, ReportedEstimate>>;
  /** Per hour of the window (per-hour summaries only): estimated and realised accuracy. */
  hourly: {
    hour: string;
    predictions: number;
    estimated_accuracy: number | null;
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
  const estimates = estimateCbpe(model, sums);
  const metrics: Partial<Record<CbpeMetric, ReportedEstimate>> = {};
  for (const name of CBPE_METRICS) {
    const e = estimates[name];
    if (e.estimate === null) continue;
    const value = realized[name];
    metrics[name] = { ...e, realized: typeof value === 'number' && Number.isFinite(value) ? value : null };
  }
  return {
    ...base,
    verdict: metrics[metric]?.degraded ? 'degraded' : 'ok',
    metrics,
    hourly: hourly.map((h) => ({
      hour: new Date(h.hour).toISOString(),
      predictions: h.predictions,
      estimated_accuracy:
        h.estimated && h.estimated.rows > 0 ? estimateCbpe(model, h.estimated).accuracy.estimate : null,
      joined: h.joined,
      realized_accuracy: h.joined > 0 ? h.correct / h.joined : null,
    })),
  };
}
