/**
 * Triton's statistics extension, kept per model version by one serving instance (one Lambda
 * execution environment): counts and cumulative durations since the instance started. The
 * fleet-wide view is in CloudWatch (the http function's EMF metrics).
 */

/** A count and its cumulative duration in nanoseconds (Triton's `$duration_stat`). */
export interface DurationStat {
  count: number;
  ns: number;
}

/** Triton's `$inference_stats`. */
export interface InferenceStats {
  success: DurationStat;
  fail: DurationStat;
  queue: DurationStat;
  compute_input: DurationStat;
  compute_infer: DurationStat;
  compute_output: DurationStat;
  cache_hit: DurationStat;
  cache_miss: DurationStat;
}

/** Triton's `$batch_stats`: executions of one batch size. */
export interface BatchStats {
  batch_size: number;
  compute_input: DurationStat;
  compute_infer: DurationStat;
  compute_output: DurationStat;
}

/** Triton's `$model_stat`. */
export interface ModelStat {
  name: string;
  version: string;
  /** Milliseconds since the epoch of the last inference; 0 when there was none. */
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: InferenceStats;
  response_stats: Record<string, never>;
  batch_stats: BatchStats[];
  memory_usage: { type: string; id: number; byte_size: number }[];
}

/** Durations of one successful inference, in milliseconds (`performance.now()` differences). */
export interface InferenceTimings {
  /** The whole request in the service, from the resolved model to the encoded response. */
  totalMs: number;
  /** Waiting for the model to be loaded (download and session creation) before running. */
  queueMs: number;
  /** Decoding the request's tensors into the runtime's. */
  inputMs: number;
  /** `session.run`. */
  inferMs: number;
  /** Encoding the results into the response. */
  outputMs: number;
  /** Rows of the request: the first dimension of its first input (1 when it has none). */
  batchSize: number;
}

const zero = (): DurationStat => ({ count: 0, ns: 0 });
const nanoseconds = (ms: number): number => Math.max(0, Math.round(ms * 1e6));

function add(stat: DurationStat, ms: number): void {
  stat.count += 1;
  stat.ns += nanoseconds(ms);
}

function emptyStat(name: string, version: string): ModelStat {
  return {
    name,
    version,
    last_inference: 0,
    inference_count: 0,
    execution_count: 0,
    inference_stats: {
      success: zero(),
      fail: zero(),
      queue: zero(),
      compute_input: zero(),
      compute_infer: zero(),
      compute_output: zero(),
      cache_hit: zero(),
      cache_miss: zero(),
    },
    response_stats: {},
    batch_stats: [],
    memory_usage: [],
  };
}

/**
 * Per-version inference statistics of this instance, in Triton's JSON shape. There is no response
 * cache, so `cache_hit` and `cache_miss` stay at zero; there is no scheduler queue either, so
 * `queue` is the time a request waited for its model to be loaded (zero when it was cached).
 *
 * @example
 * ```ts
 * const stats = new ModelStatistics();
 * stats.recordSuccess('iris', '1', timings, Date.now());
 * stats.models({ name: 'iris' }); // [{ name: 'iris', version: '1', inference_count: 1, … }]
 * ```
 */
export class ModelStatistics {
  readonly #stats = new Map<string, ModelStat>();
  readonly #batches = new Map<string, Map<number, BatchStats>>();

  #entry(name: string, version: string): ModelStat {
    const key = `${name}\n${version}`;
    let stat = this.#stats.get(key);
    if (stat === undefined) {
      stat = emptyStat(name, version);
      this.#stats.set(key, stat);
      this.#batches.set(key, new Map());
    }
    return stat;
  }

  /** Records a successful inference of `timings.batchSize` rows at `nowMs` (epoch milliseconds). */
  recordSuccess(name: string, version: string, timings: InferenceTimings, nowMs: number): void {
    const stat = this.#entry(name, version);
    const { inference_stats: inference } = stat;
    stat.last_inference = nowMs;
    stat.inference_count += timings.batchSize;
    stat.execution_count += 1;
    add(inference.success, timings.totalMs);
    add(inference.queue, timings.queueMs);
    add(inference.compute_input, timings.inputMs);
    add(inference.compute_infer, timings.inferMs);
    add(inference.compute_output, timings.outputMs);
    const batches = this.#batches.get(`${name}\n${version}`) as Map<number, BatchStats>;
    let batch = batches.get(timings.batchSize);
    if (batch === undefined) {
      batch = {
        batch_size: timings.batchSize,
        compute_input: zero(),
        compute_infer: zero(),
        compute_output: zero(),
      };
      batches.set(timings.batchSize, batch);
    }
    add(batch.compute_input, timings.inputMs);
    add(batch.compute_infer, timings.inferMs);
    add(batch.compute_output, timings.outputMs);
  }

  /** Records a failed inference of a resolved model version that took `ms`. */
  recordFailure(name: string, version: string, ms: number): void {
    add(this.#entry(name, version).inference_stats.fail, ms);
  }

  /** Sets the estimated memory of the version's loaded session (Triton's `memory_usage`). */
  recordMemory(name: string, version: string, byteSize: number): void {
    this.#entry(name, version).memory_usage = [{ type: 'CPU', id: 0, byte_size: byteSize }];
  }

  /**
   * Statistics of every version this instance has seen (`filter` absent), or of model
   * `filter.name`: the given `versions` (reported with zero counts when never used here) plus,
   * unless `only` is set, every other version of it this instance has seen.
   */
  models(filter?: { name: string; versions: readonly string[]; only?: boolean }): ModelStat[] {
    const selected: ModelStat[] = [];
    if (filter === undefined) {
      for (const key of this.#stats.keys()) selected.push(this.#snapshot(key));
    } else {
      const versions = new Set(filter.versions);
      if (filter.only !== true) {
        for (const stat of this.#stats.values()) if (stat.name === filter.name) versions.add(stat.version);
      }
      for (const version of versions) {
        const key = `${filter.name}\n${version}`;
        selected.push(this.#stats.has(key) ? this.#snapshot(key) : emptyStat(filter.name, version));
      }
    }
    return selected.sort((a, b) => a.name.localeCompare(b.name) || Number(a.version) - Number(b.version));
  }

  #snapshot(key: string): ModelStat {
    const stat = this.#stats.get(key) as ModelStat;
    const batches = [...(this.#batches.get(key)?.values() ?? [])].sort((a, b) => a.batch_size - b.batch_size);
    return structuredClone({ ...stat, batch_stats: batches });
  }
}
