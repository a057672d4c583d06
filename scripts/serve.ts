/**
 * The plain HTTP server and its commands, off Lambda: the composition root of the container image
 * (bundled as `dist/server/index.mjs`) and of `npm run serve`.
 *
 *   serve                         (default) the HTTP API on PORT, until SIGTERM
 *   drift [--model <name> …] [--window-hours <h>]
 *                                 the drift check once (a CronJob), exit 1 if a model failed
 *   batch --key <key> | --prefix <prefix>
 *                                 batch scoring of one input object or every object under a prefix
 *
 * Everything is configured from the environment (docs/deploy.md, "Off Lambda"): the serving
 * variables of the Lambda functions (`MODEL_BUCKET`, `S3_ENDPOINT`, …) plus the server's
 * (`PORT`, `MAX_BODY_BYTES` up to 1 GiB, timeouts, `CAPTURE_FLUSH_SECONDS`, `WEBHOOK_TOKEN`, …).
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { S3ObjectStore, s3ClientFor, s3StoresOf } from '../src/adapters/aws/s3-store.ts';
import { FileEventPublisher } from '../src/adapters/file/file-event-publisher.ts';
import {
  createBucketWebhook,
  WEBHOOK_PATH,
  type WebhookObjectResult,
} from '../src/adapters/node/bucket-webhook.ts';
import {
  createNodeHttpServer,
  type LocalRoute,
  type NodeHttpServer,
  type ServedRequest,
} from '../src/adapters/node/http-server.ts';
import { createJsonLogger, type JsonLogger, parseLogLevel } from '../src/adapters/node/json-log.ts';
import { ServerMetrics } from '../src/adapters/node/prometheus.ts';
import type { BatchFileOutcome } from '../src/batch/batch-job.ts';
import { createBatchScoring } from '../src/batch/batch-scoring.ts';
import { BATCH_INPUT_PREFIX } from '../src/batch/keys.ts';
import { CaptureFileWriter } from '../src/capture/capture-files.ts';
import { readBatchConfig } from '../src/config/batch-config.ts';
import { readDriftCheckConfig } from '../src/config/drift-check-config.ts';
import type { Env } from '../src/config/env.ts';
import { readServerConfig, type ServerConfig } from '../src/config/server-config.ts';
import { readValidationConfig } from '../src/config/validation-config.ts';
import { runDriftChecks } from '../src/drift/check/run.ts';
import { logRequest } from '../src/http/app.ts';
import type { DriftEventPublisher } from '../src/ports/drift-event-publisher.ts';
import { createServing, type Serving } from '../src/serving.ts';
import { validateNotifiedModel } from '../src/validation/validate-model.ts';

/** Timeouts of clients that stream whole objects (batch files, capture folders). */
const STREAMING_TIMEOUTS = { requestTimeoutMs: 120_000, socketTimeoutMs: 120_000 } as const;
/** Pause between attempts to load preloaded models that failed. */
const PRELOAD_RETRY_MS = 5_000;

/** A running server. */
export interface RunningServer {
  config: ServerConfig;
  port: number;
  url: string;
  serving: Serving;
  http: NodeHttpServer;
  captures?: CaptureFileWriter;
  metrics?: ServerMetrics;
  /** Resolves once every preloaded model is loaded (the server is ready from then on). */
  preloaded: Promise<void>;
  /** Graceful stop; resolves with what could not be finished (requests cut, captures unwritten). */
  stop(): Promise<{ requestsCut: number; capturesUnwritten: number }>;
}

/**
 * Starts the HTTP server from the environment: listens at once (liveness answers), loads the
 * `PRELOAD_MODELS` one after another (readiness answers 503 until they all are), serves the whole
 * API from the same core as the Lambda function, writes captures to the bucket every
 * `CAPTURE_FLUSH_SECONDS`, and exposes `/metrics` and, with `WEBHOOK_TOKEN`, `/webhooks/s3`.
 *
 * @example
 * ```ts
 * const server = await startServer({ MODEL_BUCKET: 'models', S3_ENDPOINT: 'http://127.0.0.1:9000', S3_FORCE_PATH_STYLE: 'true', PORT: '0' });
 * await server.stop();
 * ```
 */
