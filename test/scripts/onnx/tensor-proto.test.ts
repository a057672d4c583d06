import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import ort from 'onnxruntime-node';
import {
  type ElemType,
  encodeTensorProto,
  type TensorData,
} from '../../../scripts/lib/onnx/graph-builder.ts';
import { type DecodedTensor, decodeTensorProto } from '../../../scripts/lib/onnx/tensor-proto.ts';
import { datatypeOfOrtType, ORT_TYPE_OF } from '../../../src/codec/datatypes.ts';
import { ProtoWriter } from '../../../src/onnx/protobuf-writer.ts';
import type { TensorElement } from '../../../src/types.ts';
import { conformanceCases } from '../../onnx/conformance-cases.ts';

const QUIET = { logSeverityLevel: 3 } as const;
const RTOL = 1e-3;
const ATOL = 1e-5;

function toOrtTensor(tensor: DecodedTensor): ort.Tensor {
  const { datatype, data, dims } = tensor;
  switch (datatype) {
    case 'FP32':
      return new ort.Tensor('float32', Float32Array.from(data as number[]), dims);
    case 'FP64':
      return new ort.Tensor('float64', Float64Array.from(data as number[]), dims);
    case 'INT32':
      return new ort.Tensor('int32', Int32Array.from(data as number[]), dims);
    case 'INT64':
      return new ort.Tensor('int64', BigInt64Array.from(data as bigint[]), dims);
    case 'BOOL':
      return new ort.Tensor('bool', Uint8Array.from(data as boolean[], Number), dims);
    case 'BYTES':
      return new ort.Tensor('string', data as string[], dims);
    default:
      throw new Error(`no conformance input of type ${datatype} expected`);
  }
}

function assertSameTensor(actual: ort.Tensor, expected: DecodedTensor, label: string): void {
  assert.equal(datatypeOfOrtType(actual.type), expected.datatype, `${label} datatype`);
  assert.deepEqual([...actual.dims], expected.dims, `${label} dims`);
  const values = Array.from(actual.data as ArrayLike<TensorElement>);
  assert.equal(values.length, expected.data.length, `${label} element count`);
  for (let i = 0; i < values.length; i++) {
    const got = values[i];
    const want = expected.data[i];
    if (typeof want === 'number' && typeof got === 'number') {
      const close =
        Math.abs(got - want) <= ATOL + RTOL * Math.abs(want) || (Number.isNaN(got) && Number.isNaN(want));
      assert.ok(close, `${label}[${i}]: ${got} vs expected ${want}`);
    } else {
      assert.equal(got, want, `${label}[${i}]`);
    }
  }
}

describe('decodeTensorProto on the conformance data, checked against onnxruntime', async () => {
  const cases = await conformanceCases();

  it('finds every case with its expected outputs', () => {
    assert.ok(cases.length >= 44, `${cases.length} cases`);
    assert.ok(cases.every((c) => c.outputPaths.length > 0));
  });

  for (const testCase of cases) {
    it(testCase.name, async () => {
      const session = await ort.InferenceSession.create(testCase.modelPath, QUIET);
      const feeds: Record<string, ort.Tensor> = {};
      if (testCase.inputPaths.length === 0) {
        // light/ cases: the input is element i / n of the model's input shape, free dims set to 1.
        const [input] = session.inputMetadata;
        assert.ok(input?.isTensor);
        const dims = input.shape.map((dim) => (typeof dim === 'number' && dim > 0 ? dim : 1));
        const n = dims.reduce((a, b) => a * b, 1);
        feeds[input.name] = new ort.Tensor(
          'float32',
          Float32Array.from({ length: n }, (_, i) => i / n),
          dims,
        );
      }
      for (const [n, path] of testCase.inputPaths.entries()) {
        const name = session.inputNames[n];
        assert.ok(name !== undefined, `model has an input ${n}`);
        feeds[name] = toOrtTensor(decodeTensorProto(await readFile(path)));
      }
      const expected = await Promise.all(
        testCase.outputPaths.map(async (path) => decodeTensorProto(await readFile(path))),
      );

      const results = await session.run(feeds);

      assert.equal(expected.length, session.outputNames.length);
      for (const [n, want] of expected.entries()) {
        const name = session.outputNames[n] ?? '';
        const got = results[name];
        assert.ok(got, `output ${name}`);
        assertSameTensor(got, want, `${testCase.name} output ${n} (${name})`);
      }
    });
  }
});

