/** Open Inference Protocol datatypes, in the protocol's spelling. */
export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;
export type Datatype = (typeof DATATYPES)[number];

/**
 * One input or output of a model as the protocol describes it. `shape` uses `-1` for a free
 * dimension; `null` means the model does not declare the rank at all.
 */
export interface TensorSpec {
  name: string;
  datatype: Datatype;
  shape: number[] | null;
}

/** What a model takes and returns, derived from the ONNX graph. */
export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** Scalar that may appear in a tensor's JSON `data`. int64/uint64 outside 2^53 stay `bigint`. */
export type TensorElement = number | bigint | string | boolean;

export interface RequestInput {
  name: string;
  shape: number[];
  datatype: Datatype;
  parameters?: Record<string, unknown>;
  /** JSON values; absent when the input comes as binary data. */
  data: unknown;
  /** `parameters.binary_data_size`: the input's values are this many bytes of binary data. */
  binaryDataSize?: number;
  /** Those bytes, once the body's binary part has been split among the inputs. */
  binary?: Uint8Array;
}

export interface RequestOutput {
  name: string;
  parameters?: Record<string, unknown>;
}

export interface InferenceRequest {
  id?: string;
  parameters?: Record<string, unknown>;
  inputs: RequestInput[];
  outputs?: RequestOutput[];
}

export interface ResponseOutput {
  name: string;
  shape: number[];
  datatype: Datatype;
  parameters?: Record<string, unknown>;
  data: TensorElement[];
}

export interface InferenceResponse {
  model_name: string;
  model_version?: string;
  id: string;
  parameters?: Record<string, unknown>;
  outputs: ResponseOutput[];
}
