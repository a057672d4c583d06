import { setMaxListeners } from 'node:events';
import { ObjectChangedError } from '../errors.ts';
import type { ObjectStore, StoredObject } from '../ports/object-store.ts';

/**
 * How large model files are read: in ranged requests run side by side, each written straight into
 * its place in one buffer allocated for the whole object. A single GET stream from S3 runs well
 * below what the network allows (S3's guidance: one connection per 85–90 MB/s wanted) and every
 * request waits for S3's first byte, so a 100 MB file read in one stream spends most of a cold
 * start waiting; the defaults are what the benchmark measured best (docs/benchmarks.md, "Cold
 * path on S3's latency").
 */
export interface PartedReadOptions {
  /** Objects smaller than this are read with one GET (default 8 MiB). */
  thresholdBytes: number;
  /** Largest part (default 8 MiB, S3's suggested range size). */
  maxPartBytes: number;
  /** Smallest part: a smaller object is split in fewer parts (default 2 MiB). */
  minPartBytes: number;
  /** Ranged requests in flight at once (default 16). */
  concurrency: number;
}

export const DEFAULT_PARTED_READ: PartedReadOptions = {
  thresholdBytes: 8 * 1024 * 1024,
  maxPartBytes: 8 * 1024 * 1024,
  minPartBytes: 2 * 1024 * 1024,
  concurrency: 16,
};

/**
 * The part size for an object of `size` bytes: the object spread over `concurrency` parts, within
 * `minPartBytes … maxPartBytes`, so that a medium object still uses every connection and a large
 * one is read in S3-sized ranges.
 *
 * @example
 * ```ts
 * partSizeFor(100e6, DEFAULT_PARTED_READ); // 6.25 MB: 16 parts, all in flight at once
 * partSizeFor(12e6, DEFAULT_PARTED_READ);  // 2 MiB: 6 parts
 * ```
 */
export function partSizeFor(size: number, options: PartedReadOptions): number {
  const spread = Math.ceil(size / options.concurrency);
  return Math.max(options.minPartBytes, Math.min(options.maxPartBytes, spread));
}

/**
 * Reads a whole object of known `size` (and, when known, ETag) in parallel ranged reads into one
 * buffer allocated once; `undefined` when the object does not exist. Every part is read with
 * `If-Match` on the ETag (the first part's when none is given), and the size and ETag each part
 * reports are checked, so an object replaced during the read fails with `ObjectChangedError`
 * instead of mixing two versions (stores that ignore `If-Match`, such as s3rver, are caught by the
 * check). The first failure cancels the parts in flight and is thrown; nothing else is retried
 * here beyond the store client's own retries.
 *
 * `onPart`, when given, is called with each part once it passed those checks (a view of the
 * result's buffer and its offset), e.g. to write it to a file while the other parts are still on
 * their way; the read waits for it, and its failure fails the read like a part's.
 *
 * @example
 * ```ts
 * const object = await readInParts(store, 'models/big/1/model.onnx', { size: 104_857_600, etag: 'abc' });
 * ```
 */
export async function readInParts(
  store: { readRange: NonNullable<ObjectStore['readRange']> },
  key: string,
  expected: { size: number; etag?: string },
  options: PartedReadOptions = DEFAULT_PARTED_READ,
  onPart?: (part: Uint8Array, offset: number) => Promise<void>,
): Promise<StoredObject | undefined> {
  const { size } = expected;
  if (!(Number.isSafeInteger(size) && size > 0)) {
    throw new RangeError(`readInParts: size must be a positive integer, got ${size}`);
  }
  const partBytes = partSizeFor(size, options);
  const parts = Math.ceil(size / partBytes);
  // allocUnsafeSlow: every byte is overwritten by exactly one part; the result owns its buffer.
  const buffer = Buffer.allocUnsafeSlow(size);
  const body = new Uint8Array(buffer.buffer, buffer.byteOffset, size);
  const abort = new AbortController();
  // Every part in flight listens to the one signal.
  setMaxListeners(parts + 1, abort.signal);
  let etag = expected.etag;
  let missing = false;

  const readPart = async (index: number): Promise<void> => {
    const start = index * partBytes;
    const into = body.subarray(start, Math.min(size, start + partBytes));
    const info = await store.readRange(key, { start, into, ifMatch: etag, signal: abort.signal });
    if (info === undefined) {
      missing = true;
      abort.abort();
      return;
    }
    etag ??= info.etag;
    if (info.size !== size || (etag !== undefined && info.etag !== undefined && info.etag !== etag)) {
      throw new ObjectChangedError(
        `${key} changed while it was read in parts (expected ${size} bytes, ETag ${etag ?? 'unknown'}; ` +
          `part ${index + 1} of ${parts} found ${info.size} bytes, ETag ${info.etag ?? 'unknown'}); read it again`,
      );
    }
    await onPart?.(into, start);
  };

  let next = 0;
  let firstError: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < parts && !abort.signal.aborted) {
      const index = next++;
      try {
        await readPart(index);
      } catch (error) {
        // The first failure is the one reported; the parts it cancels fail after it.
        firstError ??= { error };
        abort.abort();
      }
    }
  };
  // The first part alone when no ETag is known, so that every other part is read with If-Match.
  if (etag === undefined) {
    next = 1;
    await readPart(0);
  }
  await Promise.all(Array.from({ length: Math.min(options.concurrency, parts) }, () => worker()));
  if (firstError !== undefined) throw firstError.error;
  if (missing) return undefined;
  return { key, size, etag, body };
}
