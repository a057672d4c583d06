/**
 * The binary tensor data extension's codec: body splitting, inputs' byte slices, per-datatype
 * decoding and its 400s, output selection, and response encoding read back byte for byte.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Tensor } from 'onnxruntime-node';
import {
  attachBinaryInputs,
  binaryOutputSelection,
  decodeBinaryData,
  encodeBinaryResponse,
  splitBinaryBody,
  tensorBytes,
} from '../../src/codec/binary.ts';
import { decodeInputs } from '../../src/codec/decode.ts';
import { encodeOutputs } from '../../src/codec/encode.ts';
import { toFloat16Bits } from '../../src/codec/float16.ts';
import { parseInferenceRequest } from '../../src/codec/parse-request.ts';
import { BadRequestError } from '../../src/errors.ts';
import type { Datatype, RequestInput } from '../../src/types.ts';

const bytesOf = (view: ArrayBufferView) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);

function binaryInput(
  datatype: Datatype,
  shape: number[],
  binary: Uint8Array,
): RequestInput & { binary: Uint8Array } {
  return { name: 'x', datatype, shape, data: undefined, binaryDataSize: binary.byteLength, binary };
}

function rejects(fn: () => unknown, message: RegExp | string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof BadRequestError, `expected a BadRequestError, got ${String(error)}`);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

/** Little-endian bytes of BYTES elements: 4-byte length, then UTF-8. */
function stringsBytes(strings: string[]): Uint8Array {
  const parts = strings.map((s) => Buffer.from(s, 'utf8'));
  const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.writeUInt32LE(part.length, offset);
    part.copy(out, offset + 4);
    offset += 4 + part.length;
  }
  return new Uint8Array(out);
}

describe('splitBinaryBody', () => {
  const body = new Uint8Array([123, 125, 1, 2, 3]);

  it('without the header the whole body is JSON', () => {
    const split = splitBinaryBody(body, undefined);
    assert.equal(split.json, body);
    assert.equal(split.binary, undefined);
  });

  it('splits at the header length', () => {
    const split = splitBinaryBody(body, '2');
    assert.deepEqual([...split.json], [123, 125]);
    assert.deepEqual([...(split.binary ?? [])], [1, 2, 3]);
    assert.deepEqual([...(splitBinaryBody(body, '5').binary ?? [9])], []);
  });

  for (const bad of ['6', '-1', '1.5', 'abc', '', '0x2', '99999999999999999999']) {
    it(`refuses the header value '${bad}'`, () => {
      rejects(
        () => splitBinaryBody(body, bad),
        /^header Inference-Header-Content-Length: expected the length of the JSON part, an integer from 0 to the body's 5 bytes, got '/,
      );
    });
  }
});

describe('attachBinaryInputs', () => {
  const request = () =>
    parseInferenceRequest({
      inputs: [
        { name: 'a', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } },
        { name: 'b', shape: [1], datatype: 'FP32', data: [1] },
        { name: 'c', shape: [1], datatype: 'INT8', parameters: { binary_data_size: 1 } },
      ],
    });

  it('gives each binary input its slice, in request order', () => {
    const parsed = request();
    attachBinaryInputs(parsed, new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8]));
    assert.deepEqual([...(parsed.inputs[0]?.binary ?? [])], [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(parsed.inputs[1]?.binary, undefined);
    assert.deepEqual([...(parsed.inputs[2]?.binary ?? [])], [8]);
  });

  it('refuses sizes that leave bytes over', () => {
    rejects(
      () => attachBinaryInputs(request(), new Uint8Array(10)),
      "the body has 10 bytes of binary data after the JSON part but the inputs' parameters.binary_data_size add up to 9",
    );
  });

  it('refuses sizes beyond the data', () => {
    rejects(
      () => attachBinaryInputs(request(), new Uint8Array(8)),
      "input 'c': parameters.binary_data_size is 1 bytes but only 0 bytes of binary data are left after the inputs before it",
    );
  });

  it('refuses binary_data_size without the header', () => {
    rejects(
      () => attachBinaryInputs(request(), undefined),
      /^input 'a': parameters.binary_data_size is set but no binary data came with the request \(binary data follows the JSON object of an HTTP body/,
    );
  });

  it('refuses binary data that no input claims', () => {
    const parsed = parseInferenceRequest({
      inputs: [{ name: 'b', shape: [1], datatype: 'FP32', data: [1] }],
    });
    rejects(() => attachBinaryInputs(parsed, new Uint8Array(4)), /4 bytes of binary data .* add up to 0$/);
    attachBinaryInputs(parsed, new Uint8Array(0));
  });
});

