/**
 * `npm run demo-models [-- outDir]`: trains the three demo classifiers on the datasets in
 * `scripts/demo-data/` and writes, per model, a Triton-style folder:
 *
 *   {outDir}/{name}/1/model.onnx   the ONNX graph (project's own graph builder)
 *   {outDir}/{name}/config.json    task, labels, feature names, output roles
 *   {outDir}/{name}/holdout.csv    the rows training never saw: feature columns + `label`
 *   {outDir}/{name}/train.csv      the training rows, same columns: the drift reference profile
 *
 * Default `outDir`: `.local/demo-models`. Deterministic: same data, same bytes.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDatasetCsv } from './lib/training/dataset.ts';
import {
  accuracy,
  type LinearClassifier,
  predictLabels,
  trainLinearClassifier,
} from './lib/training/linear-classifier.ts';
import { CLASSIFIER_IO, classifierToOnnx } from './lib/training/onnx-export.ts';
import { stratifiedSplit } from './lib/training/split.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where the datasets live in the repository. */
export const DEMO_DATA_DIR = join(ROOT, 'scripts', 'demo-data');

/** Names of the demo models, as published in the model repository. */
export const DEMO_MODEL_NAMES = ['breast-cancer', 'iris', 'wine'] as const;
export type DemoModelName = (typeof DEMO_MODEL_NAMES)[number];

/** Share of each class held out for evaluation; the split seed is fixed so builds are reproducible. */
const HOLDOUT_FRACTION = 0.25;
const SPLIT_SEED = 20240601;

export interface DemoModelDefinition {
  name: DemoModelName;
  file: string;
  featureNames: string[];
  description: string;
}

const BREAST_CANCER_MEASUREMENTS = [
  'radius',
  'texture',
  'perimeter',
  'area',
  'smoothness',
  'compactness',
  'concavity',
  'concave_points',
  'symmetry',
  'fractal_dimension',
];

const DEMO_MODELS: readonly DemoModelDefinition[] = [
  {
    name: 'breast-cancer',
    file: 'breast_cancer.csv',
    featureNames: [
      ...BREAST_CANCER_MEASUREMENTS.map((m) => `mean_${m}`),
      ...BREAST_CANCER_MEASUREMENTS.map((m) => `${m}_error`),
      ...BREAST_CANCER_MEASUREMENTS.map((m) => `worst_${m}`),
    ],
    description:
      'Breast Cancer Wisconsin (Diagnostic): malignant or benign from 30 cell-nucleus measurements of a fine-needle aspirate. Standardization + softmax regression.',
  },
  {
    name: 'iris',
    file: 'iris.csv',
    featureNames: ['sepal_length_cm', 'sepal_width_cm', 'petal_length_cm', 'petal_width_cm'],
    description:
      "Fisher's Iris: species (setosa, versicolor, virginica) from sepal and petal sizes in cm. Standardization + softmax regression.",
  },
  {
    name: 'wine',
    file: 'wine_data.csv',
    featureNames: [
      'alcohol',
      'malic_acid',
      'ash',
      'alcalinity_of_ash',
      'magnesium',
      'total_phenols',
      'flavanoids',
      'nonflavanoid_phenols',
      'proanthocyanins',
      'color_intensity',
      'hue',
      'od280_od315_of_diluted_wines',
      'proline',
    ],
    description:
      'Wine recognition: cultivar (class_0, class_1, class_2) of Italian wines from 13 chemical measurements. Standardization + softmax regression.',
  },
];

/** What was built for one demo model. */
export interface DemoModelSummary {
  name: DemoModelName;
  dataset: string;
  features: number;
  classes: number;
  trainSize: number;
  holdoutSize: number;
  holdoutAccuracy: number;
  /** Path of the written `model.onnx`. */
  modelPath: string;
}

/** A trained demo model with its data, before anything is written. */
export interface TrainedDemoModel {
  definition: DemoModelDefinition;
  classNames: string[];
  classifier: LinearClassifier;
  holdoutRows: number[][];
  holdoutLabels: number[];
  /** The rows the classifier was fitted on (the reference for drift checks). */
  trainRows: number[][];
  trainLabels: number[];
  trainSize: number;
  holdoutAccuracy: number;
}

/**
 * Trains one demo model: stratified 75/25 split, fit on the 75 %, accuracy on the 25 %.
 *
 * @example
 * ```ts
 * const iris = await trainDemoModel('iris');
 * iris.holdoutAccuracy; // e.g. 0.97
 * ```
 */