describe('decodeTensorProto of raw_data written by the builder', () => {
  const int = (min: number, max: number) => fc.array(fc.integer({ min, max }), { maxLength: 40 });
  const cases: {
    elemType: ElemType;
    values: fc.Arbitrary<TensorData>;
    expect?: (v: unknown) => TensorElement;
  }[] = [
    { elemType: 'uint8', values: int(0, 255) },
    { elemType: 'int8', values: int(-128, 127) },
    { elemType: 'uint16', values: int(0, 65535) },
    { elemType: 'int16', values: int(-32768, 32767) },
    { elemType: 'uint32', values: int(0, 2 ** 32 - 1) },
    { elemType: 'int32', values: int(-(2 ** 31), 2 ** 31 - 1) },
    { elemType: 'int64', values: fc.array(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n), { maxLength: 40 }) },
    { elemType: 'uint64', values: fc.array(fc.bigInt(0n, 2n ** 64n - 1n), { maxLength: 40 }) },
    { elemType: 'float64', values: fc.array(fc.double({ noNaN: true }), { maxLength: 40 }) },
    { elemType: 'float32', values: fc.array(fc.float({ noNaN: true }), { maxLength: 40 }) },
    { elemType: 'bool', values: fc.array(fc.boolean(), { maxLength: 40 }) },
    { elemType: 'string', values: fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 40 }) },
  ];
  for (const { elemType, values } of cases) {
    it(`round-trips ${elemType}`, () => {
      fc.assert(
        fc.property(values, fc.string(), (data, name) => {
          const bytes = encodeTensorProto({ name, elemType, dims: [1, data.length], data });

          const decoded = decodeTensorProto(bytes);

          assert.equal(decoded.name, name);
          assert.deepEqual(decoded.dims, [1, data.length]);
          assert.equal(ORT_TYPE_OF[decoded.datatype], elemType);
          assert.deepEqual(decoded.data, Array.from(data as ArrayLike<unknown>));
        }),
        { numRuns: 50 },
      );
    });
  }

  it('decodes float16 raw_data to the nearest half-precision values', () => {
    const bytes = encodeTensorProto({ elemType: 'float16', dims: [4], data: [1, -2, 0.1, 1e6] });

    const decoded = decodeTensorProto(bytes);

    assert.equal(decoded.datatype, 'FP16');
    assert.deepEqual(decoded.data, [1, -2, 0.0999755859375, Number.POSITIVE_INFINITY]);
  });

  it('decodes a scalar (no dims) as one element', () => {
    const decoded = decodeTensorProto(encodeTensorProto({ elemType: 'int64', dims: [], data: [42n] }));

    assert.deepEqual(decoded.dims, []);
    assert.deepEqual(decoded.data, [42n]);
  });
});

/** A TensorProto written field by field, the way other ONNX tools write the typed fields. */
function typedTensor(dataType: number, dims: number[], write: (writer: ProtoWriter) => void): Uint8Array {
  const writer = new ProtoWriter();
  for (const dim of dims) writer.varint(1, dim);
  writer.varint(2, dataType);
  write(writer);
  writer.string(8, 'typed');
  return writer.finish();
}