describe('decodeBinaryData', () => {
  const cases: [Datatype, ArrayBufferView & ArrayLike<number | bigint>][] = [
    ['FP32', new Float32Array([1.5, -2, Number.NaN, Number.POSITIVE_INFINITY])],
    ['FP64', new Float64Array([Math.PI, -0, 1e300, Number.MIN_VALUE])],
    ['INT8', new Int8Array([-128, 0, 127, 5])],
    ['UINT8', new Uint8Array([0, 255, 7, 9])],
    ['INT16', new Int16Array([-32768, 32767, 0, 1])],
    ['UINT16', new Uint16Array([65535, 0, 2, 3])],
    ['INT32', new Int32Array([-2147483648, 2147483647, 0, 1])],
    ['UINT32', new Uint32Array([4294967295, 0, 1, 2])],
    ['INT64', new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n, 9007199254740993n])],
    ['UINT64', new BigUint64Array([2n ** 64n - 1n, 0n, 1n, 2n])],
    ['FP16', new Uint16Array([toFloat16Bits(1), toFloat16Bits(-0.5), 0x7c00, 0x7e00])],
    ['BOOL', new Uint8Array([1, 0, 0, 1])],
  ];
  for (const [datatype, values] of cases) {
    it(`${datatype}: the values come back exactly, from an unaligned offset too`, () => {
      const raw = bytesOf(values);
      const padded = new Uint8Array(raw.byteLength + 1);
      padded.set(raw, 1);
      const storage = decodeBinaryData(binaryInput(datatype, [2, 2], padded.subarray(1)));
      assert.deepEqual(bytesOf(storage as ArrayBufferView), raw);
      assert.equal(storage.length, 4);
    });
  }

  it('refuses a size that does not fit the shape, saying what it needs', () => {
    rejects(
      () => decodeBinaryData(binaryInput('FP32', [2, 3], new Uint8Array(20))),
      "input 'x': shape [2,3] of FP32 needs 24 bytes of binary data (6 elements of 4), got 20",
    );
  });

  it('refuses BOOL bytes other than 0 and 1', () => {
    rejects(
      () => decodeBinaryData(binaryInput('BOOL', [3], new Uint8Array([1, 0, 2]))),
      "input 'x' element 2: expected byte 0 or 1 for BOOL, got 2",
    );
  });

  it('BYTES: length-prefixed UTF-8 strings', () => {
    const strings = ['', 'héllo', '🙂 ok', 'a'.repeat(300)];
    assert.deepEqual(decodeBinaryData(binaryInput('BYTES', [4], stringsBytes(strings))), strings);
  });

  it('BYTES: refuses short data, overlong prefixes, leftovers, invalid UTF-8 and NUL', () => {
    rejects(
      () => decodeBinaryData(binaryInput('BYTES', [2], stringsBytes(['a']))),
      "input 'x': shape [2] needs 2 elements of BYTES binary data, got 1",
    );
    const overlong = stringsBytes(['abc']);
    overlong[0] = 9;
    rejects(
      () => decodeBinaryData(binaryInput('BYTES', [1], overlong)),
      "input 'x' element 0: length prefix says 9 bytes but only 3 are left",
    );
    rejects(
      () => decodeBinaryData(binaryInput('BYTES', [1], stringsBytes(['a', 'b']))),
      "input 'x': 1 element of BYTES end at byte 5 but binary_data_size is 10",
    );
    const invalid = new Uint8Array([1, 0, 0, 0, 0xff]);
    rejects(
      () => decodeBinaryData(binaryInput('BYTES', [1], invalid)),
      "input 'x' element 0: expected UTF-8 text for BYTES, got invalid bytes",
    );
    rejects(
      () => decodeBinaryData(binaryInput('BYTES', [1], stringsBytes(['a\0b']))),
      "input 'x' element 0: expected a string without NUL characters for BYTES",
    );
  });

  it('decodeInputs takes binary and JSON inputs side by side, checked against the model', () => {
    const request = parseInferenceRequest({
      inputs: [
        { name: 'a', shape: [1, 2], datatype: 'FP32', parameters: { binary_data_size: 8 } },
        { name: 'b', shape: [1], datatype: 'INT32', data: [7] },
      ],
    });
    attachBinaryInputs(request, bytesOf(new Float32Array([0.25, 4])));
    const feeds = decodeInputs(request.inputs, [
      { name: 'a', datatype: 'FP32', shape: [-1, 2] },
      { name: 'b', datatype: 'INT32', shape: [1] },
    ]);
    assert.deepEqual(Array.from(feeds.a?.data as Float32Array), [0.25, 4]);
    assert.deepEqual(feeds.a?.dims, [1, 2]);
    assert.deepEqual(Array.from(feeds.b?.data as Int32Array), [7]);
    rejects(
      () =>
        decodeInputs(request.inputs, [
          { name: 'a', datatype: 'FP64', shape: [-1, 2] },
          { name: 'b', datatype: 'INT32', shape: [1] },
        ]),
      "input 'a': expected datatype FP64, got FP32",
    );
  });

  it('any float32 values survive the trip (property)', () => {
    fc.assert(
      fc.property(fc.float32Array({ minLength: 0, maxLength: 64 }), (values) => {
        const storage = decodeBinaryData(binaryInput('FP32', [values.length], bytesOf(values)));
        assert.deepEqual(bytesOf(storage as Float32Array), bytesOf(values));
      }),
    );
  });
});

