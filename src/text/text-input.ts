import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { BadRequestError, ServingError } from '../errors.ts';

export type Compression = 'gzip' | 'none';

/**
 * Most bytes a compressed input may inflate to (16 GiB), and the highest ratio of inflated to
 * compressed bytes once more than `RATIO_CHECK_AFTER_BYTES` came out (200:1; CSV and JSON lines
 * compress 5–20:1, a decompression bomb 1000:1 and more). Either ends the file with a 400.
 */
export const MAX_INFLATED_BYTES = 16 * 1024 ** 3;
export const MAX_COMPRESSION_RATIO = 200;
export const RATIO_CHECK_AFTER_BYTES = 16 * 1024 * 1024;

/** What bytes that are not UTF-8 decode to (U+FFFD); a line holding it is refused. */
export const NOT_UTF8 = '\uFFFD';

/** What `decodeText` found out while reading; complete once the text has been read. */
export interface TextInputInfo {
  compression: Compression;
  /** Bytes read from the store (compressed size for gzip). */
  bytesIn: number;
  /** Bytes of text after decompression. */
  bytesOut: number;
}

/**
 * Turns a stream of object bytes into a stream of text: gzip is recognised by its magic bytes
 * (whatever the file is called) and inflated on the fly, then the bytes are decoded as UTF-8.
 * Bytes that are not UTF-8 become U+FFFD (`NOT_UTF8`), so that only the lines holding them are
 * refused by the row readers and every other row is still scored. A leading byte-order mark is
 * dropped. Memory stays at a chunk or two whatever the object's size.
 *
 * @throws BadRequestError when the bytes are not a valid gzip stream; store failures pass through
 *   as they are.
 * @example
 * ```ts
 * const info = newTextInputInfo();
 * for await (const text of decodeText(object.body, info)) parser.push(text);
 * ```
 */
export async function* decodeText(
  body: AsyncIterable<Uint8Array>,
  info: TextInputInfo = newTextInputInfo(),
): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  const iterator = body[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  info.compression = isGzip(first.value) ? 'gzip' : 'none';

  const counted = async function* (): AsyncGenerator<Uint8Array> {
    try {
      info.bytesIn += first.value.byteLength;
      yield first.value;
      while (true) {
        const next = await iterator.next();
        if (next.done) return;
        info.bytesIn += next.value.byteLength;
        yield next.value;
      }
    } finally {
      // Stopping early (a failed file) must release the body's connection.
      await iterator.return?.();
    }
  };
  const decode = (bytes: Uint8Array, stream: boolean): string => decoder.decode(bytes, { stream });

  const source = counted();
  const chunks = info.compression === 'gzip' ? gunzip(source) : source;
  for await (const bytes of chunks) {
    const text = decode(bytes, true);
    info.bytesOut += bytes.byteLength;
    if (info.compression === 'gzip') checkInflation(info);
    if (text !== '') yield text;
  }
  const rest = decode(new Uint8Array(0), false);
  if (rest !== '') yield rest;
}

/** Ends a decompression bomb (see `MAX_INFLATED_BYTES`, `MAX_COMPRESSION_RATIO`): 400, not retried. */
function checkInflation(info: TextInputInfo): void {
  if (info.bytesOut > MAX_INFLATED_BYTES) {
    throw new BadRequestError(
      `input inflates to more than ${MAX_INFLATED_BYTES / 1024 ** 3} GiB (gzip of ${info.bytesIn} bytes so far); split it into smaller files`,
    );
  }
  if (info.bytesOut > RATIO_CHECK_AFTER_BYTES && info.bytesOut > info.bytesIn * MAX_COMPRESSION_RATIO) {
    const ratio = Math.round(info.bytesOut / Math.max(1, info.bytesIn));
    throw new BadRequestError(
      `input inflates ${ratio}:1 (${info.bytesOut} bytes from ${info.bytesIn} of gzip), over the ${MAX_COMPRESSION_RATIO}:1 a data file can reach; refusing a decompression bomb`,
    );
  }
}

export function newTextInputInfo(): TextInputInfo {
  return { compression: 'none', bytesIn: 0, bytesOut: 0 };
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

async function* gunzip(source: AsyncGenerator<Uint8Array>): AsyncGenerator<Uint8Array> {
  const inflate = createGunzip();
  // Errors reach the reader through `inflate` (pipeline destroys it with the source's error).
  const piping = pipeline(Readable.from(source), inflate).catch(() => {});
  try {
    for await (const chunk of inflate) yield chunk as Uint8Array;
  } catch (error) {
    if (error instanceof ServingError) throw error;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new BadRequestError(`input is not a valid gzip stream (${(error as Error).message})`, {
        cause: error,
      });
    }
    throw error;
  } finally {
    inflate.destroy();
    await piping;
  }
}
