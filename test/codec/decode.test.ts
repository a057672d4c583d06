import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeInputs } from '../../src/codec/decode.ts';
import type { Datatype, RequestInput, TensorSpec } from '../../src/types.ts';
import { assertBadRequest } from './assertions.ts';

function spec(name: string, datatype: Datatype, shape: number[] | null): TensorSpec {
  return { name, datatype, shape };
}

function one(datatype: Datatype, shape: number[], data: unknown, modelShape: number[] | null = null) {
  const tensors = decodeInputs([{ name: 'x', datatype, shape, data }], [spec('x', datatype, modelShape)]);
  const tensor = tensors.x;
  assert.ok(tensor !== undefined);
  return tensor;
}

describe('decodeInputs: matching the model', () => {
  const model = [spec('x', 'FP32', [-1, 4]), spec('mask', 'BOOL', [-1])];
  const x: RequestInput = { name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] };
  const mask: RequestInput = { name: 'mask', datatype: 'BOOL', shape: [2], data: [true, false] };

  it('returns one tensor per model input, keyed by name', () => {
    const feeds = decodeInputs([mask, x], model);

    assert.deepEqual(Object.keys(feeds).sort(), ['mask', 'x']);
    assert.equal(feeds.x?.type, 'float32');
    assert.deepEqual(feeds.x?.dims, [1, 4]);
    assert.deepEqual(Array.from(feeds.x?.data as Float32Array), [1, 2, 3, 4]);
  });

  it('rejects an unknown input, listing the model inputs', () => {
    assertBadRequest(
      () => decodeInputs([x, mask, { ...x, name: 'z' }], model),
      "unknown input 'z'; the model's inputs are 'x', 'mask'",
    );
  });

  it('rejects a missing input, naming it', () => {
    assertBadRequest(
      () => decodeInputs([x], model),
      "missing input 'mask'; the model's inputs are 'x', 'mask'",
    );
  });

  it('rejects an input given twice', () => {
    assertBadRequest(() => decodeInputs([x, mask, x], model), "input 'x' is given more than once");
  });

  it('rejects a datatype other than the model input', () => {
    assertBadRequest(
      () => decodeInputs([{ ...x, datatype: 'INT64' }, mask], model),
      "input 'x': expected datatype FP32, got INT64",
    );
  });

  it('rejects another rank', () => {
    assertBadRequest(
      () => decodeInputs([{ ...x, shape: [4] }, mask], model),
      "input 'x': shape [4] does not match model shape [-1,4]: expected rank 2, got 1",
    );
  });

  it('rejects a fixed dimension of another size', () => {
    assertBadRequest(
      () => decodeInputs([{ ...x, shape: [1, 5], data: [1, 2, 3, 4, 5] }, mask], model),
      "input 'x': shape [1,5] does not match model shape [-1,4]: dimension 1 expected 4, got 5",
    );
  });

  it('holds fixed dimensions of size 0 and scalar model inputs to their shape', () => {
    assertBadRequest(
      () => one('FP32', [1, 2], [1, 2], [0, 2]),
      "input 'x': shape [1,2] does not match model shape [0,2]: dimension 0 expected 0, got 1",
    );
    assertBadRequest(
      () => one('FP32', [1], [1], []),
      "input 'x': shape [1] does not match model shape []: expected rank 0, got 1",
    );
    assertBadRequest(
      () => one('FP32', [], 1, [1]),
      "input 'x': shape [] does not match model shape [1]: expected rank 1, got 0",
    );
  });

  it('lets free dimensions take any size, including 0', () => {
    const feeds = decodeInputs(
      [
        { ...x, shape: [0, 4], data: [] },
        { ...mask, shape: [0], data: [] },
      ],
      model,
    );

    assert.deepEqual(feeds.x?.dims, [0, 4]);
    assert.equal(feeds.mask?.size, 0);
  });

  it('accepts any rank when the model does not declare one', () => {
    for (const shape of [[], [2], [1, 1, 2], [1, 1, 1, 1, 1, 2]]) {
      const data = shape.length === 0 ? 7 : [7, 8];

      const tensor = one('INT32', shape, data);

      assert.deepEqual(tensor.dims, shape);
    }
  });

  it('keeps an input named __proto__ as a plain feed', () => {
    const feeds = decodeInputs(
      [{ name: '__proto__', datatype: 'INT8', shape: [1], data: [1] }],
      [spec('__proto__', 'INT8', [1])],
    );

    assert.ok(Object.hasOwn(feeds, '__proto__'));
    assert.equal(Object.getPrototypeOf(feeds), Object.prototype);
  });
});

