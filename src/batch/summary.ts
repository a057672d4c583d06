/**
 * The summary object of a batch run (`batch/output/{model}/{relative}.summary.json`) and the lines
 * of its errors object. Both are documented in docs/batch.md; clients poll the summary.
 */

import type { Compression } from '../text/text-input.ts';
import type { InputFormat } from './rows.ts';

export const SUMMARY_SCHEMA_VERSION = 1;

/**
 * - `running`: in progress; counts so far (rewritten every `BATCH_PROGRESS_SECONDS`);
 * - `succeeded`: every row scored;
 * - `partial`: the output is complete, one line per row, but some rows failed (see `errors`);
 * - `failed`: the file could not be processed; there is no output (see `error`).
 */
export const BATCH_STATUSES = ['running', 'succeeded', 'partial', 'failed'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** How the model version was chosen. */
export type VersionSource = 'path' | 'metadata' | 'default';

export interface BatchSummary {
  schema: typeof SUMMARY_SCHEMA_VERSION;
  status: BatchStatus;
  model: string;
  /** The version every row was scored with; `null` until resolved. */
  version: string | null;
  version_from: VersionSource | null;
  input: {
    key: string;
    /** Identifies the input content: a redelivered event with this ETag is skipped once done. */
    etag: string | null;
    size: number | null;
    format: InputFormat | null;
    compression: Compression | null;
  };
  output: { key: string; etag: string | null; bytes: number } | null;
  errors: { key: string; etag: string | null; count: number } | null;
  captures: { key: string; count: number } | null;
  counts: { total: number; ok: number; failed: number };
  started_at: string;
  updated_at: string;
  finished_at: string | null;
  duration_ms: number;
  rows_per_second: number;
  batch_size: number;
  warnings: string[];
  /**
   * A file scored in parallel ranges (docs/batch.md, "Large files"): the run's id, the state
   * machine execution, and how many of its ranges are done.
   */
  fan_out?: { run: string; execution: string | null; ranges: { total: number | null; done: number } };
  /** Why the file failed (`failed` only). `retryable` is true for store outages. */
  error?: { kind: string; message: string; retryable: boolean };
}

/**
 * Whether another attempt could succeed where a failed run did not: a store outage (`retryable`)
 * or an unexpected error (`Internal`, cause unknown). A file that is wrong for its model (bad
 * header, unknown model or version, a model that cannot be served, a file too big for the timeout)
 * fails the same way every time.
 */
export function retryMayFix(error: BatchSummary['error']): boolean {
  return error === undefined || error.retryable || error.kind === 'Internal';
}

/** One line of the errors object. */
export interface BatchErrorLine {
  /** 1-based line of the input where the row starts. */
  line: number;
  id: string;
  error: string;
}

/**
 * True when `summary` records a finished run over the input with this ETag: the output is there
 * and complete, so the same event delivered again has nothing to do.
 */
export function isFinishedFor(summary: BatchSummary | undefined, etag: string | undefined): boolean {
  return (
    summary !== undefined &&
    etag !== undefined &&
    summary.input.etag === etag &&
    (summary.status === 'succeeded' || summary.status === 'partial')
  );
}

/** Reads a stored summary; `undefined` when absent or not a summary this code understands. */
export function parseSummary(bytes: Uint8Array): BatchSummary | undefined {
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as Partial<BatchSummary> | null;
    if (
      typeof value !== 'object' ||
      value === null ||
      value.schema !== SUMMARY_SCHEMA_VERSION ||
      !BATCH_STATUSES.includes(value.status as BatchStatus) ||
      typeof value.input !== 'object' ||
      value.input === null
    ) {
      return undefined;
    }
    return value as BatchSummary;
  } catch {
    return undefined;
  }
}
