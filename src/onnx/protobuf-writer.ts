/**
 * A minimal protocol-buffers wire-format writer: just enough to write ONNX `ModelProto` and
 * `TensorProto` messages without a schema compiler. Its reader is `protobuf.ts`.
 */
import { INT64_MIN, MAX_FIELD_NUMBER, UINT64_MAX, WireType } from './protobuf.ts';

const utf8 = new TextEncoder();
/**
 * Appends protobuf fields to a growing buffer.
 *
 * @example
 * ```ts
 * const bytes = new ProtoWriter()
 *   .varint(1, 8)
 *   .string(2, 'producer')
 *   .message(7, (graph) => graph.string(2, 'main'))
 *   .finish();
 * ```
 */
export class ProtoWriter {
  private buffer = new Uint8Array(256);
  private view = new DataView(this.buffer.buffer);
  private length = 0;

  /**
   * A varint field (int32, int64, uint64, bool, enum). Negative numbers are written as 64-bit
   * two's complement, as protobuf does for int32 and int64.
   */
  varint(fieldNumber: number, value: number | bigint | boolean): this {
    this.tag(fieldNumber, WireType.Varint);
    this.rawVarint(typeof value === 'boolean' ? Number(value) : value);
    return this;
  }

  /** A fixed32 field holding an unsigned 32-bit integer. */
  fixed32(fieldNumber: number, value: number): this {
    this.tag(fieldNumber, WireType.Fixed32);
    this.rawFixed32(value);
    return this;
  }

  /** A fixed32 field holding a float. */
  float(fieldNumber: number, value: number): this {
    this.tag(fieldNumber, WireType.Fixed32);
    this.reserve(4);
    this.view.setFloat32(this.length, value, true);
    this.length += 4;
    return this;
  }

  /** A fixed64 field holding a 64-bit integer (negative values as two's complement). */
  fixed64(fieldNumber: number, value: bigint): this {
    this.tag(fieldNumber, WireType.Fixed64);
    this.rawFixed64(value);
    return this;
  }

  /** A fixed64 field holding a double. */
  double(fieldNumber: number, value: number): this {
    this.tag(fieldNumber, WireType.Fixed64);
    this.reserve(8);
    this.view.setFloat64(this.length, value, true);
    this.length += 8;
    return this;
  }

  /** A length-delimited field with the given bytes. */
  bytes(fieldNumber: number, value: Uint8Array): this {
    this.tag(fieldNumber, WireType.LengthDelimited);
    this.rawVarint(value.length);
    this.append(value);
    return this;
  }

  /** A length-delimited field with the UTF-8 encoding of `value`. */
  string(fieldNumber: number, value: string): this {
    return this.bytes(fieldNumber, utf8.encode(value));
  }

  /** A nested message, written by `write` into a fresh writer. */
  message(fieldNumber: number, write: (writer: ProtoWriter) => void): this {
    const nested = new ProtoWriter();
    write(nested);
    return this.bytes(fieldNumber, nested.written());
  }

  /** A packed repeated varint field; nothing is written for an empty list. */
  packedVarints(fieldNumber: number, values: Iterable<number | bigint>): this {
    const packed = new ProtoWriter();
    for (const value of values) packed.rawVarint(value);
    return packed.length === 0 ? this : this.bytes(fieldNumber, packed.written());
  }

  /** A packed repeated float field; nothing is written for an empty list. */
  packedFloats(fieldNumber: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this;
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] ?? 0, true);
    return this.bytes(fieldNumber, bytes);
  }

  /** A packed repeated double field; nothing is written for an empty list. */
  packedDoubles(fieldNumber: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this;
    const bytes = new Uint8Array(values.length * 8);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i] ?? 0, true);
    return this.bytes(fieldNumber, bytes);
  }

  /** A packed repeated fixed32 field; nothing is written for an empty list. */
  packedFixed32(fieldNumber: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this;
    const packed = new ProtoWriter();
    for (let i = 0; i < values.length; i++) packed.rawFixed32(values[i] ?? 0);
    return this.bytes(fieldNumber, packed.written());
  }

  /** A packed repeated fixed64 field; nothing is written for an empty list. */
  packedFixed64(fieldNumber: number, values: ArrayLike<bigint>): this {
    if (values.length === 0) return this;
    const packed = new ProtoWriter();
    for (let i = 0; i < values.length; i++) packed.rawFixed64(values[i] ?? 0n);
    return this.bytes(fieldNumber, packed.written());
  }

  /** The bytes written so far (a copy; the writer stays usable). */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  /** A view of the bytes written so far, for copying into a parent message without an extra copy. */
  private written(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  private tag(fieldNumber: number, wireType: number): void {
    if (!Number.isInteger(fieldNumber) || fieldNumber < 1 || fieldNumber > MAX_FIELD_NUMBER) {
      throw new RangeError(`protobuf: field number ${fieldNumber} is outside 1..${MAX_FIELD_NUMBER}`);
    }
    this.rawVarint(fieldNumber * 8 + wireType);
  }

  private rawVarint(value: number | bigint): void {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0x7fffffff) {
      this.reserve(5);
      let rest = value;
      while (rest > 0x7f) {
        this.buffer[this.length++] = (rest & 0x7f) | 0x80;
        rest >>>= 7;
      }
      this.buffer[this.length++] = rest;
      return;
    }
    let rest = BigInt.asUintN(64, toInt64Range(value));
    this.reserve(10);
    while (rest > 0x7fn) {
      this.buffer[this.length++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.buffer[this.length++] = Number(rest);
  }

  private rawFixed32(value: number): void {
    if (!Number.isInteger(value) || value < -(2 ** 31) || value > 2 ** 32 - 1) {
      throw new RangeError(`protobuf: ${value} does not fit a fixed32`);
    }
    this.reserve(4);
    this.view.setUint32(this.length, value >>> 0, true);
    this.length += 4;
  }

  private rawFixed64(value: bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt.asUintN(64, toInt64Range(value)), true);
    this.length += 8;
  }

  private append(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  private reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }
}

/** An integer accepted as a 64-bit varint or fixed64: anything in int64 ∪ uint64. */
function toInt64Range(value: number | bigint): bigint {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new RangeError(`protobuf: ${value} is not a safe integer; pass a bigint for 64-bit values`);
  }
  const big = BigInt(value);
  if (big < INT64_MIN || big > UINT64_MAX) {
    throw new RangeError(`protobuf: ${value} does not fit in 64 bits`);
  }
  return big;
}
