import { DEFAULT_PART_BYTES, MIN_PART_BYTES } from '../ports/object-store.ts';
import { DEFAULT_MAX_RECORD_CHARS } from '../text/csv.ts';
import { DEFAULT_MAX_LINE_CHARS } from '../text/lines.ts';
import { type Env, readNumber, readOptionalString } from './env.ts';
import { readServingConfig, type ServingConfig } from './serving-config.ts';

const MIB = 1024 * 1024;
/** Outputs of one batch micro-batch at most (256 MiB), unless `MAX_OUTPUT_BYTES` says otherwise. */
export const DEFAULT_BATCH_MAX_OUTPUT_BYTES = 256 * MIB;

/** Rows per micro-batch unless configured. */
export const DEFAULT_BATCH_SIZE = 256;
/**
 * Time one batch file may take unless configured: the batch function's 900 s timeout less the
 * default 30 s margin, so that runs without a Lambda context (the local stack) are bounded too.
 */
export const DEFAULT_FILE_BUDGET_SECONDS = 870;
/** How often a running summary is rewritten with the counts so far, unless configured. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 10_000;

/** Everything the batch scoring function reads from its environment. */
export interface BatchConfig extends ServingConfig {
  /** Rows per micro-batch. */
  batchSize: number;
  /** Part size of the streamed uploads (output, errors, captures). */
  partBytes: number;
  /** How often a running summary is rewritten with progress. */
  progressIntervalMs: number;
  /** A run stops cleanly this long before the invocation's timeout. */
  deadlineMarginMs: number;
  /** Time one file may take (0: only the invocation's timeout less the margin bounds it). */
  fileBudgetMs: number;
  maxLineChars: number;
  maxRecordChars: number;
  /**
   * Files of at least `minBytes` fan out on the state machine `stateMachineArn`
   * (`BATCH_STATE_MACHINE_ARN`; unset: never), in ranges of `rangeBytes`, at most `maxRanges`.
   */
  fanOut: {
    stateMachineArn?: string;
    endpoint?: string;
    minBytes: number;
    rangeBytes: number;
    maxRanges: number;
  };
}

/**
 * Reads the batch configuration: the serving variables (`MODEL_BUCKET`, … see
 * `readServingConfig`) plus `BATCH_SIZE` (rows per micro-batch, default 256), `BATCH_PART_MB`
 * (upload part size, default 8, at least 5), `BATCH_PROGRESS_SECONDS` (default 10),
 * `BATCH_DEADLINE_MARGIN_SECONDS` (default 30), `BATCH_FILE_BUDGET_SECONDS` (time one file may take,
 * default 870; 0: none of its own; the invocation's timeout less the margin applies as well),
 * `BATCH_MAX_LINE_MB` (longest JSON line, default
 * 16) and `BATCH_MAX_RECORD_MB` (longest CSV record, default 1).
 *
 * @example
 * ```ts
 * const config = readBatchConfig(process.env);
 * config.batchSize; // 256
 * ```
 */
export function readBatchConfig(env: Env): BatchConfig {
  const serving = readServingConfig(env);
  return {
    ...serving,
    // A micro-batch's outputs go to S3, not into a response: bounded, but not by Lambda's 6 MB.
    inference: {
      ...serving.inference,
      maxOutputBytes: readNumber(env, 'MAX_OUTPUT_BYTES', DEFAULT_BATCH_MAX_OUTPUT_BYTES, { min: 1 }),
    },
    batchSize: readNumber(env, 'BATCH_SIZE', DEFAULT_BATCH_SIZE, { min: 1, max: 65_536 }),
    partBytes: Math.round(
      readNumber(env, 'BATCH_PART_MB', DEFAULT_PART_BYTES / MIB, { min: MIN_PART_BYTES / MIB, max: 512 }) *
        MIB,
    ),
    progressIntervalMs:
      readNumber(env, 'BATCH_PROGRESS_SECONDS', DEFAULT_PROGRESS_INTERVAL_MS / 1000, { min: 0, max: 3600 }) *
      1000,
    deadlineMarginMs: readNumber(env, 'BATCH_DEADLINE_MARGIN_SECONDS', 30, { min: 0, max: 600 }) * 1000,
    fileBudgetMs:
      readNumber(env, 'BATCH_FILE_BUDGET_SECONDS', DEFAULT_FILE_BUDGET_SECONDS, { min: 0, max: 86_400 }) *
      1000,
    maxLineChars: Math.round(
      readNumber(env, 'BATCH_MAX_LINE_MB', DEFAULT_MAX_LINE_CHARS / MIB, { min: 0.001, max: 256 }) * MIB,
    ),
    maxRecordChars: Math.round(
      readNumber(env, 'BATCH_MAX_RECORD_MB', DEFAULT_MAX_RECORD_CHARS / MIB, { min: 0.001, max: 64 }) * MIB,
    ),
    fanOut: {
      stateMachineArn: readOptionalString(env, 'BATCH_STATE_MACHINE_ARN'),
      endpoint: readOptionalString(env, 'STEP_FUNCTIONS_ENDPOINT'),
      minBytes: Math.round(readNumber(env, 'BATCH_FAN_OUT_MB', 256, { min: 0.001, max: 1024 * 1024 }) * MIB),
      rangeBytes: Math.round(readNumber(env, 'BATCH_RANGE_MB', 64, { min: 0.001, max: 4096 }) * MIB),
      maxRanges: readNumber(env, 'BATCH_MAX_RANGES', 1000, { min: 1, max: 2000 }),
    },
  };
}
