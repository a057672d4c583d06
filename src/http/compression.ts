import { constants, deflateSync, gunzipSync, gzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors.ts';

/** Content codings the server reads and writes (`Content-Encoding` / `Accept-Encoding`). */
export const CODINGS = ['gzip', 'deflate'] as const;
export type Coding = (typeof CODINGS)[number];

/**
 * Default ceiling on an inflated request body: 64 MiB, about ten times what Lambda lets through
 * compressed, so that a small "zip bomb" cannot take the function's memory.
 */
export const DEFAULT_MAX_INFLATED_BYTES = 64 * 1024 * 1024;

/** Responses smaller than this are sent as they are: compressing them saves nothing worth the CPU. */
export const MIN_COMPRESSIBLE_BYTES = 1024;

/**
 * Decodes a request body sent with `Content-Encoding: gzip` or `deflate` (zlib-wrapped, or raw
 * deflate as some clients send it); `identity` or no header leaves it as it is. The inflated size
 * is capped at `maxBytes` while inflating, never after.
 *
 * @throws BadRequestError for an unknown coding or a corrupt stream; PayloadTooLargeError beyond `maxBytes`.
 * @example
 * ```ts
 * decodeContent(gzipSync(json), 'gzip', 64 * 2 ** 20); // the JSON bytes
 * ```
 */
export function decodeContent(body: Uint8Array, header: string | undefined, maxBytes: number): Uint8Array {
  const codings = (header ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  let bytes = body;
  // Codings are listed in the order they were applied: undo them from the last.
  for (const coding of codings.reverse()) {
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== 'deflate') {
      throw new UnsupportedMediaTypeError(
        `Content-Encoding '${coding.slice(0, 50)}' is not supported; use gzip, deflate or none`,
      );
    }
    bytes = inflate(bytes, coding === 'deflate' ? 'deflate' : 'gzip', maxBytes);
  }
  return bytes;
}

function inflate(bytes: Uint8Array, coding: Coding, maxBytes: number): Uint8Array {
  const options = { maxOutputLength: maxBytes };
  try {
    if (coding === 'gzip') return gunzipSync(bytes, options);
    // "deflate" is the zlib format (RFC 1950); a raw deflate stream starts without its header.
    return looksLikeZlib(bytes) ? inflateSync(bytes, options) : inflateRawSync(bytes, options);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
      throw new PayloadTooLargeError(
        `request body inflates to more than ${maxBytes} bytes (Content-Encoding: ${coding}); the limit is ${maxBytes} bytes`,
      );
    }
    throw new BadRequestError(
      `request body is not valid ${coding} data (Content-Encoding: ${coding}): ${(error as Error).message}`,
    );
  }
}

function looksLikeZlib(bytes: Uint8Array): boolean {
  const cmf = bytes[0];
  const flg = bytes[1];
  if (cmf === undefined || flg === undefined) return false;
  return (cmf & 0x0f) === 8 && ((cmf << 8) | flg) % 31 === 0;
}

/**
 * The coding to answer with for an `Accept-Encoding` header: gzip when accepted, else deflate,
 * else none. `q=0` refuses a coding; `*` accepts gzip.
 *
 * @example
 * ```ts
 * chooseCoding('deflate, gzip;q=0.5'); // 'gzip'
 * chooseCoding('gzip;q=0, identity');  // undefined
 * ```
 */
export function chooseCoding(header: string | undefined): Coding | undefined {
  if (header === undefined || header === '') return undefined;
  const accepted = new Map<string, number>();
  for (const part of header.split(',')) {
    const [token = '', ...params] = part.split(';').map((piece) => piece.trim());
    let q = 1;
    for (const param of params) {
      const match = /^q=([0-9.]+)$/i.exec(param);
      if (match) q = Number(match[1]);
    }
    accepted.set(token.toLowerCase(), Number.isFinite(q) ? q : 0);
  }
  const weight = (coding: string) => accepted.get(coding) ?? accepted.get('*') ?? 0;
  const gzip = weight('gzip');
  const deflate = weight('deflate');
  if (gzip <= 0 && deflate <= 0) return undefined;
  return gzip >= deflate ? 'gzip' : 'deflate';
}

/**
 * Compresses a response body with `coding` when it is at least {@link MIN_COMPRESSIBLE_BYTES}
 * and the result is smaller; `undefined` means send it as it is.
 */
export function compressBody(body: Uint8Array, coding: Coding): Uint8Array | undefined {
  if (body.byteLength < MIN_COMPRESSIBLE_BYTES) return undefined;
  // Level 1: most of the gain for tensors of numbers at a fraction of the default level's CPU.
  const options = { level: constants.Z_BEST_SPEED };
  const compressed = coding === 'gzip' ? gzipSync(body, options) : deflateSync(body, options);
  return compressed.byteLength < body.byteLength ? compressed : undefined;
}
