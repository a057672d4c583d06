import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stringifyJson } from '../../src/codec/json.ts';

describe('stringifyJson', () => {
  it('writes bigint as exact integer digits', () => {
    const value = { data: [1, -(2n ** 63n), 2n ** 64n - 1n, 9007199254740993n], n: 0n };

    const text = stringifyJson(value);

    assert.equal(text, '{"data":[1,-9223372036854775808,18446744073709551615,9007199254740993],"n":0}');
  });

  it('produces JSON whose big integers survive a parse that keeps source digits', () => {
    const text = stringifyJson({ outputs: [{ name: 'y', data: [2n ** 63n - 1n] }] });

    const digits = /\[(\d+)\]/.exec(text)?.[1];

    assert.equal(digits, '9223372036854775807');
    assert.deepEqual(JSON.parse(text), { outputs: [{ name: 'y', data: [2 ** 63] }] });
  });

  it('matches JSON.stringify for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assert.equal(stringifyJson(value), JSON.stringify(value));
      }),
      { numRuns: 500 },
    );
  });

  it('matches JSON.stringify for values JSON cannot hold', () => {
    const date = new Date(0);
    const value = {
      a: undefined,
      f: () => 1,
      s: Symbol('s'),
      list: [undefined, () => 1, Number.NaN, Number.NEGATIVE_INFINITY, -0, date],
      boxed: [Object(1), Object('s'), Object(false)],
      nested: { toJSON: (key: string) => `key:${key}` },
      typed: new Uint8Array([1, 2]),
      map: new Map([[1, 2]]),
    };

    assert.equal(stringifyJson(value), JSON.stringify(value));
    assert.equal(stringifyJson('a"\u2028\ud800'), JSON.stringify('a"\u2028\ud800'));
  });

  it("writes 'null' for a top-level value JSON cannot hold", () => {
    assert.equal(stringifyJson(undefined), 'null');
    assert.equal(
      stringifyJson(() => 1),
      'null',
    );
  });

  it('throws a TypeError on a cycle, but not on a shared object', () => {
    const shared = { a: 1 };
    const cyclic: Record<string, unknown> = { a: [] };
    (cyclic.a as unknown[]).push(cyclic);

    assert.equal(stringifyJson([shared, shared]), '[{"a":1},{"a":1}]');
    assert.throws(() => stringifyJson(cyclic), TypeError);
  });

  it('writes a large float array like JSON.stringify', () => {
    const data = Array.from({ length: 150_528 }, (_, i) => Math.fround(Math.sin(i)));
    const response = {
      model_name: 'm',
      id: '1',
      outputs: [{ name: 'y', datatype: 'FP32', shape: [150_528], data }],
    };

    assert.equal(stringifyJson(response), JSON.stringify(response));
  });
});