describe('binaryOutputSelection', () => {
  const select = (body: Record<string, unknown>) =>
    binaryOutputSelection(
      parseInferenceRequest({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }], ...body }),
    )(['label', 'probabilities']);

  it('none by default', () => assert.deepEqual([...select({})], []));
  it('every output with binary_data_output', () =>
    assert.deepEqual([...select({ parameters: { binary_data_output: true } })], ['label', 'probabilities']));
  it('per output, overriding the request parameter', () => {
    assert.deepEqual(
      [
        ...select({
          outputs: [{ name: 'label' }, { name: 'probabilities', parameters: { binary_data: true } }],
        }),
      ],
      ['probabilities'],
    );
    assert.deepEqual(
      [
        ...select({
          parameters: { binary_data_output: true },
          outputs: [{ name: 'label', parameters: { binary_data: false } }, { name: 'probabilities' }],
        }),
      ],
      ['probabilities'],
    );
  });
  it('refuses flags that are not booleans', () => {
    rejects(
      () => select({ parameters: { binary_data_output: 'yes' } }),
      "parameters.binary_data_output: expected true or false, got 'yes'",
    );
    rejects(
      () => select({ outputs: [{ name: 'label', parameters: { binary_data: 1 } }] }),
      'outputs[0].parameters.binary_data: expected true or false, got 1',
    );
  });
});

describe('encodeBinaryResponse', () => {
  it('binary outputs carry their size instead of data, and their bytes follow in output order', () => {
    const results = {
      label: new Tensor('int64', new BigInt64Array([2n, 9007199254740993n]), [2]),
      probabilities: new Tensor('float32', new Float32Array([0.1, 0.9, 0.5, 0.5]), [2, 2]),
      names: new Tensor('string', ['a', 'ü'], [2]),
    };
    const outputs = encodeOutputs(results);
    const response = { model_name: 'm', model_version: '1', id: 'r', outputs };
    const { json, binary } = encodeBinaryResponse(response, new Set(['probabilities', 'names']), results);
    const header = JSON.parse(json);
    const { data: _label, ...label } = header.outputs[0];
    assert.deepEqual(label, { name: 'label', datatype: 'INT64', shape: [2] });
    assert.match(json, /"data":\[2,9007199254740993\]/);
    assert.deepEqual(header.outputs[1], {
      name: 'probabilities',
      datatype: 'FP32',
      shape: [2, 2],
      parameters: { binary_data_size: 16 },
    });
    assert.deepEqual(header.outputs[2].parameters, { binary_data_size: 4 + 1 + 4 + 2 });
    assert.equal(binary.byteLength, 16 + 11);
    assert.deepEqual(new Float32Array(binary.slice(0, 16).buffer), new Float32Array([0.1, 0.9, 0.5, 0.5]));
    // The BYTES output decodes back with the request decoder.
    const back = decodeBinaryData(binaryInput('BYTES', [2], binary.subarray(16)));
    assert.deepEqual(back, ['a', 'ü']);
  });

  it('tensorBytes of bool and float16 tensors', () => {
    assert.deepEqual([...tensorBytes(new Tensor('bool', new Uint8Array([1, 0]), [2]))], [1, 0]);
    const half = new Tensor('float16', new Uint16Array([toFloat16Bits(1)]), [1]);
    assert.deepEqual([...tensorBytes(half)], [0x00, 0x3c]);
  });
});
