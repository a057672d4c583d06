import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { InferenceSession, type Tensor } from 'onnxruntime-node';
import { DATATYPE_OF_ONNX_ELEM_TYPE } from '../../src/codec/datatypes.ts';
import { decodeInputs } from '../../src/codec/decode.ts';
import { encodeOutputs } from '../../src/codec/encode.ts';
import { fromFloat16Bits } from '../../src/codec/float16.ts';
import { stringifyJson } from '../../src/codec/json.ts';
import { DATATYPES, type Datatype, type TensorElement } from '../../src/types.ts';

// A minimal ONNX protobuf writer: just enough for a one-node Identity model per element type.
function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return bytes;
}

function field(number: number, payload: number | string | number[]): number[] {
  if (typeof payload === 'number') return [...varint(number << 3), ...varint(payload)];
  const bytes = typeof payload === 'string' ? [...new TextEncoder().encode(payload)] : payload;
  return [...varint((number << 3) | 2), ...varint(bytes.length), ...bytes];
}

/** ModelProto of `y = Identity(x)`, both of `elemType` with no declared shape (any rank). */
function identityModel(elemType: number): Uint8Array {
  const valueInfo = (name: string) => [...field(1, name), ...field(2, field(1, field(1, elemType)))];
  const node = [...field(1, 'x'), ...field(2, 'y'), ...field(4, 'Identity')];
  const graph = [
    ...field(1, node),
    ...field(2, 'identity'),
    ...field(11, valueInfo('x')),
    ...field(12, valueInfo('y')),
  ];
  const opset = [...field(1, ''), ...field(2, 13)];
  return new Uint8Array([...field(1, 8), ...field(8, opset), ...field(7, graph)]);
}

const ELEM_TYPE_OF = new Map(
  Object.entries(DATATYPE_OF_ONNX_ELEM_TYPE).map(([elem, datatype]) => [datatype, Number(elem)]),
);

/** A JSON value to send for an element, and what the response must carry for it. */
type Sample = [sent: unknown, returned: TensorElement];

const same = (value: TensorElement): Sample => [value, value];
const wide = (value: bigint): Sample => {
  const safe = value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER);
  return [safe ? Number(value) : value.toString(), safe ? Number(value) : value];
};

const SAMPLES: Record<Datatype, fc.Arbitrary<Sample>> = {
  BOOL: fc.boolean().map(same),
  UINT8: fc.integer({ min: 0, max: 255 }).map(same),
  UINT16: fc.integer({ min: 0, max: 65535 }).map(same),
  UINT32: fc.integer({ min: 0, max: 4294967295 }).map(same),
  UINT64: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(wide),
  INT8: fc.integer({ min: -128, max: 127 }).map(same),
  INT16: fc.integer({ min: -32768, max: 32767 }).map(same),
  INT32: fc.integer().map(same),
  INT64: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(wide),
  FP16: fc.integer({ min: 0, max: 0xffff }).map(fromFloat16Bits).filter(Number.isFinite).map(same),
  FP32: fc.float({ noNaN: true, noDefaultInfinity: true }).map(same),
  FP64: fc.double({ noNaN: true, noDefaultInfinity: true }).map(same),
  BYTES: fc
    .string({ unit: 'grapheme' })
    .filter((text) => !text.includes('\0'))
    .map(same),
};

const EXAMPLES: Record<Datatype, Sample[]> = {
  BOOL: [same(true), same(false)],
  UINT8: [same(0), same(255)],
  UINT16: [same(0), same(65535)],
  UINT32: [same(0), same(4294967295)],
  UINT64: [wide(0n), wide(2n ** 53n - 1n), wide(2n ** 53n), wide(2n ** 64n - 1n), ['123', 123]],
  INT8: [same(-128), same(127)],
  INT16: [same(-32768), same(32767)],
  INT32: [same(-2147483648), same(2147483647)],
  INT64: [
    wide(-(2n ** 63n)),
    wide(-(2n ** 53n)),
    wide(2n ** 63n - 1n),
    same(-7),
    ['-9007199254740991', -9007199254740991],
  ],
  FP16: [
    same(65504),
    same(-0),
    same(2 ** -24),
    [1 / 3, 0.333251953125],
    [1e-8, 0],
    [70000, 'Infinity'],
    [-1e6, '-Infinity'],
  ],
  FP32: [same(0.5), same(-0), same(3.4028234663852886e38), [0.1, Math.fround(0.1)], [1e39, 'Infinity']],
  FP64: [same(0.1), same(Number.MAX_VALUE), same(Number.MIN_VALUE), same(-0)],
  BYTES: [same(''), same('héllo wörld'), same('日本語 🎉'), same('a'.repeat(1000))],
};

