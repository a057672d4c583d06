import { createHash } from 'node:crypto';
import { type InferenceSession, env as ortEnv, type Tensor } from 'onnxruntime-node';
import {
  InferenceLimitError,
  InferenceTimeoutError,
  ModelProcessStoppedError,
  ModelUnavailableError,
  StorageUnavailableError,
} from '../errors.ts';
import { ExternalDataError, externalDataFiles } from '../onnx/external-data.ts';
import { type ModelInfo, NotAnOnnxModelError, readModelInfo } from '../onnx/model-info.ts';
import { rewriteZipMapOutputs } from '../onnx/zipmap.ts';
import type { ObjectNotification, ObjectStore } from '../ports/object-store.ts';
import { type ModelMetadata, roundMs, summarizeLatency } from '../repository/metadata.ts';
import { parseModelConfig } from '../repository/model-config.ts';
import { inferModelDefaults } from '../repository/model-defaults.ts';
import { metadataKeyOf, parseModelKey } from '../repository/model-key.ts';
import { type FetchedExternalData, fetchExternalData } from '../runtime/external-files.ts';
import {
  DEFAULT_EXTERNAL_DATA_MEMORY_BYTES,
  DEFAULT_SESSION_OPTIONS,
  type SessionFactory,
} from '../runtime/model-loader.ts';
import {
  DEFAULT_SANDBOX_LIMITS,
  ModelSandbox,
  type ModelSession,
  type SandboxLimits,
} from '../runtime/sandbox.ts';
import {
  chooseSessionTuning,
  detectCpuEnvironment,
  type SessionTuning,
  sessionOptionsOf,
} from '../runtime/session-options.ts';
import { deriveSignature } from '../runtime/signature.ts';
import { SMOKE_FILLS, type SmokeFill, SmokeInputError, smokeFeeds, smokeInputs } from './smoke-inputs.ts';
import {
  failedValidation,
  isUnfinishedVerdict,
  MAX_REASON_LENGTH,
  readPrevious,
  writeMetadata,
} from './verdicts.ts';

/** Timed smoke runs after the warm-up, unless told otherwise. */
export const DEFAULT_SMOKE_RUNS = 5;
/** onnxruntime would also print a failed smoke run to stderr; the result already reports it. */
const QUIET_RUN: InferenceSession.RunOptions = { logSeverityLevel: 4 };
/** The second batch size every model with a free first dimension is run at. */
export const SMOKE_BATCH_SIZE = 8;

/**
 * Limits of validation's smoke runs, which run in their own process like serving's: a run
 * deadline of 20 s, outputs up to the 6 MB a response can carry, 2 GiB of memory, 60 s to load.
 */
export const DEFAULT_VALIDATION_LIMITS: SandboxLimits = { ...DEFAULT_SANDBOX_LIMITS, loadTimeoutMs: 60_000 };

export interface ValidateModelOptions {
  /** Timed runs after one untimed warm-up (default 5). */
  runs?: number;
  /**
   * Threads and spinning, as serving chooses them for the function's CPU share (default: the
   * choice for this machine outside Lambda).
   */
  sessionTuning?: SessionTuning;
  /** Merged over the loader's `DEFAULT_SESSION_OPTIONS` and the tuning, so validation loads as serving does. */
  sessionOptions?: InferenceSession.SessionOptions;
  /** Sessions in this process instead of an isolated one (tests only: nothing is bounded). */
  createSession?: SessionFactory;
  /** Deadline, output and memory limits of the smoke runs; merged over `DEFAULT_VALIDATION_LIMITS`. */
  limits?: Partial<SandboxLimits>;
  /** Where external data too large for memory is written (default the OS temporary directory). */
  ephemeralDir?: string;
  /** Millisecond clock for durations (default `performance.now`). */
  clock?: () => number;
  /** Wall clock for `validated_at`. */
  now?: () => Date;
}

/**
 * What became of one key:
 * - `validated`: the model was checked and metadata.json written (its `status` says how it went);
 * - `unchanged`: metadata.json already describes this content (a redelivered event);
 * - `ignored`: the key is not a model file of the layout, or the object is gone.
 */
export type ValidationResult =
  | { outcome: 'ignored'; key: string; reason: string }
  | { outcome: 'validated' | 'unchanged'; key: string; metadataKey: string; metadata: ModelMetadata };

