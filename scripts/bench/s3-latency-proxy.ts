/**
 * A loopback HTTP proxy that makes the local S3 server answer like S3 seen from a Lambda function:
 * every response waits for a first-byte latency, then its body streams at no more than a per-stream
 * bandwidth (each request is its own stream, as each S3 GET is its own connection's transfer).
 * Requests and bodies pass through unchanged (SigV4 signatures stay valid: the Host header is the
 * proxy's, as the client signed it).
 *
 * The figures (docs/benchmarks.md, "The cold path on S3's latency"): first byte 20 ms, the low
 * end of what is published for S3 Standard within a region (up to 100–200 ms); 90 MB/s per stream,
 * the top of S3's own guidance of one connection per 85–90 MB/s of wanted throughput.
 */
import { once } from 'node:events';
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface S3LatencyProfile {
  /** Time from a request's arrival to its response's first byte. */
  firstByteMs: number;
  /** Per-response body bandwidth, bytes per second. */
  streamBytesPerSecond: number;
}

export const S3_LATENCY_PROFILE: S3LatencyProfile = { firstByteMs: 20, streamBytesPerSecond: 90e6 };

export interface S3LatencyProxy {
  endpoint: string;
  profile: S3LatencyProfile;
  /** Requests answered so far (`GET` of a range counted like any other). */
  readonly requests: number;
  close(): Promise<void>;
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts the proxy in front of `target` (an `http://127.0.0.1:port` endpoint).
 *
 * @example
 * ```ts
 * const proxy = await startS3LatencyProxy(s3.endpoint);
 * // point clients at proxy.endpoint instead of s3.endpoint
 * await proxy.close();
 * ```
 */
export async function startS3LatencyProxy(
  target: string,
  profile: S3LatencyProfile = S3_LATENCY_PROFILE,
): Promise<S3LatencyProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let requests = 0;
  const server = createServer((req, res) => {
    requests += 1;
    const arrived = performance.now();
    const headers = { ...req.headers };
    for (const name of HOP_BY_HOP) delete headers[name];
    const outgoing = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers,
        agent,
      },
      (response) => {
        const wait = arrived + profile.firstByteMs - performance.now();
        (wait > 0 ? sleep(wait) : Promise.resolve()).then(() => relay(response, res, profile));
      },
    );
    outgoing.on('error', () => res.socket?.destroy());
    res.on('close', () => {
      if (!res.writableFinished) outgoing.destroy();
    });
    req.pipe(outgoing);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    profile,
    get requests() {
      return requests;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}

/** Sends the upstream response on, its body paced to the stream bandwidth. */
function relay(response: IncomingMessage, res: ServerResponse, profile: S3LatencyProfile): void {
  const responseHeaders = { ...response.headers };
  for (const name of HOP_BY_HOP) delete responseHeaders[name];
  res.writeHead(response.statusCode ?? 502, responseHeaders);
  const started = performance.now();
  let sent = 0;
  response.on('data', (chunk: Buffer) => {
    sent += chunk.byteLength;
    const flushed = res.write(chunk);
    const ahead = started + (sent / profile.streamBytesPerSecond) * 1000 - performance.now();
    if (ahead < 1 && flushed) return;
    response.pause();
    Promise.all([ahead >= 1 ? sleep(ahead) : undefined, flushed ? undefined : once(res, 'drain')]).then(
      () => response.resume(),
      () => res.socket?.destroy(),
    );
  });
  response.on('end', () => res.end());
  response.on('error', () => res.socket?.destroy());
}
