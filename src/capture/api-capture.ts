/**
 * Capture records of API predictions. The protocol service decides, when it answers, which rows
 * of a request are predictions of their own (`predictionRows`) and names them in the response;
 * after the response is made, the HTTP app turns request, response and that plan into capture
 * records (`buildApiCaptures`), which the http handler writes as log lines (log-line.ts).
 */

import type { Tensor } from 'onnxruntime-node';
import { type TabularSchema, tabularSchema } from '../batch/tabular.ts';
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
import { addInputStats } from './input-stats.ts';
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
 * A tabular request split into rows: its inputs are the model's `[N, F]` input with one column
 * per feature, or the model's column inputs (`[N, 1]` or `[N]`, one per feature), and every
 * output is batch-major (`[N, …]`), so row `r` of the inputs and row `r` of each output make one
 * prediction.
 */
export interface PredictionRows {
  /** `tensors`: a model whose inputs are not named features; every input is `[N, …]`. */
  layout: 'matrix' | 'columns' | 'tensors';
  /** `matrix`: the input; `columns`: the first column's input. */
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

const schemas = new WeakMap<
  ModelSignature,
  { names: readonly string[] | undefined; schema: TabularSchema | undefined }
>();

/** `tabularSchema` of a loaded model, worked out once per signature and feature names. */
function cachedSchema(signature: ModelSignature, featureNames: readonly string[] | undefined) {
  const cached = schemas.get(signature);
  if (cached !== undefined && cached.names === featureNames) return cached.schema;
  const { schema } = tabularSchema('', signature, featureNames);
  schemas.set(signature, { names: featureNames, schema });
  return schema;
}

/**
 * The row plan of a request, or `undefined` when it is one prediction as a whole. A request is
 * split when the model is tabular (see `tabularSchema`: one `[N, F]` input, named by
 * `feature_names` or `f0…`, or one `[N, 1]`/`[N]` input per feature) and the request's inputs are
 * exactly those, N rows each, and every output of the response has N rows. With N = 1 the
 * outputs are kept whole whatever their shape.
 *
 * @example
 * ```ts
 * predictionRows(signature, ['a', 'b'], request, response.outputs);
 * // { layout: 'matrix', inputName: 'input', featureNames: ['a', 'b'], count: 3 } for a [3, 2] input
 * ```
 */
export function predictionRows(
  signature: ModelSignature,
  featureNames: readonly string[] | undefined,
  request: InferenceRequest,
  outputs: readonly ResponseOutput[],
): PredictionRows | undefined {
  const schema = cachedSchema(signature, featureNames);
  if (schema === undefined) return tensorRows(request, outputs);
  let count: number | undefined;
  if (schema.layout === 'matrix') {
    if (request.inputs.length !== 1) return undefined;
    const [input] = request.inputs;
    if (input === undefined || input.name !== schema.inputName) return undefined;
    const [rows, width] = input.shape;
    if (input.shape.length !== 2 || width !== schema.featureNames.length) return undefined;
    count = rows;
  } else {
    if (request.inputs.length !== schema.featureNames.length) return undefined;
    for (const input of request.inputs) {
      const rank = input.shape.length;
      if (!(rank === 1 || (rank === 2 && input.shape[1] === 1))) return undefined;
      if (count !== undefined && input.shape[0] !== count) return undefined;
      count = input.shape[0];
    }
  }
  if (count === undefined || count === 0) return undefined;
  if (count > 1 && !outputs.every((output) => output.shape[0] === count)) return undefined;
  return { layout: schema.layout, inputName: schema.inputName, featureNames: schema.featureNames, count };
}

/**
 * The rows of a request to a model that is not tabular: when every input and every output is
 * `[N, …]` with the same N > 1, row `r` of each is one prediction (an image of a batch, a
 * sequence); else the request is one prediction.
 */
function tensorRows(
  request: InferenceRequest,
  outputs: readonly ResponseOutput[],
): PredictionRows | undefined {
  const count = request.inputs[0]?.shape[0];
  if (count === undefined || count < 2) return undefined;
  if (!request.inputs.every((input) => input.shape.length >= 2 && input.shape[0] === count)) return undefined;
  if (!outputs.every((output) => output.shape.length >= 1 && output.shape[0] === count)) return undefined;
  return { layout: 'tensors', inputName: request.inputs[0]?.name ?? '', featureNames: [], count };
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

  if (rows === undefined || rows.layout === 'tensors') {
    const count = rows?.count ?? 1;
    const ids = predictionIds(response.id, count);
    // FP32 tensors beyond the captured size come from the float32 values the model received.
    const values = request.inputs.map((input) => tensorValues(capture, input, max));
    const records: CaptureRecord[] = [];
    for (let row = 0; row < count; row++) {
      if (!isPredictionSampled(settings.sampleRate, response.id, row)) continue;
      const inputStats: Record<string, number | null> = {};
      const inputs: CapturedInputs = request.inputs.map((input, i) => {
        const data = values[i] as readonly unknown[] | Float32Array;
        const size = count === 1 ? data.length : data.length / count;
        addInputStats(inputStats, input.name, data, row * size, (row + 1) * size);
        const shape = count === 1 ? input.shape : [1, ...input.shape.slice(1)];
        const slice = count === 1 ? data : data.slice(row * size, (row + 1) * size);
        return captureTensor({ name: input.name, datatype: input.datatype, shape, data: slice }, max);
      });
      records.push(
        createCaptureRecord({
          ...common,
          id: ids[row] as string,
          inputs,
          inputStats,
          outputs: rowOutputs(response.outputs, count, row).map((output) => captureTensor(output, max)),
          latencyMs: inferMs / count,
        }),
      );
    }
    return records;
  }

  const ids = predictionIds(response.id, rows.count);
  const width = rows.featureNames.length;
  const records: CaptureRecord[] = [];
  let values: FeatureValue[];
  if (rows.layout === 'matrix') {
    values = (
      request.inputs[0] === undefined ? [] : inputValues(capture, request.inputs[0])
    ) as FeatureValue[];
  } else {
    // Column inputs, interleaved into rows of features in the model's feature order.
    const byName = new Map(request.inputs.map((input) => [input.name, input]));
    values = new Array<FeatureValue>(rows.count * width);
    rows.featureNames.forEach((name, f) => {
      const input = byName.get(name);
      const column = input === undefined ? [] : inputValues(capture, input);
      for (let r = 0; r < rows.count; r++) values[r * width + f] = column[r] as FeatureValue;
    });
  }
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
