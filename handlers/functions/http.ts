import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { formatCaptureLines } from '../../src/capture/log-line.ts';
import type { Env } from '../../src/config/env.ts';
import { readServingConfig } from '../../src/config/serving-config.ts';
import { type HttpOutcome, logRequest } from '../../src/http/app.ts';
import { createServing, type Serving } from '../../src/serving.ts';
import { bucketStore } from '../commons/clients.ts';
import { RequestMetrics } from '../commons/emf.ts';
import { logger, METRICS_NAMESPACE, SERVICE_NAME } from '../commons/powertools.ts';

const metrics = new RequestMetrics({ namespace: METRICS_NAMESPACE, service: SERVICE_NAME });

export interface HttpHandlerDeps {
  /** The serving core (`createServing`), over whatever store the caller built. */
  serving: Pick<Serving, 'handle'>;
}

/**
 * The http function: API Gateway HTTP API events (payload format 2.0) → Open Inference Protocol,
 * with a capture log line per prediction, an EMF document and a log line per request.
 *
 * @example
 * ```ts
 * const handler = createHttpHandler({ serving: createServing(config, { store }) });
 * const result = await handler(apiGatewayEvent, context);
 * ```
 */
export function createHttpHandler(deps: HttpHandlerDeps) {
  const { serving } = deps;
  let coldStart = true;

  async function httpHandler(
    event: APIGatewayProxyEventV2,
    context: Context,
  ): Promise<APIGatewayProxyStructuredResultV2> {
    const started = performance.now();
    if (coldStart) {
      coldStart = false;
      process.stdout.write(metrics.coldStart(context.functionName, Date.now()));
    }
    logger.setCorrelationId(event.requestContext?.requestId);
    const body = eventBody(event);
    const outcome = await serving.handle({
      method: event.requestContext.http.method,
      path: routePath(event),
      headers: event.headers,
      body,
    });
    const { response } = outcome;
    // Binary tensor data and compressed bodies go back base64-encoded; API Gateway decodes them
    // for the client.
    const binary =
      response.compressed !== undefined
        ? Buffer.from(response.compressed)
        : response.binary === undefined
          ? undefined
          : Buffer.concat([Buffer.from(response.body), response.binary]);
    const captured = writeCaptures(outcome);
    record(outcome, body?.byteLength ?? 0, binary?.byteLength, performance.now() - started, captured);
    return {
      statusCode: response.status,
      headers: response.headers,
      body: binary === undefined ? response.body : binary.toString('base64'),
      isBase64Encoded: binary !== undefined,
    };
  }

  return middy(httpHandler).use(injectLambdaContext(logger, { resetKeys: true }));
}

