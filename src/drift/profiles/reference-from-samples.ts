/**
 * A reference for any model, built from sample inputs: inference requests (what the model is
 * sent in production) instead of a table of named features. Each request is run with
 * onnxruntime and split into predictions exactly as serving captures them, so the reference
 * profiles what the drift check will read: named features for tabular models, per-input
 * summaries (mean, std, min, max, L2 norm, NaN share) for image, sequence and multi-tensor
 * models, and the predictions of the output the config (or the model's shape) names.
 */
import { InferenceSession } from 'onnxruntime-node';
import { buildApiCaptures, predictionRows } from '../../capture/api-capture.ts';
import { decodeInputs } from '../../codec/decode.ts';
import { encodeOutputs } from '../../codec/encode.ts';
import { parseInferenceRequest, parseJsonBody } from '../../codec/parse-request.ts';
import { ServingError } from '../../errors.ts';
import { rewriteZipMapOutputs } from '../../onnx/zipmap.ts';
import { parseModelConfig } from '../../repository/model-config.ts';
import { inferModelDefaults, withModelDefaults } from '../../repository/model-defaults.ts';
import { deriveSignature, markUndeclaredRanks } from '../../runtime/signature.ts';
import type { InferenceRequest } from '../../types.ts';
import { parseDriftSettings } from '../check/settings.ts';
import {
  externalDataOptions,
  type ModelDataFile,
  type OutputColumn,
  type ReferencePredictor,
} from './model-runner.ts';
import { computeReference } from './reference.ts';
import { type RawValue, ReferenceInputError } from './reference-table.ts';
import type { ReferenceDocument } from './reference-types.ts';

export interface ReferenceFromSamplesRequest {
  model: string;
  modelBytes: Uint8Array;
  /** The model's external data files, when it has any (see `ModelDataFile`). */
  externalData?: readonly ModelDataFile[];
  /** The model's config.json (parsed JSON, validated here). */
  config: unknown;
  /** One inference request body (`{"inputs": […]}`), or JSON lines of them. */
  text: string;
  fileName: string;
  now?: Date;
}

/**
 * Parses sample inputs: a JSON object with `inputs` (one request, as `inputs.json` files hold),
 * a JSON array of them, or JSON lines of them.
 *
 * @throws ReferenceInputError naming the request and what is wrong.
 */
export function parseSampleRequests(text: string, fileName: string): InferenceRequest[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new ReferenceInputError(`${fileName}: no sample inputs`);
  let bodies: unknown[];
  try {
    const whole = parseJsonBody(trimmed);
    bodies = Array.isArray(whole) ? whole : [whole];
  } catch {
    bodies = [];
    for (const [index, line] of trimmed.split('\n').entries()) {
      if (line.trim() === '') continue;
      try {
        bodies.push(parseJsonBody(line));
      } catch (error) {
        throw new ReferenceInputError(
          `${fileName} line ${index + 1}: not JSON (${error instanceof Error ? error.message : String(error)})`,
        );
      }
    }
  }
  return bodies.map((body, index) => {
    try {
      return parseInferenceRequest(body);
    } catch (error) {
      if (error instanceof ServingError)
        throw new ReferenceInputError(`${fileName} request ${index + 1}: ${error.message}`);
      throw error;
    }
  });
}

/**
 * Computes `reference.json` from sample inputs. Nothing is written.
 *
 * @throws ReferenceInputError for inputs the model refuses (naming the request and why).
 * @example
 * ```ts
 * const reference = await referenceFromSamples({
 *   model: 'digits-cnn', modelBytes, config: undefined, text: await readFile('inputs.json', 'utf8'), fileName: 'inputs.json',
 * });
 * reference.features.map((f) => f.name); // ['image.mean', 'image.std', …]
 * ```
 */
export async function referenceFromSamples(request: ReferenceFromSamplesRequest): Promise<ReferenceDocument> {
  const stored = request.config === undefined ? {} : parseModelConfig(request.config, request.model).config;
  const settings = parseDriftSettings(stored.drift, request.model);
  const samples = parseSampleRequests(request.text, request.fileName);
  const prepared = rewriteZipMapOutputs(request.modelBytes);
  const session = await InferenceSession.create(prepared.bytes, externalDataOptions(request.externalData));
  try {
    const { signature } = deriveSignature(session.inputMetadata, session.outputMetadata);
    markUndeclaredRanks(signature, prepared.bytes);
    const outputNames = signature.outputs.map((output) => output.name);
    const rows: Map<string, RawValue>[] = [];
    const columns: string[] = [];
    const seen = new Set<string>();
    const outputs = new Map<string, (number | string)[]>();
    const widths = new Map<string, number>();
    let tabular = false;
    for (const [index, sample] of samples.entries()) {
      let results: Awaited<ReturnType<InferenceSession['run']>>;
      let feeds: ReturnType<typeof decodeInputs>;
      try {
        feeds = decodeInputs(sample.inputs, signature.inputs);
        results = await session.run(feeds, outputNames);
      } catch (error) {
        throw new ReferenceInputError(
          `${request.fileName} request ${index + 1}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
        );
      }
      const encoded = encodeOutputs(
        results,
        outputNames.map((name) => ({ name })),
      );
      const split = predictionRows(signature, stored.feature_names, sample, encoded);
      tabular ||= split !== undefined && split.layout !== 'tensors';
      const records = buildApiCaptures({
        capture: { request: sample, rows: split, feeds, settings: { enabled: true, sampleRate: 1 } },
        response: { model_name: request.model, model_version: '', id: `sample-${index}`, outputs: encoded },
        inferMs: 0,
        ts: new Date(0),
        maxElements: Number.POSITIVE_INFINITY,
      });
      for (const record of records) {
        const features: Record<string, unknown> = Array.isArray(record.inputs)
          ? (record.input_stats ?? {})
          : record.inputs;
        const row = new Map<string, RawValue>();
        for (const [name, value] of Object.entries(features)) {
          if (!seen.has(name)) {
            seen.add(name);
            columns.push(name);
          }
          row.set(name, value as RawValue);
        }
        rows.push(row);
        for (const output of record.outputs) {
          const data = (output.data ?? []).map((value) =>
            typeof value === 'number' || typeof value === 'string' ? value : Number(value),
          );
          widths.set(output.name, data.length);
          const column = outputs.get(output.name) ?? [];
          column.push(...data);
          outputs.set(output.name, column);
        }
      }
    }
    const scored = new Uint8Array(rows.length).fill(1);
    const outputColumns = new Map<string, OutputColumn>();
    for (const [name, values] of outputs) {
      const width = widths.get(name) ?? 1;
      if (values.length === width * rows.length) outputColumns.set(name, { width, values });
    }
    const defaults = inferModelDefaults(signature, prepared.zipmaps);
    const predictor: ReferencePredictor = {
      outputNames,
      featureNames: columns,
      namesFrom: tabular ? 'inputs' : 'default',
      defaults,
      predict: async () => ({ scored, outputs: outputColumns, errors: [] }),
      close: async () => undefined,
    };
    const reference = await computeReference({
      model: request.model,
      table: { format: 'jsonl', columns, rows },
      fileName: request.fileName,
      config: withModelDefaults({ ...stored, feature_names: columns }, defaults),
      predictor,
      categoricalFeatures: settings.categoricalFeatures,
      now: request.now,
    });
    return { ...reference, inputs_profiled: tabular ? 'features' : 'input_summaries' };
  } finally {
    await session.release();
  }
}
