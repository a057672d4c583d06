import { InferenceSession } from 'onnxruntime-node';
import { ModelUnavailableError, NotFoundError, ObjectChangedError, ServingError } from '../errors.ts';
import { ExternalDataError, externalDataFiles } from '../onnx/external-data.ts';
import { rewriteZipMapOutputs, type ZipMapRewrite } from '../onnx/zipmap.ts';
import type { ObjectStore, StoredObject } from '../ports/object-store.ts';
import type { ModelSignature } from '../types.ts';
import { fetchExternalData, type MaterializedFolder } from './external-files.ts';
import { LruCache } from './lru-cache.ts';
import { ModelFile } from './model-file.ts';
import { DEFAULT_PARTED_READ, type PartedReadOptions, readInParts } from './parallel-read.ts';
import {
  DEFAULT_SANDBOX_LIMITS,
  ModelSandbox,
  type ModelSession,
  type SandboxLimits,
  type SandboxSource,
} from './sandbox.ts';
import { type GuardedSession, guardSession } from './session-guard.ts';
import {
  chooseSessionTuning,
  detectCpuEnvironment,
  type SessionConfig,
  type SessionTuning,
  sessionOptionsOf,
  withOverrides,
} from './session-options.ts';
import { deriveSignature, markUndeclaredRanks } from './signature.ts';

/**
 * Estimated memory of a session per byte of model file. A CPU session holds the weights once more
 * (initializers, pre-packed kernels) next to allocator arenas; for models whose weights are
 * stored in the file, twice the file size is a fair budget. Models that build weights at load
 * time (constant folding of generators) can take far more, which no file-size rule can see.
 */
export const SESSION_MEMORY_FACTOR = 2;
/** Fixed cost of any session (kernel registry, allocators): about 120 KiB measured, rounded up. */
export const SESSION_OVERHEAD_BYTES = 256 * 1024;
/** Resident memory of a model's own process (Node.js and onnxruntime, idle): about 80 MB measured. */
export const SANDBOX_PROCESS_BYTES = 80 * 1024 * 1024;
/**
 * External data up to this many bytes (all files of a model together) is handed to onnxruntime
 * in memory; more is written to the ephemeral directory and loaded from there.
 */
export const DEFAULT_EXTERNAL_DATA_MEMORY_BYTES = 256 * 1024 * 1024;
/**
 * Model files of at least this many bytes reach their model's process through a file on the
 * ephemeral storage rather than over IPC (`ModelFile`). Measured at 100 MB (S3 latency on, 2-core
 * machine): download and load took 0.89–0.98 s by file against 1.01–1.09 s over IPC, the step
 * after the download 0.33 s against 0.52 s. The same as the parallel read's threshold, so that
 * such files are written part by part while they download.
 */
export const DEFAULT_MODEL_FILE_BYTES = 8 * 1024 * 1024;
/** Share of the function's memory given to loaded sessions; the rest is for Node and requests. */
export const CACHE_MEMORY_FRACTION = 0.5;
/** Budget when the function's memory is unknown (outside Lambda). */
export const FALLBACK_CACHE_BYTES = 1024 ** 3;

/**
 * Session options used unless overridden: all graph optimizations, and onnxruntime's own log
 * limited to fatal errors (4). A failed run is an exception carrying onnxruntime's message, which
 * the caller maps (a client's mistake → 4xx, logged as `request rejected`; anything else → 5xx,
 * logged with the message); at level 3 onnxruntime would also print `[E:onnxruntime…]` lines on
 * stderr for every such run, outside the structured log.
 */
export const DEFAULT_SESSION_OPTIONS: InferenceSession.SessionOptions = {
  logSeverityLevel: 4,
  graphOptimizationLevel: 'all',
};

/**
 * An 85-byte model (`y = Identity(x)`, float32 `[1]`, opset 17, built with `buildOnnxModel`). The
 * first session of a process pays onnxruntime's one-time set-up (environment, CPU kernel registry:
 * about 25 ms measured); creating this one as soon as the first model file is requested lets that
 * cost overlap the store's time to first byte instead of following the download.
 */
