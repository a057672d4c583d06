/**
 * Computing a model version's reference profile (`reference.json`) from its training rows: a
 * profile per input feature, the distribution of the model's own predictions on those rows, and
 * its performance on them when they carry labels.
 */
import type { ModelConfig, Task } from '../../repository/model-config.ts';
import { argmax, classIndexOf, labelName } from '../check/labels.ts';
import {
  buildCategoricalProfile,
  buildNumericProfile,
  calibrateCategorical,
  calibrateNumeric,
  classificationMetrics,
  fitCbpe,
  fitPca,
  regressionMetrics,
} from '../statistics/index.ts';
import type { ReferencePredictions, ReferencePredictor } from './model-runner.ts';
import {
  categoryCell,
  isNumericColumn,
  numericCell,
  type RawValue,
  ReferenceInputError,
  type ReferenceTable,
} from './reference-table.ts';
import {
  REFERENCE_SCHEMA_VERSION,
  type ReferenceDocument,
  type ReferenceFeature,
  type ReferencePerformance,
  type ReferencePrediction,
} from './reference-types.ts';

export interface ReferenceRequest {
  model: string;
  table: ReferenceTable;
  /** Name of the reference file, recorded as the source (never a path). */
  fileName: string;
  config: ModelConfig;
  /** Column holding the true label or target; enables reference performance. */
  labelColumn?: string;
  /** Runs the model; without it, the reference has no prediction profile and no performance. */
  predictor?: ReferencePredictor;
  /** Columns to profile as categories even when they hold numbers. */
  categoricalFeatures?: readonly string[];
  now?: Date;
}

/**
 * Computes the reference document of a model version.
 *
 * Feature names come from config.json `feature_names`, else from the file's columns minus the label
 * column. A column is numeric when every value present is a number; otherwise, or when listed in
 * `categoricalFeatures`, it is categorical.
 *
 * @throws ReferenceInputError when a feature or the label column is missing from the file.
 * @example
 * ```ts
 * const table = parseReferenceTable(await readFile('train.csv', 'utf8'), 'train.csv');
 * const predictor = await createOnnxPredictor('iris', modelBytes, config.feature_names ?? table.columns);
 * const reference = await computeReference({ model: 'iris', table, fileName: 'train.csv', config, labelColumn: 'label', predictor });
 * ```
 */
export async function computeReference(request: ReferenceRequest): Promise<ReferenceDocument> {
  const { table, config, labelColumn, fileName } = request;
  if (labelColumn !== undefined && !table.columns.includes(labelColumn)) {
    throw new ReferenceInputError(
      `${fileName}: no label column '${labelColumn}' (columns: ${table.columns.join(', ')})`,
    );
  }
  const featureNames = featureNamesOf(request);
  const categorical = new Set(request.categoricalFeatures ?? []);
  const features: ReferenceFeature[] = featureNames.map((name) => {
    if (!categorical.has(name) && isNumericColumn(table, name)) {
      const values = Float64Array.from(table.rows, (row) => numericCell(row.get(name)));
      const profile = buildNumericProfile(values);
      return { name, profile, calibration: calibrateNumeric(profile, values) };
    }
    const values = table.rows.map((row) => categoryCell(row.get(name)));
    const profile = buildCategoricalProfile(values);
    return { name, profile, calibration: calibrateCategorical(profile, values) };
  });

  const numericIndices = features.flatMap((feature, index) =>
    feature.profile.kind === 'numeric' ? [index] : [],
  );
  const multivariate = fitPca(
    numericIndices,
    numericIndices.map((index) =>
      Float64Array.from(table.rows, (row) => numericCell(row.get(featureNames[index] as string))),
    ),
  );

  const predictions = request.predictor
    ? await request.predictor.predict(table.rows, table.format)
    : undefined;
  const outputNames = request.predictor?.outputNames ?? [];
  const task = taskOf(config, outputNames);
  const labels = labelColumn === undefined ? [] : table.rows.map((row) => row.get(labelColumn));
  const built =
    predictions === undefined
      ? { prediction: null, performance: null }
      : task === 'classification'
        ? classification(config, outputNames, predictions, labels, labelColumn)
        : task === 'regression'
          ? regression(config, outputNames, predictions, labels, labelColumn)
          : { prediction: null, performance: null };

  let unscored = 0;
  if (predictions) for (const flag of predictions.scored) if (flag === 0) unscored++;
  return {
    schema: REFERENCE_SCHEMA_VERSION,
    model: request.model,
    created_at: (request.now ?? new Date()).toISOString(),
    task,
    source: {
      file: fileName,
      format: table.format,
      rows: table.rows.length,
      unscored_rows: predictions ? unscored : table.rows.length,
      label_column: labelColumn ?? null,
    },
    rows: table.rows.length,
    features,
    prediction: built.prediction,
    performance: built.performance,
    multivariate,
  };
}

/** The model's input features: config.json `feature_names`, else every column but the label. */
function featureNamesOf(request: ReferenceRequest): string[] {
  const { table, config, labelColumn, fileName } = request;
  const names = config.feature_names ?? table.columns.filter((column) => column !== labelColumn);
  const missing = names.filter((name) => !table.columns.includes(name));
  if (missing.length > 0) {
    throw new ReferenceInputError(
      `${fileName}: no column for feature${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')} (config.json feature_names)`,
    );
  }
  if (names.length === 0) throw new ReferenceInputError(`${fileName}: no feature columns`);
  return names;
}

