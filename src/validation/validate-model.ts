import { createHash } from 'node:crypto';
import { InferenceSession, env as ortEnv, type Tensor } from 'onnxruntime-node';
import { type ModelInfo, NotAnOnnxModelError, readModelInfo } from '../onnx/model-info.ts';
import { rewriteZipMapOutputs } from '../onnx/zipmap.ts';
import type { ObjectNotification, ObjectStore } from '../ports/object-store.ts';
import { type ModelMetadata, roundMs, summarizeLatency, VALIDATOR_VERSION } from '../repository/metadata.ts';
import { inferModelDefaults } from '../repository/model-defaults.ts';
import { metadataKeyOf, parseModelKey } from '../repository/model-key.ts';
import { DEFAULT_SESSION_OPTIONS, type SessionFactory } from '../runtime/model-loader.ts';
import {
  chooseSessionTuning,
  detectCpuEnvironment,
  type SessionTuning,
  sessionOptionsOf,
} from '../runtime/session-options.ts';
import { deriveSignature } from '../runtime/signature.ts';
import { SMOKE_FILLS, type SmokeFill, SmokeInputError, smokeFeeds, smokeInputs } from './smoke-inputs.ts';

/** Timed smoke runs after the warm-up, unless told otherwise. */
export const DEFAULT_SMOKE_RUNS = 5;
/** Longest reason written to metadata.json; onnxruntime's messages can run long. */
export const MAX_REASON_LENGTH = 300;
/** onnxruntime would also print a failed smoke run to stderr; the result already reports it. */
const QUIET_RUN: InferenceSession.RunOptions = { logSeverityLevel: 4 };

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
  createSession?: SessionFactory;
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
  const previous = await readPrevious(store, metadataKey);
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

  const metadata = await inspect(object.body, {
    name,
    version,
    size: object.body.byteLength,
    sha256,
    etag,
    validatedAt: (options.now ?? (() => new Date()))().toISOString(),
    options,
  });
  await writeMetadata(store, metadataKey, metadata);
  return { outcome: 'validated', key, metadataKey, metadata };
}

interface Subject {
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

  let metadata: ModelMetadata = {
    status: 'valid',
    reason: null,
    name: subject.name,
    version: subject.version,
    size: subject.size,
    sha256: subject.sha256,
    etag: subject.etag,
    ir_version: null,
    opsets: null,
    producer: null,
    metadata_props: null,
    inputs: null,
    outputs: null,
    rewrites: null,
    inferred: null,
    load_ms: null,
    latency_ms: null,
    smoke: null,
    runtime: null,
    validated_at: subject.validatedAt,
    validator_version: VALIDATOR_VERSION,
  };
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

  const createSession =
    options.createSession ?? ((model, sessionOptions) => InferenceSession.create(model, sessionOptions));
  const started = clock();
  let session: InferenceSession;
  try {
    const tuning = options.sessionTuning ?? chooseSessionTuning(detectCpuEnvironment(undefined)).tuning;
    session = await createSession(bytes, {
      ...DEFAULT_SESSION_OPTIONS,
      ...sessionOptionsOf(tuning),
      ...options.sessionOptions,
    });
  } catch (error) {
    return invalid(`session creation failed: ${runtimeReason(error)}`);
  }
  metadata = { ...metadata, load_ms: roundMs(clock() - started), runtime: ortEnv.versions?.common ?? null };

  try {
    const { unsupported } = deriveSignature(session.inputMetadata, session.outputMetadata);
    if (unsupported.length > 0) return invalid(`unsupported type: ${unsupported.join('; ')}`);

    const warm = await warmUp(session, info);
    if (!warm.ok) return invalid(`smoke run failed: ${warm.reason}`);
    const samples: number[] = [];
    for (let run = 0; run < runs; run++) {
      const runStarted = clock();
      try {
        await session.run(warm.feeds, QUIET_RUN);
      } catch (error) {
        return invalid(`smoke run failed: run ${run + 2} of ${runs + 1}: ${runtimeReason(error)}`);
      }
      samples.push(clock() - runStarted);
    }
    return {
      ...metadata,
      latency_ms: summarizeLatency(samples),
      smoke: {
        fill: warm.fill,
        inputs: warm.inputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })),
        runs,
      },
    };
  } finally {
    await session.release().catch(() => undefined);
  }
}

type WarmUp =
  | { ok: true; fill: SmokeFill; inputs: ReturnType<typeof smokeInputs>; feeds: Record<string, Tensor> }
  | { ok: false; reason: string };

/** The untimed first run, trying each value pattern until one passes; the first failure is kept. */
async function warmUp(session: InferenceSession, info: ModelInfo): Promise<WarmUp> {
  let first: string | undefined;
  for (const fill of SMOKE_FILLS) {
    let inputs: ReturnType<typeof smokeInputs>;
    try {
      inputs = smokeInputs(info.inputs, fill);
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
      first ??= `${runtimeReason(error)} (inputs ${shapes || 'none'})`;
    }
  }
  return { ok: false, reason: first ?? 'no run was attempted' };
}

async function readPrevious(store: ObjectStore, metadataKey: string): Promise<ModelMetadata | undefined> {
  const stored = await store.get(metadataKey);
  if (stored === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(stored.body));
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const previous = json as Partial<ModelMetadata>;
  // Only this validator's own records are trusted; anything else is validated again.
  if (previous.validator_version !== VALIDATOR_VERSION || typeof previous.sha256 !== 'string')
    return undefined;
  if (previous.status !== 'valid' && previous.status !== 'invalid') return undefined;
  return previous as ModelMetadata;
}

async function writeMetadata(store: ObjectStore, key: string, metadata: ModelMetadata): Promise<void> {
  await store.put(key, `${JSON.stringify(metadata, null, 2)}\n`, { contentType: 'application/json' });
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
