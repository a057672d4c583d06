import { randomUUID } from 'node:crypto';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { captureSettings, type InferCapture, predictionIds, predictionRows } from '../capture/api-capture.ts';
import { isSampled } from '../capture/record.ts';
import { attachBinaryInputs, binaryOutputSelection } from '../codec/binary.ts';
import { decodeInputs } from '../codec/decode.ts';
import { encodeOutputs, selectOutputs } from '../codec/encode.ts';
import { parseInferenceRequest } from '../codec/parse-request.ts';
import { BadRequestError, ModelNotReadyError, NotFoundError, ServingError } from '../errors.ts';
import type { ModelConfig } from '../repository/model-config.ts';
import { inferModelDefaults } from '../repository/model-defaults.ts';
import type { ModelRepository, ResolvedModel } from '../repository/model-repository.ts';
import { assertModelName, parseVersionSelector, versionOfFolder } from '../repository/names.ts';
import {
  assertServable,
  estimateSessionBytes,
  type LoadedModel,
  type ModelLoader,
} from '../runtime/model-loader.ts';
import type { InferenceRequest, InferenceResponse, ModelSignature, TensorSpec } from '../types.ts';
import { classificationCounts, classifyOutputs } from './classification.ts';
import { type TritonModelConfig, tritonModelConfig } from './model-config-triton.ts';
import { type ModelStat, ModelStatistics } from './statistics.ts';

/** The ONNX platform name of the Open Inference Protocol model metadata. */
export const PLATFORM = 'onnx_onnxv1';

/** Protocol extensions this server implements, as listed in server metadata. */
export const EXTENSIONS: readonly string[] = [
  'model_repository',
  'model_configuration',
  'statistics',
  'classification',
  'binary_tensor_data',
  'outcomes',
];

export interface ServerInfo {
  name: string;
  version: string;
}

/** What one model-level call did, for the caller's metrics and logs. */
export interface ModelCallStats {
  model: string;
  version: string;
  cacheHit: boolean;
  /** Download plus session creation, when this call loaded the model. */
  loadMs?: number;
}

export interface InferStats extends ModelCallStats {
  /** `session.run` only. */
  inferMs: number;
}

export interface RepositoryIndexEntry {
  name: string;
  version: string;
  state: 'AVAILABLE' | 'UNAVAILABLE' | 'READY';
  reason?: string;
  /** Share (percent) of the requests naming no version this version receives under `traffic`. */
  traffic?: number;
  /** True when the version runs as a shadow (its outputs are captured, never returned). */
  shadow?: true;
}

/** One shadow version's run of a mirrored request: its outputs, or why it failed. */
export type ShadowRun =
  | {
      version: string;
      ok: true;
      response: InferenceResponse;
      capture: InferCapture;
      inferMs: number;
    }
  | { version: string; ok: false; error: unknown };

export interface InferResult {
  /** The protocol response, every output with its values in `data`. */
  response: InferenceResponse;
  stats: InferStats;
  capture: InferCapture;
  /** Outputs the request asked for as binary data, and the tensors to take their bytes from. */
  binary?: { names: ReadonlySet<string>; results: Record<string, Tensor> };
  /**
   * The shadow versions' runs of this request, started once the answer was made, when the model
   * has `shadow` versions and this request was sampled; never rejects.
   */
  shadow?: Promise<ShadowRun[]>;
  /** The `traffic` target the request was routed to, when a split chose its version. */
  routedTo?: string;
  /** Why a newer config.json was refused (the previous one stays in force). */
  configRejected?: string;
}

/**
 * The Open Inference Protocol over a model repository and a loader. Knows nothing about Lambda
 * or HTTP: it takes path values and a parsed JSON body and returns protocol objects or throws
 * `ServingError`s.
 *
 * @example
 * ```ts
 * const service = new InferenceService({ repository, loader, server: { name: 'onnx-serve', version: '1.0.0' } });
 * const { response } = await service.infer('iris', undefined, body);
 * ```
 */
export class InferenceService {
  readonly #repository: ModelRepository;
  readonly #loader: ModelLoader;
  readonly #server: ServerInfo;
  readonly #statistics = new ModelStatistics();
  /** Models unloaded through the repository extension in this instance, until loaded again. */
  readonly #unloaded = new Set<string>();
  readonly #clock: () => number;

