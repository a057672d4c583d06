import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InferenceSession } from 'onnxruntime-node';
import { buildOnnxModel } from '../../scripts/lib/onnx/graph-builder.ts';
import { deriveSignature, markUndeclaredRanks } from '../../src/runtime/signature.ts';
import { conformanceDir } from '../helpers/paths.ts';

describe('deriveSignature', () => {
  it('maps types to protocol datatypes and free dimensions to -1', () => {
    const { signature, unsupported } = deriveSignature(
      [
        { name: 'x', isTensor: true, type: 'float32', shape: ['batch', 4] },
        { name: 'ids', isTensor: true, type: 'int64', shape: ['', 3] },
        { name: 'text', isTensor: true, type: 'string', shape: [] },
      ],
      [{ name: 'y', isTensor: true, type: 'float16', shape: [-1, 2] }],
    );

    assert.deepEqual(signature, {
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [-1, 4] },
        { name: 'ids', datatype: 'INT64', shape: [-1, 3] },
        { name: 'text', datatype: 'BYTES', shape: [] },
      ],
      outputs: [{ name: 'y', datatype: 'FP16', shape: [-1, 2] }],
    });
    assert.deepEqual(unsupported, []);
  });

  it('lists non-tensor values and types the protocol cannot carry, leaving them out of the signature', () => {
    const { signature, unsupported } = deriveSignature(
      [
        { name: 'x', isTensor: true, type: 'float32', shape: [1] },
        { name: 'packed', isTensor: true, type: 'int4', shape: [8] },
      ],
      [{ name: 'probabilities', isTensor: false }],
    );

    assert.deepEqual(signature.inputs, [{ name: 'x', datatype: 'FP32', shape: [1] }]);
    assert.deepEqual(signature.outputs, []);
    assert.deepEqual(unsupported, [
      "input 'packed' has element type 'int4', which the protocol cannot carry",
      "output 'probabilities' is not a tensor but a sequence or map, which onnxruntime-node cannot return and the protocol cannot carry; ZipMap outputs (scikit-learn) are served as tensors, anything else needs a re-export with tensor outputs (e.g. skl2onnx options={'zipmap': False}, or remove the value from the graph)",
    ]);
  });

  it('describes a real model as onnxruntime loads it', async () => {
    const bytes = await readFile(
      join(conformanceDir(), 'onnx-backend/simple/test_sequence_model8/model.onnx'),
    );
    const session = await InferenceSession.create(bytes, { logSeverityLevel: 3 });
    try {
      const { signature, unsupported } = deriveSignature(session.inputMetadata, session.outputMetadata);

      assert.deepEqual(signature, {
        inputs: [
          { name: 'X', datatype: 'FP32', shape: [-1] },
          { name: 'Splits', datatype: 'INT64', shape: [3] },
        ],
        outputs: [{ name: 'len', datatype: 'INT64', shape: [] }],
      });
      assert.deepEqual(unsupported, []);
    } finally {
      await session.release();
    }
  });
});

describe('markUndeclaredRanks', () => {
  it('tells a scalar from a value whose shape the graph does not declare', async () => {
    const model = buildOnnxModel({
      inputs: [
        { name: 'scalar', elemType: 'float32', shape: [] },
        { name: 'anything', elemType: 'float32' },
      ],
      outputs: [
        { name: 'scalar_out', elemType: 'float32', shape: [] },
        { name: 'anything_out', elemType: 'float32' },
      ],
      nodes: [
        { opType: 'Identity', inputs: ['scalar'], outputs: ['scalar_out'] },
        { opType: 'Identity', inputs: ['anything'], outputs: ['anything_out'] },
      ],
    });
    const session = await InferenceSession.create(model, { logSeverityLevel: 3 });
    const { signature } = deriveSignature(session.inputMetadata, session.outputMetadata);
    assert.deepEqual(
      signature.inputs.map((spec) => spec.shape),
      [[], []],
    );

    markUndeclaredRanks(signature, model);

    assert.deepEqual(
      signature.inputs.map((spec) => spec.shape),
      [[], null],
    );
    assert.deepEqual(
      signature.outputs.map((spec) => spec.shape),
      [[], null],
    );
    await session.release();
  });
});
