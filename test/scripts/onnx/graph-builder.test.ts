/**
 * Graphs written by the builder are loaded by the real onnxruntime and must compute what plain JS
 * arithmetic says they should.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import ort from 'onnxruntime-node';
import {
  type AttributeValue,
  buildOnnxModel,
  type ElemType,
  encodeTensorProto,
  type OnnxModelSpec,
  type TensorData,
} from '../../../scripts/lib/onnx/graph-builder.ts';
import { fromFloat16Bits, toFloat16Bits } from '../../../src/codec/float16.ts';

const QUIET = { logSeverityLevel: 3 } as const;

async function session(spec: OnnxModelSpec): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(buildOnnxModel(spec), QUIET);
}

function floats(values: number[], dims: number[]): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.from(values), dims);
}

function assertClose(actual: ArrayLike<number>, expected: readonly number[], tolerance = 1e-5): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    const want = expected[i] ?? Number.NaN;
    assert.ok(
      Math.abs((actual[i] ?? Number.NaN) - want) <= tolerance * (1 + Math.abs(want)),
      `element ${i}: ${actual[i]} vs ${want}`,
    );
  }
}

describe('buildOnnxModel in onnxruntime', () => {
  it('computes Add then Relu over a symbolic batch dimension', async () => {
    const s = await session({
      inputs: [{ name: 'x', elemType: 'float32', shape: ['batch', 3] }],
      outputs: [{ name: 'y', elemType: 'float32', shape: ['batch', 3] }],
      initializers: [{ name: 'offset', elemType: 'float32', dims: [3], data: [0.5, -2, 1] }],
      nodes: [
        { opType: 'Add', inputs: ['x', 'offset'], outputs: ['sum'] },
        { opType: 'Relu', inputs: ['sum'], outputs: ['y'] },
      ],
    });
    const x = [1, 1, -3, -1, 4, 0.25, 2, -8, 7];
    const offset = [0.5, -2, 1];

    const { y } = await s.run({ x: floats(x, [3, 3]) });

    assert.ok(y);
    assert.deepEqual(y.dims, [3, 3]);
    assertClose(
      y.data as Float32Array,
      x.map((v, i) => Math.max(0, v + (offset[i % 3] ?? 0))),
    );
  });

  it('computes Gemm with float and int attributes (alpha, beta, transB)', async () => {
    const weights = [1, 2, 3, -1, 0.5, 4]; // [2 outputs, 3 inputs]
    const bias = [10, -10];
    const s = await session({
      inputs: [{ name: 'x', elemType: 'float32', shape: ['n', 3] }],
      outputs: [{ name: 'y', elemType: 'float32', shape: ['n', 2] }],
      initializers: [
        { name: 'w', elemType: 'float32', dims: [2, 3], data: weights },
        { name: 'b', elemType: 'float32', dims: [2], data: bias },
      ],
      nodes: [
        {
          opType: 'Gemm',
          inputs: ['x', 'w', 'b'],
          outputs: ['y'],
          attributes: { alpha: { float: 0.5 }, beta: { float: 2 }, transB: { int: 1 } },
        },
      ],
    });
    const x = [1, 2, 3, -4, 0, 2];

    const { y } = await s.run({ x: floats(x, [2, 3]) });

    const expected: number[] = [];
    for (let row = 0; row < 2; row++) {
      for (let out = 0; out < 2; out++) {
        let dot = 0;
        for (let k = 0; k < 3; k++) dot += (x[row * 3 + k] ?? 0) * (weights[out * 3 + k] ?? 0);
        expected.push(0.5 * dot + 2 * (bias[out] ?? 0));
      }
    }
    assert.ok(y);
    assertClose(y.data as Float32Array, expected);
  });

  it('returns int64 from ArgMax with keepdims 0', async () => {
    const s = await session({
      inputs: [{ name: 'x', elemType: 'float32', shape: ['n', 4] }],
      outputs: [{ name: 'label', elemType: 'int64', shape: ['n'] }],
      nodes: [
        {
          opType: 'ArgMax',
          inputs: ['x'],
          outputs: ['label'],
          attributes: { axis: { int: 1 }, keepdims: { int: 0 } },
        },
      ],
    });
    const rows = [
      [0.1, 0.7, 0.1, 0.1],
      [5, -1, 2, 4.9],
      [-3, -2, -1, -0.5],
    ];

    const { label } = await s.run({ x: floats(rows.flat(), [3, 4]) });

    assert.ok(label);
    assert.equal(label.type, 'int64');
    assert.deepEqual(label.dims, [3]);
    assert.deepEqual(
      Array.from(label.data as BigInt64Array),
      rows.map((row) => BigInt(row.indexOf(Math.max(...row)))),
    );
  });

  it('passes strings through Identity and writes string constants', async () => {
    const s = await session({
      inputs: [{ name: 'text', elemType: 'string', shape: ['n'] }],
      outputs: [
        { name: 'same', elemType: 'string', shape: ['n'] },
        { name: 'constant', elemType: 'string', shape: [3] },
      ],
      initializers: [{ name: 'words', elemType: 'string', dims: [3], data: ['ünïcödé', '', 'a,b'] }],
      nodes: [
        { opType: 'Identity', inputs: ['text'], outputs: ['same'] },
        { opType: 'Identity', inputs: ['words'], outputs: ['constant'] },
      ],
    });
    const text = ['hello', 'wörld 🌍', ''];

    const { same, constant } = await s.run({ text: new ort.Tensor('string', text, [3]) });

    assert.deepEqual(same?.data, text);
    assert.deepEqual(constant?.data, ['ünïcödé', '', 'a,b']);
  });

  it('writes every attribute type the way onnxruntime reads it (Constant value_*)', async () => {
    const cases: {
      attribute: string;
      value: Parameters<typeof constantModel>[1];
      type: ElemType;
      expected: unknown[];
    }[] = [
      { attribute: 'value_float', value: { float: 0.25 }, type: 'float32', expected: [0.25] },
      { attribute: 'value_int', value: { int: -5 }, type: 'int64', expected: [-5n] },
      { attribute: 'value_int', value: { int: 2n ** 62n + 1n }, type: 'int64', expected: [2n ** 62n + 1n] },
      { attribute: 'value_string', value: { string: 'héllo' }, type: 'string', expected: ['héllo'] },
      { attribute: 'value_floats', value: { floats: [1.5, -2, 0] }, type: 'float32', expected: [1.5, -2, 0] },
      {
        attribute: 'value_ints',
        value: { ints: [1, -1, 2n ** 40n] },
        type: 'int64',
        expected: [1n, -1n, 2n ** 40n],
      },
      {
        attribute: 'value_strings',
        value: { strings: ['a', '', 'ç'] },
        type: 'string',
        expected: ['a', '', 'ç'],
      },
      {
        attribute: 'value',
        value: { tensor: { elemType: 'int32', dims: [2, 2], data: [1, -2, 3, 2 ** 31 - 1] } },
        type: 'int32',
        expected: [1, -2, 3, 2 ** 31 - 1],
      },
    ];
    for (const { attribute, value, type, expected } of cases) {
      const s = await ort.InferenceSession.create(constantModel(attribute, value, type), QUIET);

      const { out } = await s.run({});

      assert.ok(out);
      assert.equal(out.type, type, attribute);
      assert.deepEqual(Array.from(out.data as ArrayLike<unknown>), expected, attribute);
    }
  });

  it('reads int list attributes in order (Transpose perm)', async () => {
    const s = await session({
      inputs: [{ name: 'x', elemType: 'float32', shape: [2, 3] }],
      outputs: [{ name: 'y', elemType: 'float32', shape: [3, 2] }],
      nodes: [{ opType: 'Transpose', inputs: ['x'], outputs: ['y'], attributes: { perm: { ints: [1, 0] } } }],
    });

    const { y } = await s.run({ x: floats([1, 2, 3, 4, 5, 6], [2, 3]) });

    assert.deepEqual(y?.dims, [3, 2]);
    assert.deepEqual(Array.from(y?.data as Float32Array), [1, 4, 2, 5, 3, 6]);
  });

  it('writes initializers of every numeric element type as onnxruntime expects', async () => {
    const cases: { elemType: ElemType; data: TensorData; expected: unknown[] }[] = [
      { elemType: 'uint8', data: [0, 1, 255], expected: [0, 1, 255] },
      { elemType: 'int8', data: [-128, 0, 127], expected: [-128, 0, 127] },
      { elemType: 'uint16', data: [0, 65535, 300], expected: [0, 65535, 300] },
      { elemType: 'int16', data: [-32768, 32767, -1], expected: [-32768, 32767, -1] },
      {
        elemType: 'int32',
        data: Int32Array.from([-(2 ** 31), 2 ** 31 - 1, 7]),
        expected: [-(2 ** 31), 2 ** 31 - 1, 7],
      },
      { elemType: 'uint32', data: [0, 2 ** 32 - 1, 7], expected: [0, 2 ** 32 - 1, 7] },
      {
        elemType: 'int64',
        data: [-(2n ** 63n), 2n ** 63n - 1n, 5n],
        expected: [-(2n ** 63n), 2n ** 63n - 1n, 5n],
      },
      { elemType: 'uint64', data: [0n, 2n ** 64n - 1n, 5n], expected: [0n, 2n ** 64n - 1n, 5n] },
      { elemType: 'float64', data: [Math.PI, -1e300, 5e-324], expected: [Math.PI, -1e300, 5e-324] },
      { elemType: 'float32', data: [0.1, -0, 3.5], expected: [Math.fround(0.1), -0, 3.5] },
      { elemType: 'bool', data: [true, false, true], expected: [true, false, true] },
    ];
    for (const { elemType, data, expected } of cases) {
      const s = await session({
        inputs: [],
        outputs: [{ name: 'out', elemType, shape: [3] }],
        initializers: [{ name: 'c', elemType, dims: [3], data }],
        nodes: [{ opType: 'Identity', inputs: ['c'], outputs: ['out'] }],
      });

      const { out } = await s.run({});

      const actual = Array.from(out?.data as ArrayLike<unknown>);
      assert.deepEqual(elemType === 'bool' ? actual.map(Boolean) : actual, expected, elemType);
    }
  });
});

function constantModel(attribute: string, value: AttributeValue, elemType: ElemType): Uint8Array {
  return buildOnnxModel({
    inputs: [],
    outputs: [{ name: 'out', elemType }],
    nodes: [{ opType: 'Constant', inputs: [], outputs: ['out'], attributes: { [attribute]: value } }],
  });
}

describe('float16 data', () => {
  it('rounds float32 values to half precision exactly as onnxruntime Cast does', async () => {
    const s = await session({
      inputs: [{ name: 'x', elemType: 'float32', shape: ['n'] }],
      outputs: [{ name: 'y', elemType: 'float32', shape: ['n'] }],
      nodes: [
        { opType: 'Cast', inputs: ['x'], outputs: ['half'], attributes: { to: { int: 10 } } },
        { opType: 'Cast', inputs: ['half'], outputs: ['y'], attributes: { to: { int: 1 } } },
      ],
    });
    const edges = [
      0.1,
      1 / 3,
      65504,
      65519,
      65520,
      2 ** -24,
      2 ** -25,
      3 * 2 ** -26,
      2 ** -14,
      2049,
      2051,
      -0,
      Infinity,
    ];
    const random = fc.sample(fc.float({ noNaN: true }), { numRuns: 2000, seed: 7 });
    const values = Float32Array.from([...edges, ...edges.map((v) => -v), ...random]);

    const { y } = await s.run({ x: new ort.Tensor('float32', values, [values.length]) });

    const ours = Array.from(values, (v) => fromFloat16Bits(toFloat16Bits(v)));
    assert.deepEqual(Array.from(y?.data as Float32Array), ours);
  });

  it('writes float16 initializers that onnxruntime reads back as the rounded values', async () => {
    const data = [1, -2.5, 0.1, 65504, 2 ** -24];
    const s = await session({
      inputs: [],
      outputs: [{ name: 'out', elemType: 'float32', shape: [5] }],
      initializers: [{ name: 'c', elemType: 'float16', dims: [5], data }],
      nodes: [{ opType: 'Cast', inputs: ['c'], outputs: ['out'], attributes: { to: { int: 1 } } }],
    });

    const { out } = await s.run({});

    assert.deepEqual(Array.from(out?.data as Float32Array), [1, -2.5, 0.0999755859375, 65504, 2 ** -24]);
  });
});

describe('buildOnnxModel input checks', () => {
  const base = { inputs: [], outputs: [], nodes: [] };

  it('rejects data whose length does not match dims', () => {
    assert.throws(
      () =>
        buildOnnxModel({
          ...base,
          initializers: [{ name: 'w', elemType: 'float32', dims: [2, 2], data: [1, 2, 3] }],
        }),
      /tensor w: dims \[2, 2\] need 4 values, got 3/,
    );
  });

  it('rejects values outside the element type', () => {
    assert.throws(
      () => encodeTensorProto({ elemType: 'int8', dims: [1], data: [128] }),
      /element 0 \(128\) is not a valid int8/,
    );
    assert.throws(
      () => encodeTensorProto({ elemType: 'uint64', dims: [1], data: [-1n] }),
      /element 0 \(-1\) is not a valid uint64/,
    );
    assert.throws(
      () => encodeTensorProto({ elemType: 'float32', dims: [1], data: ['1'] }),
      /element 0 \(1\) is not a valid float32/,
    );
    assert.throws(() => encodeTensorProto({ elemType: 'string', dims: [1], data: [1] }), /not a string/);
    assert.throws(() => encodeTensorProto({ elemType: 'bool', dims: [1], data: [2] }), /is not a valid bool/);
  });

  it('rejects int attributes that are not int64 values', () => {
    const node = (value: bigint | number) => ({
      opType: 'Flatten',
      inputs: ['x'],
      outputs: ['y'],
      attributes: { axis: { int: value } },
    });

    assert.throws(
      () => buildOnnxModel({ ...base, nodes: [node(2n ** 63n)] }),
      /attribute axis: \d+ is not an int64/,
    );
    assert.throws(
      () => buildOnnxModel({ ...base, nodes: [node(1.5)] }),
      /attribute axis: 1.5 is not an int64/,
    );
  });

  it('rejects negative or fractional dimensions', () => {
    assert.throws(
      () => encodeTensorProto({ elemType: 'float32', dims: [-1], data: [] }),
      /dimension -1 is not a size/,
    );
    assert.throws(
      () => buildOnnxModel({ ...base, inputs: [{ name: 'x', elemType: 'float32', shape: [1.5] }] }),
      /x: dimension 1.5 is not a size/,
    );
  });
});
