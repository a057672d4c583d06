import { BadRequestError } from '../errors.ts';
import { externalLocationProblem } from '../onnx/external-data.ts';
import { readModelInfo } from '../onnx/model-info.ts';
import type { ObjectStore, StreamingObjectStore } from '../ports/object-store.ts';
import { parseModelConfig } from './model-config.ts';
import { assertModelName } from './names.ts';

export const MODELS_PREFIX = 'models/';

export interface PublishRequest {
  name: string;
  /** Positive integer; omitted → one above the highest version present. */
  version?: number;
  model: Uint8Array;
  /** Parsed `config.json`; replaces the model's config when given (it applies to every version). */
  config?: unknown;
  /** Allow replacing an existing version (default false: versions are immutable). */
  overwrite?: boolean;
  /**
   * Files written into the version's folder before model.onnx (e.g. `reference.json`), so they
   * are in place the moment the version becomes visible. Plain names, or the relative paths of
   * a model's external data files; a `stream` body is uploaded part by part (files over 2 GB),
   * which needs a store that streams.
   */
  versionFiles?: {
    name: string;
    body: Uint8Array | string | { stream: () => AsyncIterable<Uint8Array> };
    contentType: string;
  }[];
}

export interface PublishResult {
  name: string;
  version: number;
  modelKey: string;
  configKey?: string;
  bytes: number;
}

/**
 * Publishes a model into the repository layout (`models/{name}/{version}/model.onnx`). Everything
 * is checked before anything is written: the name, the config, and that the bytes are an ONNX
 * model. The config is written before the model, so the moment a version becomes visible its
 * config is already in place.
 *
 * @example
 * ```ts
 * const { version } = await publishModel(store, { name: 'iris', model: bytes, config });
 * ```
 */
export async function publishModel(store: ObjectStore, request: PublishRequest): Promise<PublishResult> {
  assertModelName(request.name);
  if (request.version !== undefined && !(Number.isSafeInteger(request.version) && request.version > 0)) {
    throw new BadRequestError(`version: expected a positive integer, got ${request.version}`);
  }
  if (request.config !== undefined) parseModelConfig(request.config, request.name);
  for (const file of request.versionFiles ?? []) {
    const plain = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(file.name) && file.name !== 'model.onnx';
    if (!plain && externalLocationProblem(file.name) !== undefined) {
      throw new BadRequestError(`version file name '${file.name}' is not allowed`);
    }
  }
  try {
    readModelInfo(request.model);
  } catch (error) {
    throw new BadRequestError(`model file: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }

  const versions = await listPublishedVersions(store, request.name);
  const version = request.version ?? Math.max(0, ...versions) + 1;
  if (versions.includes(version) && !request.overwrite) {
    throw new BadRequestError(
      `model '${request.name}' already has version ${version}; versions are immutable (publish a new version, or overwrite explicitly)`,
    );
  }

  let configKey: string | undefined;
  if (request.config !== undefined) {
    configKey = `${MODELS_PREFIX}${request.name}/config.json`;
    await store.put(configKey, `${JSON.stringify(request.config, null, 2)}\n`, {
      contentType: 'application/json',
    });
  }
  for (const file of request.versionFiles ?? []) {
    const key = `${MODELS_PREFIX}${request.name}/${version}/${file.name}`;
    const { body } = file;
    if (typeof body === 'string' || body instanceof Uint8Array) {
      await store.put(key, body, { contentType: file.contentType });
      continue;
    }
    if (!('createWriter' in store)) throw new Error(`streaming '${file.name}' needs a store that streams`);
    const writer = (store as StreamingObjectStore).createWriter(key, { contentType: file.contentType });
    try {
      for await (const chunk of body.stream()) await writer.write(chunk);
      await writer.complete();
    } catch (error) {
      await writer.abort();
      throw error;
    }
  }
  const modelKey = `${MODELS_PREFIX}${request.name}/${version}/model.onnx`;
  await store.put(modelKey, request.model, { contentType: 'application/octet-stream' });
  return { name: request.name, version, modelKey, configKey, bytes: request.model.byteLength };
}

/** Versions of `name` that hold a model.onnx, read straight from the store (no cache). */
export async function listPublishedVersions(store: ObjectStore, name: string): Promise<number[]> {
  const { objects } = await store.list(`${MODELS_PREFIX}${name}/`);
  const versions = new Set<number>();
  for (const { key } of objects) {
    const match = /^models\/[^/]+\/([1-9][0-9]*)\/model\.onnx$/.exec(key);
    if (match?.[1]) versions.add(Number(match[1]));
  }
  return [...versions].sort((a, b) => a - b);
}
