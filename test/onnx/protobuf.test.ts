import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  fieldInt,
  fieldInt64,
  fieldString,
  ProtobufError,
  type ProtoField,
  readFields,
  repeatedFixed,
  repeatedVarints,
  WireType,
} from '../../src/onnx/protobuf.ts';
import { ProtoWriter } from '../../src/onnx/protobuf-writer.ts';

const UINT64_MAX = (1n << 64n) - 1n;

/** One field as a test describes it, independent of the wire representation. */
type FieldSpec =
  | { kind: 'varint'; fieldNumber: number; value: bigint }
  | { kind: 'fixed32'; fieldNumber: number; value: number }
  | { kind: 'fixed64'; fieldNumber: number; value: bigint }
  | { kind: 'bytes'; fieldNumber: number; value: Uint8Array }
  | { kind: 'string'; fieldNumber: number; value: string };

const fieldNumber = fc.integer({ min: 1, max: 2 ** 29 - 1 });
const fieldSpec: fc.Arbitrary<FieldSpec> = fc.oneof(
  fc.record({
    kind: fc.constant('varint' as const),
    fieldNumber,
    value: fc.oneof(fc.bigInt(0n, UINT64_MAX), fc.bigInt(0n, 300n), fc.bigInt(-(1n << 63n), -1n)),
  }),
  fc.record({
    kind: fc.constant('fixed32' as const),
    fieldNumber,
    value: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  }),
  fc.record({ kind: fc.constant('fixed64' as const), fieldNumber, value: fc.bigInt(0n, UINT64_MAX) }),
  fc.record({ kind: fc.constant('bytes' as const), fieldNumber, value: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ kind: fc.constant('string' as const), fieldNumber, value: fc.string({ unit: 'grapheme' }) }),
);

function write(writer: ProtoWriter, spec: FieldSpec): void {
  if (spec.kind === 'varint') writer.varint(spec.fieldNumber, spec.value);
  else if (spec.kind === 'fixed32') writer.fixed32(spec.fieldNumber, spec.value);
  else if (spec.kind === 'fixed64') writer.fixed64(spec.fieldNumber, spec.value);
  else if (spec.kind === 'bytes') writer.bytes(spec.fieldNumber, spec.value);
  else writer.string(spec.fieldNumber, spec.value);
}

function encode(specs: readonly FieldSpec[]): Uint8Array {
  const writer = new ProtoWriter();
  for (const spec of specs) write(writer, spec);
  return writer.finish();
}

function assertMatches(field: ProtoField, spec: FieldSpec): void {
  assert.equal(field.fieldNumber, spec.fieldNumber);
  if (spec.kind === 'varint') {
    assert.equal(field.wireType, WireType.Varint);
    assert.equal(fieldInt64(field), BigInt.asIntN(64, spec.value));
  } else if (spec.kind === 'fixed32') {
    assert.equal(field.wireType, WireType.Fixed32);
    assert.ok(field.wireType === WireType.Fixed32);
    assert.equal(new DataView(field.bytes.buffer, field.bytes.byteOffset).getUint32(0, true), spec.value);
  } else if (spec.kind === 'fixed64') {
    assert.ok(field.wireType === WireType.Fixed64);
    assert.equal(new DataView(field.bytes.buffer, field.bytes.byteOffset).getBigUint64(0, true), spec.value);
  } else if (spec.kind === 'bytes') {
    assert.ok(field.wireType === WireType.LengthDelimited);
    assert.deepEqual(field.bytes, spec.value);
  } else {
    assert.equal(fieldString(field), spec.value);
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

describe('ProtoWriter and readFields', () => {
  it('round-trips any sequence of fields, including 64-bit and negative varints', () => {
    fc.assert(
      fc.property(fc.array(fieldSpec, { maxLength: 20 }), (specs) => {
        const bytes = encode(specs);

        const fields = [...readFields(bytes)];

        assert.equal(fields.length, specs.length);
        for (const [i, field] of fields.entries()) assertMatches(field, specs[i] as FieldSpec);
      }),
    );
  });

  it('writes varints as the protobuf encoding guide spells them out', () => {
    // Examples from the protobuf encoding documentation: 150 → 96 01; -1 as int64 → ten bytes.
    const cases: [number | bigint, string][] = [
      [0, '0800'],
      [1, '0801'],
      [150, '089601'],
      [-1, '08ffffffffffffffffff01'],
      [UINT64_MAX, '08ffffffffffffffffff01'],
      [1n << 63n, '0880808080808080808001'],
      [2 ** 32, '088080808010'],
    ];
    for (const [value, expected] of cases) {
      const bytes = new ProtoWriter().varint(1, value).finish();

      assert.equal(hex(bytes), expected, `varint ${value}`);
    }
  });

  it('reads the documented encoding of field 2 = "testing"', () => {
    const bytes = Uint8Array.from(Buffer.from('120774657374696e67', 'hex'));

    const [field, ...rest] = [...readFields(bytes)];

    assert.equal(rest.length, 0);
    assert.ok(field);
    assert.equal(field.fieldNumber, 2);
    assert.equal(fieldString(field), 'testing');
  });

  it('round-trips packed varints and floats, and reads the unpacked form of the same fields', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt(-(1n << 63n), (1n << 63n) - 1n), { minLength: 1, maxLength: 50 }),
        fc.array(fc.float({ noNaN: true }), { minLength: 1, maxLength: 50 }),
        (ints, floats) => {
          const packed = new ProtoWriter().packedVarints(3, ints).packedFloats(4, floats).finish();
          const unpacked = new ProtoWriter();
          for (const value of ints) unpacked.varint(3, value);
          for (const value of floats) unpacked.float(4, value);

          for (const bytes of [packed, unpacked.finish()]) {
            const readInts: bigint[] = [];
            const readFloats: number[] = [];
            for (const field of readFields(bytes)) {
              if (field.fieldNumber === 3)
                readInts.push(...repeatedVarints(field).map((v) => BigInt.asIntN(64, v)));
              if (field.fieldNumber === 4) {
                const raw = repeatedFixed(field, 4);
                const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
                for (let offset = 0; offset < raw.length; offset += 4)
                  readFloats.push(view.getFloat32(offset, true));
              }
            }

            assert.deepEqual(readInts, ints);
            assert.deepEqual(readFloats, floats);
          }
        },
      ),
    );
  });

  it('omits empty packed fields', () => {
    const bytes = new ProtoWriter().packedVarints(1, []).packedFloats(2, []).packedDoubles(3, []).finish();

    assert.equal(bytes.length, 0);
  });

  it('skips groups, nested ones included, and keeps the fields around them', () => {
    // field 1 varint 5; group 2 { field 3 varint 7; group 4 { } }; field 5 "x"
    const bytes = Uint8Array.from([0x08, 0x05, 0x13, 0x18, 0x07, 0x23, 0x24, 0x14, 0x2a, 0x01, 0x78]);

    const fields = [...readFields(bytes)];

    assert.deepEqual(
      fields.map((field) => field.fieldNumber),
      [1, 5],
    );
    assert.equal(fieldString(fields[1] as ProtoField), 'x');
  });

  it('refuses values the wire format cannot carry', () => {
    const writer = new ProtoWriter();

    assert.throws(() => writer.varint(1, 1n << 64n), RangeError);
    assert.throws(() => writer.varint(1, -(1n << 63n) - 1n), RangeError);
    assert.throws(() => writer.varint(1, 2 ** 53), RangeError);
    assert.throws(() => writer.varint(1, 0.5), RangeError);
    assert.throws(() => writer.varint(0, 1), RangeError);
    assert.throws(() => writer.varint(2 ** 29, 1), RangeError);
    assert.throws(() => writer.fixed32(1, 2 ** 32), RangeError);
  });

  it('converts varints to safe JS numbers or says why it cannot', () => {
    const [small, negative, huge] = [
      ...readFields(
        new ProtoWriter()
          .varint(1, 42)
          .varint(2, -7)
          .varint(3, 1n << 60n)
          .finish(),
      ),
    ];

    assert.equal(fieldInt(small as ProtoField), 42);
    assert.equal(fieldInt(negative as ProtoField), -7);
    assert.throws(() => fieldInt(huge as ProtoField), ProtobufError);
  });
});

