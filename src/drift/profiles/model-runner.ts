/**
 * Runs a tabular ONNX model on reference rows with onnxruntime, to record the predictions it makes
 * on its own training data. Values go through the same conversions as batch scoring and the same
 * codec as the API, so the reference predictions are the ones serving would return.
 */
import { InferenceSession } from 'onnxruntime-node';
import {
  featureFromJson,
  featureFromText,
  RowError,
  tabularInputs,
  tabularSchema,
} from '../../batch/tabular.ts';
import type { FeatureValue } from '../../capture/record.ts';
import { decodeInputs } from '../../codec/decode.ts';
import { encodeOutputs } from '../../codec/encode.ts';
import { rewriteZipMapOutputs } from '../../onnx/zipmap.ts';
import { inferModelDefaults, type ModelDefaults } from '../../repository/model-defaults.ts';
import { deriveSignature, markUndeclaredRanks } from '../../runtime/signature.ts';
import type { Datatype, TensorElement } from '../../types.ts';
import type { RawValue } from './reference-table.ts';

/** Rows per `session.run`. */
export const REFERENCE_BATCH_ROWS = 1024;

/** One output over all rows: `width` elements per row, flat; rows not scored hold NaN. */
export interface OutputColumn {
  width: number;
  values: (number | string)[];
}

export interface ReferencePredictions {
  /** 1 for each row the model was run on. */
  scored: Uint8Array;
  outputs: Map<string, OutputColumn>;
  /** Why rows were not scored: the first few messages. */
  errors: string[];
}

/** What computing a reference needs from a model: its outputs for rows of named features. */
export interface ReferencePredictor {
  outputNames: readonly string[];
  /** The model's features, in order, and where their names came from. */
  featureNames: readonly string[];
  namesFrom: 'config' | 'inputs' | 'default' | 'reference';
  /** config.json defaults the graph implies (a ZipMap output makes a classifier). */
  defaults: ModelDefaults;
  predict(
    rows: readonly ReadonlyMap<string, RawValue>[],
    format: 'csv' | 'jsonl',
  ): Promise<ReferencePredictions>;
  close(): Promise<void>;
}

/**
 * Opens `modelBytes` with onnxruntime (ZipMap outputs served as tensors, as serving does) as a
 * predictor over rows of named features: config.json's `feature_names`, the inputs' names for a
 * model with one input per column, else `columns` (the reference file's columns) when they are
 * as many as the model's features, else `f0…`.
 *
 * @throws Error when the model is not tabular, naming why.
 * @example
 * ```ts
 * const predictor = await createOnnxPredictor('iris', bytes, featureNames);
 * const { outputs } = await predictor.predict(table.rows, table.format);
 * await predictor.close();
 * ```
 */
