/**
 * The JSON fast path for flat numeric `data` arrays, checked against what it replaces: every
 * element must be exactly `Math.fround(Number(text))`, every body must parse to what
 * `parseJsonBody` gives (with the scanned arrays read back), and every error must be the same.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeInputs } from '../../src/codec/decode.ts';
import { findNumberArrays, NumberArrayText, scanNumberArray } from '../../src/codec/number-arrays.ts';
import { parseInferenceBody, parseInferenceRequest, parseJsonBody } from '../../src/codec/parse-request.ts';
import { BadRequestError } from '../../src/errors.ts';
import type { Datatype } from '../../src/types.ts';

/**
 * Whether the scan of `[text]` gives the float32 `Math.fround(Number(text))` (-0 distinct from 0),
 * or nothing when the number is beyond a double's range (the general path refuses those).
 */
function scansExactly(text: string): boolean {
  const scanned = scanNumberArray(`[${text}]`, 0);
  const double = Number(text);
  if (!Number.isFinite(double)) return scanned === undefined;
  return (
    scanned !== undefined && scanned.values.length === 1 && Object.is(scanned.values[0], Math.fround(double))
  );
}

const digits = (min: number, max: number) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((d) => d.join(''));

/** JSON number texts of every shape: short and long mantissas, leading zeros in fractions, exponents. */
const numberText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.float({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc
    .tuple(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: 0, max: 20 }))
    .map(([x, k]) => x.toExponential(k)),
  fc
    .tuple(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 25 }))
    .map(([x, k]) => x.toFixed(k)),
  fc
    .tuple(
      fc.boolean(),
      fc.integer({ min: 1, max: 9 }),
      digits(0, 24),
      digits(0, 24),
      fc.option(
        fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.integer({ min: 0, max: 60 })),
      ),
    )
    .map(
      ([negative, first, integer, fraction, exponent]) =>
        `${negative ? '-' : ''}${first}${integer}${fraction ? `.${fraction}` : ''}${exponent ? exponent.join('') : ''}`,
    ),
  fc.tuple(fc.boolean(), digits(1, 20)).map(([negative, fraction]) => `${negative ? '-' : ''}0.${fraction}`),
);

const finiteText = numberText.filter((text) => Number.isFinite(Number(text)));

/** Decimal texts next to a point halfway between two float32 values: where double rounding bites. */
const nearMidpoint = fc
  .tuple(
    fc.float({ min: Math.fround(1e-30), max: Math.fround(1e30), noNaN: true }),
    fc.integer({ min: 15, max: 21 }),
    fc.integer({ min: -3, max: 3 }),
  )
  .map(([f, precision, nudge]) => {
    const next = new Float32Array([f]);
    const bits = new Uint32Array(next.buffer);
    bits[0] = (bits[0] as number) + 1;
    const midpoint = (f + (next[0] as number)) / 2;
    const text = midpoint.toPrecision(precision);
    // Move the last digit of the mantissa a little either way.
    const [mantissa = '', exponent] = text.split('e');
    const last = Number(mantissa.at(-1));
    const moved = Math.min(9, Math.max(0, last + nudge));
    return `${mantissa.slice(0, -1)}${moved}${exponent === undefined ? '' : `e${exponent}`}`;
  });

