/**
 * `npm start`: the whole product on one machine, no AWS account.
 *
 * - an S3-compatible server on loopback (data under `.local/s3`, kept across restarts),
 * - the demo models, built from the project's datasets and published if absent,
 * - the HTTP API: each request becomes an API Gateway (payload 2.0) event for the built handler
 *   bundle that serverless.yml routes it to,
 * - S3 events: an object written to the bucket by any client invokes, asynchronously, every
 *   function whose `s3` event in serverless.yml matches it, with a real-shaped S3 event.
 * - the capture pipeline: the functions' capture log lines (stdout of this process) are written
 *   to `captures/` in the bucket, as the subscription filter and Firehose do in AWS.
 * - scheduled functions (the drift check): invoked with a real-shaped scheduled event every
 *   DRIFT_INTERVAL_SECONDS (default 300; 0 turns the timer off), whatever their deployed rate;
 *   drift events are appended to `<state dir>/events.jsonl` instead of EventBridge.
 *
 * - the terminal: one readable line per request, batch file, drift check and model validation;
 *   the functions' raw JSON lines (logs, EMF metrics, captures) go to `<state dir>/logs/*.jsonl`.
 *   `--json` (or LOCAL_OUTPUT=json) prints the raw lines instead, as Lambda's log stream has them.
 *
 * Environment: PORT (API, default 3000), S3_PORT (default 4569), LOCAL_STATE_DIR (default .local),
 * DEMO_MODELS=false to skip the demo models, CAPTURE_FLUSH_SECONDS (default 5) between writes of
 * captures, DRIFT_INTERVAL_SECONDS (default 300) between scheduled drift checks, LOCAL_OUTPUT=json,
 * NO_COLOR.
 */

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_MAX_BODY_BYTES } from '../src/http/limits.ts';
import { parseCli, quietSdkNodeNotice, runCli, UsageError } from './lib/cli.ts';
import { modelOfPath, type RequestRecord, StackActivity } from './local/activity.ts';
import { lambdaContext, toApiGatewayEvent } from './local/apigw-event.ts';
import { DEFAULT_FLUSH_INTERVAL_MS, LocalCapturePipeline } from './local/capture-pipeline.ts';
import { colorFor, interceptStdout, StackConsole } from './local/console.ts';
import { publishDemoModels } from './local/demo-publisher.ts';
import { importHandler, type LocalS3Functions, startS3Functions } from './local/s3-functions.ts';
import { readS3Bindings } from './local/s3-notifications.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalS3 } from './local/s3-server.ts';
import {
  DEFAULT_SCHEDULE_INTERVAL_MS,
  type LocalScheduledFunctions,
  startScheduledFunctions,
} from './local/schedule-functions.ts';
import { type DeclaredRoute, matchDeclaredRoute, readHttpRoutes } from './local/serverless-routes.ts';
import {
  type LocalS3Settings,
  openLocalStore,
  STACK_FILE,
  type StackSettings,
} from './local/stack-settings.ts';
import { type LocalStepFunctions, startLocalStepFunctions } from './local/step-functions.ts';
import { WebConsole } from './local/web-console.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LOCAL_BUCKET = 'onnx-serve-local';
/** The functions' memory size in serverless.yml, which sizes the model cache. */
const FUNCTION_MEMORY_MB = 1769;

type LambdaHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

export interface LocalStackOptions {
  port?: number;
  s3Port?: number;
  stateDir?: string;
  /** Publish the demo models when absent (default true). */
  demoModels?: boolean;
  /** How often buffered captures are written to the bucket (default 5 s); always on close too. */
  captureFlushMs?: number;
  /** Local cadence of scheduled functions (default 5 min; 0: only on demand). */
  scheduleIntervalMs?: number;
  log?: (line: string) => void;
  /** `readable` (default): a line per event on the terminal, raw lines in files; `json`: raw lines. */
  output?: 'readable' | 'json';
  /** Colours in readable lines (default: when stdout is a terminal and NO_COLOR is unset). */
  color?: boolean;
}

