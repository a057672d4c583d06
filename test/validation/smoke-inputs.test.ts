import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DATATYPES, type Datatype } from '../../src/types.ts';
import {
  MAX_SMOKE_ELEMENTS,
  SmokeInputError,
  smokeFeeds,
  smokeInputs,
  smokeShape,
  smokeValue,
} from '../../src/validation/smoke-inputs.ts';

describe('smoke inputs', () => {
  it('feeds 1 for free dimensions, keeps fixed ones, and [1] for an undeclared rank', () => {
    assert.deepEqual(smokeShape({ name: 'x', datatype: 'FP32', shape: [-1, 4] }), [1, 4]);
    assert.deepEqual(smokeShape({ name: 'x', datatype: 'FP32', shape: [2, -1, -1] }), [2, 1, 1]);
    assert.deepEqual(smokeShape({ name: 'x', datatype: 'FP32', shape: [] }), []);
    assert.deepEqual(smokeShape({ name: 'x', datatype: 'FP32', shape: null }), [1]);
  });

  it('generates small deterministic values per datatype: fractions, ones, words, false', () => {
    const inputs = smokeInputs(
      [
        { name: 'f', datatype: 'FP32', shape: [-1, 3] },
        { name: 'i', datatype: 'INT64', shape: [2] },
        { name: 's', datatype: 'BYTES', shape: [-1, 2] },
        { name: 'b', datatype: 'BOOL', shape: [2] },
      ],
      'small',
    );

    assert.deepEqual(inputs, [
      { name: 'f', datatype: 'FP32', shape: [1, 3], data: [0.125, 0.25, 0.375] },
      { name: 'i', datatype: 'INT64', shape: [2], data: [1, 1] },
      { name: 's', datatype: 'BYTES', shape: [1, 2], data: ['alpha', 'beta'] },
      { name: 'b', datatype: 'BOOL', shape: [2], data: [false, false] },
    ]);
    assert.deepEqual(smokeInputs([{ name: 'i', datatype: 'INT32', shape: [1] }], 'zeros')[0]?.data, [0]);
  });

  it('turns every protocol datatype into an onnxruntime tensor of the right type and shape', () => {
    const specs = DATATYPES.map((datatype: Datatype) => ({ name: datatype, datatype, shape: [-1, 2] }));

    for (const fill of ['small', 'zeros'] as const) {
      const feeds = smokeFeeds(smokeInputs(specs, fill));

      for (const datatype of DATATYPES) {
        const tensor = feeds[datatype];
        assert.ok(tensor, datatype);
        assert.deepEqual(tensor.dims, [1, 2]);
        assert.equal(tensor.size, 2);
      }
      assert.equal(feeds.FP16?.type, 'float16');
      assert.equal(feeds.BYTES?.type, 'string');
      assert.equal(feeds.UINT64?.type, 'uint64');
    }
    assert.equal(smokeValue('FP16', 0, 'small'), 0.125);
  });

  it('refuses an input too large for any request instead of allocating it', () => {
    assert.throws(
      () => smokeInputs([{ name: 'image', datatype: 'FP32', shape: [1, 3, 4096, 4096] }], 'small'),
      (error: unknown) =>
        error instanceof SmokeInputError &&
        error.message.includes("input 'image'") &&
        error.message.includes(String(3 * 4096 * 4096)) &&
        error.message.includes(String(MAX_SMOKE_ELEMENTS)),
    );
  });
});
