/**
 * Two small two-class classifiers on a `[N, 2]` float input with `label` (int64) and
 * `probabilities` outputs, built with the ONNX graph builder: `argmax` picks the larger feature,
 * `weighted` the larger of (x0, 2·x1). They disagree exactly where x1 < x0 < 2·x1, so a test knows
 * which one is right for any outcomes it posts.
 */
import { buildOnnxModel } from './onnx/graph-builder.ts';

export const FEATURES = ['f0', 'f1'] as const;
export const LABELS = ['a', 'b'] as const;

/** config.json of a model made of these versions. */
export const TWO_CLASS_CONFIG = {
  task: 'classification',
  labels: [...LABELS],
  feature_names: [...FEATURES],
  outputs: { label: 'label', probabilities: 'probabilities' },
} as const;

/** A classifier of `x · diag(w0, w1)`: label = argmax, probabilities = softmax. */
export function twoClassModel(weights: readonly [number, number]): Uint8Array {
  return buildOnnxModel({
    inputs: [{ name: 'input', elemType: 'float32', shape: ['batch', 2] }],
    outputs: [
      { name: 'label', elemType: 'int64', shape: ['batch'] },
      { name: 'probabilities', elemType: 'float32', shape: ['batch', 2] },
    ],
    initializers: [{ name: 'w', elemType: 'float32', dims: [2], data: [...weights] }],
    nodes: [
      { opType: 'Mul', inputs: ['input', 'w'], outputs: ['scaled'] },
      {
        opType: 'ArgMax',
        inputs: ['scaled'],
        outputs: ['label'],
        attributes: { axis: { int: 1 }, keepdims: { int: 0 } },
      },
      { opType: 'Softmax', inputs: ['scaled'], outputs: ['probabilities'], attributes: { axis: { int: 1 } } },
    ],
  });
}

/** What `twoClassModel(weights)` predicts for a row. */
export function expectedLabel(weights: readonly [number, number], row: readonly [number, number]): number {
  return row[0] * weights[0] >= row[1] * weights[1] ? 0 : 1;
}
