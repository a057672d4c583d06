import { buildApiCaptures, type InferCapture } from '../capture/api-capture.ts';
import type { CaptureRecord } from '../capture/record.ts';
import { BINARY_HEADER, encodeBinaryResponse, splitBinaryBody } from '../codec/binary.ts';
import { stringifyJson } from '../codec/json.ts';
import { parseInferenceBody, parseJsonBody } from '../codec/parse-request.ts';
import { BadRequestError, NotFoundError, PayloadTooLargeError, toErrorResponse } from '../errors.ts';
import type { OutcomeService } from '../outcomes/outcome-service.ts';
import type {
  InferenceService,
  InferResult,
  InferStats,
  ModelCallStats,
  ShadowRun,
} from '../protocol/service.ts';
import { parseV1Path, translateV1Request, v1Response } from '../protocol/v1.ts';
import type { InferenceResponse } from '../types.ts';
import { chooseCoding, compressBody, DEFAULT_MAX_INFLATED_BYTES, decodeContent } from './compression.ts';
import { DEFAULT_MAX_BODY_BYTES } from './limits.ts';
import { matchRoute, type Operation, type RouteMatch } from './routes.ts';

export interface HttpRequest {
  method: string;
  /** Raw path, still percent-encoded, without any stage prefix. */
  path: string;
  /** Header names in lower case, as API Gateway and node:http give them. */
  headers?: Readonly<Record<string, string | undefined>>;
  body?: Uint8Array;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON text: the whole body, or its JSON part when `binary` follows. */
  body: string;
  /**
   * Binary tensor data that follows the JSON text in the body (the binary tensor data extension);
   * the `inference-header-content-length` header then gives the JSON text's length in bytes.
   */
  binary?: Uint8Array;
  /**
   * The body as sent when the response is compressed (`Accept-Encoding`): `body` followed by
   * `binary`, compressed with the coding named by the `content-encoding` header. The binary
   * header still gives the length of the uncompressed JSON text, as Triton's clients expect.
   */
  compressed?: Uint8Array;
}

/** The answer plus what the caller needs for telemetry. */
export interface HttpOutcome {
  response: HttpResponse;
  operation?: Operation;
  stats?: ModelCallStats | InferStats;
  /** Set when the request failed: the error kind, and the thrown value when it was unexpected. */
  error?: { kind: string; status: number; message: string; unexpected?: unknown };
  /**
   * Capture records of a successful inference (sampled; empty when none was kept), built once the
   * response was, for the caller to write; absent when capture is off or there was no inference.
   */
  captures?: CaptureRecord[];
  /** Building the capture records failed: the answer stands, the failure is for the log. */
  captureError?: unknown;
  /** Outcomes stored by an outcomes request. */
  outcomes?: { model: string; accepted: number; key: string };
  /** The request said it is synthetic (`SYNTHETIC_HEADER`): answered as usual, never captured. */
  synthetic?: boolean;
  /** Shadow runs of the request, awaited within the budget after the answer was made. */
  shadow?: ShadowOutcome;
  /** Why a newer config.json of the model was refused (the previous one stays in force). */
  configRejected?: string;
  /** The `traffic` target the request was routed to. */
  routedTo?: string;
}

/** What the shadow versions did with one request: never part of the answer. */
export interface ShadowOutcome {
  /** Versions that ran and were captured. */
  succeeded: string[];
  /** Versions that failed, with the error (counted and logged, never returned). */
  failed: { version: string; error: unknown }[];
  /** True when the budget ran out before every shadow finished (they are not captured). */
  timedOut: boolean;
  /** Capture records of the shadow outputs (marked `shadow: true`). */
  captures: CaptureRecord[];
  /** How long the answer waited for the shadows. */
  waitedMs: number;
}

/**
 * Marks a request as synthetic traffic (load tests, benchmarks, smoke checks): `1`/`true` (or
 * `0`/`false` for ordinary traffic). A synthetic inference is answered exactly as any other, but no
 * capture record is built for it, so it never reaches the drift windows.
 */
export const SYNTHETIC_HEADER = 'x-onnx-serve-synthetic';

/** Whether the request is marked synthetic; a value other than 1/true/0/false is a 400. */
export function isSyntheticRequest(headers: HttpRequest['headers']): boolean {
  const value = headers?.[SYNTHETIC_HEADER];
  if (value === undefined) return false;
  const text = value.trim().toLowerCase();
  if (text === '1' || text === 'true') return true;
  if (text === '0' || text === 'false' || text === '') return false;
  throw new BadRequestError(`header ${SYNTHETIC_HEADER}: expected 1, true, 0 or false, got '${value}'`);
}

