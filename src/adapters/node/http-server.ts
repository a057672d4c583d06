/**
 * The plain Node HTTP adapter: `node:http` requests → the core's `handle()` (src/http/app.ts) →
 * responses, with the body limit checked before a byte is buffered, keep-alive and request
 * timeouts, a readiness gate for Kubernetes probes, a few routes of its own (metrics, webhook)
 * and graceful shutdown: stop accepting, finish what is in flight, close idle connections.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NotReadyError, PayloadTooLargeError, toErrorResponse } from '../../errors.ts';
import type { HttpOutcome, HttpRequest, HttpResponse } from '../../http/app.ts';

/** A route answered by the adapter itself rather than the core (e.g. `GET /metrics`). */
export type LocalRoute = (request: HttpRequest) => Promise<HttpResponse> | HttpResponse;

/** What a served core request measured, for telemetry. */
export interface ServedRequest {
  outcome: HttpOutcome;
  requestBytes: number;
  responseBytes: number;
  /** From the first byte of the headers to the last byte of the answer given to the socket. */
  ms: number;
}

export interface NodeHttpServerOptions {
  /** The core: `createServing(...).handle`. */
  handle: (request: HttpRequest) => Promise<HttpOutcome>;
  /** Largest request body in bytes; a larger one is answered 413 without being buffered. */
  maxBodyBytes: number;
  keepAliveTimeoutMs?: number;
  requestTimeoutMs?: number;
  headersTimeoutMs?: number;
  /** Routes of the adapter, by `METHOD path` (e.g. `GET /metrics`); they bypass the core. */
  routes?: Record<string, LocalRoute>;
  /** Paths answered 503 until `ready()` (probes); the core answers them once ready. */
  readinessPaths?: readonly string[];
  /** Whether the server is ready; false answers the readiness paths 503. */
  ready?: () => boolean;
  /** Called after every core request (metrics, logs, captures); must not throw. */
  onServed?: (served: ServedRequest) => void;
  /** Called when the adapter itself fails to answer (a socket error, a local route throwing). */
  onError?: (message: string, error: unknown) => void;
}

export interface NodeHttpServer {
  server: Server;
  /** Starts listening; resolves with the bound port. */
  listen(port: number, host: string): Promise<number>;
  /** Requests being answered now. */
  readonly inflight: number;
  /**
   * Graceful stop: no new connections, keep-alive connections told to close, in-flight requests
   * answered; after `timeoutMs` the remaining connections are cut. Resolves with the number of
   * requests that were still running when the time was up (0 when all finished).
   */
  shutdown(timeoutMs: number): Promise<number>;
}

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/**
 * Creates (does not start) the HTTP server.
 *
 * @example
 * ```ts
 * const http = createNodeHttpServer({ handle: serving.handle, maxBodyBytes: 64 * 1024 * 1024 });
 * const port = await http.listen(8080, '0.0.0.0');
 * process.once('SIGTERM', () => void http.shutdown(25_000));
 * ```
 */
