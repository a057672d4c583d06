import type { FeatureValue } from '../capture/record.ts';
import { describeValue, formatShape, quote } from '../codec/describe.ts';
import { type DecimalRead, readDecimal } from '../text/decimal.ts';
import type { Datatype, ModelSignature } from '../types.ts';

/**
 * How rows of named features become the input of a tabular model: one input of shape `[N, F]`
 * whose columns are the `feature_names` of the model's config.json.
 */
export interface TabularSchema {
  inputName: string;
  datatype: Datatype;
  featureNames: string[];
  /** Rows per `session.run`: unbounded when the batch dimension is free, else its fixed size. */
  rowsPerRun: number;
}

/** A row that cannot be scored: its message says which field and why. */
export class RowError extends Error {
  override readonly name = 'RowError';
}

const FLOATS: ReadonlySet<Datatype> = new Set(['FP16', 'FP32', 'FP64']);
const INTEGERS: ReadonlySet<Datatype> = new Set([
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
]);
const WIDE_INTEGERS: ReadonlySet<Datatype> = new Set(['INT64', 'UINT64']);

/**
 * The tabular schema of a model, or why it has none: it needs `feature_names` in config.json and
 * exactly one input of rank 2 whose second dimension is free or the number of features.
 *
 * @example
 * ```ts
 * tabularSchema({ inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }], outputs }, names);
 * // { schema: { inputName: 'input', datatype: 'FP32', featureNames: names, rowsPerRun: Infinity } }
 * ```
 */
export function tabularSchema(
  model: string,
  signature: ModelSignature,
  featureNames: readonly string[] | undefined,
): { schema: TabularSchema; reason?: undefined } | { schema?: undefined; reason: string } {
  const label = `model '${model}'`;
  if (featureNames === undefined || featureNames.length === 0) {
    return {
      reason: `${label} has no feature_names in its config.json, so rows of named features cannot be mapped to its input`,
    };
  }
  if (signature.inputs.length !== 1) {
    return {
      reason: `${label} takes ${signature.inputs.length} inputs; rows of named features need a model with one [N, F] input`,
    };
  }
  const [input] = signature.inputs;
  if (input === undefined) return { reason: `${label} has no inputs` };
  const shape = input.shape;
  const features = featureNames.length;
  if (shape !== null && (shape.length !== 2 || (shape[1] !== -1 && shape[1] !== features))) {
    return {
      reason: `${label} input '${input.name}' has shape ${formatShape(shape)}; rows of ${features} named features need [N, ${features}]`,
    };
  }
  const batch = shape?.[0] ?? -1;
  return {
    schema: {
      inputName: input.name,
      datatype: input.datatype,
      featureNames: [...featureNames],
      rowsPerRun: batch > 0 ? batch : Number.POSITIVE_INFINITY,
    },
  };
}

/**
 * A feature value from CSV text, converted for the input's datatype: numbers for numeric types
 * (decimal digits for 64-bit integers beyond 2^53), `true`/`false`/`1`/`0` for BOOL, the text
 * itself for BYTES.
 *
 * @throws RowError naming the feature and what was wrong.
 */
export function featureFromText(text: string, datatype: Datatype, feature: string): FeatureValue {
  if (datatype === 'BYTES') return text;
  if (datatype === 'BOOL') {
    const word = text.trim().toLowerCase();
    if (word === 'true' || word === '1') return true;
    if (word === 'false' || word === '0') return false;
    throw new RowError(`feature ${quote(feature)}: expected true or false, got ${describeValue(text)}`);
  }
  const value = Number(text);
  if (value === 0 && text.trim() === '') throw new RowError(`feature ${quote(feature)}: value is empty`);
  if (!Number.isFinite(value)) {
    throw new RowError(`feature ${quote(feature)}: expected a number, got ${describeValue(text)}`);
  }
  if (INTEGERS.has(datatype)) {
    if (!Number.isInteger(value)) {
      throw new RowError(`feature ${quote(feature)}: expected an integer, got ${describeValue(text)}`);
    }
    if (!Number.isSafeInteger(value) && WIDE_INTEGERS.has(datatype)) {
      // The codec takes exact decimal strings for 64-bit integers a double cannot hold.
      const digits = text.trim().replace(/^\+/, '');
      if (/^-?[0-9]+$/.test(digits)) return digits;
    }
  }
  return value;
}

/** How CSV text of a datatype is read: plain decimals take `readDecimal`'s fast path for numbers. */
export type TextReading = 'float' | 'integer' | 'other';

export function textReading(datatype: Datatype): TextReading {
  if (FLOATS.has(datatype)) return 'float';
  return INTEGERS.has(datatype) ? 'integer' : 'other';
}

/**
 * `featureFromText`, faster for plain decimals (see `readDecimal`): the same value, and
 * `read.canonical` set when `text` is exactly the value's JSON (always false for BYTES and BOOL).
 * `reading` is `textReading(datatype)`, worked out once per file.
 *
 * @throws RowError as `featureFromText`.
 */
export function featureFromCsvText(
  text: string,
  datatype: Datatype,
  reading: TextReading,
  feature: string,
  read: DecimalRead,
): FeatureValue {
  if (
    reading !== 'other' &&
    readDecimal(text, read) &&
    (reading === 'float' || Number.isInteger(read.value))
  ) {
    return read.value;
  }
  read.canonical = false;
  return featureFromText(text, datatype, feature);
}

/**
 * A feature value from a JSON row object: a number for numeric types (or a decimal string for
 * 64-bit integers), a boolean for BOOL, a string for BYTES.
 *
 * @throws RowError naming the feature and what was wrong.
 */
export function featureFromJson(value: unknown, datatype: Datatype, feature: string): FeatureValue {
  const fail = (expected: string): never => {
    throw new RowError(`feature ${quote(feature)}: expected ${expected}, got ${describeValue(value)}`);
  };
  if (value === undefined) throw new RowError(`feature ${quote(feature)} is missing`);
  if (datatype === 'BYTES') return typeof value === 'string' ? value : fail('a string');
  if (datatype === 'BOOL') return typeof value === 'boolean' ? value : fail('true or false');
  if (FLOATS.has(datatype)) return typeof value === 'number' ? value : fail('a number');
  if (typeof value === 'number') return Number.isInteger(value) ? value : fail('an integer');
  if (typeof value === 'string' && WIDE_INTEGERS.has(datatype) && /^-?[0-9]+$/.test(value)) return value;
  return fail('an integer');
}
