import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import ort from 'onnxruntime-node';
import { buildOnnxModel, encodeTensorProto } from '../../scripts/lib/onnx/graph-builder.ts';
import { datatypeOfOrtType } from '../../src/codec/datatypes.ts';
import { readModelInfo } from '../../src/onnx/model-info.ts';
import { ProtoWriter } from '../../src/onnx/protobuf-writer.ts';
import type { TensorSpec } from '../../src/types.ts';
import { conformanceCases } from './conformance-cases.ts';

const QUIET = { logSeverityLevel: 3 } as const;

/** What onnxruntime says, in TensorSpec terms: symbolic or unknown dims → -1. */
function specsFromOrt(metadata: readonly ort.InferenceSession.ValueMetadata[]): (TensorSpec | string)[] {
  return metadata.map((value) =>
    value.isTensor
      ? {
          name: value.name,
          datatype: datatypeOfOrtType(value.type) ?? 'BYTES',
          shape: value.shape.map((dim) => (typeof dim === 'number' ? dim : -1)),
        }
      : value.name,
  );
}

/** onnxruntime reports an unknown rank as `[]`, the same as a scalar. */
function comparable(specs: readonly TensorSpec[]): TensorSpec[] {
  return specs.map((spec) => ({ ...spec, shape: spec.shape ?? [] }));
}

describe('readModelInfo on the conformance models', async () => {
  const cases = await conformanceCases();

  it('finds the conformance models', () => {
    assert.ok(cases.length >= 44, `${cases.length} models`);
  });

  for (const { name, modelPath } of cases) {
    it(`agrees with onnxruntime's input and output metadata: ${name}`, async () => {
      const bytes = await readFile(modelPath);
      const session = await ort.InferenceSession.create(bytes, QUIET);

      const info = readModelInfo(bytes);

      assert.deepEqual(comparable(info.inputs), specsFromOrt(session.inputMetadata));
      assert.deepEqual(comparable(info.outputs), specsFromOrt(session.outputMetadata));
      assert.deepEqual(info.unsupported, []);
      assert.ok(info.irVersion >= 3);
      assert.ok(info.opsets.some((opset) => opset.domain === '' && opset.version > 0));
    });
  }
});

