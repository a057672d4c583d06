import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, S3Event } from 'aws-lambda';
import { objectsOfS3Event } from '../../src/adapters/aws/s3-event.ts';
import { s3ClientFor, s3StoresOf } from '../../src/adapters/aws/s3-store.ts';
import { StepFunctionsFanOut } from '../../src/adapters/aws/sfn-fan-out.ts';
import type { BatchFileOutcome } from '../../src/batch/batch-job.ts';
import { type BatchScoring, createBatchScoring } from '../../src/batch/batch-scoring.ts';
import {
  assembleFanOut,
  DEFAULT_MAX_RANGES,
  DEFAULT_RANGE_BYTES,
  type FanOutFile,
  type FanOutRange,
  type FanOutSettings,
  failFanOut,
  planFanOut,
  scoreRange,
} from '../../src/batch/fan-out.ts';
import { retryMayFix } from '../../src/batch/summary.ts';
import { readBatchConfig } from '../../src/config/batch-config.ts';
import type { Env } from '../../src/config/env.ts';
import type { FanOutRunInput } from '../../src/ports/batch-fan-out.ts';
import { STREAMING_TIMEOUTS } from '../commons/clients.ts';
import { deadlineOf, partialFailure } from '../commons/invocation.ts';
import { logger, metrics } from '../commons/powertools.ts';

/** What the invocation did, per object (failed ones a retry could fix also make it throw). */
export interface BatchInvocationResult {
  files: { key: string; status: BatchFileOutcome['status'] }[];
}

/**
 * Whether the invocation should fail so that Lambda retries the file (`retryMayFix`): for a file
 * that fails the same way every time, its failed summary is the answer, and a retry would only
 * repeat it.
 */
export function worthRetrying(outcome: BatchFileOutcome): boolean {
  return outcome.status === 'failed' && retryMayFix(outcome.summary.error);
}

export interface BatchHandlerDeps {
  batch: Pick<BatchScoring, 'scoreObject' | 'stepDeps'>;
  /** How fanned-out files are cut (the state machine's steps run in this same function). */
  fanOut?: FanOutSettings;
  /** Time kept before Lambda's timeout to write a failed summary (`BATCH_DEADLINE_MARGIN_SECONDS`). */
  deadlineMarginMs: number;
}

/**
 * The batch function: S3 `ObjectCreated` under `batch/input/` → batch scoring of each object
 * named by the event. A file that cannot be processed gets its failed summary written by the
 * core; when a retry could fix it (`worthRetrying`: S3 failing, an unexpected error) the invocation
 * then fails, so that Lambda's retries and failure destination see it. A file that fails the same
 * way every time (wrong columns, unknown model…) does not fail the invocation: its failed summary,
 * the `batch file failed` log line and the `BatchFileFailures` metric report it, once.
 *
 * @example
 * ```ts
 * const handler = createBatchHandler({ batch: createBatchScoring(config, { storeFor }), deadlineMarginMs: 30_000 });
 * await handler(s3Event, context);
 * ```
 */
export function createBatchHandler(deps: BatchHandlerDeps) {
  async function batchHandler(event: S3Event | FanOutStepEvent, context: Context): Promise<unknown> {
    if ('action' in event) return fanOutStep(event, deps, context);
    const files: BatchInvocationResult['files'] = [];
    const failed: { name: string; error: unknown }[] = [];
    for (const [index, ref] of objectsOfS3Event(event).entries()) {
      // Each file's metrics carry its own model and version dimensions.
      if (index > 0) metrics.publishStoredMetrics();
      const outcome = await deps.batch.scoreObject(ref, {
        deadline: deadlineOf(context, deps.deadlineMarginMs),
        log: logger,
      });
      record(outcome);
      files.push({ key: outcome.key, status: outcome.status });
      if (outcome.status === 'failed' && worthRetrying(outcome))
        failed.push({ name: outcome.key, error: outcome.error });
    }
    if (failed.length > 0) throw partialFailure('batch scoring', 'file', failed, files.length);
    return { files };
  }
  return middy(batchHandler)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}

/**
 * A step of the batch fan-out state machine (statemachines/batch-fan-out.asl.json), run by this
 * same function: `plan`, `range` (one per map item), `assemble`, or `fail` with the error the
 * workflow caught.
 */
export type FanOutStepEvent =
  | ({ action: 'plan' } & FanOutRunInput)
  | { action: 'range'; file: FanOutFile; range: FanOutRange }
  | { action: 'assemble'; file: FanOutFile }
  | ({ action: 'fail'; error?: { Error?: string; Cause?: string } } & FanOutRunInput);

