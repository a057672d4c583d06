import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { ChecksumMode, StoreConnection } from '../../config/store-config.ts';
import { ObjectChangedError } from '../../errors.ts';
import type {
  ByteRange,
  ComposeSource,
  Listing,
  ObjectInfo,
  ObjectStream,
  ObjectWriter,
  PutOptions,
  RangeInfo,
  RangeRead,
  StoredObject,
  StreamingObjectStore,
  WriterOptions,
} from '../../ports/object-store.ts';
import { composeObject } from './s3-compose.ts';
import { classifyS3Error, storageError } from './s3-errors.ts';
import { S3Writer } from './s3-writer.ts';

export interface S3ClientOptions {
  region: string;
  /** Endpoint override, e.g. a local S3-compatible server; unset on AWS. */
  endpoint?: string;
  /** Path-style addressing (`host/bucket/key`); required by local servers. */
  forcePathStyle?: boolean;
  /** Static credentials; unset on AWS, where the function's role provides them. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /**
   * When checksums are computed for requests and validated on responses (default `WHEN_REQUIRED`
   * for both; `WHEN_SUPPORTED` only for stores that implement the SDK's flexible checksums).
   */
  checksums?: { request?: ChecksumMode; response?: ChecksumMode };
  /** Attempts per request, first included (default 3). */
  maxAttempts?: number;
  /** Time to establish a connection (default 3 s). */
  connectionTimeoutMs?: number;
  /** Time from sending a request to receiving the response headers (default 10 s). */
  requestTimeoutMs?: number;
  /** Longest silence on a socket, including while a body streams (default 30 s). */
  socketTimeoutMs?: number;
}

export const S3_CLIENT_DEFAULTS = {
  maxAttempts: 3,
  connectionTimeoutMs: 3_000,
  requestTimeoutMs: 10_000,
  socketTimeoutMs: 30_000,
} as const;

/**
 * Creates the S3 client every part of the project uses: bounded timeouts and retries so that an
 * unreachable store fails fast with a 503 instead of holding a Lambda until its own timeout, and
 * checksums only when S3 requires them (with a local S3-compatible server, the SDK's default
 * streaming checksums store aws-chunked framing inside objects; see docs/architecture.md, "S3-compatible stores").
 *
 * @example
 * ```ts
 * const client = createS3Client({ region: 'eu-west-1' });
 * const local = createS3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:4569', forcePathStyle: true });
 * ```
 */
export function createS3Client(options: S3ClientOptions): S3Client {
  const settings = { ...S3_CLIENT_DEFAULTS, ...definedOnly(options) };
  for (const name of ['maxAttempts', 'connectionTimeoutMs', 'requestTimeoutMs', 'socketTimeoutMs'] as const) {
    const value = settings[name];
    if (!(Number.isInteger(value) && value > 0)) {
      throw new RangeError(`createS3Client: ${name} must be a positive integer, got ${value}`);
    }
  }
  return new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle ?? false,
    credentials: options.credentials,
    maxAttempts: settings.maxAttempts,
    requestChecksumCalculation: options.checksums?.request ?? 'WHEN_REQUIRED',
    responseChecksumValidation: options.checksums?.response ?? 'WHEN_REQUIRED',
    // Handler options rather than a NodeHttpHandler instance: the SDK builds its own handler from
    // them, so the project needs no direct dependency on @smithy/node-http-handler.
    requestHandler: {
      connectionTimeout: settings.connectionTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
      throwOnRequestTimeout: true,
      socketTimeout: settings.socketTimeoutMs,
    },
  });
}

/**
 * The client of a store connection read from the environment (`S3_ENDPOINT`, path style,
 * region, checksum modes), with `options` on top (timeouts, credentials).
 *
 * @example
 * ```ts
 * const client = s3ClientFor(readStoreConnection(process.env), { requestTimeoutMs: 60_000 });
 * ```
 */
export function s3ClientFor(
  connection: StoreConnection,
  options: Omit<S3ClientOptions, 'region' | 'endpoint' | 'forcePathStyle' | 'checksums'> = {},
): S3Client {
  return createS3Client({
    region: connection.region,
    endpoint: connection.s3Endpoint,
    forcePathStyle: connection.s3ForcePathStyle,
    checksums: { request: connection.s3RequestChecksum, response: connection.s3ResponseChecksum },
    ...options,
  });
}