describe('decodeInputs: data layout', () => {
  it('reads nested row-major data the same as flat data', () => {
    const flat = one('INT16', [2, 3, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const nested = one(
      'INT16',
      [2, 3, 2],
      [
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        [
          [7, 8],
          [9, 10],
          [11, 12],
        ],
      ],
    );

    assert.deepEqual(Array.from(nested.data as Int16Array), Array.from(flat.data as Int16Array));
    assert.deepEqual(nested.dims, [2, 3, 2]);
  });

  it('takes a single value, or a one-element array, for a scalar', () => {
    const bare = one('FP64', [], 2.5);
    const wrapped = one('FP64', [], [2.5]);

    assert.deepEqual(bare.dims, []);
    assert.deepEqual(Array.from(bare.data as Float64Array), [2.5]);
    assert.deepEqual(Array.from(wrapped.data as Float64Array), [2.5]);
  });

  it('takes a single value for any one-element shape', () => {
    const tensor = one('BYTES', [1, 1], 'hello');

    assert.deepEqual(tensor.data, ['hello']);
  });

  it('reads nested data with empty inner dimensions', () => {
    const tensor = one('FP32', [2, 0], [[], []]);

    assert.equal(tensor.size, 0);
  });

  const layoutErrors: [string, Datatype, number[], unknown, string][] = [
    [
      'too few flat elements',
      'FP32',
      [2, 3],
      [1, 2, 3, 4, 5],
      "input 'x': shape [2,3] needs 6 elements, got 5",
    ],
    ['too many flat elements', 'FP32', [2], [1, 2, 3], "input 'x': shape [2] needs 2 elements, got 3"],
    [
      'a single value for many elements',
      'FP32',
      [2],
      1,
      "input 'x': shape [2] needs 2 elements, got a single value",
    ],
    ['an empty array for a scalar', 'FP32', [], [], "input 'x': shape [] needs 1 element, got 0"],
    [
      'a ragged row',
      'FP32',
      [2, 3],
      [
        [1, 2, 3],
        [4, 5],
      ],
      "input 'x': data[1] has 2 elements, expected 3 for shape [2,3]",
    ],
    [
      'too many rows',
      'FP32',
      [2, 3],
      [
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
      ],
      "input 'x': data has 3 elements, expected 2 for shape [2,3]",
    ],
    [
      'a long row',
      'FP32',
      [2, 3],
      [
        [1, 2, 3, 4],
        [5, 6, 7],
      ],
      "input 'x': data[0] has 4 elements, expected 3 for shape [2,3]",
    ],
    [
      'too few rows',
      'FP32',
      [2, 3],
      [[1, 2, 3]],
      "input 'x': data has 1 element, expected 2 for shape [2,3]",
    ],
    [
      'a value where a row belongs',
      'FP32',
      [2, 3],
      [[1, 2, 3], 4],
      "input 'x': data[1] expected an array of 3 elements for shape [2,3], got 4",
    ],
    [
      'nesting shallower than the shape',
      'FP32',
      [2, 2, 1],
      [
        [1, 2],
        [3, 4],
      ],
      "input 'x': data[0][0] expected an array of 1 element for shape [2,2,1], got 1",
    ],
    [
      'nesting deeper than the shape',
      'FP32',
      [1, 2],
      [[[1], [2]]],
      "input 'x' element 0: expected a finite number for FP32, got array (data is nested deeper than shape [1,2])",
    ],
    [
      'nested data for a rank-1 shape',
      'FP32',
      [2],
      [[1], [2]],
      "input 'x': data is nested deeper than shape [2] allows",
    ],
    [
      'flat data mixed with rows',
      'FP32',
      [2],
      [1, [2]],
      "input 'x' element 1: expected a finite number for FP32, got array (data is nested deeper than shape [2])",
    ],
  ];
  for (const [title, datatype, shape, data, message] of layoutErrors) {
    it(`rejects ${title}`, () => {
      assertBadRequest(() => one(datatype, shape, data), message);
    });
  }
});

describe('decodeInputs: elements', () => {
  it('stores each datatype in the typed array onnxruntime-node takes', () => {
    const cases: [Datatype, unknown[], string, string][] = [
      ['BOOL', [true, false], 'bool', 'Uint8Array'],
      ['UINT8', [0, 255], 'uint8', 'Uint8Array'],
      ['UINT16', [0, 65535], 'uint16', 'Uint16Array'],
      ['UINT32', [0, 4294967295], 'uint32', 'Uint32Array'],
      ['UINT64', [0, '18446744073709551615'], 'uint64', 'BigUint64Array'],
      ['INT8', [-128, 127], 'int8', 'Int8Array'],
      ['INT16', [-32768, 32767], 'int16', 'Int16Array'],
      ['INT32', [-2147483648, 2147483647], 'int32', 'Int32Array'],
      ['INT64', [-9007199254740991, '9223372036854775807'], 'int64', 'BigInt64Array'],
      ['FP16', [1, -2], 'float16', 'Uint16Array'],
      ['FP32', [1.5, -2], 'float32', 'Float32Array'],
      ['FP64', [1.5, -2], 'float64', 'Float64Array'],
      ['BYTES', ['a', ''], 'string', 'Array'],
    ];
    for (const [datatype, data, type, storage] of cases) {
      const tensor = one(datatype, [2], data);

      assert.equal(tensor.type, type, datatype);
      assert.equal(tensor.data.constructor.name, storage, datatype);
    }
  });

  it('accepts BYTES with paired surrogates (emoji)', () => {
    const tensor = one('BYTES', [2], ['🎉', '\ud83c\udf89x']);

    assert.deepEqual(tensor.data, ['🎉', '🎉x']);
  });

  it('keeps 64-bit integers beyond 2^53 exact when sent as decimal strings', () => {
    const int64 = one('INT64', [3], ['-9223372036854775808', '9007199254740993', 42]);
    const uint64 = one('UINT64', [2], ['18446744073709551615', '0']);

    assert.deepEqual(Array.from(int64.data as BigInt64Array), [-(2n ** 63n), 2n ** 53n + 1n, 42n]);
    assert.deepEqual(Array.from(uint64.data as BigUint64Array), [2n ** 64n - 1n, 0n]);
  });

  it('stores BOOL as 1 and 0', () => {
    const tensor = one('BOOL', [3], [true, false, true]);

    assert.deepEqual(Array.from(tensor.data as Uint8Array), [1, 0, 1]);
  });

  it('rounds FP16 to the nearest half, ties to even, overflowing to Infinity', () => {
    const tensor = one('FP16', [4], [65504, 1 / 3, 70000, -1e-8]);

    assert.deepEqual(Array.from(tensor.data as Uint16Array), [0x7bff, 0x3555, 0x7c00, 0x8000]);
  });

  const int64Range =
    '[-9223372036854775808, 9223372036854775807] for INT64 (a JSON number within ±(2^53-1), or a decimal string)';
  const uint64Range =
    '[0, 18446744073709551615] for UINT64 (a JSON number within ±(2^53-1), or a decimal string)';
  const bytes = 'a string without NUL characters or unpaired surrogates for BYTES';
  const elementErrors: [Datatype, unknown[], string][] = [
    [
      'UINT8',
      [1, 2, 3, 4, 5, 6, 7, 300],
      "input 'x' element 7: expected an integer in [0, 255] for UINT8, got 300",
    ],
    ['UINT8', [-1], "input 'x' element 0: expected an integer in [0, 255] for UINT8, got -1"],
    ['UINT16', [65536], "input 'x' element 0: expected an integer in [0, 65535] for UINT16, got 65536"],
    [
      'UINT32',
      [2 ** 32],
      "input 'x' element 0: expected an integer in [0, 4294967295] for UINT32, got 4294967296",
    ],
    ['INT8', [-129], "input 'x' element 0: expected an integer in [-128, 127] for INT8, got -129"],
    ['INT16', [32768], "input 'x' element 0: expected an integer in [-32768, 32767] for INT16, got 32768"],
    [
      'INT32',
      [1.5],
      "input 'x' element 0: expected an integer in [-2147483648, 2147483647] for INT32, got 1.5",
    ],
    [
      'INT32',
      ['1'],
      "input 'x' element 0: expected an integer in [-2147483648, 2147483647] for INT32, got '1'",
    ],
    ['INT64', [2 ** 53], `input 'x' element 0: expected an integer in ${int64Range}, got 9007199254740992`],
    [
      'INT64',
      ['9223372036854775808'],
      `input 'x' element 0: expected an integer in ${int64Range}, got '9223372036854775808'`,
    ],
    ['INT64', ['1.5'], `input 'x' element 0: expected an integer in ${int64Range}, got '1.5'`],
    ['INT64', ['0x10'], `input 'x' element 0: expected an integer in ${int64Range}, got '0x10'`],
    ['INT64', [0.5], `input 'x' element 0: expected an integer in ${int64Range}, got 0.5`],
    ['UINT64', ['-1'], `input 'x' element 0: expected an integer in ${uint64Range}, got '-1'`],
    ['UINT64', [true], `input 'x' element 0: expected an integer in ${uint64Range}, got true`],
    ['FP32', [1, 'NaN'], "input 'x' element 1: expected a finite number for FP32, got 'NaN'"],
    ['FP32', [null], "input 'x' element 0: expected a finite number for FP32, got null"],
    [
      'FP32',
      [Number.POSITIVE_INFINITY],
      "input 'x' element 0: expected a finite number for FP32, got Infinity",
    ],
    ['FP64', [Number.NaN], "input 'x' element 0: expected a finite number for FP64, got NaN"],
    ['FP16', [{}], "input 'x' element 0: expected a finite number for FP16, got object"],
    ['BOOL', [true, 1], "input 'x' element 1: expected true or false for BOOL, got 1"],
    ['BOOL', ['true'], "input 'x' element 0: expected true or false for BOOL, got 'true'"],
    ['BYTES', [5], `input 'x' element 0: expected ${bytes}, got 5`],
    ['BYTES', ['ok', 'a\0b'], `input 'x' element 1: expected ${bytes}, got 'a\0b'`],
    ['BYTES', ['\ud800x'], `input 'x' element 0: expected ${bytes}, got '\ud800x'`],
    ['BYTES', ['x\udc00'], `input 'x' element 0: expected ${bytes}, got 'x\udc00'`],
  ];
  for (const [datatype, data, message] of elementErrors) {
    it(`rejects ${datatype} data ${JSON.stringify(data.at(-1)) ?? String(data.at(-1))}`, () => {
      assertBadRequest(() => one(datatype, [data.length], data), message);
    });
  }

  it('counts the element index row-major through nested data', () => {
    assertBadRequest(
      () =>
        one(
          'UINT8',
          [2, 2],
          [
            [1, 2],
            [3, 256],
          ],
        ),
      "input 'x' element 3: expected an integer in [0, 255] for UINT8, got 256",
    );
  });

  it('cuts long strings in element errors', () => {
    assertBadRequest(() => one('FP32', [1], ['9'.repeat(100_000)]), /got '9{64}…'$/);
  });

  it('converts a 1×3×224×224 FP32 input', () => {
    const count = 3 * 224 * 224;
    const data = Array.from({ length: count }, (_, i) => i / count);

    const tensor = one('FP32', [1, 3, 224, 224], data, [-1, 3, 224, 224]);

    assert.equal(tensor.size, count);
    assert.equal((tensor.data as Float32Array)[count - 1], Math.fround((count - 1) / count));
  });
});
