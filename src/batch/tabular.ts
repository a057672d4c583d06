import type { FeatureValue } from '../capture/record.ts';
import { describeValue, formatShape, quote } from '../codec/describe.ts';
import { type DecimalRead, readDecimal } from '../text/decimal.ts';
import type { Datatype, ModelSignature, RequestInput } from '../types.ts';

/**
 * How rows of named features become the inputs of a tabular model. Two layouts:
 * - `matrix`: one input of shape `[N, F]` whose columns are the features (`feature_names` of the
 *   model's config.json, else `f0…f{F−1}`);
 * - `columns`: one input per feature, each `[N, 1]` or `[N]`, the feature named after its input
 *   (scikit-learn pipelines over a DataFrame export one input per column).
 */
export interface TabularSchema {
  layout: 'matrix' | 'columns';
  featureNames: string[];
  /** Per feature, the datatype its values are read as. */
  datatypes: Datatype[];
  /** `matrix`: the one input; `columns`: the first column's input. */
  inputName: string;
  /** `columns`: per feature, its input's rank (1 for `[N]`, 2 for `[N, 1]`). */
  ranks: (1 | 2)[];
  /** Rows per `session.run`: unbounded when the batch dimension is free, else its fixed size. */
  rowsPerRun: number;
  /** Where the feature names came from. */
  namesFrom: 'config' | 'inputs' | 'default';
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

/** The rank of a column input (`[N]` → 1, `[N, 1]` → 2), or undefined when it is not one. */
function columnRank(shape: number[] | null): 1 | 2 | undefined {
  if (shape === null) return undefined;
  if (shape.length === 1) return 1;
  if (shape.length === 2 && shape[1] === 1) return 2;
  return undefined;
}

function rowsPerRun(batch: number | undefined): number {
  return batch !== undefined && batch > 0 ? batch : Number.POSITIVE_INFINITY;
}

/**
 * The tabular schema of a model, or why it has none. A model with several inputs is tabular when
 * every input is a column (`[N]` or `[N, 1]`): one feature per input, named after it (so is a
 * single column input when config.json names no features). A model with
 * one input of rank 2 is tabular with the features of config.json `feature_names` or, without
 * them and with a fixed second dimension F, `f0…f{F−1}`.
 *
 * @example
 * ```ts
 * tabularSchema('iris', { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }], outputs }, names);
 * // { schema: { layout: 'matrix', inputName: 'input', featureNames: names, … } }
 * ```
 */
export function tabularSchema(
  model: string,
  signature: ModelSignature,
  featureNames: readonly string[] | undefined,
): { schema: TabularSchema; reason?: undefined } | { schema?: undefined; reason: string } {
  const label = `model '${model}'`;
  const { inputs } = signature;
  if (inputs.length === 0) return { reason: `${label} has no inputs` };
  const given = featureNames !== undefined && featureNames.length > 0;
  if (inputs.length > 1 || (!given && columnRank(inputs[0]?.shape ?? null) !== undefined)) {
    const ranks = inputs.map((input) => columnRank(input.shape));
    const notColumn = inputs.find((_, index) => ranks[index] === undefined);
    if (notColumn !== undefined) {
      return {
        reason: `${label} takes ${inputs.length} inputs and '${notColumn.name}' has shape ${notColumn.shape === null ? 'of any rank' : formatShape(notColumn.shape)}; rows of named features need one [N, F] input or one [N, 1] (or [N]) input per feature`,
      };
    }
    const batches = new Set(inputs.map((input) => input.shape?.[0] ?? -1).filter((dim) => dim > 0));
    if (batches.size > 1) return { reason: `${label} inputs have different fixed batch sizes` };
    return {
      schema: {
        layout: 'columns',
        featureNames: inputs.map((input) => input.name),
        datatypes: inputs.map((input) => input.datatype),
        inputName: inputs[0]?.name ?? '',
        ranks: ranks as (1 | 2)[],
        rowsPerRun: rowsPerRun([...batches][0]),
        namesFrom: 'inputs',
      },
    };
  }
  const [input] = inputs as [ModelSignature['inputs'][number]];
  const shape = input.shape;
  if (!given && (shape === null || shape.length !== 2 || !(shape[1] !== undefined && shape[1] > 0))) {
    return {
      reason: `${label} has no feature_names in its config.json and its input '${input.name}' has shape ${shape === null ? 'of any rank' : formatShape(shape)}, so rows of named features cannot be mapped to it; name them in config.json feature_names (an [N, F] input)`,
    };
  }
  const names = given
    ? [...(featureNames as readonly string[])]
    : Array.from({ length: shape?.[1] ?? 0 }, (_, index) => `f${index}`);
  const features = names.length;
  if (shape !== null && (shape.length !== 2 || (shape[1] !== -1 && shape[1] !== features))) {
    return {
      reason: `${label} input '${input.name}' has shape ${formatShape(shape)}; rows of ${features} named features need [N, ${features}]`,
    };
  }
  return {
    schema: {
      layout: 'matrix',
      featureNames: names,
      datatypes: names.map(() => input.datatype),
      inputName: input.name,
      ranks: [],
      rowsPerRun: rowsPerRun(shape?.[0]),
      namesFrom: given ? 'config' : 'default',
    },
  };
}

/**
 * The request inputs of `count` rows of feature values (`values[r * F + f]`, rows one after the
 * other): one `[count, F]` input, or one column input per feature.
 *
 * @example
 * ```ts
 * tabularInputs(schema, [5.1, 3.5, 4.9, 3.0], 2); // matrix: [{ name: 'input', shape: [2, 2], … }]
 * ```
 */
export function tabularInputs(
  schema: TabularSchema,
  values: readonly unknown[],
  count: number,
): RequestInput[] {
  const width = schema.featureNames.length;
  if (schema.layout === 'matrix') {
    return [
      {
        name: schema.inputName,
        datatype: schema.datatypes[0] as Datatype,
        shape: [count, width],
        data: values,
      },
    ];
  }
  return schema.featureNames.map((name, f) => {
    const data = new Array<unknown>(count);
    for (let r = 0; r < count; r++) data[r] = values[r * width + f];
    return {
      name,
      datatype: schema.datatypes[f] as Datatype,
      shape: schema.ranks[f] === 1 ? [count] : [count, 1],
      data,
    };
  });
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