/** config.json `task`, else guessed from the output roles or names. */
export function taskOf(config: ModelConfig, outputNames: readonly string[]): Task {
  if (config.task) return config.task;
  const roles = config.outputs ?? {};
  if (
    roles.label ||
    roles.probabilities ||
    outputNames.includes('label') ||
    outputNames.includes('probabilities')
  ) {
    return 'classification';
  }
  if (roles.score || outputNames.length === 1) return 'regression';
  return 'other';
}

function classification(
  config: ModelConfig,
  outputNames: readonly string[],
  predictions: ReferencePredictions,
  actualValues: RawValue[],
  labelColumn: string | undefined,
): { prediction: ReferencePrediction | null; performance: ReferencePerformance | null } {
  const pick = (role: string | undefined, fallback: string) =>
    role && outputNames.includes(role) ? role : outputNames.includes(fallback) ? fallback : null;
  const labelOutput = pick(config.outputs?.label, 'label');
  const probabilityOutput = pick(config.outputs?.probabilities, 'probabilities');
  const labelColumnData = labelOutput ? predictions.outputs.get(labelOutput) : undefined;
  const probabilityData = probabilityOutput ? predictions.outputs.get(probabilityOutput) : undefined;
  if (labelColumnData === undefined && probabilityData === undefined)
    return { prediction: null, performance: null };

  const n = predictions.scored.length;
  // Raw predicted label per row: an index or a name, null when the row was not scored.
  const raw: (number | string | null)[] = new Array(n).fill(null);
  for (let i = 0; i < n; i++) {
    if (predictions.scored[i] !== 1) continue;
    if (labelColumnData) raw[i] = labelColumnData.values[i * labelColumnData.width] ?? null;
    else if (probabilityData) {
      const index = argmax(
        probabilityData.values as number[],
        i * probabilityData.width,
        probabilityData.width,
      );
      raw[i] = index === -1 ? null : index;
    }
  }
  const labels = config.labels ?? deriveLabels(raw, actualValues, probabilityData?.width ?? 0);
  const prediction: ReferencePrediction = {
    kind: 'label',
    output: labelColumnData ? labelOutput : null,
    probabilities: probabilityData ? probabilityOutput : null,
    labels,
    profile: buildCategoricalProfile(raw.map((value) => (value === null ? null : labelName(value, labels)))),
  };
  if (labelColumn === undefined) return { prediction, performance: null };

  const actual: number[] = [];
  const predicted: number[] = [];
  const probabilities: number[] = [];
  const k = labels.length;
  const withProbabilities = probabilityData !== undefined && probabilityData.width === k;
  for (let i = 0; i < n; i++) {
    const value = raw[i];
    if (value === null || value === undefined) continue;
    actual.push(classIndexOf(actualValues[i], labels));
    predicted.push(typeof value === 'number' ? value : classIndexOf(value, labels));
    if (withProbabilities) {
      for (let c = 0; c < k; c++) probabilities.push(Number(probabilityData.values[i * k + c]));
    }
  }
  const cbpe = withProbabilities ? fitCbpe({ actual, predicted, probabilities, classes: k }) : null;
  return {
    prediction,
    performance: {
      label_column: labelColumn,
      classification: classificationMetrics({
        actual,
        predicted,
        classes: Math.max(1, k),
        ...(withProbabilities ? { probabilities } : {}),
      }),
      ...(cbpe ? { cbpe } : {}),
    },
  };
}

function regression(
  config: ModelConfig,
  outputNames: readonly string[],
  predictions: ReferencePredictions,
  actualValues: RawValue[],
  labelColumn: string | undefined,
): { prediction: ReferencePrediction | null; performance: ReferencePerformance | null } {
  const output =
    config.outputs?.score && outputNames.includes(config.outputs.score)
      ? config.outputs.score
      : outputNames[0];
  const data = output === undefined ? undefined : predictions.outputs.get(output);
  if (output === undefined || data === undefined) return { prediction: null, performance: null };
  const n = predictions.scored.length;
  const scores = new Float64Array(n).fill(Number.NaN);
  for (let i = 0; i < n; i++) {
    if (predictions.scored[i] === 1) scores[i] = Number(data.values[i * data.width]);
  }
  const prediction: ReferencePrediction = { kind: 'score', output, profile: buildNumericProfile(scores) };
  if (labelColumn === undefined) return { prediction, performance: null };
  const actual = Float64Array.from(actualValues, (value) => numericCell(value));
  return {
    prediction,
    performance: { label_column: labelColumn, regression: regressionMetrics(actual, scores) },
  };
}

/**
 * Class names when config.json has none: indices `'0'…'k−1'` when the model outputs indices,
 * else the sorted names seen in predictions and labels.
 */
function deriveLabels(
  raw: (number | string | null)[],
  actual: RawValue[],
  probabilityWidth: number,
): string[] {
  const names = new Set<string>();
  let maxIndex = probabilityWidth - 1;
  for (const value of raw) {
    if (typeof value === 'number') maxIndex = Math.max(maxIndex, value);
    else if (typeof value === 'string') names.add(value);
  }
  if (names.size === 0) {
    for (const value of actual) {
      const index =
        typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
      if (Number.isInteger(index) && index >= 0 && index < 10_000) maxIndex = Math.max(maxIndex, index);
    }
    return Array.from({ length: maxIndex + 1 }, (_, i) => String(i));
  }
  for (const value of actual) {
    const name = categoryCell(value);
    if (name !== null) names.add(name);
  }
  return [...names].sort();
}
