/**
 * API captures written as files: where no log pipeline files capture log lines (the plain HTTP
 * server off Lambda), the records are buffered per hourly folder and written straight to the
 * bucket, in the layout batch scoring and the Lambda capture pipeline use, so the drift check
 * reads them alike. docs/captures.md.
 */
import { randomUUID } from 'node:crypto';
import type { ObjectStore } from '../ports/object-store.ts';
import { type CaptureRecord, captureFolder, serializeCaptureRecord } from './record.ts';

/** What the writer did so far. */
export interface CaptureFileStats {
  /** Records accepted by `add`. */
  accepted: number;
  /** Records written to the bucket. */
  written: number;
  /** Objects written. */
  objects: number;
  /** Failed writes (their records stay buffered for the next flush). */
  failures: number;
}

export interface CaptureFileWriterOptions {
  store: ObjectStore;
  /** How often buffered records are written (milliseconds). */
  flushIntervalMs: number;
  /** A folder holding this many bytes is written at once, without waiting for the interval. */
  maxBufferBytes?: number;
  /** Prefix of object names, e.g. the host name, so that several servers never collide. */
  writerId?: string;
  /** Called with a message when a write fails (the records are kept). */
  onError?: (message: string, error: unknown) => void;
  /** Clock for object names (tests). */
  now?: () => Date;
}

interface Folder {
  folder: string;
  lines: string[];
  bytes: number;
}

const DEFAULT_MAX_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * Buffers capture records per folder (`captures/{model}/{yyyy}/{MM}/{dd}/{HH}/`, the hour of each
 * record's `ts`) and writes each folder's records as one JSON-lines object,
 * `…/{HH}/api-{writer}-{yyyy-MM-dd-HH-mm-ss}-{uuid}.jsonl`, every `flushIntervalMs`, when a folder
 * passes `maxBufferBytes`, and on `close()`. A failed write keeps its records, in order, for the
 * next flush: nothing accepted is dropped while the process lives.
 *
 * @example
 * ```ts
 * const captures = new CaptureFileWriter({ store, flushIntervalMs: 10_000 });
 * captures.add(outcome.captures ?? []);
 * await captures.close(); // on SIGTERM: everything buffered is written
 * ```
 */
export class CaptureFileWriter {
  readonly stats: CaptureFileStats = { accepted: 0, written: 0, objects: 0, failures: 0 };
  readonly #store: ObjectStore;
  readonly #maxBufferBytes: number;
  readonly #writerId: string;
  readonly #onError: (message: string, error: unknown) => void;
  readonly #now: () => Date;
  readonly #timer: NodeJS.Timeout;
  #folders = new Map<string, Folder>();
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: CaptureFileWriterOptions) {
    if (!(Number.isFinite(options.flushIntervalMs) && options.flushIntervalMs > 0)) {
      throw new RangeError(`flushIntervalMs must be a positive number, got ${options.flushIntervalMs}`);
    }
    this.#store = options.store;
    this.#maxBufferBytes = options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
    this.#writerId = (options.writerId ?? 'server').replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64);
    this.#onError = options.onError ?? (() => {});
    this.#now = options.now ?? (() => new Date());
    this.#timer = setInterval(() => void this.flush(), options.flushIntervalMs);
    // Buffered records must not keep the process alive; close() writes them.
    this.#timer.unref();
  }

  /** Records buffered and not yet written. */
  get pending(): number {
    let count = 0;
    for (const folder of this.#folders.values()) count += folder.lines.length;
    return count;
  }

  /** Buffers records; returns how many were accepted (none once closed). */
  add(records: readonly CaptureRecord[]): number {
    if (this.#closed) return 0;
    let full = false;
    for (const record of records) {
      const time = new Date(record.ts);
      const folderKey = captureFolder(record.model, Number.isNaN(time.getTime()) ? this.#now() : time);
      const line = serializeCaptureRecord(record);
      let folder = this.#folders.get(folderKey);
      if (folder === undefined) {
        folder = { folder: folderKey, lines: [], bytes: 0 };
        this.#folders.set(folderKey, folder);
      }
      folder.lines.push(line);
      folder.bytes += Buffer.byteLength(line);
      if (folder.bytes >= this.#maxBufferBytes) full = true;
    }
    this.stats.accepted += records.length;
    if (full) void this.flush();
    return records.length;
  }

  /** Writes every buffered folder; resolves when done (failures are reported, records kept). */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flushNow());
    return this.#flushing;
  }

  /**
   * Stops the timer and writes what is buffered, trying again up to `attempts` times (with
   * `retryDelayMs` between) while the store fails. Resolves with the records still unwritten.
   */
  async close(options: { attempts?: number; retryDelayMs?: number } = {}): Promise<number> {
    this.#closed = true;
    clearInterval(this.#timer);
    const attempts = options.attempts ?? 3;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      await this.flush();
      if (this.pending === 0) return 0;
      if (attempt < attempts) await new Promise((done) => setTimeout(done, options.retryDelayMs ?? 1_000));
    }
    return this.pending;
  }

  async #flushNow(): Promise<void> {
    if (this.#folders.size === 0) return;
    const folders = [...this.#folders.values()];
    this.#folders = new Map();
    await Promise.all(folders.map((folder) => this.#write(folder)));
  }

  async #write(folder: Folder): Promise<void> {
    const key = `${folder.folder}api-${this.#writerId}-${stamp(this.#now())}-${randomUUID()}.jsonl`;
    try {
      await this.#store.put(key, folder.lines.join(''), { contentType: 'application/x-ndjson' });
      this.stats.objects += 1;
      this.stats.written += folder.lines.length;
    } catch (error) {
      this.stats.failures += 1;
      this.#onError(
        `writing ${folder.lines.length} captures to ${key} failed; kept for the next flush`,
        error,
      );
      // Back in front of whatever arrived meanwhile, in order.
      const current = this.#folders.get(folder.folder);
      if (current === undefined) this.#folders.set(folder.folder, folder);
      else {
        current.lines.unshift(...folder.lines);
        current.bytes += folder.bytes;
      }
    }
  }
}

/** `yyyy-MM-dd-HH-mm-ss` in UTC. */
function stamp(time: Date): string {
  return time.toISOString().slice(0, 19).replace(/[T:]/g, '-');
}
