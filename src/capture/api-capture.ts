/**
 * Capture records of API predictions. The protocol service decides, when it answers, which rows
 * of a request are predictions of their own (`predictionRows`) and names them in the response;
 * after the response is made, the HTTP app turns request, response and that plan into capture
 * records (`buildApiCaptures`), which the http handler writes as log lines (log-line.ts).
 */

import type { Tensor } from 'onnxruntime-node';
import { tensorElements } from '../codec/encode.ts';
import { NumberArrayText } from '../codec/number-arrays.ts';
import type { ModelConfig } from '../repository/model-config.ts';
import type {
  InferenceRequest,
  InferenceResponse,
  ModelSignature,
  RequestInput,
  ResponseOutput,
} from '../types.ts';
import {
  type CapturedInputs,
  type CaptureRecord,
  captureTensor,
  createCaptureRecord,
  type FeatureValue,
  isSampled,
  MAX_CAPTURED_ELEMENTS,
} from './record.ts';

/**
 * A tabular request split into rows: its single input is the model's `[N, F]` input with one
 * column per `feature_names` entry, and every output is batch-major (`[N, …]`), so row `r` of the
 * input and row `r` of each output make one prediction.
 */
export interface PredictionRows {
  inputName: string;
  featureNames: readonly string[];
  /** N: rows of the request, each a prediction. */
  count: number;
}

/** Whether and how often a model's predictions are captured, from its `config.json`. */
export interface CaptureSettings {
  enabled: boolean;
  /** 0 to 1. */
  sampleRate: number;
}

/** What the HTTP app needs after an inference to build its capture records. */
export interface InferCapture {
  request: InferenceRequest;
  /** The decoded inputs: the values of inputs that came as binary data are read from here. */
  feeds?: Record<string, Tensor>;
  /** Present when the request was split into one prediction per row. */
  rows?: PredictionRows;
  settings: CaptureSettings;
}

/**
 * A model's capture settings: `capture.enabled` (default true) and `capture.sample_rate` (default
 * 1, every prediction). A disabled model captures nothing, whatever its rate.
 *
 * @example
 * ```ts
 * captureSettings({ capture: { sample_rate: 0.1 } }); // { enabled: true, sampleRate: 0.1 }
 * captureSettings({});                                // { enabled: true, sampleRate: 1 }
 * ```
 */
export function captureSettings(config: ModelConfig): CaptureSettings {
  const enabled = config.capture?.enabled ?? true;
  return { enabled, sampleRate: enabled ? (config.capture?.sample_rate ?? 1) : 0 };
}

/**
 * The row plan of a request, or `undefined` when it is one prediction as a whole. A request is
 * split when the model is tabular (`feature_names` in its config, one input) and the request's
 * only input is that input with shape `[N, F]`, F the number of features, and every output of the
 * response has N rows. With N = 1 the outputs are kept whole whatever their shape.
 *
 * @example
 * ```ts
 * predictionRows(signature, ['a', 'b'], request, response.outputs);
 * // { inputName: 'input', featureNames: ['a', 'b'], count: 3 } for a [3, 2] input
 * ```
 */
export function predictionRows(
  signature: ModelSignature,
  featureNames: readonly string[] | undefined,
  request: InferenceRequest,
  outputs: readonly ResponseOutput[],
): PredictionRows | undefined {
  if (featureNames === undefined || featureNames.length === 0) return undefined;
  if (signature.inputs.length !== 1 || request.inputs.length !== 1) return undefined;
  const [input] = request.inputs;
  if (input === undefined || input.name !== signature.inputs[0]?.name) return undefined;
  const [count, width] = input.shape;
  if (input.shape.length !== 2 || count === undefined || width !== featureNames.length) return undefined;
  if (count === 0) return undefined;
  if (count > 1 && !outputs.every((output) => output.shape[0] === count)) return undefined;
  return { inputName: input.name, featureNames, count };
}

/**
 * The prediction ids of a response: its `id` when it is one prediction, `{id}:{row}` (rows from 0)
 * for each row of a request split into several. Outcomes refer to predictions by these ids.
 *
 * @example
 * ```ts
 * predictionIds('req-1', 1); // ['req-1']
 * predictionIds('req-1', 3); // ['req-1:0', 'req-1:1', 'req-1:2']
 * ```
 */
export function predictionIds(id: string, count: number): string[] {
  if (count === 1) return [id];
  return Array.from({ length: count }, (_, row) => `${id}:${row}`);
}

/**
 * Whether prediction `row` of the response `id` is captured at `rate`. Deterministic on the id and
 * row, so a client retrying a request with the same id gets the same decision.
 */