  constructor(options: {
    repository: ModelRepository;
    loader: ModelLoader;
    server: ServerInfo;
    /** Epoch milliseconds, for the statistics' `last_inference` (injected by tests). */
    clock?: () => number;
  }) {
    this.#repository = options.repository;
    this.#loader = options.loader;
    this.#server = options.server;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Resolves a model and version without loading it: a bad name is 400, an unknown model or
   * version 404. Called before a request body is read, so that the caller hears about the model
   * first, as Triton and KServe answer.
   */
  async resolveModel(name: string, version: string | undefined): Promise<ResolvedModel> {
    assertModelName(name);
    return this.#repository.resolve(name, parseVersionSelector(version));
  }

  /** The signature and config.json of a model version, loading it if needed (for the v1 protocol). */
  async modelSignature(ref: ResolvedModel): Promise<{ signature: ModelSignature; config: ModelConfig }> {
    const { model, config } = await this.#loadResolved(ref);
    return { signature: model.signature, config };
  }

  /** Names of the models in the repository. */
  async modelNames(): Promise<string[]> {
    return this.#repository.listModels();
  }

  /** The model's configuration in Triton's JSON shape (the `model_configuration` extension). */
  async modelConfig(
    name: string,
    version: string | undefined,
  ): Promise<{ body: TritonModelConfig; stats: ModelCallStats }> {
    const { model, stats, config } = await this.#load(name, version);
    return { body: tritonModelConfig(model.name, model.signature, config), stats };
  }

  /**
   * Inference statistics of this instance in Triton's shape (the `statistics` extension): every
   * model version used here when `name` is absent; every version of the model (those never used
   * here with zero counts); or one version.
   */
  async modelStatistics(
    name: string | undefined,
    version: string | undefined,
  ): Promise<{ model_stats: ModelStat[] }> {
    if (name === undefined) return { model_stats: this.#statistics.models() };
    if (version !== undefined) {
      const ref = await this.resolveModel(name, version);
      return {
        model_stats: this.#statistics.models({ name: ref.name, versions: [String(ref.version)], only: true }),
      };
    }
    assertModelName(name);
    const versions = await this.#repository.listVersions(name);
    if (versions.length === 0) throw new NotFoundError(`model '${name}' not found`);
    return { model_stats: this.#statistics.models({ name, versions: versions.map(String) }) };
  }

  /**
   * Loads a model's default version in this instance and answers once it can serve (the
   * `model_repository` extension's load). Per instance: other instances load on their first
   * request; the S3 repository stays the source of truth.
   */
  async loadModel(
    name: string,
    body: unknown,
  ): Promise<{ body: Record<string, never>; stats: ModelCallStats }> {
    assertModelName(name);
    const parameters = repositoryParameters(body, 'load');
    for (const key of Object.keys(parameters)) {
      if (key === 'config' || key.startsWith('file:')) {
        throw new BadRequestError(
          `load parameter '${key}' is not supported: models are published to the model repository (models/${name}/{version}/model.onnx), not sent to the server`,
        );
      }
    }
    this.#unloaded.delete(name);
    const { stats } = await this.#load(name, undefined);
    return { body: {}, stats };
  }

  /**
   * Unloads every version of a model from this instance (the `model_repository` extension's
   * unload): its sessions are released and model readiness answers 503 until a load or an
   * inference loads it again. Per instance, like load.
   */
  async unloadModel(name: string, body: unknown): Promise<{ body: Record<string, never> }> {
    assertModelName(name);
    repositoryParameters(body, 'unload');
    const versions = await this.#repository.listVersions(name);
    if (versions.length === 0) throw new NotFoundError(`model '${name}' not found`);
    this.#unloaded.add(name);
    this.#loader.evict(`models/${name}/`);
    return { body: {} };
  }

  serverMetadata(): { name: string; version: string; extensions: string[] } {
    return { name: this.#server.name, version: this.#server.version, extensions: [...EXTENSIONS] };
  }

  /** Ready when the model repository can be listed. */
  async serverReady(): Promise<{ ready: boolean }> {
    await this.#repository.listModels();
    return { ready: true };
  }

  async modelMetadata(name: string, version: string | undefined) {
    const { model, stats } = await this.#load(name, version);
    const versions = await this.#repository.listVersions(model.name);
    const rollout = await this.#repository.rollout(model.name);
    return {
      body: {
        name: model.name,
        versions: versions.map(String),
        platform: PLATFORM,
        inputs: model.signature.inputs.map(metadataTensor),
        outputs: model.signature.outputs.map(metadataTensor),
        ...(model.zipmaps.length > 0
          ? {
              parameters: {
                // What serving changed, in a copy of the model, to carry its outputs as tensors.
                rewrites: model.zipmaps.map(({ output, source, labels, labelType }) => ({
                  kind: 'zipmap',
                  output,
                  source,
                  labels,
                  label_type: labelType,
                  served_as: 'FP32 [N, C]: the probability of class labels[c] in column c',
                })),
                inferred: inferModelDefaults(model.signature, model.zipmaps),
              },
            }
          : {}),
        // The model's rollout (traffic split, shadows, a refused config.json), when it has one.
        ...(Object.keys(rollout).length > 0 ? { rollout } : {}),
      },
      stats,
    };
  }

  /**
   * Loads the model if needed: ready means the next inference will not wait for a load. A model
   * unloaded in this instance is not ready (503) until it is loaded again.
   */
  async modelReady(name: string, version: string | undefined) {
    if (this.#unloaded.has(name)) {
      await this.resolveModel(name, version);
      throw new ModelNotReadyError(
        `model '${name}' was unloaded in this instance; POST /v2/repository/models/${name}/load or an inference loads it again`,
      );
    }
    const { model, stats } = await this.#load(name, version);
    return { body: { name: model.name, version: String(model.version), ready: true }, stats };
  }

  /**
   * Index of every model and version in the repository (the `model_repository` extension):
   * `AVAILABLE`, or `UNAVAILABLE` with the reason when model validation refused the version or
   * (validation being required) has not given a verdict for its current upload yet. With
   * `readyOnly` (the request's `"ready": true`), only the versions loaded in this instance, `READY`.
   */
  async repositoryIndex(options: { readyOnly?: boolean } = {}): Promise<RepositoryIndexEntry[]> {
    const index: RepositoryIndexEntry[] = [];
    for (const name of await this.#repository.listModels()) {
      const states = await this.#repository.versionStates(name);
      const shares = options.readyOnly === true ? undefined : await this.#rolloutShares(name);
      for (const { version, invalidReason, pendingReason } of states) {
        const servable = invalidReason === undefined && pendingReason === undefined;
        if (options.readyOnly === true || shares === undefined) {
          if (servable && this.#loader.isLoaded(`models/${name}/${version}/model.onnx`)) {
            index.push({ name, version: String(version), state: 'READY' });
          }
          continue;
        }
        const reason = invalidReason !== undefined ? `failed validation: ${invalidReason}` : pendingReason;
        const entry: RepositoryIndexEntry =
          reason === undefined
            ? { name, version: String(version), state: 'AVAILABLE' }
            : { name, version: String(version), state: 'UNAVAILABLE', reason };
        const share = shares.traffic.get(version);
        if (share !== undefined) entry.traffic = share;
        if (shares.shadows.has(version)) entry.shadow = true;
        index.push(entry);
      }
    }
    return index;
  }

  /** Per version, its share of the split traffic, and the shadow versions; empty when the config is broken. */
  async #rolloutShares(name: string): Promise<{ traffic: Map<number, number>; shadows: Set<number> }> {
    const traffic = new Map<number, number>();
    const shadows = new Set<number>();
    let config: ModelConfig;
    try {
      config = await this.#repository.getConfig(name);
    } catch {
      return { traffic, shadows };
    }
    for (const [target, weight] of Object.entries(config.traffic ?? {})) {
      const version = versionOfFolder(target) ?? config.aliases?.[target];
      if (version !== undefined) traffic.set(version, (traffic.get(version) ?? 0) + weight);
    }
    for (const version of config.shadow?.versions ?? []) shadows.add(version);
    return { traffic, shadows };
  }

  /**
   * Runs an inference. A tabular request of N > 1 rows is N predictions, whose ids
   * (`{id}:{row}`) the response lists in `parameters.prediction_ids`; `capture` is what the
   * caller needs to capture the predictions once it has answered. A request naming no version
   * is routed by the model's `traffic` split on its id; with `shadow` versions, `shadow` holds
   * their runs of the same inputs (unless `options.shadow` is false: batch files are not mirrored).
   */
  async infer(
    name: string,
    version: string | undefined,
    body: unknown,
    binary?: Uint8Array,
    /** The model already resolved by `resolveModel` for this request, to save a second lookup. */
    resolved?: ResolvedModel,
    options: { shadow?: boolean } = {},
  ): Promise<InferResult> {
    const ref = resolved ?? (await this.resolveModel(name, version));
    const started = performance.now();
    try {
      const result = await this.#infer(ref, body, binary, started, options);
      return result;
    } catch (error) {
      this.#statistics.recordFailure(ref.name, String(ref.version), performance.now() - started);
      throw error;
    }
  }

  async #infer(
    ref: ResolvedModel,
    body: unknown,
    binary: Uint8Array | undefined,
    started: number,
    options: { shadow?: boolean },
  ): Promise<InferResult> {
    // Parsed before the model is loaded: a malformed request costs no download.
    const request = parseInferenceRequest(body);
    attachBinaryInputs(request, binary);
    const binaryOutputs = binaryOutputSelection(request);
    const classification = classificationCounts(request.outputs);
    // The id is known before the version is loaded: a traffic split routes on it.
    const id = request.id ?? randomUUID();
    // A split (a request naming no version) was resolved to its primary before the body was read.
    const routed =
      ref.routedTo !== undefined
        ? await this.#repository.resolve(ref.name, undefined, { routingKey: id })
        : ref;
    const loading = performance.now();
    const { model, stats, config } = await this.#loadResolved(routed);
    this.#unloaded.delete(ref.name);
    const decoding = performance.now();
    const feeds = decodeInputs(request.inputs, model.signature.inputs);
    const modelOutputs = model.signature.outputs.map((output) => output.name);
    const fetches = selectOutputs(request.outputs, modelOutputs);
    const running = performance.now();
    const raw = await run(model, feeds, fetches);
    const inferMs = performance.now() - running;
    const encoding = performance.now();
    const results = classifyOutputs(raw, classification, config.labels);
    const outputs = encodeOutputs(results, request.outputs);
    const rows = predictionRows(model.signature, config.feature_names, request, outputs);
    const binaryNames = binaryOutputs(modelOutputs);
    const finished = performance.now();
    this.#statistics.recordSuccess(
      model.name,
      String(model.version),
      {
        totalMs: finished - started,
        queueMs: stats.cacheHit ? 0 : decoding - loading,
        inputMs: running - decoding,
        inferMs,
        outputMs: finished - encoding,
        batchSize: batchSize(request.inputs[0]?.shape),
      },
      this.#clock(),
    );
    if (!stats.cacheHit)
      this.#statistics.recordMemory(model.name, String(model.version), estimateSessionBytes(model.sizeBytes));
    return {
      ...(binaryNames.size > 0 ? { binary: { names: binaryNames, results } } : {}),
      response: {
        model_name: model.name,
        model_version: String(model.version),
        id,
        ...(rows !== undefined && rows.count > 1
          ? { parameters: { prediction_ids: predictionIds(id, rows.count) } }
          : {}),
        outputs,
      },
      stats: { ...stats, inferMs },
      capture: { request, rows, settings: captureSettings(config), feeds },
      ...(routed.routedTo === undefined ? {} : { routedTo: routed.routedTo }),
      ...(routed.configRejected === undefined ? {} : { configRejected: routed.configRejected }),
      ...(options.shadow === false ? {} : this.#shadow(model.name, model.version, config, id, request)),
    };
  }

  /**
   * Starts the shadow runs of a request answered by a version that is not itself a shadow, when
   * the id is sampled at the shadow rate (deterministic on the id, like routing).
   */
  #shadow(
    name: string,
    served: number,
    config: ModelConfig,
    id: string,
    request: InferenceRequest,
  ): { shadow?: Promise<ShadowRun[]> } {
    const shadow = config.shadow;
    if (shadow === undefined || shadow.versions.length === 0 || shadow.versions.includes(served)) return {};
    if (!isSampled(shadow.sample_rate, `shadow\n${id}`, 0)) return {};
    return {
      shadow: Promise.all(shadow.versions.map((version) => this.#runShadow(name, version, id, request))),
    };
  }

  async #runShadow(name: string, version: number, id: string, request: InferenceRequest): Promise<ShadowRun> {
    try {
      const ref = await this.#repository.resolve(name, { kind: 'number', version });
      const { model } = await this.#loader.get(ref);
      assertServable(model);
      const feeds = decodeInputs(request.inputs, model.signature.inputs);
      const modelOutputs = model.signature.outputs.map((output) => output.name);
      // Every output of the shadow, whatever the request selected: they are only captured.
      const fetches = selectOutputs(undefined, modelOutputs);
      const started = performance.now();
      const results = await run(model, feeds, fetches);
      const inferMs = performance.now() - started;
      const outputs = encodeOutputs(results, undefined);
      const rows = predictionRows(model.signature, ref.config.feature_names, request, outputs);
      return {
        version: String(model.version),
        ok: true,
        response: { model_name: model.name, model_version: String(model.version), id, outputs },
        capture: { request, rows, settings: captureSettings(ref.config), feeds },
        inferMs,
      };
    } catch (error) {
      return { version: String(version), ok: false, error };
    }
  }

  async #load(
    name: string,
    version: string | undefined,
  ): Promise<{ model: LoadedModel; stats: ModelCallStats; config: ModelConfig }> {
    return this.#loadResolved(await this.resolveModel(name, version));
  }

  async #loadResolved(
    ref: ResolvedModel,
  ): Promise<{ model: LoadedModel; stats: ModelCallStats; config: ModelConfig }> {
    const { model, cacheHit, loadMs } = await this.#loader.get(ref);
    assertServable(model);
    return {
      model,
      stats: { model: model.name, version: String(model.version), cacheHit, loadMs },
      config: ref.config,
    };
  }
}

