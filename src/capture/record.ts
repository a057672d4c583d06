/**
 * The prediction capture record: one JSON line per prediction, written under
 * `captures/{model}/{yyyy}/{MM}/{dd}/{HH}/…` (docs/captures.md) by batch scoring directly and, for the
 * API, by the log pipeline. The schema is documented in docs/captures.md; drift checks read it.
 */
import { stringifyJson } from '../codec/json.ts';
import type { Datatype, TensorElement } from '../types.ts';

export const CAPTURES_PREFIX = 'captures/';
/** Version of the record layout, written in every record as `schema`. */
export const CAPTURE_SCHEMA_VERSION = 1;
/** Tensors with more elements than this are summarised instead of copied. */
export const MAX_CAPTURED_ELEMENTS = 64;

export const CAPTURE_SOURCES = ['api', 'batch'] as const;
export type CaptureSource = (typeof CAPTURE_SOURCES)[number];

/** A value of a tabular feature. */
export type FeatureValue = number | string | boolean;

/** A tensor as captured: its data when small, otherwise a summary and `truncated: true`. */
export interface CapturedTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  /** Flat, row-major; absent when `truncated`. */
  data?: TensorElement[];
  truncated?: true;
  /** Present when `truncated`: element count, and min/max/mean of the numeric elements. */
  summary?: TensorSummary;
}

export interface TensorSummary {
  count: number;
  min?: number;
  max?: number;
  mean?: number;
}

/** Inputs of a tabular model keyed by feature name, or tensors for any other model. */
export type CapturedInputs = Record<string, FeatureValue> | CapturedTensor[];

export interface CaptureRecord {
  schema: typeof CAPTURE_SCHEMA_VERSION;
  /** Prediction id: the request or row id, as returned to the caller; outcomes join on it. */
  id: string;
  /** When the prediction was made, ISO 8601 UTC. */
  ts: string;
  model: string;
  version: string;
  source: CaptureSource;
  inputs: CapturedInputs;
  /**
   * Tensor inputs only: per input, its mean, std, min, max, L2 norm and NaN share in this
   * prediction, named `{input}.{stat}` (see input-stats.ts); what drift checks compare.
   */
  input_stats?: Record<string, number | null>;
  outputs: CapturedTensor[];
  /** Inference time of this prediction; for batch rows, their share of the micro-batch's run. */
  latency_ms: number;
  /** True when any input or output tensor was summarised rather than copied. */
  truncated?: true;
  /** Where a batch row came from: the input object and its 1-based line. */
  origin?: { key: string; line: number };
  /**
   * True for a shadow version's prediction: the same id as the answered one, never returned to
   * the caller (docs/model-repository.md, rollouts).
   */
  shadow?: true;
}

/** A tensor with its flat data, as the codec produces it. */
export interface TensorLike {
  name: string;
  datatype: Datatype;
  shape: number[];
  /** Elements, or a Float32Array of them (a decoded FP32 tensor). */
  data: readonly unknown[] | Float32Array;
}

/**
 * Captures a tensor: a copy of its data up to `maxElements` elements, else a summary marked
 * `truncated`.
 *
 * @example
 * ```ts
 * captureTensor({ name: 'p', datatype: 'FP32', shape: [1, 2], data: [0.2, 0.8] });
 * // { name: 'p', datatype: 'FP32', shape: [1, 2], data: [0.2, 0.8] }
 * ```
 */
export function captureTensor(tensor: TensorLike, maxElements = MAX_CAPTURED_ELEMENTS): CapturedTensor {
  const { name, datatype, shape, data } = tensor;
  if (data.length <= maxElements) {
    return {
      name,
      datatype,
      shape: [...shape],
      data: (data instanceof Float32Array ? Array.from(data) : data) as TensorElement[],
    };
  }
  return { name, datatype, shape: [...shape], truncated: true, summary: summarise(data) };
}

/** What a capture record is made of (`createCaptureRecord`, `captureRecordLine`). */
export interface CaptureRecordFields {
  id: string;
  ts: Date;
  model: string;
  version: string;
  source: CaptureSource;
  inputs: CapturedInputs;
  inputStats?: Record<string, number | null>;
  outputs: CapturedTensor[];
  latencyMs: number;
  origin?: { key: string; line: number };
}

