import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fromFloat16Bits, toFloat16Bits } from '../../src/codec/float16.ts';

describe('toFloat16Bits', () => {
  const cases: [string, number, number][] = [
    ['zero', 0, 0x0000],
    ['negative zero', -0, 0x8000],
    ['one', 1, 0x3c00],
    ['minus two', -2, 0xc000],
    ['largest half', 65504, 0x7bff],
    ['just below the overflow midpoint', 65519.99, 0x7bff],
    ['the overflow midpoint (ties to even overflows)', 65520, 0x7c00],
    ['70000 overflows', 70000, 0x7c00],
    ['-70000 overflows', -70000, 0xfc00],
    ['one third', 1 / 3, 0x3555],
    ['0.1', 0.1, 0x2e66],
    ['1e-8 underflows to zero', 1e-8, 0x0000],
    ['-1e-8 underflows to negative zero', -1e-8, 0x8000],
    ['smallest subnormal', 2 ** -24, 0x0001],
    ['3e-8 rounds up to the smallest subnormal', 3e-8, 0x0001],
    ['1e-7 is a subnormal', 1e-7, 0x0002],
    ['half the smallest subnormal ties to zero', 2 ** -25, 0x0000],
    ['1.5 subnormal steps ties to even', 1.5 * 2 ** -24, 0x0002],
    ['largest subnormal rounding up to the smallest normal', 1023.5 * 2 ** -24, 0x0400],
    ['smallest normal', 2 ** -14, 0x0400],
    ['1 + 2^-11 ties to even (down)', 1 + 2 ** -11, 0x3c00],
    ['1 + 3·2^-11 ties to even (up)', 1 + 3 * 2 ** -11, 0x3c02],
    ['2 − 2^-12 rounds up into the next exponent', 2 - 2 ** -12, 0x4000],
    ['NaN', Number.NaN, 0x7e00],
  ];
  for (const [title, value, bits] of cases) {
    it(`${title}: ${value} → 0x${bits.toString(16).padStart(4, '0')}`, () => {
      const actual = toFloat16Bits(value);

      assert.equal(actual.toString(16), bits.toString(16));
    });
  }

  it('is the exact inverse of fromFloat16Bits for every non-NaN half', () => {
    for (let bits = 0; bits <= 0xffff; bits++) {
      const value = fromFloat16Bits(bits);
      if (Number.isNaN(value)) continue;

      assert.equal(toFloat16Bits(value), bits);
    }
  });

  it('picks a nearest half for any finite double in range', () => {
    fc.assert(
      fc.property(fc.double({ min: -65504, max: 65504, noNaN: true }), (value) => {
        const bits = toFloat16Bits(value);
        const error = Math.abs(fromFloat16Bits(bits) - value);
        const magnitude = bits & 0x7fff;
        const sign = bits & 0x8000;
        const neighbours = [magnitude - 1, magnitude + 1].filter((m) => m >= 0 && m <= 0x7bff);
        for (const neighbour of neighbours) {
          assert.ok(error <= Math.abs(fromFloat16Bits(sign | neighbour) - value), `${value} → ${bits}`);
        }
      }),
    );
  });
});

describe('fromFloat16Bits', () => {
  const cases: [number, number][] = [
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x0400, 2 ** -14],
    [0x3555, 0.333251953125],
    [0x7c00, Number.POSITIVE_INFINITY],
    [0xfc00, Number.NEGATIVE_INFINITY],
    [0x8000, -0],
  ];
  for (const [bits, value] of cases) {
    it(`0x${bits.toString(16)} → ${Object.is(value, -0) ? '-0' : value}`, () => {
      assert.equal(fromFloat16Bits(bits), value);
    });
  }

  it('reads every NaN pattern as NaN', () => {
    for (const bits of [0x7e00, 0x7c01, 0xfe00, 0x7fff]) assert.ok(Number.isNaN(fromFloat16Bits(bits)));
  });
});
