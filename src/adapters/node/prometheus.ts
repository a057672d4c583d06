/**
 * The metrics of the http function's EMF documents (docs/monitoring.md), in the Prometheus text
 * format for `GET /metrics` off Lambda, through prom-client. Same events, Prometheus' conventions:
 * counters end in `_total`, durations are histograms in seconds, sizes in bytes; labels stay
 * low-cardinality (operation, status class, error kind, model, version).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ServedRequest } from './http-server.ts';

const PREFIX = 'onnx_serve_';
const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BYTES_BUCKETS = [
  256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 6_291_456, 16_777_216, 67_108_864,
];

/**
 * One registry per server, with the process metrics of prom-client (`process_…`, `nodejs_…`).
 *
 * @example
 * ```ts
 * const metrics = new ServerMetrics();
 * metrics.record(served);
 * const text = await metrics.text(); // for GET /metrics, content type metrics.contentType
 * ```
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly contentType: string = this.registry.contentType;
  readonly #requests: Counter<'operation' | 'status'>;
  readonly #errors: Counter<'kind'>;
  readonly #requestSeconds: Histogram<'operation'>;
  readonly #requestBytes: Histogram<'operation'>;
  readonly #responseBytes: Histogram<'operation'>;
  readonly #inferenceSeconds: Histogram<'model' | 'version'>;
  readonly #loadSeconds: Histogram<'model' | 'version'>;
  readonly #cache: Counter<'model' | 'version' | 'result'>;
  readonly #captured: Counter<'model' | 'version'>;
  readonly #outcomes: Counter<'model'>;
  readonly #capturesPending: Gauge;
  readonly #captureFailures: Counter;
  readonly #ready: Gauge;

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.#requests = new Counter({
      name: `${PREFIX}requests_total`,
      help: 'HTTP API requests, by operation and status code',
      labelNames: ['operation', 'status'],
      registers,
    });
    this.#errors = new Counter({
      name: `${PREFIX}errors_total`,
      help: 'Failed requests by error kind (BadRequest, NotFound, StorageUnavailable, Internal, …)',
      labelNames: ['kind'],
      registers,
    });
    this.#requestSeconds = new Histogram({
      name: `${PREFIX}request_duration_seconds`,
      help: 'Time to answer a request, body read included',
      labelNames: ['operation'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.#requestBytes = new Histogram({
      name: `${PREFIX}request_bytes`,
      help: 'Request body sizes',
      labelNames: ['operation'],
      buckets: BYTES_BUCKETS,
      registers,
    });
    this.#responseBytes = new Histogram({
      name: `${PREFIX}response_bytes`,
      help: 'Response body sizes',
      labelNames: ['operation'],
      buckets: BYTES_BUCKETS,
      registers,
    });
    this.#inferenceSeconds = new Histogram({
      name: `${PREFIX}inference_duration_seconds`,
      help: 'session.run time of inference requests, by model and version',
      labelNames: ['model', 'version'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.#loadSeconds = new Histogram({
      name: `${PREFIX}model_load_duration_seconds`,
      help: 'Model download and session creation time on a cache miss',
      labelNames: ['model', 'version'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.#cache = new Counter({
      name: `${PREFIX}model_cache_requests_total`,
      help: 'Model cache lookups by result (hit or miss)',
      labelNames: ['model', 'version', 'result'],
      registers,
    });
    this.#captured = new Counter({
      name: `${PREFIX}captured_predictions_total`,
      help: 'Prediction capture records accepted for writing to the bucket',
      labelNames: ['model', 'version'],
      registers,
    });
    this.#outcomes = new Counter({
      name: `${PREFIX}outcomes_received_total`,
      help: 'Outcomes stored by the outcomes endpoint',
      labelNames: ['model'],
      registers,
    });
    this.#capturesPending = new Gauge({
      name: `${PREFIX}captures_pending`,
      help: 'Capture records buffered, not yet written to the bucket',
      registers,
    });
    this.#captureFailures = new Counter({
      name: `${PREFIX}capture_write_failures_total`,
      help: 'Failed writes of capture objects (their records are kept and written later)',
      registers,
    });
    this.#ready = new Gauge({
      name: `${PREFIX}ready`,
      help: '1 when the server is ready (preloaded models loaded, not shutting down)',
      registers,
    });
  }

  /** Records one served request (the same events as the Lambda function's EMF document). */
  record(served: ServedRequest, captured?: number): void {
    const { outcome } = served;
    const operation = outcome.operation ?? 'unknown';
    this.#requests.inc({ operation, status: String(outcome.response.status) });
    if (outcome.error) this.#errors.inc({ kind: outcome.error.kind });
    this.#requestSeconds.observe({ operation }, served.ms / 1000);
    this.#requestBytes.observe({ operation }, served.requestBytes);
    this.#responseBytes.observe({ operation }, served.responseBytes);
    const { stats } = outcome;
    if (stats) {
      const labels = { model: stats.model, version: stats.version };
      this.#cache.inc({ ...labels, result: stats.cacheHit ? 'hit' : 'miss' });
      if (stats.loadMs !== undefined) this.#loadSeconds.observe(labels, stats.loadMs / 1000);
      if ('inferMs' in stats) this.#inferenceSeconds.observe(labels, stats.inferMs / 1000);
      if (captured !== undefined) this.#captured.inc(labels, captured);
    }
    if (outcome.outcomes) this.#outcomes.inc({ model: outcome.outcomes.model }, outcome.outcomes.accepted);
  }

  /** Sets the gauges read at scrape time. */
  observe(state: { capturesPending: number; ready: boolean }): void {
    this.#capturesPending.set(state.capturesPending);
    this.#ready.set(state.ready ? 1 : 0);
  }

  /** Counts a failed capture write. */
  captureWriteFailed(): void {
    this.#captureFailures.inc();
  }

  /** The exposition text. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
