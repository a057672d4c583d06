/**
 * Fetches the external data files a model names from its own version folder in the store: into
 * memory when they are small, else into a private directory on the function's ephemeral storage.
 * Locations are checked by `externalDataFiles` before anything here runs; the paths written are
 * checked again against the private directory (defence in depth), and files are created with
 * `wx` so that nothing already there (a link planted by someone else) is followed.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ModelUnavailableError } from '../errors.ts';
import type { ExternalDataFile } from '../onnx/external-data.ts';
import type { ObjectStore, StreamingObjectStore } from '../ports/object-store.ts';

/** A private copy of a version folder: the model file and its external data files. */
export interface MaterializedFolder {
  dir: string;
  modelPath: string;
  /** Deletes the copy (best effort, never throws). */
  remove(): void;
}

/** The external data a model needs, ready for onnxruntime. */
export type FetchedExternalData =
  | { kind: 'memory'; files: { path: string; data: Uint8Array }[]; bytes: number }
  | { kind: 'disk'; folder: MaterializedFolder; bytes: number };

/**
 * Fetches `files` (locations relative to the folder of `modelKey`). Up to `memoryLimit` bytes in
 * total are read into memory; beyond, the folder is written under `baseDir` (streamed when the
 * store can stream). Throws `ModelUnavailableError` naming a file that is missing.
 */
export async function fetchExternalData(
  store: ObjectStore,
  modelKey: string,
  modelBytes: Uint8Array,
  files: readonly ExternalDataFile[],
  options: { label: string; memoryLimit: number; baseDir?: string },
): Promise<FetchedExternalData> {
  const prefix = modelKey.slice(0, modelKey.lastIndexOf('/') + 1);
  const sizes: number[] = [];
  for (const file of files) {
    const info = await store.head(prefix + file.location);
    if (info === undefined) {
      throw new ModelUnavailableError(
        `${options.label} cannot be loaded: tensor '${file.tensors[0]}' reads external data file '${file.location}', which is not in the model's version folder`,
      );
    }
    sizes.push(info.size);
  }
  const bytes = sizes.reduce((sum, size) => sum + size, 0);
  if (bytes <= options.memoryLimit) {
    const fetched: { path: string; data: Uint8Array }[] = [];
    for (const file of files) {
      const object = await store.get(prefix + file.location);
      if (object === undefined) {
        throw new ModelUnavailableError(
          `${options.label} cannot be loaded: external data file '${file.location}' is gone`,
        );
      }
      fetched.push({ path: file.location, data: object.body });
    }
    return { kind: 'memory', files: fetched, bytes };
  }
  const folder = await materializeVersionFolder(store, prefix, modelBytes, files, options);
  return { kind: 'disk', folder, bytes };
}

async function materializeVersionFolder(
  store: ObjectStore,
  prefix: string,
  modelBytes: Uint8Array,
  files: readonly ExternalDataFile[],
  options: { label: string; baseDir?: string },
): Promise<MaterializedFolder> {
  const base = options.baseDir ?? tmpdir();
  await mkdir(base, { recursive: true });
  const dir = await privateDirectory(base);
  const folder: MaterializedFolder = {
    dir,
    modelPath: join(dir, 'model.onnx'),
    remove: () => {
      rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
  try {
    await writeFile(folder.modelPath, modelBytes, { flag: 'wx', mode: 0o600 });
    for (const file of files) {
      const target = resolve(dir, file.location);
      if (!target.startsWith(dir + sep)) {
        throw new ModelUnavailableError(
          `${options.label} cannot be loaded: '${file.location}' leaves its folder`,
        );
      }
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      const key = prefix + file.location;
      const streaming = 'getStream' in store ? (store as StreamingObjectStore) : undefined;
      if (streaming !== undefined) {
        const stream = await streaming.getStream(key);
        if (stream === undefined) throw gone(options.label, file.location);
        try {
          await pipeline(stream.body, createWriteStream(target, { flags: 'wx', mode: 0o600 }));
        } finally {
          stream.close();
        }
      } else {
        const object = await store.get(key);
        if (object === undefined) throw gone(options.label, file.location);
        await writeFile(target, object.body, { flag: 'wx', mode: 0o600 });
      }
    }
  } catch (error) {
    folder.remove();
    if (error instanceof ModelUnavailableError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      throw new ModelUnavailableError(
        `${options.label} cannot be loaded: its external data does not fit in the function's ephemeral storage (${base}); raise ephemeralStorage`,
        { cause: error },
      );
    }
    throw error;
  }
  return folder;
}

/**
 * A new directory of this process's own under `base` (`mkdtemp`: a name no one could predict,
 * mode 0700), for model files on the ephemeral storage.
 */
export function privateDirectory(base: string): Promise<string> {
  return mkdtemp(join(base, 'onnx-model-'));
}

function gone(label: string, location: string): ModelUnavailableError {
  return new ModelUnavailableError(`${label} cannot be loaded: external data file '${location}' is gone`);
}