export function createNodeHttpServer(options: NodeHttpServerOptions): NodeHttpServer {
  const routes = options.routes ?? {};
  const readinessPaths = new Set(options.readinessPaths ?? []);
  const ready = options.ready ?? (() => true);
  const onError = options.onError ?? (() => {});
  const running = new Set<Promise<void>>();
  let draining = false;

  const server = createServer((req, res) => {
    const task = serve(req, res).catch((error: unknown) => {
      onError('request failed in the HTTP adapter', error);
      if (!res.headersSent) send(res, errorResponse(error));
      else res.destroy();
    });
    running.add(task);
    void task.finally(() => running.delete(task));
  });
  if (options.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = options.keepAliveTimeoutMs;
  if (options.requestTimeoutMs !== undefined) server.requestTimeout = options.requestTimeoutMs;
  if (options.headersTimeoutMs !== undefined) {
    // Node requires the headers timeout not to exceed the request timeout (0 means none).
    const limit = server.requestTimeout > 0 ? server.requestTimeout : options.headersTimeoutMs;
    server.headersTimeout = Math.min(options.headersTimeoutMs, limit);
  }
  server.on('clientError', (error, socket) => {
    // Malformed requests and timeouts: a plain 400/408 when the socket still can, never a crash.
    const code = (error as NodeJS.ErrnoException).code;
    if (socket.writable) {
      const status = code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    } else socket.destroy();
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    const query = rawUrl.indexOf('?');
    const path = query === -1 ? rawUrl : rawUrl.slice(0, query);
    const headers = headersOf(req);
    if (draining) res.setHeader('connection', 'close');

    const local = routes[`${method} ${path}`];
    if (readinessPaths.has(path) && method === 'GET' && (draining || !ready())) {
      req.resume();
      send(
        res,
        errorResponse(
          new NotReadyError(draining ? 'the server is shutting down' : 'the server is loading its models'),
        ),
      );
      return;
    }

    const declared = Number(headers['content-length'] ?? Number.NaN);
    const refuse = (size: number | undefined) => {
      // Answered at once; what the client still sends is read and dropped, so that it sees the
      // answer rather than a reset in the middle of its upload (the request timeout bounds it).
      const error = tooLarge(size, options.maxBodyBytes);
      const response = errorResponse(error);
      const responseBytes = send(res, response);
      req.resume();
      options.onServed?.({
        outcome: { response, error: { kind: error.kind, status: error.status, message: error.message } },
        requestBytes: size ?? options.maxBodyBytes,
        responseBytes,
        ms: performance.now() - started,
      });
    };
    if (Number.isFinite(declared) && declared > options.maxBodyBytes) {
      refuse(declared);
      return;
    }
    const body = await readBody(req, options.maxBodyBytes);
    if (body === 'too-large') {
      refuse(undefined);
      return;
    }
    const request: HttpRequest = { method, path, headers, body: body.byteLength > 0 ? body : undefined };

    if (local !== undefined) {
      send(res, await local(request));
      return;
    }
    const outcome = await options.handle(request);
    const responseBytes = send(res, outcome.response);
    options.onServed?.({
      outcome,
      requestBytes: body.byteLength,
      responseBytes,
      ms: performance.now() - started,
    });
  }

  return {
    server,
    listen(port, host) {
      return new Promise((done, fail) => {
        server.once('error', fail);
        server.listen(port, host, () => {
          server.off('error', fail);
          done((server.address() as AddressInfo).port);
        });
      });
    },
    get inflight() {
      return running.size;
    },
    async shutdown(timeoutMs) {
      draining = true;
      const closed = new Promise<void>((done) => server.close(() => done()));
      // Idle keep-alive connections go now; busy ones close after their answer (`connection: close`).
      server.closeIdleConnections();
      const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((done) => {
        timer = setTimeout(() => done('timeout'), timeoutMs);
      });
      const finished = Promise.all([...running]).then(() => 'done' as const);
      const result = await Promise.race([finished, timedOut]);
      clearTimeout(timer);
      const left = result === 'timeout' ? running.size : 0;
      clearInterval(idleSweep);
      server.closeAllConnections();
      await closed;
      return left;
    },
  };
}

function headersOf(req: IncomingMessage): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** The body, or `'too-large'` as soon as it passes `limit` (what came is dropped, the rest drained). */
function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array | 'too-large'> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        done('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (over) return;
      const joined = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      done(new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength));
    });
    req.on('error', fail);
  });
}

function tooLarge(size: number | undefined, limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError(
    size === undefined
      ? `request body is over the limit of ${limit} bytes`
      : `request body is ${size} bytes; the limit is ${limit} bytes`,
  );
}

function errorResponse(error: unknown): HttpResponse {
  const mapped = toErrorResponse(error);
  return {
    status: mapped.status,
    headers: { ...JSON_HEADERS, ...mapped.headers },
    body: JSON.stringify(mapped.body),
  };
}

/** Writes a response (compressed as the core made it, when it did); returns its body size in bytes. */
function send(res: ServerResponse, response: HttpResponse): number {
  if (response.compressed !== undefined) {
    res.writeHead(response.status, {
      ...response.headers,
      'content-length': String(response.compressed.byteLength),
    });
    res.end(response.compressed);
    return response.compressed.byteLength;
  }
  const json = Buffer.from(response.body, 'utf8');
  const length = json.byteLength + (response.binary?.byteLength ?? 0);
  res.writeHead(response.status, { ...response.headers, 'content-length': String(length) });
  if (response.binary === undefined) res.end(json);
  else {
    res.write(json);
    res.end(response.binary);
  }
  return length;
}
