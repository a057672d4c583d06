import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type DecimalRead, readDecimal, readDecimalField } from '../../src/text/decimal.ts';

const read = (text: string): DecimalRead | undefined => {
  const out: DecimalRead = { value: 0, canonical: false };
  return readDecimal(text, out) ? out : undefined;
};

/** What `readDecimal` promises: `Number`'s value, and text copied into JSON only when it is the JSON. */
const assertFaithful = (text: string): void => {
  const result = read(text);
  if (result === undefined) return;
  assert.ok(Object.is(result.value, Number(text)), `value of '${text}'`);
  if (result.canonical) assert.equal(JSON.stringify(result.value), text);
};

describe('readDecimal', () => {
  it('reads plain decimals and says which are written as JSON writes them', () => {
    const cases: [string, number, boolean][] = [
      ['0', 0, true],
      ['-0', -0, false],
      ['1.5', 1.5, true],
      ['-1.25', -1.25, true],
      ['1.50', 1.5, false],
      ['1.0', 1, false],
      ['007', 7, false],
      ['.5', 0.5, false],
      ['5.', 5, false],
      ['0.000001', 0.000001, true],
      ['0.0000001', 1e-7, false],
      ['123456789012345', 123456789012345, true],
      ['-1.2339999675750732', -1.2339999675750732, true],
      ['0.10000000149011612', 0.10000000149011612, true],
      ['0.10000000149011611', 0.10000000149011611, false],
      ['0.30000000000000004', 0.30000000000000004, true],
      ['0.30000000000000000', 0.3, false],
    ];
    for (const [text, value, canonical] of cases) {
      assert.deepEqual(read(text), { value, canonical }, text);
      assertFaithful(text);
    }
  });

  it('leaves everything else to Number', () => {
    for (const text of [
      '',
      '-',
      '.',
      '1e3',
      '+1',
      ' 1',
      '1 ',
      '0x10',
      'NaN',
      '1.2.3',
      '123456789012345678',
      '1,5',
    ]) {
      assert.equal(read(text), undefined, text);
    }
  });

  it("property: JavaScript's own text of any double is read exactly, and mostly copied as is", () => {
    let copied = 0;
    let plain = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.double({ min: -1e6, max: 1e6, noNaN: true }),
          fc.float({ min: -100, max: 100, noNaN: true }).map((value) => Math.fround(value)),
        ),
        (value) => {
          const text = String(value);
          assertFaithful(text);
          const result = read(text);
          if (result !== undefined && !Object.is(value, -0)) {
            plain += 1;
            if (result.canonical) copied += 1;
          }
        },
      ),
      { numRuns: 20_000 },
    );
    assert.ok(copied > plain * 0.95, `${copied} of ${plain} copied`);
  });

  it('property: any string of digits, points and signs gets the value of Number, and JSON only when it is', () => {
    const unit = fc.constantFrom('0', '1', '5', '9', '.', '-', '0', '3');
    fc.assert(fc.property(fc.string({ unit, maxLength: 24 }), assertFaithful), { numRuns: 20_000 });
    // Read in place from a longer text, a span gives what the span's own string gives.
    fc.assert(
      fc.property(
        fc.string({ unit, maxLength: 8 }),
        fc.string({ unit, maxLength: 24 }),
        fc.string({ unit, maxLength: 8 }),
        (before, text, after) => {
          const inPlace: DecimalRead = { value: 0, canonical: false };
          const ok = readDecimal(before + text + after, inPlace, before.length, before.length + text.length);
          const alone = read(text);
          assert.equal(ok, alone !== undefined, `'${text}' in '${before}…${after}'`);
          if (alone !== undefined) assert.deepEqual(inPlace, alone, `'${text}' in '${before}…${after}'`);
        },
      ),
      { numRuns: 20_000 },
    );
    // Near misses of real doubles: the last digit changed, one digit more or fewer.
    fc.assert(
      fc.property(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.integer({ min: 0, max: 9 }),
        (value, digit) => {
          const text = String(value);
          for (const near of [text.slice(0, -1) + String(digit), text + String(digit), text.slice(0, -1)]) {
            assertFaithful(near);
          }
        },
      ),
      { numRuns: 20_000 },
    );
  });
});

describe('readDecimalField', () => {
  it('reads one field of a line up to its comma, or refuses it', () => {
    const out: DecimalRead = { value: 0, canonical: false };
    assert.equal(readDecimalField('1.5,-2,x', 0, 8, out), 3);
    assert.equal(out.value, 1.5);
    assert.equal(readDecimalField('1.5,-2,x', 4, 8, out), 6);
    assert.equal(out.value, -2);
    for (const text of ['x', '', '-', '.', '5.', '1e3', ' 1', '1 ', '+1', '1.2.3', '1234567890123456']) {
      assert.equal(readDecimalField(`${text},1`, 0, text.length + 2, out), -1, `'${text}'`);
    }
  });

  it("property: a field read gets Number's value of its text; plain decimals of up to 15 digits are read", () => {
    const unit = fc.constantFrom('0', '1', '5', '9', '.', '-', '0', '3', ',');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 30 }), fc.nat(), (text, from) => {
        const start = text.length === 0 ? 0 : from % text.length;
        const out: DecimalRead = { value: 0, canonical: false };
        const end = readDecimalField(text, start, text.length, out);
        if (end < 0) return;
        assert.ok(end === text.length || text[end] === ',', `'${text}' from ${start}: ended at ${end}`);
        const field = text.slice(start, end);
        assert.ok(Object.is(out.value, Number(field)), `'${field}': ${out.value} vs ${Number(field)}`);
      }),
      { numRuns: 20_000 },
    );
    fc.assert(
      fc.property(
        fc.double({ min: -1e9, max: 1e9, noNaN: true }),
        fc.integer({ min: 0, max: 8 }),
        (value, places) => {
          const field = value.toFixed(places);
          if (field.replace(/^-?0*\.?0*/, '').replace('.', '').length > 15) return;
          const out: DecimalRead = { value: 0, canonical: false };
          assert.equal(readDecimalField(`${field},7`, 0, field.length + 2, out), field.length, field);
          assert.ok(Object.is(out.value, Number(field)), field);
        },
      ),
      { numRuns: 20_000 },
    );
  });
});