export const WARM_UP_MODEL_BASE64 =
  'CAgSEWxhbWJkYS1vbm54LXNlcnZlOjoKEAoBeBIBeSIISWRlbnRpdHkSBG1haW5aDwoBeBIKCggIARIECgIIAWIPCgF5EgoKCAgBEgQKAggBQgIQEQ==';

/**
 * The session cache budget for a function with `memoryMb` of memory (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`):
 * half of it, or 1 GiB when unknown.
 *
 * @example
 * ```ts
 * defaultCacheBytes(2048);      // 1 GiB
 * defaultCacheBytes(undefined); // 1 GiB
 * ```
 */
export function defaultCacheBytes(memoryMb?: number): number {
  if (memoryMb === undefined || !(Number.isFinite(memoryMb) && memoryMb > 0)) return FALLBACK_CACHE_BYTES;
  return Math.floor(memoryMb * 1024 * 1024 * CACHE_MEMORY_FRACTION);
}

/**
 * Cache cost of a session created from a model file of `modelBytes` bytes.
 *
 * @example
 * ```ts
 * estimateSessionBytes(10 * 2 ** 20); // 20 MiB + 256 KiB
 * ```
 */
export function estimateSessionBytes(modelBytes: number): number {
  return modelBytes * SESSION_MEMORY_FACTOR + SESSION_OVERHEAD_BYTES;
}

/** Which model file to load: what `ModelRepository.resolve` returns. */
export interface ModelRef {
  name: string;
  version: number;
  /** Object key of the model file. */
  key: string;
  /** ETag seen in the listing; a different one on a later call means the file was replaced. */
  etag?: string;
  /** Size seen in the listing: a file of at least `PartedReadOptions.thresholdBytes` is read in parallel parts. */
  size?: number;
  /** The model's config.json; its `session` field overrides the loader's session tuning. */
  config?: { session?: SessionConfig };
}

export interface LoadedModel {
  name: string;
  version: number;
  /** Owned by the loader's cache: do not release it. */
  session: ModelSession;
  signature: ModelSignature;
  /** Why the model cannot be served (non-tensor values, types without an OIP datatype). */
  unsupported: string[];
  /**
   * ZipMap outputs served as FP32 `[N, C]` tensors (see `rewriteZipMapOutputs`): the session runs
   * a rewritten copy of the model; the stored file is unchanged.
   */
  zipmaps: ZipMapRewrite[];
  /** Size of the model file. */
  sizeBytes: number;
  etag?: string;
}

export interface LoadResult {
  model: LoadedModel;
  cacheHit: boolean;
  /** Download plus session creation, when this call waited for a load. */
  loadMs?: number;
  downloadMs?: number;
  /** Bytes downloaded, when this call waited for a load. */
  bytes?: number;
}

export type PreloadResult =
  | { ref: ModelRef; ok: true; cacheHit: boolean; loadMs?: number }
  | { ref: ModelRef; ok: false; error: unknown };

export interface LoaderStats {
  entries: number;
  /** Estimated memory of the cached sessions. */
  bytes: number;
  hits: number;
  misses: number;
  /** Loads started (concurrent callers of one model share one). */
  loads: number;
  failures: number;
  evictions: number;
}

/** Creates a session in this process (tests, the `isolation: 'none'` mode). */
export type SessionFactory = (
  bytes: Uint8Array,
  options: InferenceSession.SessionOptions,
) => Promise<ModelSession>;

