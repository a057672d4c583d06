import type { ModelConfig } from '../repository/model-config.ts';
import type { Datatype, ModelSignature, TensorSpec } from '../types.ts';

/** Triton's platform name for ONNX Runtime models. */
export const TRITON_PLATFORM = 'onnxruntime_onnx';

/**
 * The `max_batch_size` reported for models whose every input and output has a free first
 * dimension. Nothing in the server batches requests or caps the batch size: the real limit is
 * the request body size. Triton clients read a positive value as "the first dimension is the
 * batch", which is what matters to them.
 */
export const NOMINAL_MAX_BATCH_SIZE = 1024;

/** Open Inference Protocol datatype → Triton's model configuration `data_type`. */
export const TRITON_DATA_TYPE = {
  BOOL: 'TYPE_BOOL',
  UINT8: 'TYPE_UINT8',
  UINT16: 'TYPE_UINT16',
  UINT32: 'TYPE_UINT32',
  UINT64: 'TYPE_UINT64',
  INT8: 'TYPE_INT8',
  INT16: 'TYPE_INT16',
  INT32: 'TYPE_INT32',
  INT64: 'TYPE_INT64',
  FP16: 'TYPE_FP16',
  FP32: 'TYPE_FP32',
  FP64: 'TYPE_FP64',
  BYTES: 'TYPE_STRING',
} as const satisfies Record<Datatype, string>;

/** One input of Triton's `ModelConfig` (JSON form). */
export interface TritonModelInput {
  name: string;
  data_type: string;
  format: 'FORMAT_NONE';
  dims: number[];
  is_shape_tensor: false;
  allow_ragged_batch: false;
  optional: false;
}

/** One output of Triton's `ModelConfig` (JSON form). */
export interface TritonModelOutput {
  name: string;
  data_type: string;
  dims: number[];
  label_filename: string;
  is_shape_tensor: false;
}

/** The subset of Triton's `ModelConfig` message this server can state truthfully. */
export interface TritonModelConfig {
  name: string;
  platform: string;
  backend: string;
  version_policy: { all: Record<string, never> };
  max_batch_size: number;
  input: TritonModelInput[];
  output: TritonModelOutput[];
  instance_group: { name: string; kind: 'KIND_CPU'; count: number }[];
  default_model_filename: string;
  /** This product's config.json settings, each as Triton's `{ "string_value": … }`. */
  parameters: Record<string, { string_value: string }>;
}

/**
 * Describes a loaded model version in the JSON shape of Triton's model configuration
 * (`GET /v2/models/{name}/config`): inputs and outputs from the ONNX signature, the batch
 * dimension inferred as Triton's auto-complete does (every input and output has a free first
 * dimension → `max_batch_size > 0` and `dims` without it), and `config.json` in `parameters`.
 * Every version present in the repository is served (`version_policy: all`); which one answers
 * when none is named is `parameters.default_version` when config.json pins one, else the highest.
 *
 * @example
 * ```ts
 * tritonModelConfig('iris', signature, {});
 * // { name: 'iris', platform: 'onnxruntime_onnx', max_batch_size: 1024, input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [4], … }], … }
 * ```
 */
export function tritonModelConfig(
  name: string,
  signature: ModelSignature,
  config: ModelConfig,
): TritonModelConfig {
  const tensors = [...signature.inputs, ...signature.outputs];
  const batched = tensors.length > 0 && tensors.every((spec) => spec.shape !== null && spec.shape[0] === -1);
  const dims = (spec: TensorSpec): number[] => {
    if (spec.shape === null) return [-1];
    return batched ? spec.shape.slice(1) : [...spec.shape];
  };
  return {
    name,
    platform: TRITON_PLATFORM,
    backend: 'onnxruntime',
    version_policy: { all: {} },
    max_batch_size: batched ? NOMINAL_MAX_BATCH_SIZE : 0,
    input: signature.inputs.map((spec) => ({
      name: spec.name,
      data_type: TRITON_DATA_TYPE[spec.datatype],
      format: 'FORMAT_NONE',
      dims: dims(spec),
      is_shape_tensor: false,
      allow_ragged_batch: false,
      optional: false,
    })),
    output: signature.outputs.map((spec) => ({
      name: spec.name,
      data_type: TRITON_DATA_TYPE[spec.datatype],
      dims: dims(spec),
      label_filename: '',
      is_shape_tensor: false,
    })),
    instance_group: [{ name, kind: 'KIND_CPU', count: 1 }],
    default_model_filename: 'model.onnx',
    parameters: configParameters(config),
  };
}

function configParameters(config: ModelConfig): Record<string, { string_value: string }> {
  const parameters: Record<string, { string_value: string }> = {};
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    parameters[key] = { string_value: typeof value === 'string' ? value : JSON.stringify(value) };
  }
  return parameters;
}