/**
 * Builds a capture record; `truncated` is set when any tensor was summarised.
 *
 * @example
 * ```ts
 * const record = createCaptureRecord({
 *   id: '42', ts: new Date(), model: 'iris', version: '1', source: 'batch',
 *   inputs: { sepal_length_cm: 5.1, sepal_width_cm: 3.5, petal_length_cm: 1.4, petal_width_cm: 0.2 },
 *   outputs: [captureTensor({ name: 'label', datatype: 'INT64', shape: [1], data: [0] })],
 *   latencyMs: 0.02,
 * });
 * ```
 */
export function createCaptureRecord(fields: CaptureRecordFields): CaptureRecord {
  const tensors = Array.isArray(fields.inputs) ? [...fields.inputs, ...fields.outputs] : fields.outputs;
  const truncated = tensors.some((tensor) => tensor.truncated === true);
  return {
    schema: CAPTURE_SCHEMA_VERSION,
    id: fields.id,
    ts: fields.ts.toISOString(),
    model: fields.model,
    version: fields.version,
    source: fields.source,
    inputs: fields.inputs,
    ...(fields.inputStats === undefined ? {} : { input_stats: fields.inputStats }),
    outputs: fields.outputs,
    latency_ms: Math.round(fields.latencyMs * 1000) / 1000,
    ...(truncated ? { truncated: true as const } : {}),
    ...(fields.origin === undefined ? {} : { origin: fields.origin }),
  };
}

/** One JSON line (with its newline); int64 values beyond 2^53 stay exact. */
export function serializeCaptureRecord(record: CaptureRecord): string {
  return `${toJsonLine(record)}\n`;
}

/**
 * Feature names prepared for writing rows of their values as JSON objects (`featureInputsJson`):
 * each key's JSON, in the order `JSON.stringify` writes a map of them (integer-like names first,
 * a repeated name once, holding its last value).
 */
export interface FeatureKeys {
  /** `"name":` per key of the map, in its order. */
  keys: string[];
  /** `,"name":`: the same, after a member. */
  nextKeys: string[];
  /** The index in the feature values of each key's value. */
  indices: number[];
}

/**
 * Prepares `names` for `featureInputsJson`; once per model or file, not per row.
 *
 * @example
 * ```ts
 * featureKeys(['b', 'a']); // { keys: ['"b":', '"a":'], nextKeys: [',"b":', ',"a":'], indices: [1, 0] }
 * ```
 */
export function featureKeys(names: readonly string[]): FeatureKeys {
  // The same map the record would hold, with positions as values: JavaScript orders its keys.
  const positions: Record<string, number> = Object.create(null);
  for (let index = 0; index < names.length; index++) positions[names[index] as string] = index;
  const ordered = Object.keys(positions);
  const keys = ordered.map((name) => `${JSON.stringify(name)}:`);
  return {
    keys,
    nextKeys: keys.map((key) => `,${key}`),
    indices: ordered.map((name) => positions[name] as number),
  };
}

/**
 * The JSON of feature inputs `{name: value}` for values `offset`… of `values`, written straight
 * from the values: the text `JSON.stringify` gives for the map a record would hold. `valueJson`,
 * when given, holds per value its JSON text when already known (`''` when not), which is copied
 * instead of formatting the number again.
 *
 * @example
 * ```ts
 * featureInputsJson(featureKeys(['a', 'b']), [1.5, 2]); // '{"a":1.5,"b":2}'
 * ```
 */
export function featureInputsJson(
  features: FeatureKeys,
  values: readonly unknown[],
  offset = 0,
  valueJson?: readonly string[],
): string {
  const { keys, nextKeys, indices } = features;
  // Pieces joined once: a flat string, where `+=` would leave a rope of thousands of short-lived
  // pieces per row for the collector (records wait in a batch's buffer before they are written).
  const parts: string[] = ['{'];
  for (let k = 0; k < keys.length; k++) {
    const index = indices[k] as number;
    const known = valueJson === undefined ? '' : (valueJson[index] ?? '');
    const part = known === '' ? featureValueJson(values[offset + index]) : known;
    if (part === undefined) continue;
    parts.push((parts.length === 1 ? keys[k] : nextKeys[k]) as string, part);
  }
  parts.push('}');
  return parts.join('');
}

