import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { createS3Client, type S3ClientOptions, S3ObjectStore } from '../../src/adapters/aws/s3-store.ts';

/**
 * Failures the proxy in front of the S3 server can inject:
 * - `refuse`: the endpoint stops listening (ECONNREFUSED), for every request;
 * - `reset`: the connection is dropped without an answer (ECONNRESET);
 * - `status503`: `503 ServiceUnavailable`; `throttle`: `503 SlowDown`;
 * - `hang`: the request is never answered (the client's timeout has to fire);
 * - `truncate`: the real response, cut off after half of its body;
 * - `preconditionFailed`: `412 PreconditionFailed`, what S3 answers when `If-Match` does not match
 *   (s3rver ignores `If-Match`).
 */
export type S3Fault =
  | 'refuse'
  | 'reset'
  | 'status503'
  | 'throttle'
  | 'hang'
  | 'truncate'
  | 'preconditionFailed';

/** One request the S3 server was sent, as the proxy saw it. */
export interface RecordedRequest {
  method: string;
  /** S3 operation guessed from method, key and query: `GetObject`, `ListObjectsV2`, … */
  operation: string;
  bucket: string;
  /** Decoded object key; empty for bucket-level operations. */
  key: string;
  query: string;
  /** The `Range` and `If-Match` headers, when sent. */
  range?: string;
  ifMatch?: string;
}

export type ClientSettings = Pick<
  S3ClientOptions,
  'maxAttempts' | 'connectionTimeoutMs' | 'requestTimeoutMs' | 'socketTimeoutMs'
>;

export interface TestS3Server {
  /** The proxy's address: what clients talk to. Stable across `stop()`/`restart()`. */
  endpoint: string;
  bucket: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** A client configured as docs/architecture.md says S3-compatible stores need, with small retries and timeouts. */
  client: S3Client;
  store: S3ObjectStore;
  /** Every request received since the start or the last `resetRequests()`. */
  readonly requests: readonly RecordedRequest[];
  /** How many recorded requests were `operation`, optionally for one key. */
  count(operation: string, key?: string): number;
  resetRequests(): void;
  /** Injects a fault for requests matching `match` (all by default); `null` clears it. */
  setFault(fault: S3Fault | null, match?: (request: RecordedRequest) => boolean): Promise<void>;
  /** Another client for the same server, e.g. with different retries. */
  createClient(settings?: ClientSettings): S3Client;
  /** Stops the proxy and the server, dropping open connections; the data is kept. */
  stop(): Promise<void>;
  /** Starts again on the same endpoint with the same data. */
  restart(): Promise<void>;
  /** Stops and deletes the data folder when this helper created it. */
  close(): Promise<void>;
}

export const TEST_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const TEST_REGION = 'us-east-1';
const DEFAULT_CLIENT: Required<ClientSettings> = {
  maxAttempts: 2,
  connectionTimeoutMs: 1_000,
  requestTimeoutMs: 2_000,
  socketTimeoutMs: 2_000,
};
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'];

/**
 * Starts s3rver on loopback behind a small recording proxy, with a bucket ready. The proxy lets
 * tests count what the server really received and inject failures.
 *
 * @example
 * ```ts
 * const s3 = await startS3Server();
 * await s3.store.put('models/relu/1/model.onnx', bytes);
 * assert.equal(s3.count('GetObject'), 0);
 * await s3.close();
 * ```
 */
