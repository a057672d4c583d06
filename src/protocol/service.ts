import { randomUUID } from 'node:crypto';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { captureSettings, type InferCapture, predictionIds, predictionRows } from '../capture/api-capture.ts';
import { attachBinaryInputs, binaryOutputSelection } from '../codec/binary.ts';
import { decodeInputs } from '../codec/decode.ts';
import { encodeOutputs, selectOutputs } from '../codec/encode.ts';
import { parseInferenceRequest } from '../codec/parse-request.ts';
import { BadRequestError, ServingError } from '../errors.ts';
import type { ModelConfig } from '../repository/model-config.ts';
import type { ModelRepository } from '../repository/model-repository.ts';
import { assertModelName, parseVersionSelector } from '../repository/names.ts';
import { assertServable, type LoadedModel, type ModelLoader } from '../runtime/model-loader.ts';
import type { InferenceResponse, TensorSpec } from '../types.ts';

/** The ONNX platform name of the Open Inference Protocol model metadata. */
export const PLATFORM = 'onnx_onnxv1';

/** Protocol extensions this server implements, as listed in server metadata. */
export const EXTENSIONS: readonly string[] = ['model_repository', 'binary_tensor_data', 'outcomes'];

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
  state: 'AVAILABLE' | 'UNAVAILABLE';
  reason?: string;
}

export interface InferResult {
  /** The protocol response, every output with its values in `data`. */
  response: InferenceResponse;
  stats: InferStats;
  capture: InferCapture;
  /** Outputs the request asked for as binary data, and the tensors to take their bytes from. */
  binary?: { names: ReadonlySet<string>; results: Record<string, Tensor> };
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

  constructor(options: { repository: ModelRepository; loader: ModelLoader; server: ServerInfo }) {
    this.#repository = options.repository;
    this.#loader = options.loader;
    this.#server = options.server;
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
    return {
      body: {
        name: model.name,
        versions: versions.map(String),
        platform: PLATFORM,
        inputs: model.signature.inputs.map(metadataTensor),
        outputs: model.signature.outputs.map(metadataTensor),
      },
      stats,
    };
  }

  /** Loads the model if needed: ready means the next inference will not wait for a load. */
  async modelReady(name: string, version: string | undefined) {
    const { model, stats } = await this.#load(name, version);
    return { body: { name: model.name, version: String(model.version), ready: true }, stats };
  }

  /**
   * Index of every model and version in the repository (the `model_repository` extension):
   * `AVAILABLE`, or `UNAVAILABLE` with the reason when model validation refused the version.
   */
  async repositoryIndex(): Promise<RepositoryIndexEntry[]> {
    const index: RepositoryIndexEntry[] = [];
    for (const name of await this.#repository.listModels()) {
      for (const { version, invalidReason } of await this.#repository.versionStates(name)) {
        index.push(
          invalidReason === undefined
            ? { name, version: String(version), state: 'AVAILABLE' }
            : {
                name,
                version: String(version),
                state: 'UNAVAILABLE',
                reason: `failed validation: ${invalidReason}`,
              },
        );
      }
    }
    return index;
  }

  /**
   * Runs an inference. A tabular request of N > 1 rows is N predictions, whose ids
   * (`{id}:{row}`) the response lists in `parameters.prediction_ids`; `capture` is what the
   * caller needs to capture the predictions once it has answered.
   */
  async infer(
    name: string,
    version: string | undefined,
    body: unknown,
    binary?: Uint8Array,
  ): Promise<InferResult> {
    // Parsed before the model is resolved: a malformed request costs no S3 call.
    const request = parseInferenceRequest(body);
    attachBinaryInputs(request, binary);
    const binaryOutputs = binaryOutputSelection(request);
    const { model, stats, config } = await this.#load(name, version);
    const feeds = decodeInputs(request.inputs, model.signature.inputs);
    const modelOutputs = model.signature.outputs.map((output) => output.name);
    const fetches = selectOutputs(request.outputs, modelOutputs);
    const started = performance.now();
    const results = await run(model, feeds, fetches);
    const inferMs = performance.now() - started;
    const id = request.id ?? randomUUID();
    const outputs = encodeOutputs(results, request.outputs);
    const rows = predictionRows(model.signature, config.feature_names, request, outputs);
    const binaryNames = binaryOutputs(modelOutputs);
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
    };
  }

  async #load(
    name: string,
    version: string | undefined,
  ): Promise<{ model: LoadedModel; stats: ModelCallStats; config: ModelConfig }> {
    assertModelName(name);
    const selector = parseVersionSelector(version);
    const ref = await this.#repository.resolve(name, selector);
    const { model, cacheHit, loadMs } = await this.#loader.get(ref);
    assertServable(model);
    return {
      model,
      stats: { model: model.name, version: String(model.version), cacheHit, loadMs },
      config: ref.config,
    };
  }
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
