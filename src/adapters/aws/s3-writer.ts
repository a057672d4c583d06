import { PassThrough } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { StorageUnavailableError } from '../../errors.ts';
import {
  DEFAULT_PART_BYTES,
  MIN_PART_BYTES,
  type ObjectWriter,
  type WriterOptions,
} from '../../ports/object-store.ts';
import { storageError } from './s3-errors.ts';

export interface S3WriterOptions extends WriterOptions {
  client: S3Client;
  bucket: string;
  /** The full object key in the bucket. */
  objectKey: string;
  /** The key as the caller named it, for messages and `key`. */
  key: string;
  /** Bytes per part (default 8 MiB, at least 5 MiB). */
  partBytes?: number;
}

/**
 * A streamed S3 write over `@aws-sdk/lib-storage`'s `Upload`: data goes into a stream that the
 * upload reads part by part. Up to one part is uploaded at a time while the next one fills, so
 * memory stays near two parts whatever the object's size, and `write` waits (backpressure) while
 * the upload is behind. An object smaller than one part is sent as a single `PutObject`; a larger
 * one as a multipart upload that S3 assembles only on `CompleteMultipartUpload`. Either way the
 * object appears whole or not at all: a failure or `abort()` aborts the multipart upload.
 *
 * One part in flight rather than several is deliberate: `Upload` only notices a failed part once
 * every concurrent part reader has stopped, which with a single reader is at once, so a failed
 * upload stops the writer within one part instead of at the end of the stream.
 *
 * @example
 * ```ts
 * const writer = new S3Writer({ client, bucket: 'b', objectKey: 'out/a.jsonl', key: 'out/a.jsonl' });
 * await writer.write('{"a":1}\n');
 * const { etag } = await writer.complete();
 * ```
 */
export class S3Writer implements ObjectWriter {
  readonly key: string;
  readonly #stream: PassThrough;
  readonly #done: Promise<{ ETag?: string }>;
  #bytes = 0;
  #failure: unknown;
  #state: 'open' | 'completing' | 'completed' | 'aborted' = 'open';

  constructor(options: S3WriterOptions) {
    const partBytes = options.partBytes ?? DEFAULT_PART_BYTES;
    if (!(Number.isSafeInteger(partBytes) && partBytes >= MIN_PART_BYTES)) {
      throw new RangeError(`S3Writer: partBytes must be an integer of at least ${MIN_PART_BYTES}`);
    }
    this.key = options.key;
    // Together the two sides of the stream hold about one part, so the next part fills while the
    // current one uploads, and `write` waits beyond that.
    const half = Math.ceil(partBytes / 2);
    this.#stream = new PassThrough({ readableHighWaterMark: half, writableHighWaterMark: half });
    const upload = new Upload({
      client: options.client,
      params: {
        Bucket: options.bucket,
        Key: options.objectKey,
        Body: this.#stream,
        ContentType: options.contentType,
        Metadata: options.metadata,
      },
      partSize: partBytes,
      queueSize: 1,
      leavePartsOnError: false,
    });
    this.#done = upload.done();
    this.#done.catch((error: unknown) => {
      this.#failure ??= error;
      // Wakes a writer waiting for 'drain' that would otherwise wait forever.
      this.#stream.destroy();
    });
  }

  get bytesWritten(): number {
    return this.#bytes;
  }

  async write(chunk: Uint8Array | string): Promise<void> {
    this.#assertOpen('write');
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (bytes.byteLength === 0) return;
    this.#bytes += bytes.byteLength;
    if (this.#stream.write(bytes)) return;
    await this.#drained();
  }

  async complete(): Promise<{ etag?: string; bytes: number }> {
    this.#assertOpen('complete');
    this.#state = 'completing';
    this.#stream.end();
    try {
      const result = await this.#done;
      this.#state = 'completed';
      return { etag: result.ETag?.replace(/^"(.*)"$/, '$1'), bytes: this.#bytes };
    } catch (error) {
      this.#state = 'aborted';
      throw this.#error('CompleteMultipartUpload', error);
    }
  }

  async abort(): Promise<void> {
    if (this.#state === 'aborted' || this.#state === 'completed') return;
    this.#state = 'aborted';
    // Destroying the body makes the upload's reader fail, and `Upload` then sends
    // AbortMultipartUpload before `done()` settles: waiting for it means nothing is left behind.
    this.#failure ??= new Error('writer aborted');
    this.#stream.destroy();
    await this.#done.catch(() => {});
  }

  #assertOpen(operation: string): void {
    if (this.#state !== 'open') {
      throw new Error(`S3Writer: ${operation} on '${this.key}' after the writer was ${this.#state}`);
    }
    if (this.#failure !== undefined) throw this.#error('UploadPart', this.#failure);
  }

  #error(operation: string, error: unknown): StorageUnavailableError {
    return error instanceof StorageUnavailableError ? error : storageError(operation, this.key, error);
  }

  /** Resolves on 'drain'; rejects once the upload failed (the stream is then destroyed). */
  #drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#stream.destroyed) {
        reject(this.#error('UploadPart', this.#failure ?? new Error('upload stream closed')));
        return;
      }
      const cleanup = () => {
        this.#stream.off('drain', onDrain);
        this.#stream.off('close', onClose);
      };
      const onDrain = () => {
        cleanup();
        resolve();
      };
      const onClose = () => {
        cleanup();
        reject(this.#error('UploadPart', this.#failure ?? new Error('upload stream closed')));
      };
      this.#stream.on('drain', onDrain);
      this.#stream.on('close', onClose);
    });
  }
}