export function isPredictionSampled(rate: number, id: string, row: number): boolean {
  return isSampled(rate, id, row);
}

/**
 * The capture records of one answered inference: one per row of a split request, else one for
 * the request, keeping only the predictions sampled at the model's rate. Inputs of a split request
 * are features by name; otherwise the request's tensors (summarised beyond `maxElements`).
 *
 * Cost is linear in the request's elements (one flattening of the input) plus the captured
 * outputs; nothing is awaited.
 *
 * @example
 * ```ts
 * const records = buildApiCaptures({ capture, response, inferMs: 0.4, ts: new Date() });
 * ```
 */
export function buildApiCaptures(options: {
  capture: InferCapture;
  response: InferenceResponse;
  /** `session.run` time of the request; each row gets its share. */
  inferMs: number;
  ts: Date;
  maxElements?: number;
}): CaptureRecord[] {
  const { capture, response, inferMs, ts } = options;
  const { settings, rows, request } = capture;
  const max = options.maxElements ?? MAX_CAPTURED_ELEMENTS;
  if (!settings.enabled || settings.sampleRate <= 0) return [];
  const common = {
    ts,
    model: response.model_name,
    version: response.model_version ?? '',
    source: 'api' as const,
  };

  if (rows === undefined) {
    if (!isPredictionSampled(settings.sampleRate, response.id, 0)) return [];
    const inputs: CapturedInputs = request.inputs.map((input) =>
      captureTensor(
        {
          name: input.name,
          datatype: input.datatype,
          shape: input.shape,
          data: tensorValues(capture, input, max),
        },
        max,
      ),
    );
    return [
      createCaptureRecord({
        ...common,
        id: response.id,
        inputs,
        outputs: response.outputs.map((output) => captureTensor(output, max)),
        latencyMs: inferMs,
      }),
    ];
  }

  const ids = predictionIds(response.id, rows.count);
  const width = rows.featureNames.length;
  const values = (
    request.inputs[0] === undefined ? [] : inputValues(capture, request.inputs[0])
  ) as FeatureValue[];
  const records: CaptureRecord[] = [];
  for (let row = 0; row < rows.count; row++) {
    if (!isPredictionSampled(settings.sampleRate, response.id, row)) continue;
    records.push(
      createCaptureRecord({
        ...common,
        id: ids[row] as string,
        inputs: featureMap(rows.featureNames, values, row * width),
        outputs: rowOutputs(response.outputs, rows.count, row).map((output) => captureTensor(output, max)),
        latencyMs: inferMs / rows.count,
      }),
    );
  }
  return records;
}

/** Row `row` of batch-major outputs, as `[1, …]` tensors; with one row, the outputs whole. */
function rowOutputs(outputs: readonly ResponseOutput[], count: number, row: number): ResponseOutput[] {
  if (count === 1) return [...outputs];
  return outputs.map((output) => {
    const rest = output.shape.slice(1);
    const size = rest.reduce((product, dim) => product * dim, 1);
    return {
      name: output.name,
      datatype: output.datatype,
      shape: [1, ...rest],
      data: output.data.slice(row * size, (row + 1) * size),
    };
  });
}

function featureMap(
  names: readonly string[],
  values: readonly FeatureValue[],
  offset: number,
): Record<string, FeatureValue> {
  // No prototype, so a feature named '__proto__' is a plain key like any other.
  const map: Record<string, FeatureValue> = Object.create(null);
  for (let index = 0; index < names.length; index++) {
    map[names[index] as string] = values[offset + index] as FeatureValue;
  }
  return map;
}

/**
 * An input captured as a tensor: as `inputValues`, except that an FP32 input of more than `max`
 * elements, which the record only summarises, is summarised from the float32 values the model
 * received (no second pass over its JSON).
 */
function tensorValues(
  capture: InferCapture,
  input: RequestInput,
  max: number,
): readonly unknown[] | Float32Array {
  const tensor = capture.feeds?.[input.name];
  if (
    input.binary === undefined &&
    input.datatype === 'FP32' &&
    tensor?.data instanceof Float32Array &&
    tensor.size > max
  ) {
    return tensor.data;
  }
  return inputValues(capture, input);
}

/** An input's values, flat: from its JSON data, or from the decoded tensor for binary data. */
function inputValues(capture: InferCapture, input: RequestInput): unknown[] {
  const tensor = input.binary !== undefined ? capture.feeds?.[input.name] : undefined;
  return tensor !== undefined ? tensorElements(tensor) : flatten(input.data);
}

function flatten(data: unknown): unknown[] {
  if (data instanceof NumberArrayText) return data.toArray();
  return Array.isArray(data) ? data.flat(Number.POSITIVE_INFINITY) : [data];
}
