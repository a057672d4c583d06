import { stringifyJson } from '../codec/json.ts';
import { parseJsonBody } from '../codec/parse-request.ts';
import { BadRequestError, PayloadTooLargeError, toErrorResponse } from '../errors.ts';
import type { InferenceService, InferStats, ModelCallStats } from '../protocol/service.ts';
import { DEFAULT_MAX_BODY_BYTES } from './limits.ts';
import { matchRoute, type Operation } from './routes.ts';

export interface HttpRequest {
  method: string;
  /** Raw path, still percent-encoded, without any stage prefix. */
  path: string;
  body?: Uint8Array;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The answer plus what the caller needs for telemetry. */
export interface HttpOutcome {
  response: HttpResponse;
  operation?: Operation;
  stats?: ModelCallStats | InferStats;
  /** Set when the request failed: the error kind, and the thrown value when it was unexpected. */
  error?: { kind: string; status: number; message: string; unexpected?: unknown };
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
export function createHttpApp(options: { service: InferenceService; maxBodyBytes?: number }) {
  const { service } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  async function dispatch(
    operation: Operation,
    params: { name?: string; version?: string },
    request: HttpRequest,
  ): Promise<{ status: number; body: unknown; stats?: ModelCallStats | InferStats }> {
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
        const body = readJsonBody(request.body, maxBodyBytes);
        const { response, stats } = await service.infer(name, params.version, body);
        return { status: 200, body: response, stats };
      }
      case 'repositoryIndex':
        return { status: 200, body: await service.repositoryIndex() };
    }
  }

  return async function handle(request: HttpRequest): Promise<HttpOutcome> {
    let operation: Operation | undefined;
    try {
      const match = matchRoute(request.method, request.path);
      operation = match.operation;
      const result = await dispatch(match.operation, match.params, request);
      return {
        response: { status: result.status, headers: { ...JSON_HEADERS }, body: stringifyJson(result.body) },
        operation,
        stats: result.stats,
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

function readJsonBody(body: Uint8Array | undefined, maxBodyBytes: number): unknown {
  if (body === undefined || body.byteLength === 0) {
    throw new BadRequestError('request body is empty; expected a JSON inference request');
  }
  if (body.byteLength > maxBodyBytes) {
    throw new PayloadTooLargeError(
      `request body is ${body.byteLength} bytes; the limit is ${maxBodyBytes} bytes`,
    );
  }
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new BadRequestError('request body is not valid UTF-8');
  }
  return parseJsonBody(text);
}
