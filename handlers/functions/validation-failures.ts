import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, S3Event } from 'aws-lambda';
import { describeAsyncFailure, parseAsyncFailure } from '../../src/adapters/aws/async-failure.ts';
import { objectsOfS3Event } from '../../src/adapters/aws/s3-event.ts';
import type { Env } from '../../src/config/env.ts';
import { readStoreConnection } from '../../src/config/store-config.ts';
import type { StreamingObjectStore } from '../../src/ports/object-store.ts';
import { recordUnfinishedValidation } from '../../src/validation/unfinished-validation.ts';
import { bucketStore, STREAMING_TIMEOUTS } from '../commons/clients.ts';
import { logger, metrics } from '../commons/powertools.ts';

/** What one failure record led to, by outcome. */
export interface ValidationFailuresSummary {
  /** `invalid` verdicts written. */
  invalid: number;
  /** A verdict for the file's current ETag existed already. */
  unchanged: number;
  ignored: number;
}

export interface ValidationFailuresHandlerDeps {
  /** The model bucket's store; objects of any other bucket are ignored. */
  store: StreamingObjectStore;
  bucket: string;
}

/**
 * The validationFailures function: the `onFailure` destination of the modelEvents function. When
 * a validation crashed, timed out or ran out of memory on every attempt (or its event expired
 * before it could run), Lambda invokes this function with the invocation record, which holds the
 * original S3 event; each model file it names gets an `invalid` verdict for its current ETag
 * (`validation did not finish: the validation function timed out (…) after 3 attempt(s)`), so the
 * version is never served. A record that is not a failure record is logged and left alone; a store
 * failure fails the invocation (retried, then sent to the failure queue).
 *
 * @example
 * ```ts
 * const handler = createValidationFailuresHandler({ store, bucket: 'models' });
 * await handler(failureRecord, context); // { invalid: 1, unchanged: 0, ignored: 0 }
 * ```
 */
export function createValidationFailuresHandler(deps: ValidationFailuresHandlerDeps) {
  async function validationFailuresHandler(
    event: unknown,
    _context: Context,
  ): Promise<ValidationFailuresSummary> {
    const summary: ValidationFailuresSummary = { invalid: 0, unchanged: 0, ignored: 0 };
    const failure = parseAsyncFailure(event);
    if (failure === undefined) {
      logger.warn('not an asynchronous invocation failure record; ignored', {
        fields: typeof event === 'object' && event !== null ? Object.keys(event).slice(0, 10) : typeof event,
      });
      summary.ignored += 1;
      return summary;
    }
    const what = describeAsyncFailure(failure);
    for (const object of objectsOfS3Event(failure.payload as S3Event)) {
      if (object.bucket !== deps.bucket) {
        summary.ignored += 1;
        logger.info('validation failure ignored', {
          key: object.key,
          reason: `bucket '${object.bucket}' is not the model bucket`,
        });
        continue;
      }
      const result = await recordUnfinishedValidation(deps.store, {
        key: object.key,
        etag: object.etag,
        what,
      });
      if (result.outcome === 'ignored') {
        summary.ignored += 1;
        logger.info('validation failure ignored', { key: result.key, reason: result.reason });
        continue;
      }
      const { metadata } = result;
      const fields = {
        key: result.key,
        model: metadata.name,
        version: String(metadata.version),
        condition: failure.condition,
        functionError: failure.functionError,
        errorType: failure.errorType,
        attempts: failure.attempts,
        status: metadata.status,
        reason: metadata.reason ?? undefined,
      };
      if (result.outcome === 'unchanged') {
        summary.unchanged += 1;
        logger.info('validation failure: a verdict exists for this upload; kept', fields);
        continue;
      }
      summary.invalid += 1;
      metrics.addDimensions({});
      metrics.addDimensions({ model: metadata.name, version: String(metadata.version) });
      metrics.addMetric('ModelValidationUnfinished', MetricUnit.Count, 1);
      metrics.addMetric('ModelInvalid', MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
      logger.error('model validation did not finish; version marked invalid', fields);
    }
    return summary;
  }
  return middy(validationFailuresHandler)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}

/** The default wiring from the environment (`MODEL_BUCKET`, store settings). */
export function validationFailuresDepsFromEnv(env: Env): ValidationFailuresHandlerDeps {
  const connection = readStoreConnection(env);
  return { store: bucketStore(connection, STREAMING_TIMEOUTS), bucket: connection.bucket };
}