describe('scanNumberArray: each element is Math.fround(Number(text))', () => {
  it('for hand-picked texts: zeros, signs, exponents, 17 digits, overflow, subnormals', () => {
    for (const text of [
      '0',
      '-0',
      '0.0',
      '-0.0e5',
      '1',
      '-1',
      '0.1',
      '0.10000000149011612',
      '3.4028234663852886e38',
      '3.4028235677973366e38',
      '1e39',
      '-3e38',
      '1e-46',
      '1.401298464324817e-45',
      '7.006492321624086e-46',
      '1.1754943508222875e-38',
      '9007199254740993',
      '9007199254740992.5',
      '123456789012345678901234567890',
      '0.000000000000000000000000000001',
      '1E5',
      '1e+5',
      '2.5e-3',
      '16777217',
      '16777216.000000001',
    ]) {
      assert.ok(scansExactly(text), text);
    }
  });

  it('for random texts of every shape (differential, fast-check)', () => {
    fc.assert(fc.property(numberText, scansExactly), { numRuns: 20_000 });
  });

  it('for texts within a few digits of a float32 midpoint (differential, fast-check)', () => {
    fc.assert(fc.property(nearMidpoint, scansExactly), { numRuns: 20_000 });
  });

  it('for whole arrays with any JSON whitespace', () => {
    const space = fc.constantFrom('', ' ', '\n', '\t', '\r\n', '  ');
    fc.assert(
      fc.property(fc.array(fc.tuple(finiteText, space, space), { maxLength: 40 }), space, (items, inner) => {
        const text = `[${inner}${items.map(([n, a, b]) => `${a}${n}${b}`).join(',')}${inner}]`;
        const scanned = scanNumberArray(text, 0);
        const expected = JSON.parse(text) as number[];
        return (
          scanned !== undefined &&
          scanned.end === text.length &&
          scanned.values.length === expected.length &&
          expected.every((value, i) => Object.is(scanned.values[i], Math.fround(value)))
        );
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses anything but a flat array of JSON numbers', () => {
    for (const text of [
      '[1,]',
      '[,1]',
      '[01]',
      '[1.]',
      '[.5]',
      '[+1]',
      '[1e]',
      '[-]',
      '[NaN]',
      '[Infinity]',
      '[1 2]',
      '[[1]]',
      '["1"]',
      '[true]',
      '[null]',
      '[1',
      '[0x10]',
      '[1e400]',
      '[1, -2e308]',
    ]) {
      assert.equal(scanNumberArray(text, 0), undefined, text);
    }
    assert.deepEqual(scanNumberArray('[ ]', 0), { values: new Float32Array(0), end: 3 });
  });
});

/** The parsed body with every scanned array read back as `JSON.parse` reads it. */
function materialize(value: unknown): unknown {
  if (value instanceof NumberArrayText) return value.toArray();
  if (Array.isArray(value)) return value.map(materialize);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, member]) => [key, materialize(member)]));
  }
  return value;
}

function outcome(parse: () => unknown): { ok: unknown } | { error: string } {
  try {
    return { ok: materialize(parse()) };
  } catch (error) {
    assert.ok(error instanceof BadRequestError, String(error));
    return { error: error.message };
  }
}

const input = fc.record({
  name: fc.string(),
  datatype: fc.constantFrom('FP32', 'FP64', 'INT64', 'BOOL'),
  shape: fc.array(fc.nat(4), { maxLength: 3 }),
  data: fc.oneof(
    fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 20 }),
    fc.array(fc.integer(), { maxLength: 20 }),
    fc.array(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { maxLength: 3 }), {
      maxLength: 3,
    }),
    fc.jsonValue({ maxDepth: 3 }),
  ),
  parameters: fc.option(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })), { nil: undefined }),
});
const body = fc.record({
  id: fc.option(fc.string(), { nil: undefined }),
  inputs: fc.array(input, { maxLength: 3 }),
  extra: fc.jsonValue({ maxDepth: 3 }),
});

