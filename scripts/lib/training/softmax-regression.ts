/**
 * Multinomial logistic (softmax) regression trained by full-batch gradient descent with an L2
 * penalty on the weights. Deterministic: zero initialisation, fixed number of steps.
 */

/** Linear scores `weights[c] · x + bias[c]`, turned into class probabilities by softmax. */
export interface SoftmaxRegression {
  /** `weights[c][j]`: weight of feature `j` for class `c`. */
  weights: number[][];
  bias: number[];
}

export interface TrainingOptions {
  /** Step size; default 0.1, stable for standardized features. */
  learningRate?: number;
  /** Full passes over the data; default 2000. */
  epochs?: number;
  /** L2 penalty on the weights (not the bias); default 0.01. */
  l2?: number;
}

/**
 * Fits the model to `rows` (ideally standardized) and their `labels` in `0..classCount-1`.
 *
 * @example
 * ```ts
 * const model = trainSoftmaxRegression(standardizedRows, labels, 3);
 * const probabilities = softmaxProbabilities(model, standardizedRows[0]);
 * ```
 */
export function trainSoftmaxRegression(
  rows: readonly (readonly number[])[],
  labels: readonly number[],
  classCount: number,
  options: TrainingOptions = {},
): SoftmaxRegression {
  const { learningRate = 0.1, epochs = 2000, l2 = 0.01 } = options;
  const n = rows.length;
  const width = rows[0]?.length ?? 0;
  if (n === 0 || width === 0) throw new Error('cannot train on no data');
  if (labels.length !== n) throw new Error(`${n} rows but ${labels.length} labels`);

  // Flat typed arrays: this loop is the whole training cost.
  const x = new Float64Array(n * width);
  rows.forEach((row, i) => {
    if (row.length !== width) throw new Error(`row ${i} has ${row.length} features, expected ${width}`);
    x.set(row, i * width);
  });
  const weights = new Float64Array(classCount * width);
  const bias = new Float64Array(classCount);
  const gradWeights = new Float64Array(classCount * width);
  const gradBias = new Float64Array(classCount);
  const scores = new Float64Array(classCount);

  for (let epoch = 0; epoch < epochs; epoch++) {
    gradWeights.fill(0);
    gradBias.fill(0);
    for (let i = 0; i < n; i++) {
      const offset = i * width;
      computeScores(weights, bias, x, offset, width, scores);
      softmaxInPlace(scores);
      const label = labels[i] ?? -1;
      for (let c = 0; c < classCount; c++) {
        const error = (scores[c] ?? 0) - (c === label ? 1 : 0);
        gradBias[c] = (gradBias[c] ?? 0) + error;
        const base = c * width;
        for (let j = 0; j < width; j++)
          gradWeights[base + j] = (gradWeights[base + j] ?? 0) + error * (x[offset + j] ?? 0);
      }
    }
    for (let k = 0; k < weights.length; k++) {
      weights[k] = (weights[k] ?? 0) - learningRate * ((gradWeights[k] ?? 0) / n + l2 * (weights[k] ?? 0));
    }
    for (let c = 0; c < classCount; c++) bias[c] = (bias[c] ?? 0) - (learningRate * (gradBias[c] ?? 0)) / n;
  }

  return {
    weights: Array.from({ length: classCount }, (_, c) =>
      Array.from(weights.subarray(c * width, (c + 1) * width)),
    ),
    bias: Array.from(bias),
  };
}

/** Class probabilities for one row. */
export function softmaxProbabilities(model: SoftmaxRegression, row: readonly number[]): number[] {
  const scores = model.weights.map(
    (classWeights, c) =>
      classWeights.reduce((sum, w, j) => sum + w * (row[j] ?? 0), 0) + (model.bias[c] ?? 0),
  );
  const result = Float64Array.from(scores);
  softmaxInPlace(result);
  return Array.from(result);
}

/** Index of the largest value; the first one on ties (as ONNX ArgMax does by default). */
export function argMax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] ?? 0) > (values[best] ?? 0)) best = i;
  return best;
}

function computeScores(
  weights: Float64Array,
  bias: Float64Array,
  x: Float64Array,
  offset: number,
  width: number,
  out: Float64Array,
): void {
  for (let c = 0; c < out.length; c++) {
    let sum = bias[c] ?? 0;
    const base = c * width;
    for (let j = 0; j < width; j++) sum += (weights[base + j] ?? 0) * (x[offset + j] ?? 0);
    out[c] = sum;
  }
}

/** Subtracts the maximum first so that large scores cannot overflow `exp`. */
function softmaxInPlace(values: Float64Array): void {
  let max = Number.NEGATIVE_INFINITY;
  for (const value of values) max = Math.max(max, value);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const e = Math.exp((values[i] ?? 0) - max);
    values[i] = e;
    total += e;
  }
  for (let i = 0; i < values.length; i++) values[i] = (values[i] ?? 0) / total;
}