export async function trainDemoModel(
  name: DemoModelName,
  dataDir = DEMO_DATA_DIR,
): Promise<TrainedDemoModel> {
  const definition = DEMO_MODELS.find((model) => model.name === name);
  if (definition === undefined) throw new Error(`unknown demo model '${name}'`);
  const dataset = parseDatasetCsv(await readFile(join(dataDir, definition.file), 'utf8'), definition.file);
  if (dataset.featureCount !== definition.featureNames.length) {
    throw new Error(
      `${definition.file}: ${dataset.featureCount} features, but ${definition.featureNames.length} feature names are defined`,
    );
  }
  const split = stratifiedSplit(dataset.labels, HOLDOUT_FRACTION, SPLIT_SEED);
  const pick = <T>(values: readonly T[], indices: number[]): T[] => indices.map((i) => values[i] as T);
  const classifier = trainLinearClassifier(
    pick(dataset.rows, split.train),
    pick(dataset.labels, split.train),
    dataset.classNames.length,
  );
  const holdoutRows = pick(dataset.rows, split.holdout);
  const holdoutLabels = pick(dataset.labels, split.holdout);
  return {
    definition,
    classNames: dataset.classNames,
    classifier,
    holdoutRows,
    holdoutLabels,
    trainRows: pick(dataset.rows, split.train),
    trainLabels: pick(dataset.labels, split.train),
    trainSize: split.train.length,
    holdoutAccuracy: accuracy(predictLabels(classifier, holdoutRows), holdoutLabels),
  };
}

/**
 * Trains all demo models and writes them under `outDir` (see the file header for the layout).
 *
 * @example
 * ```ts
 * const summaries = await buildDemoModels('.local/demo-models');
 * ```
 */
export async function buildDemoModels(outDir: string, dataDir = DEMO_DATA_DIR): Promise<DemoModelSummary[]> {
  const summaries: DemoModelSummary[] = [];
  for (const name of DEMO_MODEL_NAMES) {
    const trained = await trainDemoModel(name, dataDir);
    summaries.push(await writeDemoModel(trained, outDir));
  }
  return summaries;
}

async function writeDemoModel(trained: TrainedDemoModel, outDir: string): Promise<DemoModelSummary> {
  const { definition, classifier, classNames, holdoutRows, holdoutLabels, trainRows, trainLabels } = trained;
  const modelDir = join(outDir, definition.name);
  const modelPath = join(modelDir, '1', 'model.onnx');
  await mkdir(join(modelDir, '1'), { recursive: true });

  const model = classifierToOnnx(classifier, {
    task: 'classification',
    dataset: definition.file,
    algorithm: 'standardization + softmax regression (full-batch gradient descent, L2)',
    train_size: String(trained.trainSize),
    holdout_size: String(holdoutRows.length),
    holdout_accuracy: trained.holdoutAccuracy.toFixed(4),
  });
  const config = {
    task: 'classification',
    labels: classNames,
    feature_names: definition.featureNames,
    outputs: { label: CLASSIFIER_IO.label, probabilities: CLASSIFIER_IO.probabilities },
    description: definition.description,
  };
  const labelledCsv = (rows: number[][], labels: number[]) =>
    [
      [...definition.featureNames, 'label'].join(','),
      ...rows.map((row, i) => [...row.map(String), String(labels[i])].join(',')),
    ].join('\n');

  await writeFile(modelPath, model);
  await writeFile(join(modelDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  await writeFile(join(modelDir, 'holdout.csv'), `${labelledCsv(holdoutRows, holdoutLabels)}\n`);
  await writeFile(join(modelDir, 'train.csv'), `${labelledCsv(trainRows, trainLabels)}\n`);
  return {
    name: definition.name,
    dataset: definition.file,
    features: classifier.featureCount,
    classes: classifier.classCount,
    trainSize: trained.trainSize,
    holdoutSize: holdoutRows.length,
    holdoutAccuracy: trained.holdoutAccuracy,
    modelPath,
  };
}

/** The summaries as an aligned text table, for the CLI. */
export function formatSummaryTable(summaries: readonly DemoModelSummary[]): string {
  const header = ['model', 'features', 'classes', 'train', 'hold-out', 'hold-out accuracy'];
  const rows = summaries.map((s) => [
    s.name,
    String(s.features),
    String(s.classes),
    String(s.trainSize),
    String(s.holdoutSize),
    s.holdoutAccuracy.toFixed(3),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ');
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const outDir = resolve(process.argv[2] ?? join(ROOT, '.local', 'demo-models'));
  buildDemoModels(outDir).then(
    (summaries) => {
      console.log(formatSummaryTable(summaries));
      console.log(`\nwritten to ${outDir}`);
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