describe('readFields on malformed input', () => {
  const malformed: [string, number[], RegExp][] = [
    ['a truncated varint', [0x08, 0x96], /truncated varint/],
    ['a varint longer than 10 bytes', [0x08, ...new Array(10).fill(0xff), 0x01], /longer than 10 bytes/],
    ['a varint beyond 64 bits', [0x08, ...new Array(9).fill(0xff), 0x02], /overflows 64 bits/],
    ['a length beyond the end', [0x12, 0x05, 0x61, 0x62], /declares 5 bytes but only 2 remain/],
    ['a huge length', [0x12, 0xff, 0xff, 0xff, 0xff, 0x0f], /declares 4294967295 bytes/],
    ['a truncated fixed32', [0x0d, 0x01, 0x02], /needs 4 bytes/],
    ['a truncated fixed64', [0x09, 0x01, 0x02, 0x03, 0x04], /needs 8 bytes/],
    ['field number 0', [0x00, 0x01], /invalid field number 0/],
    ['wire type 6', [0x0e, 0x01], /invalid wire type 6/],
    ['wire type 7', [0x0f], /invalid wire type 7/],
    ['an end-group without a start', [0x0c], /unexpected end-group/],
    ['an unclosed group', [0x0b, 0x08, 0x01], /not closed/],
    ['a mismatched end-group', [0x0b, 0x14], /mismatched end-group/],
  ];
  for (const [what, bytes, message] of malformed) {
    it(`throws a ProtobufError for ${what}`, () => {
      const input = Uint8Array.from(bytes);

      assert.throws(
        () => [...readFields(input)],
        (error: unknown) => {
          assert.ok(error instanceof ProtobufError, String(error));
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  it('throws for every cut that falls inside a field, and reads every cut at a field boundary', () => {
    fc.assert(
      fc.property(fc.array(fieldSpec, { minLength: 1, maxLength: 6 }), fc.nat(), (specs, seed) => {
        const boundaries = new Set<number>([0]);
        let total = 0;
        for (const spec of specs) {
          total += encode([spec]).length;
          boundaries.add(total);
        }
        const bytes = encode(specs);
        const cut = seed % bytes.length;

        const parse = (): ProtoField[] => [...readFields(bytes.subarray(0, cut))];

        if (boundaries.has(cut))
          assert.equal(parse().length, [...boundaries].filter((b) => b > 0 && b <= cut).length);
        else assert.throws(parse, ProtobufError);
      }),
    );
  });

  it('either reads arbitrary bytes or throws a ProtobufError, without reading past the end', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        // A view into a larger buffer: reading past its end would see the 0xee sentinels.
        const backing = new Uint8Array(bytes.length + 16).fill(0xee);
        backing.set(bytes);
        const input = backing.subarray(0, bytes.length);
        try {
          for (const field of readFields(input)) {
            if (field.wireType !== WireType.Varint) {
              assert.ok(field.bytes.byteOffset + field.bytes.length <= bytes.length);
            }
          }
        } catch (error) {
          assert.ok(error instanceof ProtobufError, String(error));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