export interface ModelLoaderOptions {
  store: ObjectStore;
  /** Budget for estimated session memory (default `defaultCacheBytes()`). */
  maxCacheBytes?: number;
  /**
   * Threads, spinning and execution mode for the function's CPU share (`chooseSessionTuning`);
   * a model's config.json `session` field overrides it. Default: the choice for this machine
   * outside Lambda (one thread per visible CPU).
   */
  sessionTuning?: SessionTuning;
  /** Merged over `DEFAULT_SESSION_OPTIONS` and the tuning's options; wins over both. */
  sessionOptions?: InferenceSession.SessionOptions;
  /** Sessions in this process instead of a sandboxed process per model (tests). */
  createSession?: SessionFactory;
  /**
   * `process` (default): each model in its own process, bounded by `limits` (see `sandbox.ts`).
   * `none`: sessions in this process, unbounded: only for trusted models.
   */
  isolation?: 'process' | 'none';
  /** Limits of every inference (deadline, output bytes, memory); merged over the defaults. */
  limits?: Partial<SandboxLimits>;
  /** External data up to this many bytes stays in memory (default 256 MiB). */
  externalDataMemoryBytes?: number;
  /**
   * Where larger external data and the hand-off files of large models are written (default the OS
   * temporary directory; /tmp on Lambda).
   */
  ephemeralDir?: string;
  /**
   * Model files of at least this many bytes are handed to their model's process as a file in
   * `ephemeralDir` (removed once the session is built) instead of over IPC, when the storage has
   * room; `false`: always over IPC. Default `DEFAULT_MODEL_FILE_BYTES`. Sandboxed models only.
   */
  modelFileBytes?: number | false;
  estimateBytes?: (modelBytes: number) => number;
  /**
   * Model files of a known size above the threshold are read in parallel ranged requests when the
   * store supports them (`readInParts`); `false` reads every file with one GET.
   */
  partedRead?: Partial<PartedReadOptions> | false;
  /** Milliseconds clock for the reported timings. */
  now?: () => number;
  /**
   * Runs once, next to the first download (see `WARM_UP_MODEL_BASE64`). Default: with the default
   * `createSession`, create and release a session of that model; with a custom one, nothing.
   */
  warmUp?: () => Promise<void>;
}

interface CacheEntry {
  model: LoadedModel;
  guard: GuardedSession;
  /** The ETag of the ref this entry was loaded for. */
  refEtag?: string;
  /** The config.json session overrides it was created with (`overridesKey`). */
  overrides: string;
  /** A private copy of the version folder on disk, removed with the entry. */
  folder?: MaterializedFolder;
  /** The model's process, when sandboxed. */
  sandbox?: ModelSandbox;
}

/**
 * Loads models lazily from the object store into onnxruntime sessions and keeps them in an LRU
 * bounded by estimated memory. Concurrent first calls for one model share a single download and
 * session; a failed load is not remembered, so the next call tries again.
 *
 * @example
 * ```ts
 * const loader = new ModelLoader({ store, maxCacheBytes: defaultCacheBytes(memoryMb) });
 * const { model, cacheHit } = await loader.get(await repository.resolve('iris', { kind: 'default' }));
 * const outputs = await model.session.run(feeds);
 * ```
 */
export class ModelLoader {
  readonly #store: ObjectStore;
  readonly #sessionOptions: InferenceSession.SessionOptions;
  readonly #sessionTuning: SessionTuning;
  readonly #createSession: SessionFactory | undefined;
  readonly #limits: SandboxLimits;
  readonly #externalDataMemoryBytes: number;
  readonly #ephemeralDir: string | undefined;
  readonly #modelFileBytes: number | undefined;
  readonly #estimateBytes: (modelBytes: number) => number;
  readonly #now: () => number;
  readonly #partedRead: PartedReadOptions | undefined;
  #warmUp: (() => Promise<void>) | undefined;
  readonly #cache: LruCache<CacheEntry>;
  readonly #loading = new Map<string, Promise<LoadResult>>();
  #hits = 0;
  #misses = 0;
  #loads = 0;
  #failures = 0;