export async function createOnnxPredictor(
  model: string,
  modelBytes: Uint8Array,
  featureNames: readonly string[] | undefined,
  columns: readonly string[] = [],
  externalData?: readonly ModelDataFile[],
): Promise<ReferencePredictor> {
  const prepared = rewriteZipMapOutputs(modelBytes);
  const session = await InferenceSession.create(prepared.bytes, externalDataOptions(externalData));
  try {
    const { signature } = deriveSignature(session.inputMetadata, session.outputMetadata);
    markUndeclaredRanks(signature, prepared.bytes);
    let tabular = tabularSchema(model, signature, featureNames);
    let namesFrom: ReferencePredictor['namesFrom'] | undefined = tabular.schema?.namesFrom;
    if (tabular.schema?.namesFrom === 'default' && columns.length === tabular.schema.featureNames.length) {
      tabular = tabularSchema(model, signature, columns);
      namesFrom = 'reference';
    }
    if (tabular.schema === undefined) throw new Error(tabular.reason);
    const schema = tabular.schema;
    const outputNames = signature.outputs.map((output) => output.name);
    const perRun = Math.max(1, Math.min(REFERENCE_BATCH_ROWS, schema.rowsPerRun));

    const run = async (batch: FeatureValue[][]): Promise<Map<string, TensorElement[]>> => {
      const width = schema.featureNames.length;
      const data = new Array<FeatureValue>(batch.length * width);
      batch.forEach((row, r) => {
        for (let f = 0; f < width; f++) data[r * width + f] = row[f] as FeatureValue;
      });
      const feeds = decodeInputs(tabularInputs(schema, data, batch.length), signature.inputs);
      const results = await session.run(feeds, outputNames);
      const encoded = encodeOutputs(
        results,
        outputNames.map((name) => ({ name })),
      );
      return new Map(encoded.map((output) => [output.name, output.data]));
    };

    return {
      outputNames,
      featureNames: schema.featureNames,
      namesFrom: namesFrom ?? schema.namesFrom,
      defaults: inferModelDefaults(signature, prepared.zipmaps),
      async predict(rows, format) {
        const scored = new Uint8Array(rows.length);
        const outputs = new Map<string, OutputColumn>();
        const errors: string[] = [];
        const note = (index: number, error: unknown) => {
          if (errors.length < 5) errors.push(`row ${index + 1}: ${(error as Error).message}`);
        };
        const pending: { index: number; values: FeatureValue[] }[] = [];
        const flush = async () => {
          if (pending.length === 0) return;
          const batch = pending.splice(0, pending.length);
          let results: Map<string, TensorElement[]>;
          try {
            results = await run(batch.map((row) => row.values));
          } catch (error) {
            if (batch.length === 1) {
              note(batch[0]?.index ?? 0, error);
              return;
            }
            // One bad row must not cost the whole batch: run them one at a time.
            for (const row of batch) {
              pending.push(row);
              await flush();
            }
            return;
          }
          for (const [name, data] of results) {
            const width = data.length / batch.length;
            if (!Number.isInteger(width)) throw new Error(`output '${name}' is not one row per input row`);
            let column = outputs.get(name);
            if (column === undefined) {
              column = { width, values: new Array<number | string>(rows.length * width).fill(Number.NaN) };
              outputs.set(name, column);
            }
            batch.forEach((row, r) => {
              for (let k = 0; k < width; k++)
                (column as OutputColumn).values[row.index * width + k] = element(data[r * width + k]);
              scored[row.index] = 1;
            });
          }
        };
        for (const [index, row] of rows.entries()) {
          try {
            const values = schema.featureNames.map((feature, f) =>
              convert(row.get(feature), schema.datatypes[f] as Datatype, feature, format),
            );
            pending.push({ index, values });
          } catch (error) {
            if (!(error instanceof RowError)) throw error;
            note(index, error);
          }
          if (pending.length >= perRun) await flush();
        }
        await flush();
        return { scored, outputs, errors };
      },
      close: () => session.release(),
    };
  } catch (error) {
    await session.release();
    throw error;
  }
}

function convert(
  value: RawValue,
  datatype: Parameters<typeof featureFromText>[1],
  feature: string,
  format: 'csv' | 'jsonl',
): FeatureValue {
  if (format === 'csv') {
    if (typeof value !== 'string') throw new RowError(`feature '${feature}' is missing`);
    return featureFromText(value, datatype, feature);
  }
  return featureFromJson(value, datatype, feature);
}

function element(value: TensorElement | undefined): number | string {
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return Number.NaN;
}

/**
 * One external data file of a model, by the location its tensors name (relative to the model's
 * folder), with its bytes: what a reference needs to run a model saved with external data.
 */
export interface ModelDataFile {
  path: string;
  data: Uint8Array;
}

/** Session options handing onnxruntime a model's external data in memory (none: no options). */
export function externalDataOptions(
  files: readonly ModelDataFile[] | undefined,
): InferenceSession.SessionOptions {
  return files === undefined || files.length === 0 ? {} : { externalData: [...files] };
}