export interface LocalStack extends StackSettings {
  /** The S3 event bindings wired to the local bucket, one line each. */
  s3Events: string[];
  /** The scheduled functions and their local cadence, one line each. */
  schedules: string[];
  /** Where drift events go: a JSON-lines file in the state folder. */
  eventsFile: string;
  /** Where the functions' raw JSON lines go (logs, EMF metrics, captures). */
  logsDir: string;
  /** What the API served since the start. */
  activity: StackActivity;
  /** Runs a scheduled function now, as its timer would (e.g. `runScheduled('drift')`). */
  runScheduled(functionName: string): Promise<unknown>;
  /** Resolves once no function invocation caused by an S3 event is scheduled or running. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the local Step Functions endpoint of the batch fan-out and points the batch function at it
 * (set before the bundles are imported: they read their configuration at init).
 */
async function startBatchStepFunctions(log: (line: string) => void): Promise<LocalStepFunctions | undefined> {
  const batch = (await readS3Bindings(join(ROOT, 'serverless.yml'))).find(
    (binding) => binding.functionName === 'batch',
  );
  if (batch === undefined) return undefined;
  type StepHandler = (event: unknown, context: Context) => Promise<unknown>;
  let handler: StepHandler | undefined;
  const stepFunctions = await startLocalStepFunctions({
    log,
    handler: async (input) => {
      handler ??= await importHandler<StepHandler>(ROOT, batch);
      return handler(input, lambdaContext(batch.functionName, batch.memoryMb, batch.timeoutSeconds * 1000));
    },
  });
  Object.assign(process.env, {
    STEP_FUNCTIONS_ENDPOINT: stepFunctions.endpoint,
    BATCH_STATE_MACHINE_ARN: stepFunctions.stateMachineArn,
  });
  return stepFunctions;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  // The local stack runs on the Node of the machine (20 here); Lambda runs nodejs24.x (or 22.x), which the
  // SDK's notice about dropping Node 20 next year is not about.
  quietSdkNodeNotice();
  const log = options.log ?? ((line: string) => console.log(line));
  const stateDir = resolve(options.stateDir ?? join(ROOT, '.local'));
  const s3 = await startLocalS3({
    port: options.s3Port ?? 4569,
    directory: join(stateDir, 's3'),
    buckets: [LOCAL_BUCKET],
  });
  const s3Settings: LocalS3Settings = {
    endpoint: s3.endpoint,
    bucket: LOCAL_BUCKET,
    region: LOCAL_REGION,
    ...LOCAL_CREDENTIALS,
  };

  let server: Server | undefined;
  let s3Functions: LocalS3Functions | undefined;
  let stepFunctions: LocalStepFunctions | undefined;
  let scheduled: LocalScheduledFunctions | undefined;
  const eventsFile = join(stateDir, 'events.jsonl');
  let captures: LocalCapturePipeline | undefined;
  let untee: (() => void) | undefined;
  const logsDir = join(stateDir, 'logs');
  const activity = new StackActivity();
  let stackConsole: StackConsole | undefined;
  /** Requests being answered: their capture lines must reach the pipeline before it closes. */
  const inflight = new Set<Promise<void>>();
  try {
    // The handler bundles read their configuration from the environment at import, as in Lambda.
    Object.assign(process.env, {
      MODEL_BUCKET: LOCAL_BUCKET,
      AWS_REGION: LOCAL_REGION,
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      MODEL_REFRESH_SECONDS: process.env.MODEL_REFRESH_SECONDS ?? '5',
      // What the Lambda runtime sets; Powertools reads them (cold start, function name).
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_LAMBDA_FUNCTION_NAME: 'http',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(FUNCTION_MEMORY_MB),
    });
    const store = openLocalStore(s3Settings);
    const pipeline = new LocalCapturePipeline({
      store,
      flushIntervalMs: options.captureFlushMs ?? DEFAULT_FLUSH_INTERVAL_MS,
      log,
    });
    captures = pipeline;
    const terminal = interceptStdout((line) => {
      pipeline.push(line);
      stackConsole?.line(line);
    });
    untee = terminal.restore;
    stackConsole = new StackConsole({
      json: options.output === 'json',
      color: options.color ?? colorFor(process.stdout),
      logsDir,
      write: terminal.write,
    });
    const web = new WebConsole({ store, activity, apiUrl: () => apiUrlOf(server) });
    const local: LocalServing = { console: stackConsole, activity, web };
    // Large batch files fan out on the same state machine as on AWS, run in this process; its
    // Task states invoke the batch function's bundle. Thresholds: BATCH_FAN_OUT_MB, BATCH_RANGE_MB.
    stepFunctions = await startBatchStepFunctions(log);
    // Wired before the demo models are published, so that their upload is validated too.
    s3Functions = await startS3Functions({
      root: ROOT,
      serverlessYml: join(ROOT, 'serverless.yml'),
      server: s3.server,
      bucket: LOCAL_BUCKET,
      region: LOCAL_REGION,
      store,
      log,
      // The fan-out thresholds of serverless.yml's params, unless the stack's environment sets them.
      environment: Object.fromEntries(
        ['BATCH_FAN_OUT_MB', 'BATCH_RANGE_MB'].flatMap((name) => {
          const value = process.env[name];
          return value === undefined ? [] : [[name, value]];
        }),
      ),
    });
    if (options.demoModels ?? true) {
      for (const line of await publishDemoModels(store, join(stateDir, 'demo-models'))) log(line);
      // Versions are served only once validated (fail closed): wait for the demo models' verdicts.
      await s3Functions.idle();
    }
    scheduled = await startScheduledFunctions({
      root: ROOT,
      serverlessYml: join(ROOT, 'serverless.yml'),
      region: LOCAL_REGION,
      intervalMs: options.scheduleIntervalMs ?? DEFAULT_SCHEDULE_INTERVAL_MS,
      environment: { DRIFT_EVENTS_FILE: eventsFile },
      log,
    });
    const routes = await readHttpRoutes(join(ROOT, 'serverless.yml'));
    const handlers = await loadHandlers(routes);
    server = createServer((request, response) => {
      const served = serve(routes, handlers, local, request, response).catch((error: unknown) => {
        log(`local stack: request failed: ${error instanceof Error ? error.message : String(error)}`);
        if (!response.headersSent) sendJson(response, 502, { error: 'the function failed to answer' });
        else response.destroy();
      });
      inflight.add(served);
      void served.finally(() => inflight.delete(served));
    });
    const listening = server;
    await new Promise<void>((done, fail) => {
      listening.once('error', fail);
      listening.listen(options.port ?? 3000, '127.0.0.1', () => done());
    });
  } catch (error) {
    server?.close();
    await scheduled?.close();
    await stepFunctions?.close();
    await s3Functions?.close();
    untee?.();
    await captures?.close();
    await stackConsole?.close();
    await s3.close();
    throw error;
  }

  const { port } = server.address() as AddressInfo;
  const apiUrl = `http://127.0.0.1:${port}`;
  if (stackConsole) stackConsole.reportLink = (key) => `${apiUrl}/${key}`;
  const stack: LocalStack = {
    apiUrl,
    s3: s3Settings,
    s3Events: s3Functions.descriptions,
    schedules: scheduled.descriptions,
    eventsFile,
    logsDir,
    activity,
    runScheduled: (functionName) =>
      scheduled ? scheduled.runNow(functionName) : Promise.reject(new Error('the stack is closed')),
    idle: async () => {
      await s3Functions?.idle();
      await stepFunctions?.idle();
      await s3Functions?.idle();
    },
    close: async () => {
      await new Promise<void>((done) => {
        server?.close(() => done());
        server?.closeAllConnections();
      });
      await Promise.all(inflight);
      // Running invocations still need the S3 server.
      await scheduled?.close();
      await stepFunctions?.close();
      await s3Functions?.close();
      // Nothing captured is lost: what is buffered is written before the S3 server stops.
      untee?.();
      await captures?.close();
      await stackConsole?.close();
      await s3.close();
    },
  };
  await mkdir(stateDir, { recursive: true });
  const settings: StackSettings = { apiUrl, s3: s3Settings };
  await writeFile(join(stateDir, STACK_FILE), `${JSON.stringify(settings, null, 2)}\n`);
  return stack;
}

async function loadHandlers(routes: DeclaredRoute[]): Promise<Map<string, LambdaHandler>> {
  const handlers = new Map<string, LambdaHandler>();
  for (const route of routes) {
    if (handlers.has(route.handler)) continue;
    const dot = route.handler.lastIndexOf('.');
    const file = join(ROOT, `${route.handler.slice(0, dot)}.mjs`);
    const exported = route.handler.slice(dot + 1);
    const module = (await import(pathToFileURL(file).href).catch((error: unknown) => {
      throw new Error(`cannot load ${file} for function '${route.functionName}' (run npm run build first)`, {
        cause: error,
      });
    })) as Record<string, unknown>;
    const handler = module[exported];
    if (typeof handler !== 'function') throw new Error(`${file} exports no function '${exported}'`);
    handlers.set(route.handler, handler as LambdaHandler);
  }
  return handlers;
}

/** What the local stack adds around the functions: the terminal and the request counters. */
interface LocalServing {
  console: StackConsole;
  activity: StackActivity;
  /** The web console at `/` and the drift reports at `/reports/…`. */
  web: WebConsole;
}

function apiUrlOf(server: Server | undefined): string {
  const address = server?.address();
  return typeof address === 'object' && address !== null ? `http://127.0.0.1:${address.port}` : '';
}

async function serve(
  routes: DeclaredRoute[],
  handlers: Map<string, LambdaHandler>,
  local: LocalServing,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const started = performance.now();
  const body = await readBody(request, DEFAULT_MAX_BODY_BYTES);
  if (body === undefined) {
    sendJson(response, 413, { error: `request body over ${DEFAULT_MAX_BODY_BYTES} bytes` });
    return;
  }
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if ((request.method ?? 'GET') === 'GET' && OPENAPI_PATHS.has(path)) {
    await sendOpenApi(response, path.endsWith('.json') ? 'json' : 'yaml');
    return;
  }
  if (await local.web.handle(request.method ?? 'GET', path, body, response)) {
    local.console.printRequest({
      method: request.method ?? 'GET',
      path,
      status: response.statusCode,
      ms: performance.now() - started,
    });
    return;
  }
  const match = matchDeclaredRoute(routes, request.method ?? 'GET', path);
  const handler = match && handlers.get(match.route.handler);
  if (!match || !handler) {
    sendJson(response, 404, { message: 'Not Found' });
    return;
  }
  const event = toApiGatewayEvent(request, body, match);
  const result = await local.console.runRequest(event.requestContext.requestId, () =>
    handler(event, lambdaContext(match.route.functionName, FUNCTION_MEMORY_MB, 29_000)),
  );
  const payload = result.body ?? '';
  const status = result.statusCode ?? 200;
  response.writeHead(status, result.headers as Record<string, string>);
  response.end(result.isBase64Encoded ? Buffer.from(payload, 'base64') : payload);
  const logged = local.console.takeRequestLog(event.requestContext.requestId) ?? {};
  const record: RequestRecord = {
    method: event.requestContext.http.method,
    path,
    status,
    ms: performance.now() - started,
    model: typeof logged.model === 'string' ? logged.model : modelOfPath(path),
    version: typeof logged.version === 'string' ? logged.version : undefined,
    captured: typeof logged.captured === 'number' ? logged.captured : undefined,
    accepted: typeof logged.accepted === 'number' ? logged.accepted : undefined,
    synthetic: logged.synthetic === true,
  };
  local.activity.record(record);
  local.console.printRequest(
    record,
    typeof logged.errorMessage === 'string'
      ? logged.errorMessage
      : logged.error
        ? String((logged.error as { message?: unknown }).message)
        : undefined,
  );
}

/** Where the local stack serves the API's OpenAPI document (docs/openapi.yaml), as YAML or JSON. */
const OPENAPI_PATHS = new Set(['/openapi.yaml', '/openapi.json']);

async function sendOpenApi(response: ServerResponse, format: 'json' | 'yaml'): Promise<void> {
  const text = await readFile(join(ROOT, 'docs', 'openapi.yaml'), 'utf8');
  if (format === 'json') {
    sendJson(response, 200, parseYaml(text));
    return;
  }
  response.writeHead(200, { 'content-type': 'application/yaml' });
  response.end(text);
}

/** The whole body, or undefined once it passes `limit` (the rest is drained, not kept). */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    request.on('end', () => done(over ? undefined : Buffer.concat(chunks)));
    request.on('error', fail);
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function captureFlushMs(seconds: string | undefined): number | undefined {
  if (seconds === undefined || seconds.trim() === '') return undefined;
  const value = Number(seconds);
  if (!(Number.isFinite(value) && value > 0)) {
    throw new Error(`CAPTURE_FLUSH_SECONDS: expected a positive number of seconds, got '${seconds}'`);
  }
  return value * 1000;
}

function scheduleIntervalMs(seconds: string | undefined): number | undefined {
  if (seconds === undefined || seconds.trim() === '') return undefined;
  const value = Number(seconds);
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new Error(
      `DRIFT_INTERVAL_SECONDS: expected a number of seconds (0 turns the timer off), got '${seconds}'`,
    );
  }
  return value * 1000;
}