  constructor(options: ModelLoaderOptions) {
    this.#store = options.store;
    this.#sessionOptions = { ...DEFAULT_SESSION_OPTIONS, ...options.sessionOptions };
    this.#sessionTuning =
      options.sessionTuning ?? chooseSessionTuning(detectCpuEnvironment(undefined)).tuning;
    this.#createSession =
      options.createSession ??
      (options.isolation === 'none'
        ? (bytes, sessionOptions) => InferenceSession.create(bytes, sessionOptions)
        : undefined);
    this.#limits = { ...DEFAULT_SANDBOX_LIMITS, ...options.limits };
    this.#externalDataMemoryBytes = options.externalDataMemoryBytes ?? DEFAULT_EXTERNAL_DATA_MEMORY_BYTES;
    this.#ephemeralDir = options.ephemeralDir;
    this.#modelFileBytes =
      options.modelFileBytes === false ? undefined : (options.modelFileBytes ?? DEFAULT_MODEL_FILE_BYTES);
    const sandboxed = this.#createSession === undefined;
    this.#estimateBytes =
      options.estimateBytes ??
      (sandboxed ? (bytes) => estimateSessionBytes(bytes) + SANDBOX_PROCESS_BYTES : estimateSessionBytes);
    this.#now = options.now ?? (() => performance.now());
    this.#partedRead =
      options.partedRead === false ? undefined : { ...DEFAULT_PARTED_READ, ...options.partedRead };
    this.#warmUp =
      options.warmUp ??
      (options.isolation === 'none' && options.createSession === undefined
        ? () => warmUpRuntime(this.sessionOptionsFor({}))
        : undefined);
    this.#cache = new LruCache<CacheEntry>({
      maxBytes: options.maxCacheBytes ?? defaultCacheBytes(),
      onEvict: (_key, entry) => {
        entry.guard.retire();
        entry.folder?.remove();
      },
    });
  }

  /**
   * The loaded model for `ref`, from the cache or loaded now. Throws `NotFoundError` when the file
   * is gone, `ModelUnavailableError` when onnxruntime cannot load it and `StorageUnavailableError`
   * when the store fails; none of these is cached.
   */
  async get(ref: ModelRef): Promise<LoadResult> {
    const cached = this.#cache.get(ref.key);
    if (
      cached !== undefined &&
      (ref.etag === undefined || ref.etag === cached.refEtag) &&
      cached.overrides === overridesKey(ref)
    ) {
      this.#hits += 1;
      return { model: cached.model, cacheHit: true };
    }
    this.#misses += 1;
    const slot = `${ref.key}\n${ref.etag ?? ''}\n${overridesKey(ref)}`;
    let loading = this.#loading.get(slot);
    if (loading === undefined) {
      loading = this.#load(ref).finally(() => this.#loading.delete(slot));
      this.#loading.set(slot, loading);
    }
    return loading;
  }

  /** Loads `refs` one after another (bounding peak memory to one load); reports, never throws. */
  async preload(refs: readonly ModelRef[]): Promise<PreloadResult[]> {
    const results: PreloadResult[] = [];
    for (const ref of refs) {
      try {
        const { cacheHit, loadMs } = await this.get(ref);
        results.push({ ref, ok: true, cacheHit, loadMs });
      } catch (error) {
        results.push({ ref, ok: false, error });
      }
    }
    return results;
  }

  stats(): LoaderStats {
    return {
      entries: this.#cache.size,
      bytes: this.#cache.bytes,
      hits: this.#hits,
      misses: this.#misses,
      loads: this.#loads,
      failures: this.#failures,
      evictions: this.#cache.evictions,
    };
  }

  /**
   * Drops the cached models whose file key starts with `keyPrefix` (e.g. `models/iris/` for every
   * version of iris), releasing each session once its runs in flight are done; returns how many.
   */
  evict(keyPrefix: string): number {
    let evicted = 0;
    for (const key of this.#cache.keys()) {
      if (key.startsWith(keyPrefix) && this.#cache.delete(key)) evicted += 1;
    }
    return evicted;
  }

  /** Whether the model file `key` is loaded in this instance (no load is started). */
  isLoaded(key: string): boolean {
    return this.#cache.has(key);
  }

  /** Drops every cached model, releasing each session once its runs in flight are done. */
  clear(): void {
    this.#cache.clear();
  }

  async #load(ref: ModelRef): Promise<LoadResult> {
    this.#loads += 1;
    const label = `model '${ref.name}' version ${ref.version}`;
    const holder: { sandbox?: ModelSandbox } = {};
    let folder: MaterializedFolder | undefined;
    let file: ModelFile | undefined;
    try {
      const started = this.#now();
      // The model's process starts (and sets onnxruntime up) while the file downloads.
      if (this.#createSession === undefined) {
        holder.sandbox = ModelSandbox.spawn({
          label,
          limits: this.#limits,
          sessionOptions: this.sessionOptionsFor(ref),
          onExit: () => this.#dropDead(ref.key, holder.sandbox),
        });
        file = await this.#handOffFile(ref.size);
      }
      const { object, downloaded, inParts } = await this.#download(ref, file);
      if (object === undefined) {
        throw new NotFoundError(
          `model '${ref.name}' version ${ref.version} not found: its model file is gone`,
        );
      }
      // ZipMap outputs become tensors in a copy of the model; the stored file is untouched.
      const prepared = rewriteZipMapOutputs(object.body);
      let source: SandboxSource = { model: prepared.bytes };
      let dataBytes = 0;
      const files = externalFilesOf(label, object.body);
      if (files.length > 0) {
        // Loaded with its external data instead: the hand-off file would only take up the storage
        // the data may need.
        await file?.remove();
        file = undefined;
        const fetched = await fetchExternalData(this.#store, ref.key, prepared.bytes, files, {
          label,
          memoryLimit: this.#externalDataMemoryBytes,
          baseDir: this.#ephemeralDir,
        });
        dataBytes = fetched.bytes;
        if (fetched.kind === 'memory') source = { model: prepared.bytes, externalData: fetched.files };
        else {
          folder = fetched.folder;
          source = { path: folder.modelPath };
        }
      } else if (holder.sandbox !== undefined) {
        // A large model (even one of unknown size or read with one GET) goes by file when it can.
        file ??= await this.#handOffFile(prepared.bytes.byteLength);
        const written = inParts && prepared.bytes === object.body;
        if (file !== undefined && (await file.seal(prepared.bytes, { written }))) {
          source = { modelFile: file.path };
        } else {
          await file?.remove();
          file = undefined;
        }
      }
      const session = await this.#open(ref, source, holder.sandbox);
      const loadMs = this.#now() - started;
      // The process holds the session now: the hand-off file is not needed any more.
      await file?.remove();

      const { signature, unsupported } = deriveSignature(session.inputMetadata, session.outputMetadata);
      markUndeclaredRanks(signature, prepared.bytes);
      const guard = guardSession(session, `'${ref.name}' version ${ref.version}`);
      const model: LoadedModel = {
        name: ref.name,
        version: ref.version,
        session: guard.session,
        signature,
        unsupported,
        zipmaps: prepared.zipmaps,
        sizeBytes: object.body.byteLength + dataBytes,
        etag: object.etag,
      };
      this.#cache.set(
        ref.key,
        { model, guard, refEtag: ref.etag, overrides: overridesKey(ref), folder, sandbox: holder.sandbox },
        this.#estimateBytes(object.body.byteLength + dataBytes),
      );
      return {
        model,
        cacheHit: false,
        loadMs,
        downloadMs: downloaded - started,
        bytes: object.body.byteLength + dataBytes,
      };
    } catch (error) {
      this.#failures += 1;
      holder.sandbox?.release().catch(() => undefined);
      folder?.remove();
      await file?.remove();
      throw error;
    }
  }

  /** A model whose process stopped (killed at a deadline, crashed) leaves the cache at once. */
  #dropDead(key: string, sandbox: ModelSandbox | undefined): void {
    const entry = this.#cache.peek(key);
    if (entry !== undefined && sandbox !== undefined && entry.sandbox === sandbox) this.#cache.delete(key);
  }

  /**
   * The model file and when it arrived; the first time, the runtime warm-up runs while it is on
   * its way. The warm-up starts from a `setImmediate` (inside `InferenceSession.create`), by which
   * time the request is normally sent (the store's client is warm: the listing went first), and
   * its failure is ignored: the model's own session creation reports any real problem.
   */
  async #download(
    ref: ModelRef,
    file: ModelFile | undefined,
  ): Promise<{ object: StoredObject | undefined; downloaded: number; inParts: boolean }> {
    const getting = this.#read(ref, file).then((read) => ({ ...read, downloaded: this.#now() }));
    const warmUp = this.#warmUp;
    if (warmUp === undefined) return getting;
    this.#warmUp = undefined;
    const [result] = await Promise.all([getting, warmUp().catch(() => undefined)]);
    return result;
  }

  /**
   * The model file: in parallel parts when it is large and the store reads ranges, else one GET.
   * Parts are read against the listing's size and ETag; when the file was replaced since the
   * listing, one GET reads the version now stored (the cache entry records its ETag). Parts that
   * passed their checks are written to `file` at their offsets as they arrive; `inParts` says
   * whether the parallel read completed, i.e. whether `file` was written whole.
   */
  async #read(
    ref: ModelRef,
    file: ModelFile | undefined,
  ): Promise<{ object: StoredObject | undefined; inParts: boolean }> {
    const store = this.#store;
    const parted = this.#partedRead;
    const size = ref.size;
    const readRange = store.readRange;
    if (
      parted === undefined ||
      readRange === undefined ||
      size === undefined ||
      size < parted.thresholdBytes
    ) {
      return { object: await store.get(ref.key), inParts: false };
    }
    try {
      const object = await readInParts(
        { readRange: readRange.bind(store) },
        ref.key,
        { size, etag: ref.etag },
        parted,
        file === undefined ? undefined : (part, offset) => file.write(part, offset),
      );
      return { object, inParts: object !== undefined };
    } catch (error) {
      if (error instanceof ObjectChangedError) return { object: await store.get(ref.key), inParts: false };
      throw error;
    }
  }

  /** A hand-off file for a model of `size` bytes, when it is large enough and the storage has room. */
  async #handOffFile(size: number | undefined): Promise<ModelFile | undefined> {
    const threshold = this.#modelFileBytes;
    if (threshold === undefined || size === undefined || size < threshold) return undefined;
    return ModelFile.create(size, { baseDir: this.#ephemeralDir });
  }

  /**
   * The session options a model is created with: `DEFAULT_SESSION_OPTIONS`, then the tuning (with
   * the model's config.json `session` overrides), then the loader's `sessionOptions`.
   */
  sessionOptionsFor(ref: Pick<ModelRef, 'config'>): InferenceSession.SessionOptions {
    const tuned = sessionOptionsOf(withOverrides(this.#sessionTuning, ref.config?.session));
    return { ...DEFAULT_SESSION_OPTIONS, ...tuned, ...this.#sessionOptions };
  }

  async #open(
    ref: ModelRef,
    source: SandboxSource,
    sandbox: ModelSandbox | undefined,
  ): Promise<ModelSession> {
    const options = this.sessionOptionsFor(ref);
    try {
      if (sandbox !== undefined) {
        await sandbox.load(source);
        return sandbox;
      }
      if ('path' in source) {
        return (await InferenceSession.create(source.path, options)) as unknown as ModelSession;
      }
      if ('modelFile' in source) throw new Error('a model file is handed to a model process only');
      return await (this.#createSession ?? defaultFactory)(
        source.model,
        source.externalData === undefined ? options : { ...options, externalData: source.externalData },
      );
    } catch (error) {
      if (error instanceof ServingError) throw error;
      throw new ModelUnavailableError(
        `model '${ref.name}' version ${ref.version} could not be loaded: ${runtimeReason(error)}`,
        { cause: error },
      );
    }
  }
}

/** A model's config.json session overrides as a cache-key part: '' when it has none. */
function overridesKey(ref: ModelRef): string {
  const overrides = ref.config?.session;
  return overrides === undefined ? '' : JSON.stringify(overrides);
}

const defaultFactory: SessionFactory = async (bytes, options) =>
  (await InferenceSession.create(bytes, options)) as unknown as ModelSession;

/**
 * The external data files the model names; a location outside the version folder makes the
 * model unloadable (422), whoever uploaded it and whether or not it was validated.
 */
function externalFilesOf(label: string, model: Uint8Array) {
  try {
    return externalDataFiles(model);
  } catch (error) {
    if (error instanceof ExternalDataError) {
      throw new ModelUnavailableError(`${label} cannot be loaded: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** Creates and releases a session of `WARM_UP_MODEL_BASE64` (with the models' thread settings). */
async function warmUpRuntime(options: InferenceSession.SessionOptions): Promise<void> {
  const session = await InferenceSession.create(Buffer.from(WARM_UP_MODEL_BASE64, 'base64'), options);
  await session.release();
}

/** onnxruntime's message, first line only, without a native source-location prefix. */
function runtimeReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = (message.split('\n')[0] ?? '').replace(/^\[[^\]]*\]\s*/, '').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line || 'unknown error';
}

/** Throws a 422 naming every input or output the protocol cannot carry, when there is one. */
export function assertServable(model: LoadedModel): void {
  if (model.unsupported.length > 0) {
    throw new ModelUnavailableError(
      `model '${model.name}' version ${model.version} cannot be served: ${model.unsupported.join('; ')}`,
    );
  }
}
