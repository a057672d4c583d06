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
  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag?: string }>;
  /** Every key under `prefix` (pagination handled); with `delimiter`, common prefixes too. */
  list(prefix: string, options?: { delimiter?: string }): Promise<Listing>;
  delete(key: string): Promise<void>;
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
}

export interface Listing {
  objects: ObjectInfo[];
  /** Common prefixes (only with a delimiter), each ending with the delimiter. */
  prefixes: string[];
}
