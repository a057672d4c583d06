/**
 * Reads a stored object line by line with bounded memory, gunzipping it when it is gzip (told by
 * its first two bytes, whatever its name says), as captures and outcomes are stored.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { StreamingObjectStore } from '../ports/object-store.ts';
import { LineSplitter } from './lines.ts';

/** Longest line kept (a capture record with 64-element tensors is a few KiB). */
export const MAX_RECORD_LINE_CHARS = 1024 * 1024;

/** What reading one object gave, besides its lines. */
export interface ObjectReadStats {
  /** Bytes read from the store (compressed size for gzip). */
  bytes: number;
  /** Lines dropped for being longer than `MAX_RECORD_LINE_CHARS`. */
  tooLong: number;
}

/**
 * Streams the non-empty lines of `key`; `stats` is filled in as it goes. An object that vanished
 * since it was listed yields nothing.
 *
 * @example
 * ```ts
 * const stats = { bytes: 0, tooLong: 0 };
 * for await (const line of objectLines(store, 'captures/iris/2026/03/04/05/api-1.jsonl.gz', stats)) {
 *   JSON.parse(line);
 * }
 * ```
 */
export async function* objectLines(
  store: StreamingObjectStore,
  key: string,
  stats: ObjectReadStats,
): AsyncGenerator<string> {
  const object = await store.getStream(key);
  if (object === undefined) return;
  const splitter = new LineSplitter({ maxLineChars: MAX_RECORD_LINE_CHARS });
  const decoder = new TextDecoder('utf-8');
  const counted = countBytes(object.body, stats);
  try {
    const { first, rest } = await peek(counted);
    const source = first === undefined ? rest : prepend(first, rest);
    const chunks = first !== undefined && isGzip(first) ? gunzip(source) : source;
    for await (const chunk of chunks) {
      for (const line of splitter.push(decoder.decode(chunk, { stream: true }))) {
        if (line.tooLong) stats.tooLong++;
        else if (line.text.trim() !== '') yield line.text;
      }
    }
    for (const line of splitter.push(decoder.decode())) {
      if (line.tooLong) stats.tooLong++;
      else if (line.text.trim() !== '') yield line.text;
    }
    for (const line of splitter.end()) {
      if (line.tooLong) stats.tooLong++;
      else if (line.text.trim() !== '') yield line.text;
    }
  } finally {
    object.close();
  }
}

function isGzip(chunk: Uint8Array): boolean {
  return chunk.length >= 2 && chunk[0] === 0x1f && chunk[1] === 0x8b;
}

async function* countBytes(body: AsyncIterable<Uint8Array>, stats: ObjectReadStats) {
  for await (const chunk of body) {
    stats.bytes += chunk.byteLength;
    yield chunk;
  }
}

async function peek(
  source: AsyncIterable<Uint8Array>,
): Promise<{ first: Uint8Array | undefined; rest: AsyncIterator<Uint8Array> & AsyncIterable<Uint8Array> }> {
  const iterator = source[Symbol.asyncIterator]();
  let next = await iterator.next();
  // A zero-length first chunk says nothing about the format.
  while (!next.done && next.value.byteLength === 0) next = await iterator.next();
  const rest = {
    next: () => iterator.next(),
    [Symbol.asyncIterator]: () => rest,
  } as AsyncIterator<Uint8Array> & AsyncIterable<Uint8Array>;
  return { first: next.done ? undefined : next.value, rest };
}

async function* prepend(first: Uint8Array, rest: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield first;
  yield* rest;
}

async function* gunzip(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const input = Readable.from(source, { objectMode: false });
  const output = createGunzip({ chunkSize: 256 * 1024 });
  input.on('error', (error) => output.destroy(error));
  input.pipe(output);
  try {
    for await (const chunk of output) yield chunk as Uint8Array;
  } finally {
    input.destroy();
    output.destroy();
  }
}