/**
 * One store per bucket over one client (its sockets shared): the `storeFor` port of batch
 * scoring, whose input files may arrive in any bucket.
 */
export function s3StoresOf(client: S3Client, options: { partBytes?: number } = {}) {
  return (bucket: string): S3ObjectStore =>
    new S3ObjectStore({ client, bucket, partBytes: options.partBytes });
}

export interface S3ObjectStoreOptions {
  client: S3Client;
  bucket: string;
  /** Prepended verbatim to every key (include the trailing `/`); stripped from listed keys. */
  prefix?: string;
  /** Part size of streamed writes (`createWriter`), at least 5 MiB (default 8 MiB). */
  partBytes?: number;
}

/**
 * The `ObjectStore` port over S3 (or any S3-compatible server). A missing object is `undefined`;
 * every failure of the store, including a wrong bucket or missing permissions, is a
 * `StorageUnavailableError` whose message names the operation and key (never the bucket or
 * credentials) and whose `cause` is the SDK error. ETags are returned without their quotes.
 *
 * @example
 * ```ts
 * const store = new S3ObjectStore({ client: createS3Client({ region: 'eu-west-1' }), bucket: 'models' });
 * const object = await store.get('models/iris/1/model.onnx'); // undefined when absent
 * ```
 */
export class S3ObjectStore implements StreamingObjectStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #partBytes: number | undefined;

  constructor(options: S3ObjectStoreOptions) {
    if (options.bucket.length === 0) throw new TypeError('S3ObjectStore: bucket must not be empty');
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#prefix = options.prefix ?? '';
    this.#partBytes = options.partBytes;
  }

  async get(key: string): Promise<StoredObject | undefined> {
    return this.#callOrMissing('GetObject', key, async () => {
      const output = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }),
      );
      const body = await readBody(output.Body, output.ContentLength);
      return {
        key,
        size: body.byteLength,
        etag: unquote(output.ETag),
        lastModified: output.LastModified,
        metadata: output.Metadata,
        body,
      };
    });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    return this.#callOrMissing('HeadObject', key, async () => {
      const output = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }),
      );
      return {
        key,
        size: output.ContentLength ?? 0,
        etag: unquote(output.ETag),
        lastModified: output.LastModified,
        metadata: output.Metadata,
      };
    });
  }

  async put(
    key: string,
    body: Uint8Array | string,
    options: PutOptions = {},
  ): Promise<{ etag?: string; existed?: boolean }> {
    return this.#call('PutObject', key, async () => {
      try {
        const output = await this.#client.send(
          new PutObjectCommand({
            Bucket: this.#bucket,
            Key: this.#key(key),
            Body: body,
            ContentType: options.contentType,
            Metadata: options.metadata,
            IfNoneMatch: options.ifAbsent ? '*' : undefined,
          }),
        );
        return { etag: unquote(output.ETag) };
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (options.ifAbsent && (status === 412 || (error as Error).name === 'PreconditionFailed')) {
          return { existed: true };
        }
        throw error;
      }
    });
  }

  async list(prefix: string, options: { delimiter?: string } = {}): Promise<Listing> {
    return this.#call('ListObjectsV2', prefix, async () => {
      const objects: ObjectInfo[] = [];
      const prefixes: string[] = [];
      let token: string | undefined;
      do {
        const page = await this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.#bucket,
            Prefix: this.#key(prefix),
            Delimiter: options.delimiter,
            ContinuationToken: token,
          }),
        );
        for (const item of page.Contents ?? []) {
          if (item.Key === undefined) continue;
          objects.push({
            key: this.#unkey(item.Key),
            size: item.Size ?? 0,
            etag: unquote(item.ETag),
            lastModified: item.LastModified,
          });
        }
        for (const common of page.CommonPrefixes ?? []) {
          if (common.Prefix !== undefined) prefixes.push(this.#unkey(common.Prefix));
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return { objects, prefixes };
    });
  }

  async getStream(key: string, options: { range?: ByteRange } = {}): Promise<ObjectStream | undefined> {
    const { range } = options;
    if (range !== undefined && range.end <= range.start) {
      // An empty range: S3 has no way to ask for none of an object's bytes.
      const info = await this.head(key);
      return info === undefined ? undefined : { ...info, body: (async function* () {})(), close: () => {} };
    }
    return this.#callOrMissing('GetObject', key, async () => {
      const output = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: this.#key(key),
          ...(range === undefined ? {} : { Range: `bytes=${range.start}-${range.end - 1}` }),
        }),
      );
      const body: unknown = output.Body;
      const close = () => {
        if (hasDestroy(body)) body.destroy();
      };
      return {
        key,
        size:
          range === undefined ? (output.ContentLength ?? 0) : (totalOfContentRange(output.ContentRange) ?? 0),
        etag: unquote(output.ETag),
        lastModified: output.LastModified,
        metadata: output.Metadata,
        body: streamBody(body, key, output.ContentLength),
        close,
      };
    });
  }

  async readRange(key: string, range: RangeRead): Promise<RangeInfo | undefined> {
    const { start, into, ifMatch, signal } = range;
    if (!(Number.isSafeInteger(start) && start >= 0 && into.byteLength > 0)) {
      throw new RangeError(`readRange: start ${start} and a non-empty target are required`);
    }
    try {
      return await this.#callOrMissing('GetObject', key, async () => {
        const output = await this.#client.send(
          new GetObjectCommand({
            Bucket: this.#bucket,
            Key: this.#key(key),
            Range: `bytes=${start}-${start + into.byteLength - 1}`,
            IfMatch: ifMatch === undefined ? undefined : `"${ifMatch}"`,
          }),
          { abortSignal: signal },
        );
        await readBodyInto(output.Body, into, output.ContentLength);
        const size = totalOfContentRange(output.ContentRange);
        if (size === undefined) {
          throw new BodyLengthError(
            `ranged read of ${key} has no usable Content-Range (got ${output.ContentRange ?? 'none'})`,
          );
        }
        return { size, etag: unquote(output.ETag) };
      });
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause ?? error;
      if (describeStatus(cause) === 412) {
        throw new ObjectChangedError(
          `${key} changed while it was read in parts (ETag ${ifMatch} no longer matches); read it again`,
          { cause },
        );
      }
      throw error;
    }
  }

  createWriter(key: string, options: WriterOptions = {}): ObjectWriter {
    return new S3Writer({
      client: this.#client,
      bucket: this.#bucket,
      objectKey: this.#key(key),
      key,
      partBytes: this.#partBytes,
      contentType: options.contentType,
      metadata: options.metadata,
    });
  }

  async compose(
    key: string,
    sources: readonly ComposeSource[],
    options: WriterOptions = {},
  ): Promise<{ etag?: string; bytes: number }> {
    return composeObject({
      client: this.#client,
      bucket: this.#bucket,
      objectKey: this.#key(key),
      sources: sources.map((source) => ({ key: this.#key(source.key), size: source.size })),
      options,
    });
  }

  async delete(key: string): Promise<void> {
    await this.#callOrMissing('DeleteObject', key, async () => {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }));
    });
  }

  /** Runs one store operation; any failure becomes a `StorageUnavailableError`. */
  async #call<T>(operation: string, key: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw storageError(operation, key, error);
    }
  }

  /** Like `#call`, but a missing object is `undefined` (never a missing bucket: that is a failure). */
  async #callOrMissing<T>(operation: string, key: string, action: () => Promise<T>): Promise<T | undefined> {
    try {
      return await action();
    } catch (error) {
      if (classifyS3Error(error) === 'not-found') return undefined;
      throw storageError(operation, key, error);
    }
  }

  #key(key: string): string {
    return this.#prefix + key;
  }

  #unkey(key: string): string {
    return key.startsWith(this.#prefix) ? key.slice(this.#prefix.length) : key;
  }
}

