import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Tensor } from 'onnxruntime-node';
import { encodeOutputs, selectOutputs } from '../../src/codec/encode.ts';
import { ModelUnavailableError } from '../../src/errors.ts';
import { assertBadRequest } from './assertions.ts';

describe('selectOutputs', () => {
  const model = ['label', 'probabilities', 'logits'];

  it('fetches every model output when none is requested', () => {
    assert.deepEqual(selectOutputs(undefined, model), model);
    assert.deepEqual(selectOutputs([], model), model);
  });

  it('fetches the requested outputs in request order', () => {
    const names = selectOutputs(
      [{ name: 'logits' }, { name: 'label', parameters: { binary_data: false } }],
      model,
    );

    assert.deepEqual(names, ['logits', 'label']);
  });

  it('fetches a name requested twice once', () => {
    assert.deepEqual(selectOutputs([{ name: 'label' }, { name: 'label' }], model), ['label']);
  });

  it('rejects an unknown output, naming it and listing the model outputs', () => {
    assertBadRequest(
      () => selectOutputs([{ name: 'label' }, { name: 'score' }], model),
      "unknown output 'score'; the model's outputs are 'label', 'probabilities', 'logits'",
    );
  });

  it('lists at most 16 model outputs in the message', () => {
    const many = Array.from({ length: 40 }, (_, i) => `out${i}`);

    assertBadRequest(() => selectOutputs([{ name: 'nope' }], many), /'out15' and 24 more$/);
  });
});

describe('encodeOutputs', () => {
  const results = {
    label: new Tensor('int64', new BigInt64Array([2n]), [1]),
    probabilities: new Tensor('float32', new Float32Array([0.25, 0.75]), [1, 2]),
  };

  it('encodes every result, in result order, when no output was requested', () => {
    const outputs = encodeOutputs(results);

    assert.deepEqual(outputs, [
      { name: 'label', datatype: 'INT64', shape: [1], data: [2] },
      { name: 'probabilities', datatype: 'FP32', shape: [1, 2], data: [0.25, 0.75] },
    ]);
  });

  it('encodes the requested outputs in request order', () => {
    const outputs = encodeOutputs(results, [{ name: 'probabilities' }, { name: 'label' }]);

    assert.deepEqual(
      outputs.map((output) => output.name),
      ['probabilities', 'label'],
    );
  });

  it('fails loudly when a requested output is missing from the results', () => {
    assert.throws(() => encodeOutputs(results, [{ name: 'logits' }]), /output 'logits' is missing/);
  });

  it('writes non-finite floats as the strings NaN, Infinity and -Infinity', () => {
    const values = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 1.5];
    const outputs = encodeOutputs({
      f32: new Tensor('float32', Float32Array.from(values), [5]),
      f64: new Tensor('float64', Float64Array.from(values), [5]),
      f16: new Tensor('float16', new Uint16Array([0x7e00, 0x7c00, 0xfc00, 0x8000, 0x3e00]), [5]),
    });

    for (const output of outputs) {
      assert.deepEqual(output.data, ['NaN', 'Infinity', '-Infinity', -0, 1.5], output.name);
      assert.deepEqual(
        output.data.map((value) => Number(value)),
        values,
      );
    }
  });

  it('writes 64-bit integers as numbers within ±(2^53−1) and as bigint beyond', () => {
    const int64 = new BigInt64Array([-(2n ** 63n), -(2n ** 53n) + 1n, 0n, 2n ** 53n - 1n, 2n ** 53n]);
    const uint64 = new BigUint64Array([0n, 2n ** 53n - 1n, 2n ** 64n - 1n]);

    const [signed, unsigned] = encodeOutputs({
      signed: new Tensor('int64', int64, [5]),
      unsigned: new Tensor('uint64', uint64, [3]),
    });

    assert.deepEqual(signed?.data, [-(2n ** 63n), -(2 ** 53) + 1, 0, 2 ** 53 - 1, 2n ** 53n]);
    assert.deepEqual(unsigned?.data, [0, 2 ** 53 - 1, 2n ** 64n - 1n]);
    assert.equal(unsigned?.datatype, 'UINT64');
  });

  it('writes BOOL as booleans and BYTES as strings', () => {
    const [flags, words] = encodeOutputs({
      flags: new Tensor('bool', new Uint8Array([1, 0, 1]), [3]),
      words: new Tensor('string', ['a', 'é', ''], [3]),
    });

    assert.deepEqual(flags, { name: 'flags', datatype: 'BOOL', shape: [3], data: [true, false, true] });
    assert.deepEqual(words, { name: 'words', datatype: 'BYTES', shape: [3], data: ['a', 'é', ''] });
  });

  it('flattens data row-major and copies the shape', () => {
    const tensor = new Tensor('int32', new Int32Array([1, 2, 3, 4, 5, 6]), [2, 3]);

    const [output] = encodeOutputs({ y: tensor });

    assert.deepEqual(output?.shape, [2, 3]);
    assert.deepEqual(output?.data, [1, 2, 3, 4, 5, 6]);
    assert.notEqual(output?.shape, tensor.dims);
  });

  it('encodes a scalar with shape []', () => {
    const [output] = encodeOutputs({ y: new Tensor('float64', new Float64Array([3.25]), []) });

    assert.deepEqual(output, { name: 'y', datatype: 'FP64', shape: [], data: [3.25] });
  });

  it('refuses an element type the protocol cannot carry', () => {
    const int4 = new Tensor('int4', new Uint8Array([0x21]), [2]);

    assert.throws(
      () => encodeOutputs({ y: int4 }),
      (error: unknown) =>
        error instanceof ModelUnavailableError && /output 'y' has element type int4/.test(error.message),
    );
  });
});