export async function startS3Server(
  options: { bucket?: string; directory?: string; client?: ClientSettings } = {},
): Promise<TestS3Server> {
  const bucket = options.bucket ?? 'test-bucket';
  const ownsDirectory = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 's3rver-test-')));
  const requests: RecordedRequest[] = [];
  const upstreams = new Set<ReturnType<typeof request>>();
  const held = new Set<ServerResponse>();
  let fault: { kind: S3Fault; match: (request: RecordedRequest) => boolean } | null = null;
  let s3rver: S3rver | undefined;
  let targetPort = 0;
  let running = false;

  const proxy = createServer((req, res) => {
    const recorded = recordOf(req);
    requests.push(recorded);
    const active = fault?.match(recorded) ? fault.kind : null;
    if (active === 'reset') {
      req.socket.destroy();
    } else if (active === 'status503' || active === 'throttle' || active === 'preconditionFailed') {
      const [status, code] =
        active === 'throttle'
          ? [503, 'SlowDown']
          : active === 'preconditionFailed'
            ? [412, 'PreconditionFailed']
            : [503, 'ServiceUnavailable'];
      req.resume();
      res.writeHead(status, { 'content-type': 'application/xml' });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected</Message></Error>`,
      );
    } else if (active === 'hang') {
      req.resume();
      held.add(res);
      res.on('close', () => held.delete(res));
    } else {
      forward(req, res, active === 'truncate');
    }
  });

  function forward(req: IncomingMessage, res: ServerResponse, truncate: boolean): void {
    const headers = { ...req.headers, connection: 'close' };
    const upstream = request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers, agent: false },
      (response) => {
        const responseHeaders = { ...response.headers };
        for (const name of HOP_BY_HOP) delete responseHeaders[name];
        res.writeHead(response.statusCode ?? 502, responseHeaders);
        if (!truncate) {
          response.pipe(res);
          return;
        }
        const length = Number(response.headers['content-length'] ?? 0);
        let sent = 0;
        response.on('data', (chunk: Buffer) => {
          const room = Math.floor(length / 2) - sent;
          if (room > 0) res.write(chunk.subarray(0, room));
          sent += Math.min(room, chunk.length);
          if (sent >= Math.floor(length / 2)) {
            response.destroy();
            res.socket?.destroy();
          }
        });
      },
    );
    upstreams.add(upstream);
    upstream.on('close', () => upstreams.delete(upstream));
    upstream.on('error', () => res.socket?.destroy());
    req.pipe(upstream);
  }

  async function listenProxy(port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      proxy.once('error', reject);
      proxy.listen(port, '127.0.0.1', () => {
        proxy.off('error', reject);
        resolve();
      });
    });
    return (proxy.address() as AddressInfo).port;
  }

  async function closeProxy(): Promise<void> {
    if (!proxy.listening) return;
    const closed = new Promise<void>((resolve) => proxy.close(() => resolve()));
    proxy.closeAllConnections();
    await closed;
  }

  function dropHeld(): void {
    for (const res of held) res.socket?.destroy();
    held.clear();
  }

  async function startUpstream(): Promise<void> {
    s3rver = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory,
      configureBuckets: [{ name: bucket }],
    });
    targetPort = (await s3rver.run()).port;
  }

  await startUpstream();
  const port = await listenProxy(0);
  running = true;
  const endpoint = `http://127.0.0.1:${port}`;

  function createClient(settings: ClientSettings = {}): S3Client {
    return createS3Client({
      region: TEST_REGION,
      endpoint,
      forcePathStyle: true,
      credentials: { ...TEST_CREDENTIALS },
      ...DEFAULT_CLIENT,
      ...options.client,
      ...settings,
    });
  }

  async function stop(): Promise<void> {
    if (!running) return;
    running = false;
    dropHeld();
    for (const upstream of upstreams) upstream.destroy();
    await closeProxy();
    await s3rver?.close();
    s3rver = undefined;
  }

  async function restart(): Promise<void> {
    await stop();
    await startUpstream();
    if (fault?.kind !== 'refuse') await listenProxy(port);
    running = true;
  }

  const client = createClient();
  return {
    endpoint,
    bucket,
    region: TEST_REGION,
    credentials: { ...TEST_CREDENTIALS },
    client,
    store: new S3ObjectStore({ client, bucket }),
    get requests() {
      return requests;
    },
    count: (operation, key) =>
      requests.filter((r) => r.operation === operation && (key === undefined || r.key === key)).length,
    resetRequests: () => {
      requests.length = 0;
    },
    async setFault(kind, match = () => true) {
      const wasRefusing = fault?.kind === 'refuse';
      fault = kind === null ? null : { kind, match };
      dropHeld();
      if (!running) return;
      if (kind === 'refuse' && !wasRefusing) await closeProxy();
      if (kind !== 'refuse' && wasRefusing) await listenProxy(port);
    },
    createClient,
    stop,
    restart,
    async close() {
      await stop();
      client.destroy();
      if (ownsDirectory) await rm(directory, { recursive: true, force: true });
    },
  };
}

function recordOf(req: IncomingMessage): RecordedRequest {
  const url = new URL(req.url ?? '/', 'http://proxy');
  const [, bucket = '', ...rest] = url.pathname.split('/');
  const key = rest.map((segment) => decodeURIComponent(segment)).join('/');
  const query = url.search.replace(/^\?/, '');
  const method = req.method ?? 'GET';
  const range = req.headers.range;
  const ifMatch = req.headers['if-match'];
  return {
    method,
    operation: operationOf(method, key, url.searchParams),
    bucket,
    key,
    query,
    ...(range === undefined ? {} : { range }),
    ...(ifMatch === undefined ? {} : { ifMatch }),
  };
}

function operationOf(method: string, key: string, query: URLSearchParams): string {
  if (key !== '') {
    const byMethod: Record<string, string> = {
      GET: 'GetObject',
      HEAD: 'HeadObject',
      PUT: 'PutObject',
      DELETE: 'DeleteObject',
    };
    return byMethod[method] ?? `${method}Object`;
  }
  if (method === 'GET') return query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
  if (method === 'POST' && query.has('delete')) return 'DeleteObjects';
  const byMethod: Record<string, string> = {
    PUT: 'CreateBucket',
    HEAD: 'HeadBucket',
    DELETE: 'DeleteBucket',
  };
  return byMethod[method] ?? `${method}Bucket`;
}