function banner(stack: LocalStack): string {
  const api = stack.apiUrl;
  return [
    '',
    'onnx-serve local stack is up',
    `  API          ${api}`,
    `  S3 endpoint  ${stack.s3.endpoint}  bucket ${stack.s3.bucket}  (credentials ${stack.s3.accessKeyId}/${stack.s3.secretAccessKey})`,
    `  console      ${api}/   (models, traffic, drift reports, batch runs, a form to try a model)`,
    '  settings     .local/stack.json',
    `  raw logs     ${stack.logsDir}/{functions,metrics,captures}.jsonl`,
    ...stack.s3Events.map((line, index) => `  ${index === 0 ? 'S3 events ' : '          '}   ${line}`),
    ...stack.schedules.map((line, index) => `  ${index === 0 ? 'schedules ' : '          '}   ${line}`),
    `  drift events ${stack.eventsFile}`,
    '',
    'Try:',
    `  curl ${api}/v2/health/ready`,
    `  curl ${api}/v2/models/iris`,
    `  curl -X POST ${api}/v2/models/iris/infer -H 'content-type: application/json' \\`,
    `    -d '{"id":"try-1","inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]}'`,
    `  curl -X POST ${api}/v1/models/iris:predict -d '{"instances":[[5.1,3.5,1.4,0.2]]}'   (the v1 protocol)`,
    `  curl ${api}/v2/models/iris/config   ·   curl ${api}/v2/models/stats   ·   curl ${api}/openapi.yaml`,
    `  curl -X POST ${api}/v2/models/iris/outcomes -H 'content-type: application/json' \\`,
    `    -d '{"outcomes":[{"id":"try-1","value":0}]}'`,
    '  (captures appear under captures/iris/ in the bucket within CAPTURE_FLUSH_SECONDS, outcomes under outcomes/iris/ at once)',
    '  npm run drift -- --model iris   (drift check now: verdict and report location; reports under reports/iris/)',
    '  npm run batch -- .local/demo-models/iris/holdout.csv --model iris   (batch scoring through S3)',
    '  npm run model -- list',
    '  npm run model -- publish path/to/model.onnx --name my-model   (then see models/my-model/1/metadata.json)',
    '',
    'Ctrl-C stops it; models and data stay in .local/ for the next start.',
  ].join('\n');
}