describe('readModelInfo on models from the graph builder', () => {
  it('reads producer, opsets, graph name and metadata_props as written', () => {
    const metadata = { task: 'classification', 'emoji 🙂': 'ünïcödé', empty: '' };
    const bytes = buildOnnxModel({
      irVersion: 9,
      producerName: 'unit-test',
      producerVersion: '1.2.3',
      docString: 'a model',
      opsetImports: [
        { domain: '', version: 18 },
        { domain: 'ai.onnx.ml', version: 3 },
      ],
      metadata,
      graphName: 'g',
      inputs: [{ name: 'x', elemType: 'float32', shape: [1] }],
      outputs: [{ name: 'y', elemType: 'float32', shape: [1] }],
      nodes: [{ opType: 'Identity', inputs: ['x'], outputs: ['y'] }],
    });

    const info = readModelInfo(bytes);

    assert.equal(info.irVersion, 9);
    assert.equal(info.producerName, 'unit-test');
    assert.equal(info.producerVersion, '1.2.3');
    assert.equal(info.docString, 'a model');
    assert.equal(info.graphName, 'g');
    assert.deepEqual(info.opsets, [
      { domain: '', version: 18 },
      { domain: 'ai.onnx.ml', version: 3 },
    ]);
    assert.deepEqual(info.metadata, metadata);
  });

  it('maps fixed, symbolic and missing dims, and a missing shape to null; agrees with onnxruntime', async () => {
    const bytes = buildOnnxModel({
      inputs: [
        { name: 'fixed', elemType: 'int32', shape: [2, 3] },
        { name: 'symbolic', elemType: 'float64', shape: ['batch', null, 4] },
        { name: 'scalar', elemType: 'bool', shape: [] },
        { name: 'anything', elemType: 'string' },
      ],
      outputs: [
        { name: 'fixed_out', elemType: 'int32', shape: [2, 3] },
        { name: 'symbolic_out', elemType: 'float64', shape: ['batch', null, 4] },
        { name: 'scalar_out', elemType: 'bool', shape: [] },
        { name: 'anything_out', elemType: 'string' },
      ],
      nodes: ['fixed', 'symbolic', 'scalar', 'anything'].map((name) => ({
        opType: 'Identity',
        inputs: [name],
        outputs: [`${name}_out`],
      })),
    });
    const session = await ort.InferenceSession.create(bytes, QUIET);

    const info = readModelInfo(bytes);

    assert.deepEqual(info.inputs, [
      { name: 'fixed', datatype: 'INT32', shape: [2, 3] },
      { name: 'symbolic', datatype: 'FP64', shape: [-1, -1, 4] },
      { name: 'scalar', datatype: 'BOOL', shape: [] },
      { name: 'anything', datatype: 'BYTES', shape: null },
    ]);
    assert.deepEqual(comparable(info.inputs), specsFromOrt(session.inputMetadata));
    assert.deepEqual(comparable(info.outputs), specsFromOrt(session.outputMetadata));
  });

  it('leaves out inputs that are initializers, as onnxruntime does', async () => {
    const bytes = buildOnnxModel({
      inputs: [
        { name: 'x', elemType: 'float32', shape: ['n', 2] },
        { name: 'bias', elemType: 'float32', shape: [2] },
      ],
      outputs: [{ name: 'y', elemType: 'float32', shape: ['n', 2] }],
      initializers: [{ name: 'bias', elemType: 'float32', dims: [2], data: [1, 2] }],
      nodes: [{ opType: 'Add', inputs: ['x', 'bias'], outputs: ['y'] }],
    });
    const session = await ort.InferenceSession.create(bytes, QUIET);

    const info = readModelInfo(bytes);

    assert.deepEqual(
      info.inputs.map((input) => input.name),
      ['x'],
    );
    assert.deepEqual(session.inputNames, ['x']);
  });

  it('lists sequence inputs and element types without a protocol datatype as unsupported', async () => {
    const sequenceModel = buildOnnxModel({
      inputs: [
        { name: 'items', elemType: 'float32', shape: [2], sequence: true },
        { name: 'x', elemType: 'float32', shape: [1] },
      ],
      outputs: [
        { name: 'count', elemType: 'int64', shape: [] },
        { name: 'y', elemType: 'float32', shape: [1] },
      ],
      nodes: [
        { opType: 'SequenceLength', inputs: ['items'], outputs: ['count'] },
        { opType: 'Identity', inputs: ['x'], outputs: ['y'] },
      ],
    });
    const bfloat16Model = buildOnnxModel({
      inputs: [{ name: 'b', elemType: 16, shape: [2] }],
      outputs: [{ name: 'f', elemType: 'float32', shape: [2] }],
      nodes: [{ opType: 'Cast', inputs: ['b'], outputs: ['f'], attributes: { to: { int: 1 } } }],
    });
    const session = await ort.InferenceSession.create(sequenceModel, QUIET);

    const sequenceInfo = readModelInfo(sequenceModel);
    const bfloat16Info = readModelInfo(bfloat16Model);

    assert.deepEqual(
      session.inputMetadata.filter((value) => !value.isTensor).map((value) => value.name),
      ['items'],
    );
    assert.deepEqual(sequenceInfo.unsupported, [
      { name: 'items', direction: 'input', reason: 'it is a sequence, not a tensor' },
    ]);
    assert.deepEqual(
      sequenceInfo.inputs.map((input) => input.name),
      ['x'],
    );
    assert.deepEqual(
      sequenceInfo.outputs.map((output) => output.name),
      ['count', 'y'],
    );
    assert.equal(bfloat16Info.inputs.length, 0);
    assert.equal(bfloat16Info.unsupported[0]?.name, 'b');
    assert.match(
      bfloat16Info.unsupported[0]?.reason ?? '',
      /BFLOAT16 \(16\) has no Open Inference Protocol datatype/,
    );
  });

  it('reads a model with a 64 MB initializer', () => {
    const floats = new Float32Array(16 * 1024 * 1024).fill(0.5);
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', elemType: 'float32', shape: [floats.length] }],
      outputs: [{ name: 'y', elemType: 'float32', shape: [floats.length] }],
      initializers: [{ name: 'big', elemType: 'float32', dims: [floats.length], data: floats }],
      nodes: [{ opType: 'Add', inputs: ['x', 'big'], outputs: ['y'] }],
    });

    const info = readModelInfo(bytes);

    assert.ok(bytes.length > 64 * 1024 * 1024);
    assert.deepEqual(info.inputs, [{ name: 'x', datatype: 'FP32', shape: [floats.length] }]);
  });
});

describe('readModelInfo on bytes that are not a model', () => {
  const notAModel = /^not an ONNX model: /;
  const validModel = buildOnnxModel({
    inputs: [{ name: 'x', elemType: 'float32', shape: [1] }],
    outputs: [{ name: 'y', elemType: 'float32', shape: [1] }],
    nodes: [{ opType: 'Relu', inputs: ['x'], outputs: ['y'] }],
  });
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty input', new Uint8Array(), /the file is empty/],
    ['JSON text', new TextEncoder().encode('{"model": "iris"}'), notAModel],
    ['a PNG signature', Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), notAModel],
    ['a truncated model', validModel.subarray(0, Math.floor(validModel.length / 2)), /truncated|remain/],
    [
      'a TensorProto',
      encodeTensorProto({ name: 't', elemType: 'float32', dims: [2], data: [1, 2] }),
      notAModel,
    ],
    [
      'a protobuf message without a graph',
      new ProtoWriter().varint(1, 8).string(2, 'x').finish(),
      /no graph/,
    ],
    [
      'a graph field of the wrong wire type',
      new ProtoWriter().varint(1, 8).varint(7, 1).finish(),
      /field graph \(7\) has wire type varint, expected length-delimited/,
    ],
  ];
  for (const [what, bytes, message] of cases) {
    it(`throws a clear error for ${what}`, () => {
      assert.throws(
        () => readModelInfo(bytes),
        (error: unknown) => {
          assert.ok(error instanceof Error);
          assert.match(error.message, notAModel);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  it('never fails with anything but a "not an ONNX model" error on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (bytes) => {
        try {
          readModelInfo(bytes);
        } catch (error) {
          assert.ok(error instanceof Error);
          assert.match(error.message, notAModel);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never fails with anything but a "not an ONNX model" error on any cut of a real model', () => {
    for (let cut = 1; cut < validModel.length; cut++) {
      try {
        readModelInfo(validModel.subarray(0, cut));
      } catch (error) {
        assert.ok(error instanceof Error);
        assert.match(error.message, notAModel, `cut at ${cut}`);
      }
    }
  });
});