/** Rows of a request: the first dimension of its first input (1 for a scalar). */
function batchSize(shape: readonly number[] | undefined): number {
  const first = shape?.[0];
  return first === undefined ? 1 : first;
}

/**
 * The optional body of a repository load or unload request: `{}` or `{"parameters": {...}}`
 * (absent means no parameters).
 */
function repositoryParameters(body: unknown, what: string): Record<string, unknown> {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestError(
      `${what} request body: expected a JSON object, got ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}`,
    );
  }
  const parameters = (body as Record<string, unknown>).parameters;
  if (parameters === undefined || parameters === null) return {};
  if (typeof parameters !== 'object' || Array.isArray(parameters)) {
    throw new BadRequestError(`${what} request: 'parameters' must be a JSON object`);
  }
  return parameters as Record<string, unknown>;
}
function metadataTensor(spec: TensorSpec) {
  // The protocol has no way to say "any rank"; a single free dimension is the closest honest answer.
  return { name: spec.name, datatype: spec.datatype, shape: spec.shape ?? [-1] };
}

async function run(
  model: LoadedModel,
  feeds: Record<string, Tensor>,
  fetches: string[],
): Promise<InferenceSession.ReturnType> {
  try {
    return await model.session.run(feeds, fetches);
  } catch (error) {
    if (error instanceof ServingError) throw error;
    // Inputs already passed the model's declared types and shapes, so what is left is a
    // data-dependent failure of the graph (e.g. an invalid target shape): the caller's to fix.
    throw new BadRequestError(
      `model '${model.name}' version ${model.version} rejected the inputs: ${runtimeReason(error)}`,
      { cause: error },
    );
  }
}

/** The first line of an onnxruntime message, without the native source location prefix. */
export function runtimeReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split('\n')[0] ?? '';
  return firstLine.replace(/^\[[^\]]*\]\s*/, '').slice(0, 300);
}
