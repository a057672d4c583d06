import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { buildOnnxModel } from '../../scripts/lib/onnx/graph-builder.ts';
import { readModelInfo } from '../../src/onnx/model-info.ts';
import { rewriteZipMapOutputs } from '../../src/onnx/zipmap.ts';
import { ROOT } from '../helpers/paths.ts';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'real-models');

/** x [N, 3] → ZipMap with string labels → 'probs'; only the ai.onnx.ml domain imported. */
function stringLabelModel(zipmapFeedsGraphOutput = true): Uint8Array {
  return buildOnnxModel({
    opsetImports: [{ domain: 'ai.onnx.ml', version: 1 }],
    inputs: [{ name: 'x', elemType: 'float32', shape: ['N', 3] }],
    // The declared type of a ZipMap output is seq(map); any non-tensor declaration is replaced.
    outputs: [
      zipmapFeedsGraphOutput
        ? { name: 'probs', elemType: 'float32', shape: ['N', 3], sequence: true }
        : { name: 'x', elemType: 'float32', shape: ['N', 3] },
    ],
    nodes: [
      {
        opType: 'ZipMap',
        domain: 'ai.onnx.ml',
        inputs: ['x'],
        outputs: ['probs'],
        attributes: { classlabels_strings: { strings: ['cat', 'dog', 'fox'] } },
      },
    ],
  });
}

describe('rewriteZipMapOutputs', () => {
  it('serves a ZipMap output as FP32 [N, C] under its name, with its string labels; adds the default opset it needs', async () => {
    const { bytes, zipmaps } = rewriteZipMapOutputs(stringLabelModel());

    assert.deepEqual(zipmaps, [
      { output: 'probs', source: 'x', labels: ['cat', 'dog', 'fox'], labelType: 'string' },
    ]);
    assert.deepEqual(readModelInfo(bytes).outputs, [{ name: 'probs', datatype: 'FP32', shape: [-1, 3] }]);
    assert.ok(readModelInfo(bytes).opsets.some((opset) => opset.domain === ''));
    const session = await InferenceSession.create(bytes);
    const x = Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.25, 0.25]);
    const { probs } = await session.run({ x: new Tensor('float32', x, [2, 3]) });
    assert.deepEqual(probs?.dims, [2, 3]);
    assert.deepEqual(Array.from(probs?.data as Float32Array), Array.from(x));
    await session.release();
  });

  it('leaves a model without a ZipMap graph output as it is, without a copy', () => {
    const plain = stringLabelModel(false);
    assert.equal(rewriteZipMapOutputs(plain).bytes, plain);
    const notOnnx = new TextEncoder().encode('not a model');
    assert.equal(rewriteZipMapOutputs(notOnnx).bytes, notOnnx);
  });

  it('a real skl2onnx export (LogisticRegression, default options): the probabilities the framework computed', async () => {
    const stored = await readFile(join(FIXTURES, 'sklearn-logreg-zipmap', 'model.onnx'));
    const inputs = JSON.parse(
      await readFile(join(FIXTURES, 'sklearn-logreg-zipmap', 'inputs.json'), 'utf8'),
    ) as {
      inputs: { name: string; shape: number[]; data: number[] }[];
    };
    const expected = JSON.parse(
      await readFile(join(FIXTURES, 'sklearn-logreg-zipmap', 'expected.json'), 'utf8'),
    ) as {
      tolerance: number;
      outputs: { name: string; data: number[] }[];
    };
    const copy = Uint8Array.from(stored);

    const { bytes, zipmaps } = rewriteZipMapOutputs(stored);

    assert.deepEqual(Uint8Array.from(stored), copy, 'the input bytes are not modified');
    assert.deepEqual(zipmaps, [
      { output: 'output_probability', source: 'probabilities', labels: ['0', '1'], labelType: 'int64' },
    ]);
    const session = await InferenceSession.create(bytes);
    const input = inputs.inputs[0];
    assert.ok(input);
    const results = await session.run({
      [input.name]: new Tensor('float32', Float32Array.from(input.data), input.shape),
    });
    const probabilities = Array.from(results.output_probability?.data as Float32Array);
    const want = expected.outputs.find((output) => output.name === 'output_probability')?.data ?? [];
    assert.equal(probabilities.length, want.length);
    for (const [i, value] of probabilities.entries()) {
      assert.ok(Math.abs(value - (want[i] ?? Number.NaN)) <= expected.tolerance);
    }
    await session.release();
  });
});
