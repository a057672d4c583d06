/**
 * A large model file handed to its model's process through the function's ephemeral storage
 * instead of the IPC channel. Sending 100 MB over IPC (structured clone, the pipe, the child's
 * reassembly) took about 290 ms more than the session creation itself on a 2-core machine, while
 * writing the same bytes to a file took about 70 ms, and here the writes run while the other
 * parts of the parallel read are still downloading (docs/benchmarks.md, "The cold path on S3's
 * latency").
 *
 * The file lives alone in a private directory (`mkdtemp`, mode 0700) and is created with `wx` and
 * mode 0600, so nothing planted there beforehand is followed and no other user reads it. It is
 * only a hand-off: the loader removes it as soon as the session is built, or the load failed.
 * Nothing here throws once the file is open: a write that fails (the storage filled up, say) marks
 * the file unusable, and the loader falls back to sending the bytes over IPC.
 */
import { type FileHandle, mkdir, open, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateDirectory } from './external-files.ts';

/** Free space left on the ephemeral storage beyond the file itself (other files, external data). */
export const EPHEMERAL_HEADROOM_BYTES = 64 * 1024 * 1024;

/**
 * A model file being written to ephemeral storage. `write` places bytes at their offset (parts in
 * any order); `seal` makes the file hold exactly the bytes given and closes it; `remove` deletes
 * the directory.
 *
 * @example
 * ```ts
 * const file = await ModelFile.create(size, { baseDir: '/tmp' });
 * await readInParts(store, key, { size, etag }, options, (part, offset) => file.write(part, offset));
 * if (await file.seal(bytes, { written: true })) await sandbox.load({ path: file.path });
 * await file.remove();
 * ```
 */
export class ModelFile {
  readonly dir: string;
  readonly path: string;
  #handle: FileHandle | undefined;
  #written = 0;
  #failed: unknown;

  private constructor(dir: string, path: string, handle: FileHandle) {
    this.dir = dir;
    this.path = path;
    this.#handle = handle;
  }

  /**
   * Opens an empty model file for `size` bytes in a private directory under `baseDir` (default the
   * OS temporary directory, /tmp on Lambda); `undefined` when the storage has less than `size` plus
   * `EPHEMERAL_HEADROOM_BYTES` free, or the file cannot be created.
   */
  static async create(size: number, options: { baseDir?: string } = {}): Promise<ModelFile | undefined> {
    const base = options.baseDir ?? tmpdir();
    let dir: string | undefined;
    try {
      await mkdir(base, { recursive: true });
      const space = await statfs(base);
      if (space.bavail * space.bsize < size + EPHEMERAL_HEADROOM_BYTES) return undefined;
      dir = await privateDirectory(base);
      const path = join(dir, 'model.onnx');
      const handle = await open(path, 'wx', 0o600);
      return new ModelFile(dir, path, handle);
    } catch {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      return undefined;
    }
  }

  /** Whether every write so far succeeded. */
  get usable(): boolean {
    return this.#failed === undefined && this.#handle !== undefined;
  }

  /** Writes `bytes` at `offset`; after a failure, does nothing (the file is no longer usable). */
  async write(bytes: Uint8Array, offset: number): Promise<void> {
    const handle = this.#handle;
    if (handle === undefined || this.#failed !== undefined) return;
    try {
      let done = 0;
      while (done < bytes.byteLength) {
        const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, offset + done);
        done += bytesWritten;
      }
      this.#written += done;
    } catch (error) {
      this.#failed = error;
    }
  }

  /**
   * Makes the file hold exactly `bytes` and closes it; `true` when it does. With `written: true`
   * the caller states that the writes so far placed exactly these bytes (a parallel read that
   * completed), which is checked against the number of bytes written; otherwise `bytes` are written
   * now from the start.
   */
  async seal(bytes: Uint8Array, options: { written: boolean }): Promise<boolean> {
    const handle = this.#handle;
    if (handle === undefined) return false;
    if (!(options.written && this.#written === bytes.byteLength)) {
      this.#written = 0;
      await this.write(bytes, 0);
      if (this.#failed === undefined) {
        try {
          await handle.truncate(bytes.byteLength);
        } catch (error) {
          this.#failed = error;
        }
      }
    }
    this.#handle = undefined;
    try {
      await handle.close();
    } catch (error) {
      this.#failed ??= error;
    }
    return this.#failed === undefined;
  }

  /** Closes the file if still open and deletes its directory (never throws). */
  async remove(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