/** Prediction capture by the HTTP app. */
export interface HttpCaptureOptions {
  /** Off: no capture record is built (`CAPTURE_ENABLED=false`). */
  enabled: boolean;
  /** Tensors with more elements are summarised (default `MAX_CAPTURED_ELEMENTS`). */
  maxElements?: number;
  /** Clock for the records' `ts` (injected by tests). */
  now?: () => Date;
}

const JSON_HEADERS = { 'content-type': 'application/json' } as const;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The HTTP face of the inference service, independent of how requests arrive (API Gateway event,
 * plain node:http). Every error is mapped here, in one place, by `toErrorResponse`.
 *
 * @example
 * ```ts
 * const handle = createHttpApp({ service });
 * const { response } = await handle({ method: 'GET', path: '/v2/health/live' });
 * ```
 */
export function createHttpApp(options: {
  service: InferenceService;
  maxBodyBytes?: number;
  /** Ceiling on a request body once inflated (`Content-Encoding: gzip|deflate`). */
  maxInflatedBytes?: number;
  /** The outcomes extension; without it the route answers 404. */
  outcomes?: OutcomeService;
  capture?: HttpCaptureOptions;
  /** Longest wait for shadow runs once the answer is made (default 200 ms). */
  shadowBudgetMs?: number;
}) {
  const { service } = options;
  const shadowBudgetMs = options.shadowBudgetMs ?? 200;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxInflatedBytes = options.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES;
  const captureOptions = options.capture ?? { enabled: false };
  const now = captureOptions.now ?? (() => new Date());

  /** The request body as sent, then inflated when it came with a `Content-Encoding`. */
  function readBody(request: HttpRequest, expected: string): Uint8Array {
    const bytes = checkBodySize(request.body, maxBodyBytes, expected);
    return decodeContent(bytes, request.headers?.['content-encoding'], maxInflatedBytes);
  }

  /** An optional JSON body (repository load/unload): `undefined` when empty. */
  function optionalJson(request: HttpRequest): unknown {
    if (request.body === undefined || request.body.byteLength === 0) return undefined;
    return parseJsonBody(decodeText(readBody(request, 'a JSON object'), 'request body'));
  }

  async function dispatch(
    operation: Operation,
    params: RouteMatch['params'],
    request: HttpRequest,
  ): Promise<{
    status: number;
    body: unknown;
    stats?: ModelCallStats | InferStats;
    inference?: { capture: InferCapture; inferMs: number };
    /** The protocol response to capture, when the body is another shape of it (v1). */
    inferenceResponse?: InferenceResponse;
    shadow?: InferResult['shadow'];
    routedTo?: string;
    configRejected?: string;
    binaryOutputs?: InferResult['binary'];
    outcomes?: HttpOutcome['outcomes'];
    headers?: Record<string, string>;
  }> {
    const name = params.name ?? '';
    switch (operation) {
      case 'live':
        return { status: 200, body: { live: true } };
      case 'ready':
        return { status: 200, body: await service.serverReady() };
      case 'serverMetadata':
        return { status: 200, body: service.serverMetadata() };
      case 'modelMetadata': {
        const { body, stats } = await service.modelMetadata(name, params.version);
        return { status: 200, body, stats };
      }
      case 'modelReady': {
        const { body, stats } = await service.modelReady(name, params.version);
        return { status: 200, body, stats };
      }
      case 'infer': {
        // The model and version first: an unknown one is 404 whatever the body, as in Triton.
        const resolved = await service.resolveModel(name, params.version);
        const bytes = readBody(request, 'a JSON inference request');
        // With Content-Encoding, the header gives the length of the JSON part once inflated.
        const { json, binary } = splitBinaryBody(bytes, request.headers?.[BINARY_HEADER]);
        const body = parseInferenceBody(
          decodeText(json, binary === undefined ? 'request body' : 'JSON part'),
        );
        const {
          response,
          stats,
          capture,
          binary: binaryOutputs,
          shadow,
          routedTo,
          configRejected,
        } = await service.infer(name, params.version, body, binary, resolved);
        return {
          status: 200,
          body: response,
          stats,
          inference: { capture, inferMs: stats.inferMs },
          binaryOutputs,
          shadow,
          routedTo,
          configRejected,
        };
      }
      case 'outcomes': {
        if (options.outcomes === undefined) throw new NotFoundError('the outcomes extension is not enabled');
        const bytes = readBody(request, 'a JSON body {"outcomes": [...]}');
        const body = parseJsonBody(decodeText(bytes, 'request body'));
        const { accepted, key } = await options.outcomes.accept(name, body);
        return { status: 200, body: { accepted }, outcomes: { model: name, accepted, key } };
      }
      case 'repositoryIndex': {
        const body = optionalJson(request);
        if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
          throw new BadRequestError(
            'repository index request body: expected a JSON object such as {"ready": true}',
          );
        }
        const ready = (body as { ready?: unknown } | undefined)?.ready;
        if (ready !== undefined && typeof ready !== 'boolean') {
          throw new BadRequestError(
            `repository index request: 'ready' must be a boolean; got ${JSON.stringify(ready)}`,
          );
        }
        return { status: 200, body: await service.repositoryIndex({ readyOnly: ready === true }) };
      }
      case 'repositoryLoad': {
        const { body, stats } = await service.loadModel(name, optionalJson(request));
        return { status: 200, body, stats };
      }
      case 'repositoryUnload':
        return { status: 200, body: (await service.unloadModel(name, optionalJson(request))).body };
      case 'modelConfig': {
        const { body, stats } = await service.modelConfig(name, params.version);
        return { status: 200, body, stats };
      }
      case 'statistics':
        return { status: 200, body: await service.modelStatistics(params.name, params.version) };
      case 'v1Models':
        return { status: 200, body: { models: await service.modelNames() } };
      case 'v1ModelReady': {
        const { body, stats } = await service.modelReady(name, undefined);
        return { status: 200, body: { name: body.name, ready: body.ready }, stats };
      }
      case 'v1Predict': {
        const target = parseV1Path(params.path ?? '');
        const resolved = await service.resolveModel(target.name, target.version);
        const bytes = readBody(request, 'a JSON object {"instances": [...]} or {"inputs": ...}');
        const v1Body = parseJsonBody(decodeText(bytes, 'request body'));
        const { signature, config } = await service.modelSignature(resolved);
        const translation = translateV1Request(v1Body, signature, config.feature_names);
        const { response, stats, capture } = await service.infer(
          target.name,
          target.version,
          translation.request,
          undefined,
          resolved,
        );
        return {
          status: 200,
          body: v1Response(response, translation),
          stats,
          inference: { capture, inferMs: stats.inferMs },
          inferenceResponse: response,
          headers: { 'x-prediction-id': response.id },
        };
      }
    }
  }

  function captureRecords(
    context: InferCapture,
    response: InferenceResponse,
    inferMs: number,
  ): Pick<HttpOutcome, 'captures' | 'captureError'> {
    try {
      return {
        captures: buildApiCaptures({
          capture: context,
          response,
          inferMs,
          ts: now(),
          maxElements: captureOptions.maxElements,
        }),
      };
    } catch (error) {
      return { captureError: error };
    }
  }

  return async function handle(request: HttpRequest): Promise<HttpOutcome> {
    let operation: Operation | undefined;
    let synthetic: boolean | undefined;
    try {
      const match = matchRoute(request.method, request.path);
      operation = match.operation;
      // Checked before the work, so that a malformed marker changes nothing.
      synthetic = isSyntheticRequest(request.headers) || undefined;
      const result = await dispatch(match.operation, match.params, request);
      const response: HttpResponse =
        result.binaryOutputs === undefined
          ? {
              status: result.status,
              headers: { ...JSON_HEADERS, ...result.headers },
              body: stringifyJson(result.body),
            }
          : binaryResponse(result.body as InferenceResponse, result.binaryOutputs);
      // Built only now that the answer is ready, so that capture never delays or changes it.
      const { inference } = result;
      const captured =
        inference !== undefined && captureOptions.enabled && !synthetic
          ? captureRecords(
              inference.capture,
              result.inferenceResponse ?? (result.body as InferenceResponse),
              inference.inferMs,
            )
          : {};
      const shadow =
        result.shadow === undefined
          ? undefined
          : await awaitShadows(result.shadow, shadowBudgetMs, captureOptions.enabled && !synthetic, (run) =>
              buildApiCaptures({
                capture: run.capture,
                response: run.response,
                inferMs: run.inferMs,
                ts: now(),
                maxElements: captureOptions.maxElements,
              }).map((record) => ({ ...record, shadow: true as const })),
            );
      return {
        response: compressResponse(response, request.headers?.['accept-encoding']),
        operation,
        stats: result.stats,
        outcomes: result.outcomes,
        ...captured,
        ...(synthetic ? { synthetic } : {}),
        ...(shadow === undefined ? {} : { shadow }),
        ...(result.routedTo === undefined ? {} : { routedTo: result.routedTo }),
        ...(result.configRejected === undefined ? {} : { configRejected: result.configRejected }),
      };
    } catch (error) {
      const mapped = toErrorResponse(error);
      return {
        response: {
          status: mapped.status,
          headers: { ...JSON_HEADERS, ...mapped.headers },
          body: JSON.stringify(mapped.body),
        },
        operation,
        ...(synthetic ? { synthetic } : {}),
        error: {
          kind: mapped.kind,
          status: mapped.status,
          message: mapped.body.error,
          unexpected: mapped.unexpected ? error : undefined,
        },
      };
    }
  };
}