/**
 * Validates the model file at `key` (`models/{name}/{version}/model.onnx`) and writes
 * `models/{name}/{version}/metadata.json` next to it. Checks, in order: the bytes are an ONNX
 * model; every input and output is a tensor of a protocol datatype; onnxruntime creates a session;
 * a smoke inference on generated inputs succeeds (one warm-up, then `runs` timed runs).
 *
 * A bad model is a result (`status: 'invalid'` with a specific reason), never an exception. Store
 * failures throw `StorageUnavailableError`, so that the caller fails and the event is retried.
 * Idempotent: metadata.json written by this validator version for the same ETag (or the same
 * SHA-256) means `unchanged`, without a new session.
 *
 * @example
 * ```ts
 * const result = await validateModel(store, 'models/iris/2/model.onnx');
 * if (result.outcome === 'validated') console.log(result.metadata.status, result.metadata.reason);
 * ```
 */
export async function validateModel(
  store: ObjectStore,
  key: string,
  options: ValidateModelOptions = {},
): Promise<ValidationResult> {
  const parsed = parseModelKey(key);
  if ('reason' in parsed) return { outcome: 'ignored', key, reason: parsed.reason };
  const { name, version } = parsed;
  const metadataKey = metadataKeyOf(name, version);
  const gone = { outcome: 'ignored', key, reason: 'the object no longer exists' } as const;

  const head = await store.head(key);
  if (head === undefined) return gone;
  // A verdict of a validation that did not finish is not reused: the upload is validated again.
  const stored = await readPrevious(store, metadataKey);
  const previous = stored !== undefined && isUnfinishedVerdict(stored) ? undefined : stored;
  if (previous !== undefined && head.etag !== undefined && previous.etag === head.etag) {
    return { outcome: 'unchanged', key, metadataKey, metadata: previous };
  }

  const object = await store.get(key);
  if (object === undefined) return gone;
  const sha256 = createHash('sha256').update(object.body).digest('hex');
  const etag = object.etag ?? head.etag ?? null;
  if (previous !== undefined && previous.sha256 === sha256) {
    // Same bytes under a new ETag (uploaded again, or by multipart): the verdict stands, but it
    // must name the current ETag, or serving would take it for stale.
    const metadata = { ...previous, etag };
    await writeMetadata(store, metadataKey, metadata);
    return { outcome: 'unchanged', key, metadataKey, metadata };
  }

  const subject: Subject = {
    store,
    key,
    maxLatencyMs: await maxLatencyOf(store, name),
    name,
    version,
    size: object.body.byteLength,
    sha256,
    etag,
    validatedAt: (options.now ?? (() => new Date()))().toISOString(),
    options,
  };
  let metadata: ModelMetadata;
  try {
    metadata = await inspect(object.body, subject);
  } catch (error) {
    // Fail closed: anything but an unreachable store is a verdict, never "no verdict".
    if (error instanceof StorageUnavailableError || error instanceof RangeError) throw error;
    metadata = failedValidation(subject, `validation failed: ${runtimeReason(error)}`);
  }
  await writeMetadata(store, metadataKey, metadata);
  return { outcome: 'validated', key, metadataKey, metadata };
}

interface Subject {
  store: ObjectStore;
  key: string;
  /** config.json's `validation.max_latency_ms`. */
  maxLatencyMs?: number;
  name: string;
  version: number;
  size: number;
  sha256: string;
  etag: string | null;
  validatedAt: string;
  options: ValidateModelOptions;
}

