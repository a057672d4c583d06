/**
 * The port through which the core reads and writes objects. Implemented for S3 (real or a local
 * S3-compatible server) by `S3ObjectStore`; tests may hand in any implementation.
 *
 * Contract: a missing object is `undefined`, never an error. Any failure of the store itself
 * (unreachable, 5xx, throttled, timed out) surfaces as `StorageUnavailableError`.
 */
export interface ObjectStore {
  /** Reads a whole object; `undefined` when it does not exist. */
  get(key: string): Promise<StoredObject | undefined>;
  /** Object attributes without the body; `undefined` when it does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Writes a whole object. */
  put(
    key: string,
    body: Uint8Array | string,
    options?: PutOptions,
  ): Promise<{ etag?: string; existed?: boolean }>;
  /** Every key under `prefix` (pagination handled); with `delimiter`, common prefixes too. */
  list(prefix: string, options?: { delimiter?: string }): Promise<Listing>;
  delete(key: string): Promise<void>;
  /**
   * Reads the bytes `start … start + into.byteLength - 1` of an object straight into `into` (no
   * intermediate buffer); `undefined` when the object does not exist. Resolves with the object's
   * whole size and ETag as the store reported them for this read. With `ifMatch`, a store that
   * holds another version fails the read with `ObjectChangedError`; a body shorter or longer than
   * `into` is a `StorageUnavailableError`. Optional: stores without ranged reads leave it out, and
   * callers fall back to `get`. Used by `readInParts` (src/runtime/parallel-read.ts).
   */
  readRange?(key: string, range: RangeRead): Promise<RangeInfo | undefined>;
}

/** One ranged read (`ObjectStore.readRange`). */
export interface RangeRead {
  /** Offset of the first byte in the object. */
  start: number;
  /** Where the bytes go; its length is the length of the range (at least 1). */
  into: Uint8Array;
  /** The ETag (without quotes) the object must still have. */
  ifMatch?: string;
  /** Cancels the read (its connection is released). */
  signal?: AbortSignal;
}

/** What a ranged read learned about the whole object. */
export interface RangeInfo {
  /** Size of the whole object (from `Content-Range`). */
  size: number;
  etag?: string;
}

/**
 * An `ObjectStore` that also reads and writes objects as streams, with bounded memory whatever
 * their size (batch scoring, captures). Kept apart from `ObjectStore` so that code needing only
 * whole objects (and its test doubles) does not have to provide streams.
 */
export interface StreamingObjectStore extends ObjectStore {
  /**
   * Opens an object for reading chunk by chunk; `undefined` when it does not exist. Read `body` to
   * its end or call `close()`, else the connection stays open. A failure while the body streams
   * (connection cut, body shorter than announced) surfaces from the iteration as
   * `StorageUnavailableError`.
   */
  getStream(key: string, options?: { range?: ByteRange }): Promise<ObjectStream | undefined>;
  /**
   * Starts a streamed write of `key` with bounded memory. Nothing is visible at `key` until
   * `complete()` resolves, and then the whole object at once; `abort()`, or any failure, leaves
   * nothing behind.
   */
  createWriter(key: string, options?: WriterOptions): ObjectWriter;
  /**
   * Writes `key` as the concatenation of existing objects, in order, without the bytes passing
   * through the caller where the store can copy them itself (S3: a multipart upload of
   * `UploadPartCopy` parts). Like a streamed write, nothing is visible until the whole object is.
   */
  compose(
    key: string,
    sources: readonly ComposeSource[],
    options?: WriterOptions,
  ): Promise<{ etag?: string; bytes: number }>;
}

/** Bytes `[start, end)` of an object. */
export interface ByteRange {
  start: number;
  end: number;
}

/** An object to concatenate (`compose`), with its size as listed. */
export interface ComposeSource {
  key: string;
  size: number;
}

export interface ObjectInfo {
  key: string;
  size: number;
  etag?: string;
  lastModified?: Date;
  metadata?: Record<string, string>;
}

export interface StoredObject extends ObjectInfo {
  body: Uint8Array;
}

export interface PutOptions {
  contentType?: string;
  metadata?: Record<string, string>;
  /**
   * Write only when no object exists at the key (S3 `If-None-Match: *`); `put` then resolves with
   * `existed: true` and writes nothing. Stores without conditional writes (s3rver) write anyway.
   */
  ifAbsent?: boolean;
}

export interface Listing {
  objects: ObjectInfo[];
  /** Common prefixes (only with a delimiter), each ending with the delimiter. */
  prefixes: string[];
}

/** With a `range`, `size` is the size of the whole object and `body` holds the range only. */
export interface ObjectStream extends ObjectInfo {
  /** The body, chunk by chunk; it can be iterated once. */
  body: AsyncIterable<Uint8Array>;
  /** Releases the connection when the body is not read to its end; harmless afterwards. */
  close(): void;
}

/** Options of a streamed write: the same as a whole-object `put`. */
export type WriterOptions = PutOptions;

/**
 * A streamed object write (`ObjectStore.createWriter`).
 *
 * @example
 * ```ts
 * const writer = store.createWriter('batch/output/iris/a.csv.out.jsonl');
 * try {
 *   for (const line of lines) await writer.write(`${line}\n`); // waits while the upload is behind
 *   await writer.complete(); // the object appears now, whole
 * } catch (error) {
 *   await writer.abort(); // nothing appears
 *   throw error;
 * }
 * ```
 */
export interface ObjectWriter {
  readonly key: string;
  /** Bytes accepted by `write` so far. */
  readonly bytesWritten: number;
  /**
   * Appends a chunk. Resolves once the chunk is accepted, which waits while the upload is behind
   * (backpressure); rejects with `StorageUnavailableError` once the upload has failed.
   */
  write(chunk: Uint8Array | string): Promise<void>;
  /** Ends the object and makes it visible; on failure nothing is visible and the error is thrown. */
  complete(): Promise<{ etag?: string; bytes: number }>;
  /** Gives up: nothing appears at `key` and uploaded parts are discarded. Never throws. */
  abort(): Promise<void>;
}

/**
 * Smallest part of a multipart upload (all parts but the last), as S3 and S3-compatible stores
 * require it.
 */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
/** Part size used unless configured; a writer holds about three parts (filling, buffered, in flight). */
export const DEFAULT_PART_BYTES = 8 * 1024 * 1024;

/**
 * An object a store's notification named (an S3 event record, an S3-compatible store's webhook):
 * what validation and batch scoring start from. Adapters turn their platform's event into these.
 */
export interface ObjectNotification {
  bucket: string;
  /** The object key as stored (already decoded from any URL encoding of the notification). */
  key: string;
  size?: number;
  etag?: string;
  versionId?: string;
  /** The platform's event name; S3's spelling (`ObjectCreated:Put`, …) is what the core checks. */
  eventName: string;
  eventTime?: string;
}