/** The whole object's size from a `Content-Range: bytes a-b/total` header, if it has one. */
function totalOfContentRange(header: string | undefined): number | undefined {
  const total = Number(/\/(\d+)$/.exec(header ?? '')?.[1]);
  return Number.isSafeInteger(total) ? total : undefined;
}

/**
 * Reads a response body into one `Uint8Array`. With a Content-Length the buffer is allocated once
 * and filled in place; a body that ends early or runs long is a store failure, never a silently
 * truncated object.
 *
 * @example
 * ```ts
 * const output = await client.send(new GetObjectCommand({ Bucket, Key }));
 * const bytes = await readBody(output.Body, output.ContentLength);
 * ```
 */
export async function readBody(body: unknown, contentLength: number | undefined): Promise<Uint8Array> {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (!isAsyncIterable(body)) {
    if (hasByteArray(body)) return body.transformToByteArray();
    throw new TypeError('unsupported response body type');
  }
  if (contentLength !== undefined && Number.isSafeInteger(contentLength) && contentLength >= 0) {
    // allocUnsafeSlow: every byte is overwritten below, and the result owns its whole ArrayBuffer.
    const buffer = Buffer.allocUnsafeSlow(contentLength);
    let offset = 0;
    for await (const chunk of body) {
      const bytes = toBytes(chunk);
      if (offset + bytes.byteLength > contentLength) {
        throw new BodyLengthError(`body is longer than its Content-Length of ${contentLength} bytes`);
      }
      buffer.set(bytes, offset);
      offset += bytes.byteLength;
    }
    if (offset !== contentLength) {
      throw new BodyLengthError(`body ended after ${offset} of ${contentLength} bytes`);
    }
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(toBytes(chunk));
  const joined = Buffer.concat(chunks);
  return new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength);
}

