import { type Env, readBoolean, readNumber, readOptionalString, readString } from './env.ts';
import { readServingConfig, type ServingConfig } from './serving-config.ts';

/** Largest `MAX_BODY_BYTES` the plain HTTP server accepts: 1 GiB (Lambda's cap is 6 MB). */
export const SERVER_MAX_BODY_LIMIT = 1024 * 1024 * 1024;
/** The server's default body limit when `MAX_BODY_BYTES` is unset: 64 MiB. */
export const SERVER_DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

/** Everything the plain HTTP server reads from its environment, on top of the serving core's. */
export interface ServerConfig extends ServingConfig {
  /** `PORT` (default 8080; 0 picks a free port). */
  port: number;
  /** `HOST` (default `0.0.0.0`: every interface of the container). */
  host: string;
  /** `KEEP_ALIVE_TIMEOUT_SECONDS` (default 65: longer than the usual load balancer's 60 s idle timeout). */
  keepAliveTimeoutMs: number;
  /** `REQUEST_TIMEOUT_SECONDS` (default 300): the longest a client may take to send a whole request. */
  requestTimeoutMs: number;
  /** `HEADERS_TIMEOUT_SECONDS` (default 60): the longest a client may take to send the headers. */
  headersTimeoutMs: number;
  /** `SHUTDOWN_TIMEOUT_SECONDS` (default 25): how long SIGTERM waits for in-flight requests. */
  shutdownTimeoutMs: number;
  /** `CAPTURE_FLUSH_SECONDS` (default 10): how often buffered captures are written to the bucket. */
  captureFlushMs: number;
  /** `CAPTURE_BUFFER_BYTES` (default 4 MiB): a model's buffered captures are written at this size. */
  captureBufferBytes: number;
  /** `METRICS_ENABLED` (default true): the Prometheus text format on `/metrics`. */
  metricsEnabled: boolean;
  /**
   * `WEBHOOK_TOKEN`: turns on `POST /webhooks/s3` (bucket notifications) and is the value the
   * store must send in its `Authorization` header (as is, or after `Bearer `). Unset: no webhook.
   */
  webhookToken?: string;
  /** `SERVICE_NAME` (default `onnx-serve`): the `service` key of log lines. */
  serviceName: string;
}

/**
 * Reads the server's configuration: `readServingConfig` (with `MAX_BODY_BYTES` allowed up to
 * 1 GiB, default 64 MiB) plus the server settings above.
 *
 * @example
 * ```ts
 * const config = readServerConfig({ MODEL_BUCKET: 'models', PORT: '8080', MAX_BODY_BYTES: '104857600' });
 * ```
 */
export function readServerConfig(env: Env): ServerConfig {
  const withDefault = env.MAX_BODY_BYTES?.trim()
    ? env
    : { ...env, MAX_BODY_BYTES: String(SERVER_DEFAULT_MAX_BODY_BYTES) };
  const seconds = (name: string, fallback: number, max = 86_400) =>
    readNumber(env, name, fallback, { min: 0, max }) * 1000;
  return {
    ...readServingConfig(withDefault, { maxBodyBytes: SERVER_MAX_BODY_LIMIT }),
    port: readNumber(env, 'PORT', 8080, { min: 0, max: 65_535 }),
    host: readString(env, 'HOST', '0.0.0.0'),
    keepAliveTimeoutMs: seconds('KEEP_ALIVE_TIMEOUT_SECONDS', 65),
    requestTimeoutMs: seconds('REQUEST_TIMEOUT_SECONDS', 300),
    headersTimeoutMs: seconds('HEADERS_TIMEOUT_SECONDS', 60),
    shutdownTimeoutMs: seconds('SHUTDOWN_TIMEOUT_SECONDS', 25),
    captureFlushMs: readNumber(env, 'CAPTURE_FLUSH_SECONDS', 10, { min: 0.01, max: 3_600 }) * 1000,
    captureBufferBytes: readNumber(env, 'CAPTURE_BUFFER_BYTES', 4 * 1024 * 1024, { min: 1024 }),
    metricsEnabled: readBoolean(env, 'METRICS_ENABLED', true),
    webhookToken: readOptionalString(env, 'WEBHOOK_TOKEN'),
    serviceName: readString(env, 'SERVICE_NAME', 'onnx-serve'),
  };
}
