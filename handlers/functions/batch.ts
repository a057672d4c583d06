import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, S3Event } from 'aws-lambda';
import { objectsOfS3Event } from '../../src/adapters/aws/s3-event.ts';
import { s3ClientFor, s3StoresOf } from '../../src/adapters/aws/s3-store.ts';
import type { BatchFileOutcome } from '../../src/batch/batch-job.ts';
import { type BatchScoring, createBatchScoring } from '../../src/batch/batch-scoring.ts';
import { retryMayFix } from '../../src/batch/summary.ts';
import { readBatchConfig } from '../../src/config/batch-config.ts';
import type { Env } from '../../src/config/env.ts';
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
  batch: Pick<BatchScoring, 'scoreObject'>;
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
  async function batchHandler(event: S3Event, context: Context): Promise<BatchInvocationResult> {
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

/** The default wiring from the environment (`readBatchConfig`): one S3 client for every bucket. */
export function batchDepsFromEnv(env: Env): BatchHandlerDeps {
  const config = readBatchConfig(env);
  const client = s3ClientFor(config, STREAMING_TIMEOUTS);
  const batch = createBatchScoring(config, { storeFor: s3StoresOf(client, { partBytes: config.partBytes }) });
  return { batch, deadlineMarginMs: config.deadlineMarginMs };
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
