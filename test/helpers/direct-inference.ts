import { InferenceSession, Tensor } from 'onnxruntime-node';
import { CLASSIFIER_IO } from '../../scripts/lib/training/onnx-export.ts';

/** A demo-style classifier: one `[N, F]` float input, `label` and `probabilities` outputs. */
export interface ClassifierModel {
  bytes: Uint8Array;
  featureNames: readonly string[];
  classNames: readonly string[];
}

export interface DirectResult {
  label: number;
  probabilities: number[];
}

/**
 * The expected answer for each row, computed by onnxruntime directly on one `[N, F]` tensor —
 * the baseline the service's answers are compared with.
 */
export async function directInference(
  model: ClassifierModel,
  rows: readonly number[][],
): Promise<DirectResult[]> {
  const session = await InferenceSession.create(model.bytes);
  try {
    const width = model.featureNames.length;
    const data = new Float32Array(rows.length * width);
    rows.forEach((row, r) => {
      data.set(row, r * width);
    });
    const results = await session.run({
      [CLASSIFIER_IO.input]: new Tensor('float32', data, [rows.length, width]),
    });
    const labels = results[CLASSIFIER_IO.label]?.data as BigInt64Array;
    const probabilities = results[CLASSIFIER_IO.probabilities]?.data as Float32Array;
    const classes = model.classNames.length;
    return rows.map((_, r) => ({
      label: Number(labels[r]),
      probabilities: Array.from(probabilities.subarray(r * classes, (r + 1) * classes)),
    }));
  } finally {
    await session.release();
  }
}