async function fanOutStep(
  event: FanOutStepEvent,
  deps: BatchHandlerDeps,
  context: Context,
): Promise<unknown> {
  const settings = deps.fanOut ?? { rangeBytes: DEFAULT_RANGE_BYTES, maxRanges: DEFAULT_MAX_RANGES };
  switch (event.action) {
    case 'plan': {
      const plan = await planFanOut(event, deps.batch.stepDeps(event.bucket, logger), settings);
      if (!('superseded' in plan)) {
        logger.info('batch file planned', { key: event.key, run: event.run, ranges: plan.ranges.length });
      }
      return plan;
    }
    case 'range': {
      // Kept small: the map collects every range's answer into the execution's state.
      const result = await scoreRange(
        event.file,
        event.range,
        deps.batch.stepDeps(event.file.bucket, logger),
        { deadline: deadlineOf(context, deps.deadlineMarginMs) },
      );
      return 'superseded' in result
        ? { i: event.range.i, superseded: true }
        : { i: event.range.i, rows: result.counts.total };
    }
    case 'assemble': {
      const summary = await assembleFanOut(event.file, deps.batch.stepDeps(event.file.bucket, logger));
      if (!('superseded' in summary))
        record({ status: summary.status as 'succeeded', key: event.file.key, summary });
      return { status: 'superseded' in summary ? 'superseded' : summary.status };
    }
    case 'fail': {
      const name = event.error?.Error ?? 'Internal';
      const summary = await failFanOut(
        event,
        {
          kind: name.includes('StorageUnavailable') ? 'StorageUnavailable' : 'Internal',
          message: `a step of the fanned-out run failed after its retries: ${name}`,
          retryable: name.includes('StorageUnavailable'),
        },
        deps.batch.stepDeps(event.bucket, logger),
      );
      if (summary !== undefined) record({ status: 'failed', key: event.key, summary, error: event.error });
      return { status: 'failed' };
    }
    default:
      throw new Error(`unknown batch step ${(event as { action?: unknown }).action}`);
  }
}

/** The default wiring from the environment (`readBatchConfig`): one S3 client for every bucket. */
export function batchDepsFromEnv(env: Env): BatchHandlerDeps {
  const config = readBatchConfig(env);
  const client = s3ClientFor(config, STREAMING_TIMEOUTS);
  const { stateMachineArn, endpoint, minBytes } = config.fanOut;
  const fanOut =
    stateMachineArn === undefined
      ? undefined
      : new StepFunctionsFanOut({ stateMachineArn, minBytes, region: config.region, endpoint });
  const batch = createBatchScoring(config, {
    storeFor: s3StoresOf(client, { partBytes: config.partBytes }),
    fanOut,
  });
  return { batch, deadlineMarginMs: config.deadlineMarginMs, fanOut: config.fanOut };
}

function record(outcome: BatchFileOutcome): void {
  if (outcome.status === 'ignored') {
    logger.info('batch object ignored', { key: outcome.key, reason: outcome.reason });
    return;
  }
  const { summary } = outcome;
  metrics.addDimensions({});
  if (summary.version !== null) metrics.addDimensions({ model: summary.model, version: summary.version });
  const fields = {
    key: outcome.key,
    status: outcome.status,
    model: summary.model,
    version: summary.version,
    inputEtag: summary.input.etag,
    ...summary.counts,
    durationMs: summary.duration_ms,
    rowsPerSecond: summary.rows_per_second,
    output: summary.output?.key,
    errors: summary.errors?.key,
  };
  if (outcome.status === 'fanned-out') {
    logger.info('batch file fanned out', {
      ...fields,
      run: summary.fan_out?.run,
      execution: summary.fan_out?.execution,
    });
    return;
  }
  if (outcome.status === 'skipped') {
    metrics.addMetric('BatchFilesSkipped', MetricUnit.Count, 1);
    logger.info('batch file already scored; skipped', fields);
    return;
  }
  metrics.addMetric('BatchFiles', MetricUnit.Count, 1);
  metrics.addMetric('BatchFileFailures', MetricUnit.Count, outcome.status === 'failed' ? 1 : 0);
  metrics.addMetric('BatchRows', MetricUnit.Count, summary.counts.total);
  metrics.addMetric('BatchRowErrors', MetricUnit.Count, summary.counts.failed);
  metrics.addMetric('BatchDuration', MetricUnit.Milliseconds, summary.duration_ms);
  metrics.addMetric('BatchRowsPerSecond', MetricUnit.CountPerSecond, summary.rows_per_second);
  if (outcome.status === 'failed') {
    logger.error('batch file failed', { ...fields, error: summary.error, retried: worthRetrying(outcome) });
  } else {
    logger.info('batch file scored', fields);
  }
}