/** Nests flat row-major data by `shape` (rank ≥ 2), the way numpy's tolist() does. */
function nest(flat: unknown[], shape: number[]): unknown {
  if (shape.length <= 1) return flat;
  const [first = 0, ...rest] = shape;
  const size = rest.reduce((product, dim) => product * dim, 1);
  return Array.from({ length: first }, (_, i) => nest(flat.slice(i * size, (i + 1) * size), rest));
}

function roundTrip(datatype: Datatype, shape: number[], data: unknown): TensorElement[] {
  const feeds = decodeInputs([{ name: 'x', datatype, shape, data }], [{ name: 'x', datatype, shape: null }]);
  const [output] = encodeOutputs({ x: feeds.x as Tensor });
  assert.ok(output !== undefined);
  assert.equal(output.datatype, datatype);
  assert.deepEqual(output.shape, shape);
  return output.data;
}

const shapes = fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 4 });

describe('decode → Tensor → encode', () => {
  for (const datatype of DATATYPES) {
    it(`${datatype}: gives back known values`, () => {
      const samples = EXAMPLES[datatype];

      const data = roundTrip(
        datatype,
        [samples.length],
        samples.map(([sent]) => sent),
      );

      assert.deepEqual(
        data,
        samples.map(([, returned]) => returned),
      );
    });

    it(`${datatype}: gives back random flat and nested data of random shapes`, () => {
      const cases = shapes.chain((shape) => {
        const count = shape.reduce((product, dim) => product * dim, 1);
        return fc.tuple(
          fc.constant(shape),
          fc.array(SAMPLES[datatype], { minLength: count, maxLength: count }),
        );
      });
      fc.assert(
        fc.property(cases, ([shape, samples]) => {
          const sent = samples.map(([value]) => value);
          const returned = samples.map(([, value]) => value);

          assert.deepEqual(roundTrip(datatype, shape, sent), returned);
          assert.deepEqual(roundTrip(datatype, shape, nest(sent, shape)), returned);
        }),
        { numRuns: 100 },
      );
    });
  }

  it('writes INT64 beyond 2^53 as exact digits in the response JSON', () => {
    const data = roundTrip('INT64', [2], ['9223372036854775807', '-9007199254740993']);

    assert.equal(stringifyJson(data), '[9223372036854775807,-9007199254740993]');
  });
});

describe('decode → InferenceSession (Identity) → encode', () => {
  const sessions = new Map<Datatype, InferenceSession>();
  before(async () => {
    for (const datatype of DATATYPES) {
      const elemType = ELEM_TYPE_OF.get(datatype);
      assert.ok(elemType !== undefined, datatype);
      sessions.set(datatype, await InferenceSession.create(identityModel(elemType)));
    }
  });

  async function throughModel(datatype: Datatype, shape: number[], data: unknown): Promise<TensorElement[]> {
    const session = sessions.get(datatype);
    assert.ok(session !== undefined);
    const feeds = decodeInputs(
      [{ name: 'x', datatype, shape, data }],
      [{ name: 'x', datatype, shape: null }],
    );
    const [output] = encodeOutputs(await session.run(feeds));
    assert.ok(output !== undefined);
    assert.equal(output.name, 'y');
    assert.equal(output.datatype, datatype);
    assert.deepEqual(output.shape, shape);
    return output.data;
  }

  for (const datatype of DATATYPES) {
    it(`${datatype}: onnxruntime reads the decoded tensor as sent`, async () => {
      const samples = EXAMPLES[datatype];

      const data = await throughModel(datatype, [1, samples.length], [samples.map(([sent]) => sent)]);

      assert.deepEqual(
        data,
        samples.map(([, returned]) => returned),
      );
    });
  }

  it('runs random tensors of every datatype through the model unchanged', async () => {
    const cases = fc.constantFrom(...DATATYPES).chain((datatype) =>
      shapes.chain((shape) => {
        const count = shape.reduce((product, dim) => product * dim, 1);
        const samples = fc.array(SAMPLES[datatype], { minLength: count, maxLength: count });
        return fc.tuple(fc.constant(datatype), fc.constant(shape), samples);
      }),
    );
    await fc.assert(
      fc.asyncProperty(cases, async ([datatype, shape, samples]) => {
        const data = await throughModel(
          datatype,
          shape,
          samples.map(([sent]) => sent),
        );

        assert.deepEqual(
          data,
          samples.map(([, returned]) => returned),
        );
      }),
      { numRuns: 200 },
    );
  });
});
