/**
 * The size of a zip archive of some files, computed without writing it: each entry is deflated as
 * osls packs it (yazl: raw deflate at zlib's default level), plus the zip format's fixed headers.
 * Within a few hundred bytes of the archive `serverless package` writes.
 */
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { deflateRaw } from 'node:zlib';

const deflate = promisify(deflateRaw);

/** Local file header (30) + data descriptor (16), and central directory entry (46). */
const LOCAL_HEADER_BYTES = 30 + 16;
const CENTRAL_HEADER_BYTES = 46;
const END_OF_CENTRAL_DIRECTORY_BYTES = 22;

export interface ZipEntry {
  /** The name inside the archive. */
  name: string;
  /** The file on disk. */
  file: string;
}

/**
 * Bytes of a zip holding `entries`, each deflated (or stored, when deflating does not help).
 *
 * @example
 * ```ts
 * await zipSize([{ name: 'nodejs/node_modules/x/index.js', file: '/tmp/x/index.js' }]);
 * ```
 */
export async function zipSize(entries: readonly ZipEntry[], concurrency = 4): Promise<number> {
  let total = END_OF_CENTRAL_DIRECTORY_BYTES;
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const entry = entries[next++] as ZipEntry;
      const data = await readFile(entry.file);
      const compressed = (await deflate(data)).length;
      const name = Buffer.byteLength(entry.name);
      total += LOCAL_HEADER_BYTES + CENTRAL_HEADER_BYTES + 2 * name + Math.min(compressed, data.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return total;
}
