/**
 * Reader for the scikit-learn style CSV datasets the demo models are trained on: a header line
 * `n_samples,n_features,<class names…>` (metadata, not column names), then one sample per line,
 * the features followed by the 0-based class label.
 */

/** A labelled tabular dataset. */
export interface Dataset {
  /** Class names in label order: `classNames[k]` names label `k`. */
  classNames: string[];
  featureCount: number;
  /** One array of `featureCount` numbers per sample. */
  rows: number[][];
  /** Class label of each row, `0 ≤ label < classNames.length`. */
  labels: number[];
}

/**
 * Parses a dataset CSV and checks it against its own header (sample count, feature count, labels
 * in range). Empty header fields are dropped: `breast_cancer.csv` pads its header with them.
 *
 * @example
 * ```ts
 * const iris = parseDatasetCsv(await readFile('iris.csv', 'utf8'), 'iris.csv');
 * iris.classNames; // ['setosa', 'versicolor', 'virginica']
 * ```
 */
export function parseDatasetCsv(text: string, source = 'dataset'): Dataset {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const [header, ...body] = lines;
  if (header === undefined) throw new Error(`${source}: empty file`);
  const [samplesField, featuresField, ...classFields] = header.split(',');
  const sampleCount = parseCount(samplesField, `${source} line 1 (n_samples)`);
  const featureCount = parseCount(featuresField, `${source} line 1 (n_features)`);
  const classNames = classFields.map((name) => name.trim()).filter((name) => name !== '');
  if (classNames.length < 2)
    throw new Error(`${source} line 1: expected at least 2 class names after n_features`);
  if (body.length !== sampleCount) {
    throw new Error(`${source}: header announces ${sampleCount} samples, found ${body.length} lines`);
  }

  const rows: number[][] = [];
  const labels: number[] = [];
  body.forEach((line, index) => {
    const where = `${source} line ${index + 2}`;
    const fields = line.split(',');
    if (fields.length !== featureCount + 1) {
      throw new Error(`${where}: expected ${featureCount + 1} fields, found ${fields.length}`);
    }
    const values = fields.map((field, column) => {
      const value = Number(field);
      if (field.trim() === '' || !Number.isFinite(value)) {
        throw new Error(`${where} column ${column + 1}: '${field}' is not a number`);
      }
      return value;
    });
    const label = values.pop() ?? Number.NaN;
    if (!Number.isInteger(label) || label < 0 || label >= classNames.length) {
      throw new Error(`${where}: label ${label} is not one of 0..${classNames.length - 1}`);
    }
    rows.push(values);
    labels.push(label);
  });
  return { classNames, featureCount, rows, labels };
}

function parseCount(field: string | undefined, where: string): number {
  const value = Number(field);
  if (field === undefined || !/^\d+$/.test(field.trim()) || value < 1) {
    throw new Error(`${where}: expected a positive integer, found '${field ?? ''}'`);
  }
  return value;
}