/**
 * A capture record's JSON line (with its newline) from its fields, with the inputs given as JSON
 * text and whether any input tensor was summarised: exactly
 * `serializeCaptureRecord(createCaptureRecord(fields))`, without building the record.
 *
 * @example
 * ```ts
 * const inputs = featureInputsJson(keys, row.values);
 * writer.write(captureRecordLine({ id, ts, model, version, source: 'batch', outputs, latencyMs }, { json: inputs, truncated: false }));
 * ```
 */
export function captureRecordLine(
  fields: Omit<CaptureRecordFields, 'inputs'>,
  inputs: { json: string; truncated: boolean; stats?: Record<string, number | null> },
): string {
  const truncated = inputs.truncated || fields.outputs.some((tensor) => tensor.truncated === true);
  const latency = Math.round(fields.latencyMs * 1000) / 1000;
  let text = `{"schema":${CAPTURE_SCHEMA_VERSION},"id":${JSON.stringify(fields.id)},"ts":${JSON.stringify(
    fields.ts.toISOString(),
  )},"model":${JSON.stringify(fields.model)},"version":${JSON.stringify(fields.version)},"source":${JSON.stringify(
    fields.source,
  )},"inputs":${inputs.json}${
    inputs.stats === undefined ? '' : `,"input_stats":${toJsonLine(inputs.stats)}`
  },"outputs":${toJsonLine(fields.outputs)},"latency_ms":${toJsonLine(latency)}`;
  if (truncated) text += ',"truncated":true';
  if (fields.origin !== undefined) text += `,"origin":${toJsonLine(fields.origin)}`;
  return `${text}}\n`;
}

/** The JSON of a feature value as `JSON.stringify` writes it in an object; `undefined` leaves the key out. */
function featureValueJson(value: unknown): string | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      // null, bigint (int64 beyond 2^53), objects; undefined and functions leave the key out.
      return toJsonLine(value) as string | undefined;
  }
}

/**
 * `JSON.stringify`, falling back to `stringifyJson` only for values holding a `bigint` (int64
 * beyond 2^53), which the native one refuses: the same text, at native speed for everything else.
 */
export function toJsonLine(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (error instanceof TypeError) return stringifyJson(value);
    throw error;
  }
}

/** True when the inputs are tabular features keyed by name (not tensors). */
export function isFeatureInputs(inputs: CapturedInputs): inputs is Record<string, FeatureValue> {
  return !Array.isArray(inputs);
}

/**
 * The folder of captures for `model` in the hour of `time` (UTC):
 * `captures/{model}/{yyyy}/{MM}/{dd}/{HH}/`.
 *
 * @example
 * ```ts
 * captureFolder('iris', new Date('2026-03-04T05:06:07Z')); // 'captures/iris/2026/03/04/05/'
 * ```
 */
export function captureFolder(model: string, time: Date): string {
  const two = (value: number) => String(value).padStart(2, '0');
  return `${CAPTURES_PREFIX}${model}/${time.getUTCFullYear()}/${two(time.getUTCMonth() + 1)}/${two(
    time.getUTCDate(),
  )}/${two(time.getUTCHours())}/`;
}

/**
 * Deterministic sampling: whether item `index` of the stream identified by `seed` is kept at
 * `rate` (0 to 1). The same seed and index always give the same answer, so a re-run captures the
 * same rows.
 *
 * @example
 * ```ts
 * isSampled(1, 'seed', 7);   // true
 * isSampled(0, 'seed', 7);   // false
 * isSampled(0.1, 'seed', 7); // the same answer every time
 * ```
 */
export function isSampled(rate: number, seed: string, index: number): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  return mix(hashString(seed) ^ index) / 0x1_0000_0000 < rate;
}

function summarise(data: readonly unknown[] | Float32Array): TensorSummary {
  let count = 0;
  let numeric = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (const element of data) {
    count += 1;
    const value = typeof element === 'bigint' ? Number(element) : element;
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    numeric += 1;
    if (value < min) min = value;
    if (value > max) max = value;
    sum += value;
  }
  return numeric === 0 ? { count } : { count, min, max, mean: sum / numeric };
}

/** FNV-1a over UTF-16 code units: a cheap, stable 32-bit seed. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A 32-bit finaliser (murmur3's fmix32): spreads consecutive indices over the whole range. */
function mix(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
