/**
 * Streams the capture records of one model over a window: lists the hourly capture folders the
 * window touches, reads their objects a few at a time (gzip or not, batch records or capture log
 * lines), and hands every valid record of the window to a sink. Memory is bounded by the objects
 * being read, whatever the window holds.
 */
import { captureOfStoredLine } from '../../capture/log-line.ts';
import { CAPTURE_SCHEMA_VERSION, type CaptureRecord } from '../../capture/record.ts';
import type { StreamingObjectStore } from '../../ports/object-store.ts';
import { type ObjectReadStats, objectLines } from '../../text/object-lines.ts';
import { mapConcurrent } from './concurrency.ts';
import { captureHourPrefixes, inWindow, type TimeWindow } from './window.ts';

const VERSION = /^[1-9][0-9]{0,15}$/;

/**
 * The capture record of a stored line (a bare record or an API log line) when it is one of
 * `model`'s, of a known schema, with a version and a parseable time; `undefined` otherwise.
 */
export function validCapture(line: string, model: string): { record: CaptureRecord; ts: number } | undefined {
  const record = captureOfStoredLine(line);
  if (
    record === undefined ||
    record.schema !== CAPTURE_SCHEMA_VERSION ||
    record.model !== model ||
    typeof record.version !== 'string' ||
    !VERSION.test(record.version)
  ) {
    return undefined;
  }
  const ts = typeof record.ts === 'string' ? Date.parse(record.ts) : Number.NaN;
  return Number.isFinite(ts) ? { record, ts } : undefined;
}

export interface CaptureScanStats {
  objects: number;
  bytes: number;
  /** Records of the model inside the window, handed to the sink. */
  records: number;
  /** Lines that are not a capture record of this model with a valid ts and version. */
  invalidLines: number;
  /** Valid records whose ts is outside the window (neighbouring hours are read too). */
  outsideWindow: number;
  /** Objects whose content could not be decoded (broken gzip), with the reason; their other lines count. */
  unreadable: { key: string; reason: string }[];
}

/** Receives each record with its parsed time; may return a promise (the first record of a version). */
export type CaptureSink = (record: CaptureRecord, tsMs: number) => void | Promise<void>;

/**
 * Reads the captures of `model` in `window` and calls `sink` for each record in it.
 *
 * @example
 * ```ts
 * const stats = await scanCaptures(store, 'iris', window, (record, ts) => versions.get(record.version)?.add(record, ts));
 * stats.records; // records of the window
 * ```
 */
export async function scanCaptures(
  store: StreamingObjectStore,
  model: string,
  window: TimeWindow,
  sink: CaptureSink,
  options: { concurrency?: number } = {},
): Promise<CaptureScanStats> {
  const concurrency = options.concurrency ?? 8;
  const listings = await mapConcurrent(captureHourPrefixes(model, window), concurrency, (prefix) =>
    store.list(prefix),
  );
  const keys = listings.flatMap((listing) => listing.objects.map((object) => object.key));
  const stats: CaptureScanStats = {
    objects: keys.length,
    bytes: 0,
    records: 0,
    invalidLines: 0,
    outsideWindow: 0,
    unreadable: [],
  };
  await mapConcurrent(keys, concurrency, async (key) => {
    const read: ObjectReadStats = { bytes: 0, tooLong: 0 };
    try {
      for await (const line of objectLines(store, key, read)) {
        const capture = validCapture(line, model);
        if (capture === undefined) {
          stats.invalidLines++;
          continue;
        }
        const { record, ts } = capture;
        if (!inWindow(window, ts)) {
          stats.outsideWindow++;
          continue;
        }
        stats.records++;
        const pending = sink(record, ts);
        if (pending !== undefined) await pending;
      }
    } catch (error) {
      // A corrupt object is reported and skipped; the store's own failures end the check.
      if (!isDecodeError(error)) throw error;
      stats.unreadable.push({ key, reason: (error as Error).message });
    } finally {
      stats.bytes += read.bytes;
      stats.invalidLines += read.tooLong;
    }
  });
  return stats;
}

/** zlib's errors (a truncated or corrupt gzip stream) carry a `Z_…` code. */
function isDecodeError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}