function eventBody(event: APIGatewayProxyEventV2): Uint8Array | undefined {
  if (event.body === undefined || event.body === null) return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

/** `rawPath` carries the stage name first for named stages; the routes do not. */
function routePath(event: APIGatewayProxyEventV2): string {
  const stage = event.requestContext.stage;
  const prefix = `/${stage}`;
  if (stage && stage !== '$default' && (event.rawPath === prefix || event.rawPath.startsWith(`${prefix}/`))) {
    return event.rawPath.slice(prefix.length) || '/';
  }
  return event.rawPath;
}

/**
 * Writes the capture records of an inference as log lines, straight to stdout rather than through
 * the logger: captures are data, so `POWERTOOLS_LOG_LEVEL` must not turn them off, and int64 values
 * stay exact. The subscription filter of serverless.yml ships them to Firehose. Never throws: a
 * capture problem is logged, the answer stands. Returns how many were written.
 */
function writeCaptures(outcome: HttpOutcome): number | undefined {
  if (outcome.captureError !== undefined) {
    logger.warn('capture failed', { error: outcome.captureError as Error });
  }
  const { shadow } = outcome;
  if (shadow !== undefined) {
    for (const failure of shadow.failed) {
      logger.warn('shadow version failed', { version: failure.version, error: failure.error as Error });
    }
    if (shadow.timedOut) logger.warn('shadow versions did not finish within SHADOW_BUDGET_MS');
  }
  if (outcome.configRejected !== undefined) {
    logger.warn('config.json rejected', { reason: outcome.configRejected });
  }
  if (outcome.captures === undefined) return undefined;
  try {
    const records =
      shadow === undefined || shadow.captures.length === 0
        ? outcome.captures
        : [...outcome.captures, ...shadow.captures];
    const { text, count, oversized } = formatCaptureLines(records, SERVICE_NAME);
    if (oversized.length > 0) {
      logger.warn('capture records too large for a log line; left out', {
        count: oversized.length,
        ids: oversized.slice(0, 10),
      });
    }
    if (text !== '') process.stdout.write(text);
    return count;
  } catch (error) {
    logger.warn('capture failed', { error: error as Error });
    return 0;
  }
}

function record(
  outcome: HttpOutcome,
  requestBytes: number,
  responseBytes: number | undefined,
  requestMs: number,
  captured: number | undefined,
): void {
  const { stats, error, response, outcomes } = outcome;
  if (stats) {
    // Two dimension sets: the service-wide one, which alarms aggregate on, and one per model and
    // version.
    metrics.dimensions({ model: stats.model, version: stats.version });
    metrics.add(stats.cacheHit ? 'ModelCacheHit' : 'ModelCacheMiss', 'Count', 1);
    if (stats.loadMs !== undefined) metrics.add('ModelLoadTime', 'Milliseconds', stats.loadMs);
    if ('inferMs' in stats) metrics.add('InferenceTime', 'Milliseconds', stats.inferMs);
    if (captured !== undefined) metrics.add('CapturedPredictions', 'Count', captured);
    const { shadow } = outcome;
    if (shadow !== undefined) {
      // The shadows' counts, under the answering version: failures never reach the caller.
      metrics.add('ShadowRuns', 'Count', shadow.succeeded.length);
      metrics.add('ShadowFailures', 'Count', shadow.failed.length);
      metrics.add('ShadowTimeouts', 'Count', shadow.timedOut ? 1 : 0);
      metrics.add('ShadowWaitTime', 'Milliseconds', shadow.waitedMs);
    }
    if (outcome.configRejected !== undefined) metrics.add('ConfigRejected', 'Count', 1);
  }
  // Outcomes are about a model, not a version: per model, and service-wide.
  if (outcomes) {
    metrics.dimensions({ model: outcomes.model });
    metrics.add('OutcomesReceived', 'Count', outcomes.accepted);
  }
  metrics.add('Requests', 'Count', 1);
  metrics.add('RequestTime', 'Milliseconds', requestMs);
  metrics.add('RequestBytes', 'Bytes', requestBytes);
  metrics.add('ResponseBytes', 'Bytes', responseBytes ?? Buffer.byteLength(response.body));
  metrics.add('Errors4xx', 'Count', response.status >= 400 && response.status < 500 ? 1 : 0);
  metrics.add('Errors5xx', 'Count', response.status >= 500 ? 1 : 0);
  if (error) metrics.add(`Error${error.kind}`, 'Count', 1);
  process.stdout.write(metrics.flush(Date.now()));

  logRequest(logger, outcome, requestMs, captured);
}

/**
 * The default wiring from the environment (`readServingConfig`): the S3 store of `MODEL_BUCKET`,
 * and the models of `PRELOAD_MODELS` loaded during init, which is not billed up to 10 s and runs at
 * full CPU.
 */
export async function httpDepsFromEnv(env: Env): Promise<HttpHandlerDeps> {
  const config = readServingConfig(env);
  const serving = createServing(config, { store: bucketStore(config) });
  logger.info('session options', { ...serving.sessionChoice.tuning, notes: serving.sessionChoice.notes });
  if (config.preload.length > 0) {
    for (const result of await serving.preload(config.preload)) {
      if (result.ok) logger.info('model preloaded', { entry: result.entry, ms: result.ms });
      else logger.warn('model preload failed', { entry: result.entry, error: result.error as Error });
    }
  }
  return { serving };
}
