import type { TensorSpec } from '../types.ts';

/**
 * Version of the validation rules. Stored in every metadata.json: a file written by another
 * version is validated again on the next event for its model, never trusted as "unchanged".
 */
export const VALIDATOR_VERSION = '2';

export const VALIDATION_STATUSES = ['valid', 'invalid'] as const;
export type ValidationStatus = (typeof VALIDATION_STATUSES)[number];

/** Median and 90th percentile (nearest rank) of the timed smoke runs, in milliseconds. */
export interface LatencySummary {
  median: number;
  p90: number;
}

/** What the smoke inference was fed. */
export interface SmokeRunSummary {
  /** Which value pattern the model accepted (`small` first, then `zeros`). */
  fill: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
  /** Timed runs, after one untimed warm-up. */
  runs: number;
}

/**
 * A change made to a copy of the model so that it can be served (the stored file is untouched):
 * a ZipMap output served as an FP32 `[N, C]` tensor of the probabilities in `labels` order.
 */
export interface ModelRewrite {
  kind: 'zipmap';
  output: string;
  /** The tensor that fed the ZipMap node. */
  source: string;
  labels: string[];
  label_type: 'int64' | 'string';
}

/** Defaults inferred from the graph for config.json fields it leaves out (`task`, `labels`, `outputs`). */
export interface InferredConfig {
  task?: string;
  labels?: string[];
  outputs?: { label?: string; probabilities?: string; score?: string };
}

/**
 * The content of `models/{name}/{version}/metadata.json`. Every field is always present; what
 * validation did not get to (a file that is not ONNX has no inputs) is `null`.
 */
export interface ModelMetadata {
  status: ValidationStatus;
  /** Why the model is invalid; `null` when it is valid. */
  reason: string | null;
  name: string;
  version: number;
  /** Bytes of model.onnx. */
  size: number;
  /** Hex SHA-256 of model.onnx. */
  sha256: string;
  /** ETag of the model.onnx that was validated: metadata for another ETag is stale. */
  etag: string | null;
  ir_version: number | null;
  /** Operator sets; the default ONNX domain is written `ai.onnx`. */
  opsets: { domain: string; version: number }[] | null;
  producer: { name: string; version: string } | null;
  /** The model's own `metadata_props`. */
  metadata_props: Record<string, string> | null;
  inputs: TensorSpec[] | null;
  /** As served: a rewritten ZipMap output is described as the tensor it becomes. */
  outputs: TensorSpec[] | null;
  /** What was changed in a copy of the model to serve it; empty when nothing. */
  rewrites: ModelRewrite[] | null;
  /** config.json defaults inferred from the graph. */
  inferred: InferredConfig | null;
  /** onnxruntime session creation, in milliseconds (the download is not included). */
  load_ms: number | null;
  latency_ms: LatencySummary | null;
  smoke: SmokeRunSummary | null;
  /** onnxruntime version that created the session. */
  runtime: string | null;
  validated_at: string;
  validator_version: string;
}

/** The part of a metadata.json that serving needs. */
export interface ValidationRecord {
  status: ValidationStatus;
  reason?: string;
  /** ETag of the model file the record is about, when it says. */
  etag?: string;
  /** Median milliseconds of validation's smoke runs (one row each), when recorded. */
  latencyMs?: number;
}

/**
 * Reads what serving needs from a metadata.json's parsed JSON, or `undefined` when it is not a
 * validation record (a hand-written or damaged file is treated as "not validated", so it can
 * never make a model unservable by accident).
 *
 * @example
 * ```ts
 * readValidationRecord({ status: 'invalid', reason: 'not an ONNX model: …', etag: 'abc' });
 * // { status: 'invalid', reason: 'not an ONNX model: …', etag: 'abc' }
 * ```
 */
export function readValidationRecord(json: unknown): ValidationRecord | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const { status, reason, etag, latency_ms } = json as Record<string, unknown>;
  if (status !== 'valid' && status !== 'invalid') return undefined;
  const record: ValidationRecord = { status };
  if (status === 'invalid') {
    record.reason = typeof reason === 'string' && reason.trim() !== '' ? reason : 'no reason recorded';
  }
  if (typeof etag === 'string' && etag !== '') record.etag = etag;
  const median = (latency_ms as { median?: unknown } | null | undefined)?.median;
  if (typeof median === 'number' && Number.isFinite(median) && median >= 0) record.latencyMs = median;
  return record;
}

/**
 * Median and nearest-rank 90th percentile of `samples`, rounded to microseconds.
 *
 * @example
 * ```ts
 * summarizeLatency([5, 1, 3, 2, 4]); // { median: 3, p90: 5 }
 * ```
 */
export function summarizeLatency(samples: readonly number[]): LatencySummary {
  if (samples.length === 0) throw new RangeError('summarizeLatency: no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median = Number.isInteger(middle)
    ? ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2
    : (sorted[Math.floor(middle)] ?? 0);
  const p90 = sorted[Math.ceil(0.9 * sorted.length) - 1] ?? 0;
  return { median: roundMs(median), p90: roundMs(p90) };
}

/** Milliseconds to three decimals (microseconds): finer digits are noise. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
