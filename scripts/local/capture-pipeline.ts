/**
 * The local stand-in for the capture pipeline of serverless.yml (http log group → subscription
 * filter → Firehose → `captures/`): the local stack's functions run in this process, so their
 * stdout lines are teed here, the capture lines picked as the filter would pick them, buffered per
 * partition as Firehose buffers them, and written to the local bucket in the same layout.
 */
import { randomUUID } from 'node:crypto';
import { captureOfLogLine } from '../../src/capture/log-line.ts';
import { CAPTURES_PREFIX } from '../../src/capture/record.ts';
import type { ObjectStore } from '../../src/ports/object-store.ts';

/** Seconds between flushes when not configured (Firehose's interval is 60 to 900 s). */
export const DEFAULT_FLUSH_INTERVAL_MS = 5_000;
/** A partition holding this much is written at once, without waiting for the interval. */
export const DEFAULT_MAX_BUFFER_BYTES = 4 * 1024 * 1024;

export interface LocalCapturePipelineOptions {
  store: ObjectStore;
  flushIntervalMs?: number;
  maxBufferBytes?: number;
  log?: (line: string) => void;
}

/** What the pipeline did so far. */
export interface CapturePipelineStats {
  /** Lines selected by the filter. */
  selected: number;
  /** Lines written to the bucket. */
  written: number;
  /** Objects written. */
  objects: number;
  /** Failed writes (their lines stay buffered for the next flush). */
  failures: number;
}

interface Partition {
  folder: string;
  lines: string[];
  bytes: number;
}

/**
 * Buffers capture log lines per partition (`captures/{model}/{yyyy}/{MM}/{dd}/{HH}/`, from the
 * record's `model` and the first characters of its `ts`, exactly as Firehose's partition query
 * slices them) and writes each partition's lines as one object,
 * `…/{HH}/api-local-{yyyy-MM-dd-HH-mm-ss}-{uuid}.jsonl`, every `flushIntervalMs`, when a partition
 * passes `maxBufferBytes`, and on `close()`. Each object line is the log line as it was printed,
 * as Firehose writes it. A failed write keeps its lines for the next flush.
 *
 * @example
 * ```ts
 * const pipeline = new LocalCapturePipeline({ store, flushIntervalMs: 5_000 });
 * interceptStdout((line) => pipeline.push(line)); // scripts/local/console.ts
 * // … serve requests …
 * await pipeline.close(); // everything buffered is written
 * ```
 */
export class LocalCapturePipeline {
  readonly stats: CapturePipelineStats = { selected: 0, written: 0, objects: 0, failures: 0 };
  readonly #store: ObjectStore;
  readonly #maxBufferBytes: number;
  readonly #log: (line: string) => void;
  readonly #timer: NodeJS.Timeout;
  #partitions = new Map<string, Partition>();
  /** The flush in progress: flushes run one after another. */
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: LocalCapturePipelineOptions) {
    const interval = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    if (!(Number.isFinite(interval) && interval > 0))
      throw new RangeError('flushIntervalMs must be positive');
    this.#store = options.store;
    this.#maxBufferBytes = options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
    this.#log = options.log ?? (() => {});
    this.#timer = setInterval(() => void this.flush(), interval);
    // The buffer must not keep the process alive; close() writes what is left.
    this.#timer.unref();
  }

  /** One line of output (without its newline). Capture lines are buffered, the rest ignored. */
  push(line: string): void {
    if (this.#closed) return;
    const record = captureOfLogLine(line);
    if (record === undefined) return;
    const { model, ts } = record;
    const folder = `${CAPTURES_PREFIX}${model}/${ts.slice(0, 4)}/${ts.slice(5, 7)}/${ts.slice(8, 10)}/${ts.slice(11, 13)}/`;
    const text = `${line.trim()}\n`;
    let partition = this.#partitions.get(folder);
    if (partition === undefined) {
      partition = { folder, lines: [], bytes: 0 };
      this.#partitions.set(folder, partition);
    }
    partition.lines.push(text);
    partition.bytes += Buffer.byteLength(text);
    this.stats.selected += 1;
    if (partition.bytes >= this.#maxBufferBytes) void this.flush();
  }

  /** Writes every buffered partition; resolves when done (failures are logged, lines kept). */
  flush(): Promise<void> {
    this.#flushing = this.#flushing
      .then(() => this.#flushNow())
      .catch((error: unknown) => this.#log(`local capture pipeline: flush failed: ${String(error)}`));
    return this.#flushing;
  }

  /** Stops the timer and writes what is buffered; lines that still cannot be written are reported. */
  async close(): Promise<void> {
    if (this.#closed) return this.#flushing;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.flush();
    const left = [...this.#partitions.values()].reduce((sum, partition) => sum + partition.lines.length, 0);
    if (left > 0) this.#log(`local capture pipeline: ${left} capture lines could not be written`);
  }

  async #flushNow(): Promise<void> {
    if (this.#partitions.size === 0) return;
    const partitions = [...this.#partitions.values()];
    this.#partitions = new Map();
    await Promise.all(partitions.map((partition) => this.#write(partition)));
  }

  async #write(partition: Partition): Promise<void> {
    const key = `${partition.folder}api-local-${stamp(new Date())}-${randomUUID()}.jsonl`;
    try {
      await this.#store.put(key, partition.lines.join(''), { contentType: 'application/x-ndjson' });
      this.stats.objects += 1;
      this.stats.written += partition.lines.length;
    } catch (error) {
      this.stats.failures += 1;
      this.#log(
        `local capture pipeline: writing ${key} failed (${error instanceof Error ? error.message : String(error)}); retrying at the next flush`,
      );
      // Back in front of whatever arrived meanwhile, as Firehose retries a failed delivery.
      const current = this.#partitions.get(partition.folder);
      if (current === undefined) this.#partitions.set(partition.folder, partition);
      else {
        current.lines.unshift(...partition.lines);
        current.bytes += partition.bytes;
      }
    }
  }
}

/** `yyyy-MM-dd-HH-mm-ss` in UTC, as Firehose names its objects. */
function stamp(time: Date): string {
  return time.toISOString().slice(0, 19).replace(/[T:]/g, '-');
}