/** Reads a ranged response body into `into`, which it must fill exactly. */
async function readBodyInto(
  body: unknown,
  into: Uint8Array,
  contentLength: number | undefined,
): Promise<void> {
  if (contentLength !== undefined && contentLength !== into.byteLength) {
    throw new BodyLengthError(`ranged body is ${contentLength} bytes, ${into.byteLength} were asked for`);
  }
  if (!isAsyncIterable(body)) throw new TypeError('unsupported response body type');
  let offset = 0;
  for await (const chunk of body) {
    const bytes = toBytes(chunk);
    if (offset + bytes.byteLength > into.byteLength) {
      throw new BodyLengthError(`ranged body is longer than the ${into.byteLength} bytes asked for`);
    }
    into.set(bytes, offset);
    offset += bytes.byteLength;
  }
  if (offset !== into.byteLength) {
    throw new BodyLengthError(`ranged body ended after ${offset} of ${into.byteLength} bytes`);
  }
}

function describeStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/**
 * The chunks of a streamed response body. A failure while it streams, or a body that ends before
 * its Content-Length, is a `StorageUnavailableError` naming the key; stopping early (`break`)
 * releases the connection.
 */
async function* streamBody(
  body: unknown,
  key: string,
  contentLength: number | undefined,
): AsyncGenerator<Uint8Array> {
  if (body === undefined || body === null) return;
  if (!isAsyncIterable(body))
    throw storageError('GetObject', key, new TypeError('unsupported response body type'));
  let received = 0;
  const iterator = body[Symbol.asyncIterator]();
  try {
    while (true) {
      let next: IteratorResult<unknown>;
      try {
        next = await iterator.next();
      } catch (error) {
        throw storageError('GetObject', key, error);
      }
      if (next.done) break;
      const bytes = toBytes(next.value);
      received += bytes.byteLength;
      yield bytes;
    }
  } finally {
    // Runs on `break` and on errors too: ends the body's own iteration, which destroys it.
    await iterator.return?.();
  }
  if (contentLength !== undefined && received !== contentLength) {
    throw storageError(
      'GetObject',
      key,
      new BodyLengthError(`body ended after ${received} of ${contentLength} bytes`),
    );
  }
}

function hasDestroy(value: unknown): value is { destroy(): void } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { destroy?: unknown }).destroy === 'function'
  );
}

/** A body whose length does not match its Content-Length (connection cut, proxy misbehaving). */
export class BodyLengthError extends Error {
  override readonly name = 'BodyLengthError';
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  throw new TypeError('unsupported response body chunk');
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function hasByteArray(value: unknown): value is { transformToByteArray(): Promise<Uint8Array> } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { transformToByteArray?: unknown }).transformToByteArray === 'function'
  );
}

function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^"(.*)"$/, '$1');
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