async function inspect(stored: Uint8Array, subject: Subject): Promise<ModelMetadata> {
  const { options } = subject;
  const clock = options.clock ?? (() => performance.now());
  const runs = options.runs ?? DEFAULT_SMOKE_RUNS;
  if (!(Number.isInteger(runs) && runs > 0))
    throw new RangeError('validateModel: runs must be a positive integer');

  // Every field empty but the subject's, filled in as the checks pass.
  let metadata: ModelMetadata = { ...failedValidation(subject, ''), status: 'valid', reason: null };
  const invalid = (reason: string): ModelMetadata => ({
    ...metadata,
    status: 'invalid',
    reason: reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH - 1)}…` : reason,
  });

  let info: ModelInfo;
  // ZipMap outputs are served as tensors: the model is checked as serving will run it.
  const prepared = rewriteZipMapOutputs(stored);
  const bytes = prepared.bytes;
  try {
    info = readModelInfo(bytes);
  } catch (error) {
    if (error instanceof NotAnOnnxModelError) return invalid(error.message);
    throw error;
  }
  metadata = {
    ...metadata,
    ir_version: info.irVersion,
    opsets: info.opsets.map(({ domain, version }) => ({
      domain: domain === '' ? 'ai.onnx' : domain,
      version,
    })),
    producer: { name: info.producerName, version: info.producerVersion },
    metadata_props: info.metadata,
    inputs: info.inputs,
    outputs: info.outputs,
    rewrites: prepared.zipmaps.map(({ output, source, labels, labelType }) => ({
      kind: 'zipmap' as const,
      output,
      source,
      labels,
      label_type: labelType,
    })),
    inferred: inferModelDefaults(info, prepared.zipmaps),
  };
  for (const direction of ['input', 'output'] as const) {
    const values = info.unsupported.filter((value) => value.direction === direction);
    if (values.length > 0) {
      return invalid(
        `unsupported ${direction} type: ${values.map((value) => `'${value.name}' (${value.reason})`).join('; ')}; ${
          values.some((value) => value.reason.includes('not a tensor'))
            ? direction === 'output'
              ? 'onnxruntime-node returns tensors only: ZipMap outputs are served as tensors, anything else needs a re-export with tensor outputs'
              : 'the protocol sends tensors only: re-export the model with tensor inputs'
            : 'cast it in the graph, or re-export with an element type the protocol has (e.g. float32, float16)'
        }`,
      );
    }
  }
  if (info.outputs.length === 0) return invalid('the model declares no outputs');

  let files: ReturnType<typeof externalDataFiles>;
  try {
    files = externalDataFiles(bytes);
  } catch (error) {
    if (error instanceof ExternalDataError) return invalid(error.message);
    throw error;
  }
  const label = `model '${subject.name}' version ${subject.version}`;
  const limits = { ...DEFAULT_VALIDATION_LIMITS, ...options.limits };
  let external: FetchedExternalData | undefined;
  const started = clock();
  let session: ModelSession;
  try {
    if (files.length > 0) {
      external = await fetchExternalData(subject.store, subject.key, bytes, files, {
        label,
        memoryLimit: DEFAULT_EXTERNAL_DATA_MEMORY_BYTES,
        baseDir: options.ephemeralDir,
      });
    }
    // Threads and spinning as serving chooses them for the function's CPU share.
    const tuning = options.sessionTuning ?? chooseSessionTuning(detectCpuEnvironment(undefined)).tuning;
    const sessionOptions = {
      ...DEFAULT_SESSION_OPTIONS,
      ...sessionOptionsOf(tuning),
      ...options.sessionOptions,
    };
    if (options.createSession !== undefined) {
      if (external?.kind === 'disk') return invalid('external data too large for in-process validation');
      session = await options.createSession(
        bytes,
        external === undefined ? sessionOptions : { ...sessionOptions, externalData: external.files },
      );
    } else {
      session = await ModelSandbox.open(
        external === undefined
          ? { model: bytes }
          : external.kind === 'memory'
            ? { model: bytes, externalData: external.files }
            : { path: external.folder.modelPath },
        { label, limits, sessionOptions },
      );
    }
  } catch (error) {
    if (external?.kind === 'disk') external.folder.remove();
    if (error instanceof StorageUnavailableError) throw error;
    if (error instanceof ModelUnavailableError) {
      return invalid(
        `session creation failed: ${error.message.replace(`${label} could not be loaded: `, '').replace(`${label} cannot be loaded: `, '')}`,
      );
    }
    return invalid(`session creation failed: ${runtimeReason(error)}`);
  }
  metadata = { ...metadata, load_ms: roundMs(clock() - started), runtime: ortEnv.versions?.common ?? null };

  try {
    const { unsupported } = deriveSignature(session.inputMetadata, session.outputMetadata);
    if (unsupported.length > 0) return invalid(`unsupported type: ${unsupported.join('; ')}`);

    const warm = await warmUp(session, info, 1);
    if (!warm.ok) return invalid(`smoke run failed: ${warm.reason}`);
    if (info.inputs.some((input) => input.shape === null || (input.shape[0] ?? 0) < 0)) {
      const batched = await warmUp(session, info, SMOKE_BATCH_SIZE, warm.fill);
      if (!batched.ok)
        return invalid(`smoke run at batch size ${SMOKE_BATCH_SIZE} failed: ${batched.reason}`);
    }
    const samples: number[] = [];
    for (let run = 0; run < runs; run++) {
      const runStarted = clock();
      try {
        await session.run(warm.feeds, QUIET_RUN);
      } catch (error) {
        return invalid(
          `smoke run failed: run ${run + 2} of ${runs + 1}: ${limitReason(error) ?? runtimeReason(error)}`,
        );
      }
      samples.push(clock() - runStarted);
    }
    const latency = summarizeLatency(samples);
    if (subject.maxLatencyMs !== undefined && latency.median > subject.maxLatencyMs) {
      return invalid(
        `latency limit: the median smoke run took ${latency.median} ms, over the ${subject.maxLatencyMs} ms of config.json validation.max_latency_ms`,
      );
    }
    return {
      ...metadata,
      latency_ms: latency,
      smoke: {
        fill: warm.fill,
        inputs: warm.inputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })),
        runs,
      },
    };
  } finally {
    await session.release().catch(() => undefined);
    if (external?.kind === 'disk') external.folder.remove();
  }
}

/** Which limit a failed run hit, said for metadata.json; `undefined` for a plain runtime error. */
function limitReason(error: unknown): string | undefined {
  if (error instanceof InferenceTimeoutError) return `time limit: ${error.message}`;
  if (error instanceof InferenceLimitError) {
    return `${error.kind === 'MemoryLimit' ? 'memory limit' : 'output size limit'}: ${error.message}`;
  }
  if (error instanceof ModelProcessStoppedError) return `the model's process crashed: ${error.message}`;
  return undefined;
}