describe('decodeTensorProto of the typed data fields', () => {
  const cases: [string, Uint8Array, TensorElement[]][] = [
    ['float_data, packed', typedTensor(1, [3], (w) => w.packedFloats(4, [1.5, -0, 3])), [1.5, -0, 3]],
    ['float_data, unpacked', typedTensor(1, [2], (w) => w.float(4, 0.5).float(4, -8)), [0.5, -8]],
    [
      'int32_data as INT32',
      typedTensor(6, [3], (w) => w.packedVarints(5, [-1, 2 ** 31 - 1, -(2 ** 31)])),
      [-1, 2 ** 31 - 1, -(2 ** 31)],
    ],
    ['int32_data as INT8', typedTensor(3, [2], (w) => w.packedVarints(5, [-128, 127])), [-128, 127]],
    ['int32_data as UINT16', typedTensor(4, [2], (w) => w.varint(5, 65535).varint(5, 0)), [65535, 0]],
    ['int32_data as BOOL', typedTensor(9, [3], (w) => w.packedVarints(5, [1, 0, 1])), [true, false, true]],
    [
      'int32_data as FLOAT16 bits',
      typedTensor(10, [3], (w) => w.packedVarints(5, [0x3c00, 0xc000, 0x7bff])),
      [1, -2, 65504],
    ],
    [
      'int64_data',
      typedTensor(7, [2], (w) => w.packedVarints(7, [-(2n ** 63n), 2n ** 63n - 1n])),
      [-(2n ** 63n), 2n ** 63n - 1n],
    ],
    ['double_data', typedTensor(11, [2], (w) => w.packedDoubles(10, [Math.E, -1e-300])), [Math.E, -1e-300]],
    [
      'uint64_data as UINT32',
      typedTensor(12, [2], (w) => w.packedVarints(11, [2 ** 32 - 1, 7])),
      [2 ** 32 - 1, 7],
    ],
    [
      'uint64_data as UINT64',
      typedTensor(13, [2], (w) => w.packedVarints(11, [2n ** 64n - 1n, 0n])),
      [2n ** 64n - 1n, 0n],
    ],
    ['string_data', typedTensor(8, [2, 1], (w) => w.string(6, 'ß').string(6, '')), ['ß', '']],
    [
      'dims written packed',
      typedTensor(1, [], (w) => w.packedVarints(1, [1, 2]).packedFloats(4, [1, 2])),
      [1, 2],
    ],
  ];
  for (const [what, bytes, expected] of cases) {
    it(`reads ${what}`, () => {
      const decoded = decodeTensorProto(bytes);

      assert.equal(decoded.name, 'typed');
      assert.deepEqual(decoded.data, expected);
    });
  }
});

describe('decodeTensorProto errors', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['malformed bytes', Uint8Array.from([0x0a, 0x05, 0x01]), /not a TensorProto: protobuf: /],
    [
      'too few values for dims',
      typedTensor(1, [3], (w) => w.packedFloats(4, [1, 2])),
      /dims \[3\] need 3 values, found 2/,
    ],
    [
      'raw_data of the wrong length',
      typedTensor(1, [2], (w) => w.bytes(9, new Uint8Array(7))),
      /raw_data has 7 bytes/,
    ],
    [
      'an element type without datatype',
      typedTensor(16, [1], (w) => w.bytes(9, new Uint8Array(2))),
      /BFLOAT16 is not supported/,
    ],
    ['no data type at all', typedTensor(0, [1], () => {}), /UNDEFINED is not supported/],
    ['external data', typedTensor(1, [1], (w) => w.varint(14, 1)), /external data/],
    [
      'string raw_data',
      typedTensor(8, [1], (w) => w.bytes(9, new Uint8Array(1))),
      /string tensors cannot use raw_data/,
    ],
    ['a negative dimension', typedTensor(1, [], (w) => w.varint(1, -1)), /invalid dimension -1/],
  ];
  for (const [what, bytes, message] of cases) {
    it(`rejects ${what}`, () => {
      assert.throws(() => decodeTensorProto(bytes), message);
    });
  }
});