describe('parseInferenceBody against parseJsonBody (differential, fast-check)', () => {
  it('parses every body to the same value, scanned arrays read back', () => {
    fc.assert(
      fc.property(body, fc.integer({ min: 0, max: 4 }), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        assert.deepEqual(
          outcome(() => parseInferenceBody(text, 0)),
          outcome(() => parseJsonBody(text)),
        );
      }),
      { numRuns: 2_000 },
    );
  });

  it('gives the same error for a body with a character changed, dropped or added', () => {
    fc.assert(
      fc.property(
        body,
        fc.nat(),
        fc.constantFrom('drop', 'insert', 'replace'),
        fc.constantFrom(...'[]{},:"\\ 0-.e1aZ'),
        (value, at, edit, character) => {
          const text = JSON.stringify(value);
          const i = at % (text.length + 1);
          const broken =
            edit === 'drop'
              ? text.slice(0, i) + text.slice(i + 1)
              : edit === 'insert'
                ? text.slice(0, i) + character + text.slice(i)
                : text.slice(0, i) + character + text.slice(i + 1);
          assert.deepEqual(
            outcome(() => parseInferenceBody(broken, 0)),
            outcome(() => parseJsonBody(broken)),
          );
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('leaves a "data" key inside a string alone, and a nested data array to JSON.parse', () => {
    const text =
      '{"id":"\\"data\\":[1,2]","inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[0.5, 2]},' +
      '{"name":"y","shape":[1,2],"datatype":"FP32","data":[[1,2]]}]}';

    const parsed = parseInferenceBody(text, 0) as { id: string; inputs: { data: unknown }[] };

    assert.equal(parsed.id, '"data":[1,2]');
    const scanned = parsed.inputs[0]?.data;
    assert.ok(scanned instanceof NumberArrayText);
    assert.deepEqual(Array.from(scanned.float32), [0.5, 2]);
    assert.deepEqual(parsed.inputs[1]?.data, [[1, 2]]);
    assert.equal(findNumberArrays(text).length, 1);
  });

  it('counts a scanned array as one level of nesting, as JSON.parse would', () => {
    for (const depth of [62, 63, 64]) {
      const text = `${'{"a":'.repeat(depth)}{"data":[1,2]}${'}'.repeat(depth)}`;
      assert.deepEqual(
        outcome(() => parseInferenceBody(text, 0)),
        outcome(() => parseJsonBody(text)),
        `${depth}`,
      );
    }
  });
});

describe('decodeInputs with scanned arrays', () => {
  function decodeBoth(datatype: Datatype, shape: number[], text: string) {
    const parse = (fast: boolean) => () => {
      const bodyText = `{"inputs":[{"name":"x","shape":${JSON.stringify(shape)},"datatype":"${datatype}","data":${text}}]}`;
      const request = parseInferenceRequest(fast ? parseInferenceBody(bodyText, 0) : parseJsonBody(bodyText));
      const tensor = decodeInputs(request.inputs, [{ name: 'x', datatype, shape: null }]).x;
      return { type: tensor?.type, dims: tensor?.dims, data: Array.from(tensor?.data as ArrayLike<unknown>) };
    };
    return [outcome(parse(true)), outcome(parse(false))];
  }

  it('FP32 gives the float32 the general path gives; other datatypes and errors go the general way', () => {
    const cases: [Datatype, number[], string][] = [
      ['FP32', [3], '[0.1, -2.5e-3, 1e39]'],
      ['FP32', [2], '[1, 2e308]'],
      ['FP32', [2, 2], '[1, 2, 3, 4]'],
      ['FP32', [5], '[1, 2, 3, 4]'],
      ['FP64', [3], '[0.1, 0.2, 0.30000000000000004]'],
      ['INT64', [2], '[9007199254740991, -3]'],
      ['INT32', [2], '[1.5, 2]'],
      ['UINT8', [2], '[300, 2]'],
      ['BOOL', [1], '[1]'],
      ['FP16', [2], '[65504, 70000]'],
    ];
    for (const [datatype, shape, text] of cases) {
      const [fast, general] = decodeBoth(datatype, shape, text);
      assert.deepEqual(fast, general, `${datatype} ${text}`);
    }
  });

  it('FP32 tensors of random values are identical both ways (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(numberText, { minLength: 1, maxLength: 50 }), (texts) => {
        // Out-of-range texts included: both ways must refuse them alike.
        const [fast, general] = decodeBoth('FP32', [texts.length], `[${texts.join(',')}]`);
        assert.deepEqual(fast, general);
      }),
      { numRuns: 1_000 },
    );
  });
});