/**
 * Compresses a response for a client that accepts gzip or deflate, when that makes it smaller
 * (see `compressBody`); `vary: accept-encoding` tells caches that the body depends on the header.
 */
function compressResponse(response: HttpResponse, acceptEncoding: string | undefined): HttpResponse {
  const coding = chooseCoding(acceptEncoding);
  if (coding === undefined) return response;
  const text = Buffer.from(response.body);
  const whole = response.binary === undefined ? text : Buffer.concat([text, response.binary]);
  const compressed = compressBody(whole, coding);
  if (compressed === undefined)
    return { ...response, headers: { ...response.headers, vary: 'accept-encoding' } };
  return {
    ...response,
    headers: { ...response.headers, 'content-encoding': coding, vary: 'accept-encoding' },
    compressed,
  };
}

function checkBodySize(body: Uint8Array | undefined, maxBodyBytes: number, expected: string): Uint8Array {
  if (body === undefined || body.byteLength === 0) {
    throw new BadRequestError(`request body is empty; expected ${expected}`);
  }
  if (body.byteLength > maxBodyBytes) {
    throw new PayloadTooLargeError(
      `request body is ${body.byteLength} bytes; the limit is ${maxBodyBytes} bytes`,
    );
  }
  return body;
}

function decodeText(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new BadRequestError(`${what} is not valid UTF-8`);
  }
}

