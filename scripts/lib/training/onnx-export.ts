/** Writes a {@link LinearClassifier} as an ONNX graph with the project's graph builder. */
import { buildOnnxModel } from '../onnx/graph-builder.ts';
import type { LinearClassifier } from './linear-classifier.ts';

/** Graph input and output names of an exported classifier. */
export const CLASSIFIER_IO = { input: 'input', label: 'label', probabilities: 'probabilities' } as const;

/**
 * The classifier as ONNX (opset 17): `input` float32 `[batch, F]` → Sub(mean) → Div(scale) →
 * Gemm(weights, bias) → Softmax(axis 1) → `probabilities` float32 `[batch, C]`, and
 * ArgMax(axis 1) of the probabilities → `label` int64 `[batch]`.
 *
 * @example
 * ```ts
 * const bytes = classifierToOnnx(classifier, { task: 'classification' });
 * ```
 */
export function classifierToOnnx(
  classifier: LinearClassifier,
  metadata: Record<string, string> = {},
): Uint8Array {
  const { featureCount: f, classCount: c } = classifier;
  return buildOnnxModel({
    graphName: 'standardized_softmax_regression',
    metadata,
    inputs: [{ name: CLASSIFIER_IO.input, elemType: 'float32', shape: ['batch', f] }],
    outputs: [
      { name: CLASSIFIER_IO.label, elemType: 'int64', shape: ['batch'] },
      { name: CLASSIFIER_IO.probabilities, elemType: 'float32', shape: ['batch', c] },
    ],
    initializers: [
      { name: 'mean', elemType: 'float32', dims: [f], data: classifier.mean },
      { name: 'scale', elemType: 'float32', dims: [f], data: classifier.scale },
      { name: 'weights', elemType: 'float32', dims: [c, f], data: classifier.weights.flat() },
      { name: 'bias', elemType: 'float32', dims: [c], data: classifier.bias },
    ],
    nodes: [
      { name: 'center', opType: 'Sub', inputs: [CLASSIFIER_IO.input, 'mean'], outputs: ['centered'] },
      { name: 'scale', opType: 'Div', inputs: ['centered', 'scale'], outputs: ['standardized'] },
      {
        name: 'linear',
        opType: 'Gemm',
        inputs: ['standardized', 'weights', 'bias'],
        outputs: ['logits'],
        attributes: { transB: { int: 1 } },
      },
      {
        name: 'softmax',
        opType: 'Softmax',
        inputs: ['logits'],
        outputs: [CLASSIFIER_IO.probabilities],
        attributes: { axis: { int: 1 } },
      },
      {
        name: 'argmax',
        opType: 'ArgMax',
        inputs: [CLASSIFIER_IO.probabilities],
        outputs: [CLASSIFIER_IO.label],
        attributes: { axis: { int: 1 }, keepdims: { int: 0 } },
      },
    ],
  });
}