export async function startServer(
  env: Env,
  options: { log?: JsonLogger; writerId?: string } = {},
): Promise<RunningServer> {
  const config = readServerConfig(env);
  const log =
    options.log ?? createJsonLogger({ service: config.serviceName, level: parseLogLevel(env.LOG_LEVEL) });
  const client = s3ClientFor(config, { credentials: credentialsOf(env) });
  const store = new S3ObjectStore({ client, bucket: config.bucket });
  const serving = createServing(config, { store });
  const metrics = config.metricsEnabled ? new ServerMetrics() : undefined;
  const captures = config.captureEnabled
    ? new CaptureFileWriter({
        store,
        flushIntervalMs: config.captureFlushMs,
        maxBufferBytes: config.captureBufferBytes,
        writerId: options.writerId ?? hostname(),
        onError: (message, error) => {
          metrics?.captureWriteFailed();
          log.warn(message, { error: error as Error });
        },
      })
    : undefined;

  let ready = config.preload.length === 0;
  let stopping = false;
  const routes: Record<string, LocalRoute> = {
    'GET /healthz': () => json(200, { live: true }),
    'GET /readyz': () => json(200, { ready: true }),
  };
  if (metrics) {
    routes['GET /metrics'] = async () => {
      metrics.observe({ capturesPending: captures?.pending ?? 0, ready: ready && !stopping });
      return { status: 200, headers: { 'content-type': metrics.contentType }, body: await metrics.text() };
    };
  }
  let streamingClient: ReturnType<typeof s3ClientFor> | undefined;
  if (config.webhookToken !== undefined) {
    streamingClient = s3ClientFor(config, { ...STREAMING_TIMEOUTS, credentials: credentialsOf(env) });
    // Batch scoring keeps Lambda's 6 MB default body setting out of the way: it has no HTTP body.
    const batch = createBatchScoring(readBatchConfig({ ...env, MAX_BODY_BYTES: undefined }), {
      storeFor: s3StoresOf(streamingClient),
    });
    const validation = readValidationConfig(env);
    routes[`POST ${WEBHOOK_PATH}`] = createBucketWebhook({
      token: config.webhookToken,
      validate: (object) =>
        validateNotifiedModel(store, object, { bucket: config.bucket, runs: validation.smokeRuns }),
      score: (object) => batch.scoreObject(object, { log }),
      onResult: (result) => logWebhookResult(log, result),
    });
  }

  const http = createNodeHttpServer({
    handle: serving.handle,
    maxBodyBytes: config.maxBodyBytes,
    keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    headersTimeoutMs: config.headersTimeoutMs,
    routes,
    readinessPaths: ['/v2/health/ready', '/readyz'],
    ready: () => ready,
    onServed: (served) => {
      const captured = writeCaptures(served, captures, log);
      metrics?.record(served, captured);
      logRequest(log, served.outcome, served.ms, captured, {
        requestBytes: served.requestBytes,
        responseBytes: served.responseBytes,
      });
    },
    onError: (message, error) => log.error(message, { error: error as Error }),
  });
  const port = await http.listen(config.port, config.host);
  log.info('server listening', {
    port,
    host: config.host,
    bucket: config.bucket,
    endpoint: config.s3Endpoint,
    maxBodyBytes: config.maxBodyBytes,
    preload: config.preload,
    webhook: config.webhookToken !== undefined,
  });

  const preloaded = (async () => {
    let pending = [...config.preload];
    while (pending.length > 0 && !stopping) {
      const failed: string[] = [];
      for (const result of await serving.preload(pending)) {
        if (result.ok) log.info('model preloaded', { entry: result.entry, ms: result.ms });
        else {
          failed.push(result.entry);
          log.warn('model preload failed; retrying', { entry: result.entry, error: result.error as Error });
        }
      }
      pending = failed;
      if (pending.length > 0) await new Promise((done) => setTimeout(done, PRELOAD_RETRY_MS).unref());
    }
    if (!stopping) {
      ready = true;
      log.info('server ready', { preloaded: config.preload.length });
    }
  })();

  let stopped: Promise<{ requestsCut: number; capturesUnwritten: number }> | undefined;
  return {
    config,
    port,
    url: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`,
    serving,
    http,
    captures,
    metrics,
    preloaded,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        const requestsCut = await http.shutdown(config.shutdownTimeoutMs);
        const capturesUnwritten = (await captures?.close()) ?? 0;
        client.destroy();
        streamingClient?.destroy();
        const fields = { requestsCut, capturesUnwritten, capturesWritten: captures?.stats.written ?? 0 };
        if (requestsCut > 0 || capturesUnwritten > 0) log.error('server stopped with work left', fields);
        else log.info('server stopped', fields);
        return { requestsCut, capturesUnwritten };
      })();
      return stopped;
    },
  };
}

/**
 * Static keys from the given environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
 * `AWS_SESSION_TOKEN`: the HMAC keys of MinIO, R2 or GCS); without them the SDK's default chain
 * (web identity, instance roles, …) applies.
 */
function credentialsOf(env: Env) {
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = env.AWS_SESSION_TOKEN?.trim() || undefined;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

function json(status: number, body: unknown) {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** Hands the records to the capture writer; never throws. Returns how many were accepted. */
function writeCaptures(
  served: ServedRequest,
  captures: CaptureFileWriter | undefined,
  log: JsonLogger,
): number | undefined {
  const { outcome } = served;
  if (outcome.captureError !== undefined)
    log.warn('capture failed', { error: outcome.captureError as Error });
  if (outcome.captures === undefined || captures === undefined) return undefined;
  return captures.add(outcome.captures);
}

function logWebhookResult(log: JsonLogger, result: WebhookObjectResult): void {
  switch (result.kind) {
    case 'validation':
      if (result.result.outcome === 'ignored')
        log.info('model event ignored', { key: result.key, reason: result.result.reason });
      else
        log.info(`model ${result.result.metadata.status}`, {
          key: result.key,
          outcome: result.result.outcome,
          reason: result.result.metadata.reason ?? undefined,
        });
      return;
    case 'batch':
      logBatchOutcome(log, result.outcome);
      return;
    case 'ignored':
      log.info('bucket event ignored', { key: result.key, reason: result.reason });
      return;
    case 'failed':
      log.error('bucket event failed', { key: result.key, error: result.error as Error });
  }
}

function logBatchOutcome(log: JsonLogger, outcome: BatchFileOutcome): void {
  if (outcome.status === 'ignored') {
    log.info('batch object ignored', { key: outcome.key, reason: outcome.reason });
    return;
  }
  const { summary } = outcome;
  const fields = {
    key: outcome.key,
    status: outcome.status,
    model: summary.model,
    version: summary.version,
    ...summary.counts,
    durationMs: summary.duration_ms,
    output: summary.output?.key,
    errors: summary.errors?.key,
  };
  if (outcome.status === 'failed') log.error('batch file failed', { ...fields, error: summary.error });
  else
    log.info(
      outcome.status === 'skipped' ? 'batch file already scored; skipped' : 'batch file scored',
      fields,
    );
}

/** `drift`: the drift check once, for a CronJob. Exit code 1 when a model failed. */
export async function runDriftCommand(argv: string[], env: Env, log: JsonLogger): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { model: { type: 'string', multiple: true }, 'window-hours': { type: 'string' } },
  });
  const config = readDriftCheckConfig(env);
  const client = s3ClientFor(config, { ...STREAMING_TIMEOUTS, credentials: credentialsOf(env) });
  try {
    const store = new S3ObjectStore({ client, bucket: config.bucket });
    const publisher: DriftEventPublisher = config.eventsFile
      ? new FileEventPublisher(config.eventsFile)
      : { publish: async (detail) => log.warn('model drift detected event', { detail }) };
    const windowHours = values['window-hours'] === undefined ? undefined : Number(values['window-hours']);
    if (windowHours !== undefined && !(Number.isFinite(windowHours) && windowHours > 0)) {
      throw new UsageError(`--window-hours: expected a positive number, got '${values['window-hours']}'`);
    }
    const outcomes = await runDriftChecks({
      store,
      publisher,
      models: values.model,
      windowHours,
      defaults: config.defaults,
      concurrency: config.concurrency,
      bucket: config.bucket,
    });
    let failed = 0;
    for (const outcome of outcomes) {
      if (outcome.status === 'checked') {
        log.info('drift check', {
          model: outcome.model,
          verdict: outcome.report.verdict,
          alert: outcome.report.alert.raised,
          report: outcome.keys.json,
          html: outcome.keys.html,
        });
      } else if (outcome.status === 'skipped') {
        log.info('drift check skipped', { model: outcome.model, reason: outcome.reason });
      } else {
        failed += 1;
        log.error('drift check failed', { model: outcome.model, error: outcome.error as Error });
      }
    }
    log.info('drift run finished', { models: outcomes.length, failed });
    return failed > 0 ? 1 : 0;
  } finally {
    client.destroy();
  }
}

/**
 * `batch --key <key> | --prefix <prefix>`: batch scoring of one input object, or of every object
 * under a prefix of `batch/input/` (one after another), in `MODEL_BUCKET`. Exit code 1 when a
 * file failed.
 */
export async function runBatchCommand(argv: string[], env: Env, log: JsonLogger): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { key: { type: 'string', multiple: true }, prefix: { type: 'string' } },
  });
  const keys = values.key ?? [];
  if ((keys.length === 0) === (values.prefix === undefined)) {
    throw new UsageError('batch: give --key <key> (repeatable) or --prefix <prefix>, not both');
  }
  if (values.prefix !== undefined && !values.prefix.startsWith(BATCH_INPUT_PREFIX)) {
    throw new UsageError(`batch: --prefix must start with ${BATCH_INPUT_PREFIX}, got '${values.prefix}'`);
  }
  const config = readBatchConfig({ ...env, MAX_BODY_BYTES: undefined });
  const client = s3ClientFor(config, { ...STREAMING_TIMEOUTS, credentials: credentialsOf(env) });
  try {
    const storeFor = s3StoresOf(client, { partBytes: config.partBytes });
    const batch = createBatchScoring(config, { storeFor });
    const store = storeFor(config.bucket);
    const objects =
      values.prefix === undefined
        ? keys.map((key) => ({ key, etag: undefined as string | undefined }))
        : (await store.list(values.prefix)).objects.map((object) => ({ key: object.key, etag: object.etag }));
    let failed = 0;
    for (const object of objects) {
      const head = object.etag === undefined ? await store.head(object.key) : undefined;
      if (object.etag === undefined && head === undefined) {
        failed += 1;
        log.error('batch input not found', { key: object.key });
        continue;
      }
      const outcome = await batch.scoreObject(
        {
          bucket: config.bucket,
          key: object.key,
          etag: object.etag ?? head?.etag,
        },
        { log },
      );
      logBatchOutcome(log, outcome);
      if (outcome.status === 'failed') failed += 1;
    }
    log.info('batch run finished', { files: objects.length, failed });
    return failed > 0 ? 1 : 0;
  } finally {
    client.destroy();
  }
}

/** A mistake in how a command was called: exit code 2. */
class UsageError extends Error {}

const USAGE = `usage: serve | drift [--model <name> …] [--window-hours <h>] | batch --key <key> … | batch --prefix <prefix>`;

/**
 * Runs a command; `serve` resolves once the server has stopped after SIGTERM or SIGINT. Resolves
 * with the exit code.
 */
export async function main(argv: string[], env: Env): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  const log = createJsonLogger({
    service: env.SERVICE_NAME?.trim() || 'onnx-serve',
    level: parseLogLevel(env.LOG_LEVEL),
  });
  try {
    if (command === 'drift') return await runDriftCommand(rest, env, log);
    if (command === 'batch') return await runBatchCommand(rest, env, log);
    if (command !== 'serve') throw new UsageError(`unknown command '${command}'`);
    // Listened for before the server starts: a signal during start-up still stops it gracefully.
    // A second signal while stopping changes nothing: the shutdown has its own time limit.
    const signalled = new Promise<string>((done) => {
      process.on('SIGTERM', () => done('SIGTERM'));
      process.on('SIGINT', () => done('SIGINT'));
    });
    const server = await startServer(env, { log });
    const signal = await signalled;
    log.info('stopping', { signal });
    const left = await server.stop();
    return left.requestsCut > 0 || left.capturesUnwritten > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
      return 2;
    }
    log.error('command failed', { command, error: error as Error });
    return 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  process.exitCode = await main(process.argv.slice(2), process.env);
  // Sockets of the SDK's pools may linger; everything was flushed by now.
  process.exit();
}