/** A response whose binary outputs follow its JSON part (the binary tensor data extension). */
function binaryResponse(
  response: InferenceResponse,
  binary: NonNullable<InferResult['binary']>,
): HttpResponse {
  const { json, binary: bytes } = encodeBinaryResponse(response, binary.names, binary.results);
  return {
    status: 200,
    headers: { 'content-type': 'application/octet-stream', [BINARY_HEADER]: String(Buffer.byteLength(json)) },
    body: json,
    binary: bytes,
  };
}

/**
 * Waits for the shadow runs of a request at most `budgetMs` after its answer was made, and turns
 * the finished ones into capture records. Shadows that fail are counted; shadows still running when
 * the budget ends are left to finish on their own (their outputs are not captured). Never throws.
 */
async function awaitShadows(
  runs: Promise<ShadowRun[]>,
  budgetMs: number,
  capture: boolean,
  recordsOf: (run: ShadowRun & { ok: true }) => CaptureRecord[],
): Promise<ShadowOutcome> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), budgetMs);
  });
  const finished = await Promise.race([runs, timeout]);
  clearTimeout(timer);
  const waitedMs = performance.now() - started;
  if (finished === undefined) return { succeeded: [], failed: [], timedOut: true, captures: [], waitedMs };
  const outcome: ShadowOutcome = { succeeded: [], failed: [], timedOut: false, captures: [], waitedMs };
  for (const run of finished) {
    if (!run.ok) {
      outcome.failed.push({ version: run.version, error: run.error });
      continue;
    }
    try {
      if (capture) outcome.captures.push(...recordsOf(run));
      outcome.succeeded.push(run.version);
    } catch (error) {
      outcome.failed.push({ version: run.version, error });
    }
  }
  return outcome;
}

/** Where a request's log line goes: Powertools' logger on Lambda, the JSON logger off it. */
export interface RequestLog {
  info(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

/**
 * Writes a request's log line — `request`, `request rejected` (a 4xx or a known 5xx, with its kind
 * and message) or `request failed` (the unexpected, with the error) — with the same fields on every
 * host: operation, status, latency, the model's stats, captures, the synthetic mark and outcomes,
 * plus the host's `extra` (byte counts).
 */
export function logRequest(
  log: RequestLog,
  outcome: HttpOutcome,
  requestMs: number,
  captured: number | undefined,
  extra: Record<string, unknown> = {},
): void {
  const { stats, error, response, outcomes } = outcome;
  const fields = {
    operation: outcome.operation,
    status: response.status,
    requestMs: Math.round(requestMs * 1000) / 1000,
    ...extra,
    ...(stats ?? {}),
    ...(captured === undefined ? {} : { captured }),
    ...(outcome.synthetic ? { synthetic: true } : {}),
    ...(outcomes === undefined
      ? {}
      : { model: outcomes.model, accepted: outcomes.accepted, key: outcomes.key }),
  };
  if (error?.unexpected !== undefined) log.error('request failed', { ...fields, error: error.unexpected });
  else if (error)
    log.info('request rejected', { ...fields, errorKind: error.kind, errorMessage: error.message });
  else log.info('request', fields);
}
