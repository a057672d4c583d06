/**
 * The `ModelDriftDetected` event: what a drift check tells the rest of the world when a model
 * drifts or its performance degrades, so that a retraining pipeline can start. Published on
 * EventBridge in AWS (`eventbridge-publisher.ts`), appended to a file in the local stack
 * (`file-publisher.ts`); any other `DriftEventPublisher` can be handed in.
 */
import { createHash } from 'node:crypto';
import type { DriftReport } from '../report/report-types.ts';
import type { RolloutComparison, RolloutVersion } from './rollout.ts';

/** EventBridge `source` of the event (serverless.yml `custom.drift.eventSource`). */
export const DRIFT_EVENT_SOURCE = 'onnx-serve';
/** EventBridge `detail-type` (serverless.yml `custom.drift.eventDetailType`). */
export const DRIFT_EVENT_DETAIL_TYPE = 'ModelDriftDetected';
/** Drifted feature names listed in an event at most (EventBridge entries are limited to 256 KB). */
export const MAX_EVENT_FEATURES = 100;

/** The event's `detail`. */
export interface ModelDriftDetectedDetail {
  /**
   * Deterministic id of the event: the same model, version and window always give the same id,
   * so consumers can drop a duplicate (a retried or concurrent run).
   */
  event_id: string;
  model: string;
  version: string;
  /** The dataset (data drift) verdict. */
  verdict: DriftReport['verdict'];
  /** Why the event was raised: `data_drift`, `performance_degraded`, `data_quality`. */
  reasons: string[];
  drifted_features: string[];
  prediction_verdict: string | null;
  performance_verdict: string;
  window: DriftReport['window'];
  generated_at: string;
  report: { bucket?: string; json: string; html: string; latest: string };
  metrics: Record<string, number | null>;
}

/**
 * The event detail of a report whose alert was raised.
 *
 * @example
 * ```ts
 * if (report.alert.raised) await publisher.publish(driftEventDetail(report, 'my-bucket', latestKey(report.model)));
 * ```
 */
export function driftEventDetail(
  report: DriftReport,
  bucket: string | undefined,
  latest: string,
): ModelDriftDetectedDetail {
  return {
    event_id: driftEventId(report.model, report.version ?? '', report.window),
    model: report.model,
    version: report.version ?? '',
    verdict: report.verdict,
    reasons: report.alert.reasons,
    drifted_features: report.data_drift.drifted_features.slice(0, MAX_EVENT_FEATURES),
    prediction_verdict: report.prediction_drift?.verdict ?? null,
    performance_verdict: report.performance.verdict,
    window: report.window,
    generated_at: report.generated_at,
    report: { ...(bucket ? { bucket } : {}), json: report.keys.json, html: report.keys.html, latest },
    metrics: reportMetrics(report),
  };
}

/**
 * The headline numbers of a report, as the metrics and the event carry them.
 *
 * @example
 * ```ts
 * reportMetrics(report); // { drifted_features: 3, max_drift_score: 0.41, prediction_drift: 0, accuracy: 0.93, … }
 * ```
 */
export function reportMetrics(report: DriftReport): Record<string, number | null> {
  return {
    predictions: report.counts.predictions,
    drifted_features: report.data_drift.drifted_features.length,
    max_drift_score: report.data_drift.max_psi,
    dataset_drift: report.verdict === 'drift' ? 1 : 0,
    prediction_drift: report.prediction_drift?.verdict === 'drift' ? 1 : 0,
    outcome_coverage: report.outcomes.coverage,
    ...report.performance.metrics,
  };
}

/**
 * The id of the drift event of `model` `version` over `window`: SHA-256 of the three, 32 hex digits.
 *
 * @example
 * ```ts
 * driftEventId('iris', '2', { start: '2026-01-01T00:00:00.000Z', end: '2026-01-02T00:00:00.000Z' });
 * ```
 */