/** config.json's `validation.max_latency_ms`, when the model has a readable config. */
async function maxLatencyOf(store: ObjectStore, name: string): Promise<number | undefined> {
  const stored = await store.get(`models/${name}/config.json`);
  if (stored === undefined || stored.body.byteLength > 256 * 1024) return undefined;
  try {
    return parseModelConfig(JSON.parse(new TextDecoder().decode(stored.body)), name).config.validation
      ?.max_latency_ms;
  } catch {
    return undefined;
  }
}

type WarmUp =
  | { ok: true; fill: SmokeFill; inputs: ReturnType<typeof smokeInputs>; feeds: Record<string, Tensor> }
  | { ok: false; reason: string };

/**
 * The untimed first run at `batch` rows, trying each value pattern (or only `only`) until one
 * passes; the first failure is kept. A run that hits a limit (time, memory, output size, crash)
 * ends the search: another pattern would not help and the process may be gone.
 */
async function warmUp(
  session: ModelSession,
  info: ModelInfo,
  batch: number,
  only?: SmokeFill,
): Promise<WarmUp> {
  let first: string | undefined;
  for (const fill of only === undefined ? SMOKE_FILLS : [only]) {
    let inputs: ReturnType<typeof smokeInputs>;
    try {
      inputs = smokeInputs(info.inputs, fill, batch);
    } catch (error) {
      if (error instanceof SmokeInputError) return { ok: false, reason: error.message };
      throw error;
    }
    const feeds = smokeFeeds(inputs);
    try {
      await session.run(feeds, QUIET_RUN);
      return { ok: true, fill, inputs, feeds };
    } catch (error) {
      const shapes = inputs.map((input) => `'${input.name}' [${input.shape.join(', ')}]`).join(', ');
      const limit = limitReason(error);
      if (limit !== undefined) return { ok: false, reason: `${limit} (inputs ${shapes || 'none'})` };
      first ??= `${runtimeReason(error)} (inputs ${shapes || 'none'})`;
    }
  }
  return { ok: false, reason: first ?? 'no run was attempted' };
}

/**
 * onnxruntime's message made short: first line, no native source locations or C++ signatures
 * (they say nothing to a model owner and leak build paths).
 */
export function runtimeReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = (message.split('\n')[0] ?? '')
    .replace(/^\[[^\]]*\]\s*/, '')
    .replace(/\/\S+\.(?:cc|h|cpp):\d+\s*/g, '')
    .replace(/onnxruntime::\S+\([^)]*\)\s*(?:const\s*)?/g, '')
    .trim();
  return line || 'unknown error';
}

/**
 * Validates the object a store notification names, when it is a model file created in the model
 * bucket; anything else (another event, another bucket) is `ignored` with the reason.
 *
 * @example
 * ```ts
 * await validateNotifiedModel(store, { bucket: 'models', key: 'models/iris/2/model.onnx', eventName: 'ObjectCreated:Put' }, { bucket: 'models' });
 * ```
 */
export function validateNotifiedModel(
  store: ObjectStore,
  object: ObjectNotification,
  options: ValidateModelOptions & { bucket: string },
): Promise<ValidationResult> {
  const ignored = (reason: string) =>
    Promise.resolve({ outcome: 'ignored' as const, key: object.key, reason });
  if (!object.eventName.startsWith('ObjectCreated:')) {
    return ignored(`event ${object.eventName} does not create an object`);
  }
  if (object.bucket !== options.bucket) return ignored(`bucket '${object.bucket}' is not the model bucket`);
  return validateModel(store, object.key, options);
}