const USAGE = `usage:
  npm start [-- --json]
Starts the whole product on this machine (S3 server, demo models, API, S3 events, capture pipeline,
scheduled drift checks). The terminal shows one line per request, batch file, drift check and model
validation; the raw JSON lines (logs, EMF metrics, captures) go to .local/logs/*.jsonl.
  --json   print the raw JSON lines instead (also LOCAL_OUTPUT=json)
Environment: PORT (3000), S3_PORT (4569), LOCAL_STATE_DIR (.local), DEMO_MODELS=false,
CAPTURE_FLUSH_SECONDS (5), DRIFT_INTERVAL_SECONDS (300; 0 = only on demand), NO_COLOR.`;

runCli(import.meta.url, USAGE, async (argv) => {
  const { values } = parseCli(argv, USAGE, { json: { type: 'boolean', default: false } });
  const outputEnv = process.env.LOCAL_OUTPUT;
  if (outputEnv !== undefined && outputEnv !== '' && outputEnv !== 'json' && outputEnv !== 'readable')
    throw new UsageError(`LOCAL_OUTPUT: expected 'json' or 'readable', got '${outputEnv}'`);
  const stack = await startLocalStack({
    port: Number(process.env.PORT ?? 3000),
    s3Port: Number(process.env.S3_PORT ?? 4569),
    stateDir: process.env.LOCAL_STATE_DIR,
    demoModels: process.env.DEMO_MODELS !== 'false',
    captureFlushMs: captureFlushMs(process.env.CAPTURE_FLUSH_SECONDS),
    scheduleIntervalMs: scheduleIntervalMs(process.env.DRIFT_INTERVAL_SECONDS),
    output: values.json || outputEnv === 'json' ? 'json' : 'readable',
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping`);
    stack.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // Listen before announcing readiness: whoever reads the banner may signal at once.
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  console.log(banner(stack));
});
