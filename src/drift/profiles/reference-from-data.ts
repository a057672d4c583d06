import { parseModelConfig } from '../../repository/model-config.ts';
import { withModelDefaults } from '../../repository/model-defaults.ts';
import { parseDriftSettings } from '../check/settings.ts';
import { createOnnxPredictor, type ModelDataFile, type ReferencePredictor } from './model-runner.ts';
import { computeReference } from './reference.ts';
import { parseReferenceTable } from './reference-table.ts';
import type { ReferenceDocument } from './reference-types.ts';

export interface ReferenceFromDataRequest {
  model: string;
  /** The ONNX model the reference is for: its predictions on the rows are profiled. */
  modelBytes: Uint8Array;
  /** The model's external data files, when it has any (see `ModelDataFile`). */
  externalData?: readonly ModelDataFile[];
  /** The model's config.json (parsed JSON, validated here). */
  config: unknown;
  /** The reference file's text (CSV with a header, or JSON lines) and its name. */
  text: string;
  fileName: string;
  labelColumn?: string;
  now?: Date;
}

/**
 * Computes `reference.json` for a model from its training data: parses the file, runs the model
 * on every row with onnxruntime, and profiles features, predictions and (with a label column)
 * performance. Nothing is written.
 *
 * @throws ReferenceInputError for a file that does not fit the model; ModelUnavailableError or
 * DriftConfigError for a bad config.json.
 * @example
 * ```ts
 * const reference = await referenceFromData({
 *   model: 'iris', modelBytes, config, text: await readFile('train.csv', 'utf8'), fileName: 'train.csv', labelColumn: 'label',
 * });
 * ```
 */
export async function referenceFromData(request: ReferenceFromDataRequest): Promise<ReferenceDocument> {
  const stored = request.config === undefined ? {} : parseModelConfig(request.config, request.model).config;
  const settings = parseDriftSettings(stored.drift, request.model);
  const table = parseReferenceTable(request.text, request.fileName);
  const candidates = table.columns.filter((column) => column !== request.labelColumn && column !== 'id');
  const predictor: ReferencePredictor = await createOnnxPredictor(
    request.model,
    request.modelBytes,
    stored.feature_names,
    candidates,
    request.externalData,
  );
  const featureNames = predictor.featureNames;
  const missing = featureNames.filter((name) => !table.columns.includes(name));
  const config = withModelDefaults({ ...stored, feature_names: [...featureNames] }, predictor.defaults);
  try {
    const reference = await computeReference({
      model: request.model,
      table,
      fileName: request.fileName,
      config,
      labelColumn: request.labelColumn,
      // computeReference reports missing columns by name before running the model.
      predictor: missing.length === 0 ? predictor : undefined,
      categoricalFeatures: settings.categoricalFeatures,
      now: request.now,
    });
    return { ...reference, feature_names_from: predictor.namesFrom };
  } finally {
    await predictor.close();
  }
}
