/**
 * A tabular classifier: standardization followed by softmax regression, with every parameter
 * rounded to float32, so that the JS predictions here and the exported ONNX graph (float32
 * initializers) use exactly the same numbers.
 */
import {
  argMax,
  type SoftmaxRegression,
  softmaxProbabilities,
  type TrainingOptions,
  trainSoftmaxRegression,
} from './softmax-regression.ts';
import { fitStandardizer, type Standardizer, standardize } from './standardizer.ts';

/** Parameters of a trained classifier, all float32-representable. */
export interface LinearClassifier extends Standardizer, SoftmaxRegression {
  classCount: number;
  featureCount: number;
}

/**
 * Fits the standardizer and the regression on the given (training) rows.
 *
 * @example
 * ```ts
 * const classifier = trainLinearClassifier(trainRows, trainLabels, 3);
 * predictLabels(classifier, holdoutRows);
 * ```
 */
export function trainLinearClassifier(
  rows: readonly (readonly number[])[],
  labels: readonly number[],
  classCount: number,
  options?: TrainingOptions,
): LinearClassifier {
  const standardizer = fitStandardizer(rows);
  const regression = trainSoftmaxRegression(standardize(standardizer, rows), labels, classCount, options);
  const toFloat32 = (values: number[]): number[] => values.map(Math.fround);
  return {
    classCount,
    featureCount: standardizer.mean.length,
    mean: toFloat32(standardizer.mean),
    scale: toFloat32(standardizer.scale),
    weights: regression.weights.map(toFloat32),
    bias: toFloat32(regression.bias),
  };
}

/** Class probabilities of each raw (unstandardized) row. */
export function predictProbabilities(
  classifier: LinearClassifier,
  rows: readonly (readonly number[])[],
): number[][] {
  return standardize(classifier, rows).map((row) => softmaxProbabilities(classifier, row));
}

/** The most probable class of each raw row. */
export function predictLabels(classifier: LinearClassifier, rows: readonly (readonly number[])[]): number[] {
  return predictProbabilities(classifier, rows).map(argMax);
}

/** Share of rows whose predicted label is the true one. */
export function accuracy(predicted: readonly number[], truth: readonly number[]): number {
  if (predicted.length !== truth.length || truth.length === 0) {
    throw new Error(`cannot score ${predicted.length} predictions against ${truth.length} labels`);
  }
  return predicted.filter((label, i) => label === truth[i]).length / truth.length;
}