export function driftEventId(model: string, version: string, window: { start: string; end: string }): string {
  return createHash('sha256')
    .update(`${model}\n${version}\n${window.start}\n${window.end}`)
    .digest('hex')
    .slice(0, 32);
}

/** Object whose creation claims the right to emit an event (`reports/{model}/events/{id}.json`). */
export function driftEventClaimKey(model: string, eventId: string): string {
  return `reports/${model}/events/${eventId}.json`;
}

/** Event ids being claimed or published by runs of this process, per store. */
const inFlight = new WeakMap<object, Set<string>>();
function inFlightOf(store: object): Set<string> {
  let claims = inFlight.get(store);
  if (claims === undefined) {
    claims = new Set();
    inFlight.set(store, claims);
  }
  return claims;
}

interface ClaimStore {
  head(key: string): Promise<unknown>;
  put(
    key: string,
    body: string,
    options?: { contentType?: string; ifAbsent?: boolean },
  ): Promise<{ existed?: boolean }>;
  delete(key: string): Promise<void>;
}

/**
 * Claims the event `detail.event_id` once across runs, by creating
 * `reports/{model}/events/{event_id}.json`: a conditional write (`If-None-Match: *`) on S3, so
 * that of two concurrent runs (two instances, or an async retry) only one emits the event. False
 * when another run claimed it. A store without conditional writes (s3rver) relies on a look
 * before the write and on the claims in flight in this process (the local stack runs one drift
 * function process). Release the claim with {@link releaseDriftEvent} when publishing fails.
 */
export async function claimDriftEvent(store: ClaimStore, detail: ModelDriftDetectedDetail): Promise<boolean> {
  const claims = inFlightOf(store);
  if (claims.has(detail.event_id)) return false;
  claims.add(detail.event_id);
  try {
    const key = driftEventClaimKey(detail.model, detail.event_id);
    if ((await store.head(key)) !== undefined) return false;
    const record = {
      event_id: detail.event_id,
      model: detail.model,
      version: detail.version,
      window: detail.window,
      claimed_at: new Date().toISOString(),
    };
    const { existed } = await store.put(key, `${JSON.stringify(record)}\n`, {
      contentType: 'application/json',
      ifAbsent: true,
    });
    return existed !== true;
  } finally {
    claims.delete(detail.event_id);
  }
}

/** Gives a claim back after the event could not be delivered. */
export async function releaseDriftEvent(store: ClaimStore, detail: ModelDriftDetectedDetail): Promise<void> {
  await store.delete(driftEventClaimKey(detail.model, detail.event_id));
}

/** EventBridge `detail-type` of the rollout verdict event. */
export const ROLLOUT_EVENT_DETAIL_TYPE = 'ModelRolloutVerdict';

/** The `ModelRolloutVerdict` event's `detail`: one per drift run of a model with challengers. */
export interface ModelRolloutVerdictDetail {
  model: string;
  primary: string | null;
  comparisons: RolloutComparison[];
  versions: RolloutVersion[];
  window: DriftReport['window'];
  generated_at: string;
  report: { bucket?: string; json: string; html: string; latest: string };
}

/**
 * The rollout event of a report with at least one challenger compared, else undefined.
 *
 * @example
 * ```ts
 * const detail = rolloutEventDetail(report, bucket, latestKey(report.model));
 * if (detail) await publisher.publishRollout?.(detail);
 * ```
 */
export function rolloutEventDetail(
  report: DriftReport,
  bucket: string | undefined,
  latest: string,
): ModelRolloutVerdictDetail | undefined {
  const rollout = report.rollout;
  if (rollout === undefined || rollout.comparisons.length === 0) return undefined;
  return {
    model: report.model,
    primary: rollout.primary,
    comparisons: rollout.comparisons,
    versions: rollout.versions,
    window: report.window,
    generated_at: report.generated_at,
    report: { ...(bucket ? { bucket } : {}), json: report.keys.json, html: report.keys.html, latest },
  };
}
