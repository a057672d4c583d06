import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, S3Event } from 'aws-lambda';
import { objectsOfS3Event } from '../../src/adapters/aws/s3-event.ts';
import type { Env } from '../../src/config/env.ts';
import { readValidationConfig } from '../../src/config/validation-config.ts';
import type { ObjectStore } from '../../src/ports/object-store.ts';
import {
  chooseSessionTuning,
  detectCpuEnvironment,
  type SessionTuning,
} from '../../src/runtime/session-options.ts';
import { type ValidationResult, validateNotifiedModel } from '../../src/validation/validate-model.ts';
import { bucketStore } from '../commons/clients.ts';
import { logger, metrics } from '../commons/powertools.ts';

/** What one invocation did, by outcome (the return value of an async invocation is only logged). */
export interface ModelEventsSummary {
  valid: number;
  invalid: number;
  unchanged: number;
  ignored: number;
}

export interface ModelEventsHandlerDeps {
  /** The model bucket's store; events from any other bucket are ignored. */
  store: ObjectStore;
  bucket: string;
  /** Timed smoke runs per model (`VALIDATION_RUNS`). */
  smokeRuns: number;
  /** Session threads and spinning, as serving chooses them (default: for this machine outside Lambda). */
  sessionTuning?: SessionTuning;
  /** Limits of the smoke runs (`VALIDATION_DEADLINE_SECONDS`, `VALIDATION_MEMORY_MB`). */
  limits?: { deadlineMs: number; memoryMb: number };
  ephemeralDir?: string;
}

/**
 * The modelEvents function: S3 `ObjectCreated` on `models/{name}/{version}/model.onnx` → model
 * validation, which writes metadata.json beside the model. A store failure fails the invocation,
 * so Lambda retries it and then hands it to the failure destination; a bad model is a result,
 * not a failure.
 *
 * @example
 * ```ts
 * const handler = createModelEventsHandler({ store, bucket: 'models', smokeRuns: 5 });
 * await handler(s3Event, context); // { valid: 1, invalid: 0, unchanged: 0, ignored: 0 }
 * ```
 */
export function createModelEventsHandler(deps: ModelEventsHandlerDeps) {
  async function modelEventsHandler(event: S3Event, _context: Context): Promise<ModelEventsSummary> {
    const summary: ModelEventsSummary = { valid: 0, invalid: 0, unchanged: 0, ignored: 0 };
    for (const object of objectsOfS3Event(event)) {
      let result: ValidationResult;
      try {
        result = await validateNotifiedModel(deps.store, object, {
          bucket: deps.bucket,
          runs: deps.smokeRuns,
          sessionTuning: deps.sessionTuning,
          limits: deps.limits,
          ephemeralDir: deps.ephemeralDir,
        });
      } catch (error) {
        logger.error('model validation failed', { key: object.key, error: error as Error });
        throw error;
      }
      record(result);
      if (result.outcome === 'validated') summary[result.metadata.status] += 1;
      else summary[result.outcome] += 1;
    }
    return summary;
  }
  return middy(modelEventsHandler)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}

/** The default wiring from the environment (`readValidationConfig`). */
export function modelEventsDepsFromEnv(env: Env): ModelEventsHandlerDeps {
  const config = readValidationConfig(env);
  return {
    store: bucketStore(config),
    bucket: config.bucket,
    smokeRuns: config.smokeRuns,
    sessionTuning: chooseSessionTuning(detectCpuEnvironment(config.functionMemoryMb)).tuning,
    limits: { deadlineMs: config.deadlineMs, memoryMb: config.memoryMb },
    ephemeralDir: config.ephemeralDir,
  };
}

function record(result: ValidationResult): void {
  // One EMF document per model: dimensions apply to the whole buffer.
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  if (result.outcome === 'ignored') {
    metrics.addMetric('ModelEventsIgnored', MetricUnit.Count, 1);
    logger.info('model event ignored', { key: result.key, reason: result.reason });
    return;
  }
  const { metadata } = result;
  metrics.addDimensions({});
  metrics.addDimensions({ model: metadata.name, version: String(metadata.version) });
  const fields = {
    outcome: result.outcome,
    model: metadata.name,
    version: String(metadata.version),
    key: result.key,
    metadataKey: result.metadataKey,
    status: metadata.status,
    reason: metadata.reason ?? undefined,
    size: metadata.size,
    sha256: metadata.sha256,
    loadMs: metadata.load_ms ?? undefined,
    latencyMs: metadata.latency_ms ?? undefined,
  };
  if (result.outcome === 'unchanged') {
    metrics.addMetric('ModelValidationSkipped', MetricUnit.Count, 1);
    logger.info('model validation unchanged', fields);
    return;
  }
  const valid = metadata.status === 'valid';
  metrics.addMetric('ModelValidations', MetricUnit.Count, 1);
  metrics.addMetric('ModelValid', MetricUnit.Count, valid ? 1 : 0);
  metrics.addMetric('ModelInvalid', MetricUnit.Count, valid ? 0 : 1);
  if (metadata.load_ms !== null) {
    metrics.addMetric('ModelValidationLoadTime', MetricUnit.Milliseconds, metadata.load_ms);
  }
  if (metadata.latency_ms !== null) {
    metrics.addMetric('ModelValidationLatency', MetricUnit.Milliseconds, metadata.latency_ms.median);
  }
  // An invalid upload is the model owner's mistake, like a 4xx: INFO, counted by ModelInvalid.
  logger.info(valid ? 'model valid' : 'model invalid', fields);
}
