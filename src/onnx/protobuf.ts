/**
 * A minimal protocol-buffers wire-format writer and reader: just enough to write and read ONNX
 * `ModelProto` and `TensorProto` messages without a schema compiler.
 *
 * The reader never copies length-delimited payloads (it hands out `subarray` views), checks every
 * length against the input, and throws {@link ProtobufError} on truncated or malformed input.
 */

/** Protobuf wire types. Groups (3, 4) are deprecated; the reader skips them, the writer never writes them. */
export const WireType = {
  Varint: 0,
  Fixed64: 1,
  LengthDelimited: 2,
  StartGroup: 3,
  EndGroup: 4,
  Fixed32: 5,
} as const;

/** Thrown for input that is not well-formed protobuf. */
export class ProtobufError extends Error {
  constructor(message: string) {
    super(`protobuf: ${message}`);
    this.name = 'ProtobufError';
  }
}

const MAX_FIELD_NUMBER = 2 ** 29 - 1;
const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

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

/** One field as read from the wire. Payloads are views into the input, not copies. */
export type ProtoField =
  | { fieldNumber: number; wireType: typeof WireType.Varint; value: bigint }
  | { fieldNumber: number; wireType: typeof WireType.Fixed64; bytes: Uint8Array }
  | { fieldNumber: number; wireType: typeof WireType.LengthDelimited; bytes: Uint8Array }
  | { fieldNumber: number; wireType: typeof WireType.Fixed32; bytes: Uint8Array };

/**
 * The fields of one message, in wire order. Groups are skipped. Throws {@link ProtobufError} on
 * truncated or malformed input; every iteration consumes at least one byte, so it always ends.
 *
 * @example
 * ```ts
 * for (const field of readFields(bytes)) {
 *   if (field.fieldNumber === 2 && field.wireType === WireType.LengthDelimited) name = fieldString(field);
 * }
 * ```
 */
export function* readFields(bytes: Uint8Array): Generator<ProtoField> {
  let position = 0;
  while (position < bytes.length) {
    const tagStart = position;
    const tag = readVarint(bytes, position);
    position = tag.next;
    const { fieldNumber, wireType } = splitTag(tag.value, tagStart);
    switch (wireType) {
      case WireType.Varint: {
        const value = readVarint(bytes, position);
        position = value.next;
        yield { fieldNumber, wireType, value: value.value };
        break;
      }
      case WireType.Fixed64:
      case WireType.Fixed32: {
        const size = wireType === WireType.Fixed64 ? 8 : 4;
        const end = checkedEnd(bytes, position, size, fieldNumber);
        yield { fieldNumber, wireType, bytes: bytes.subarray(position, end) };
        position = end;
        break;
      }
      case WireType.LengthDelimited: {
        const length = readVarint(bytes, position);
        position = length.next;
        if (length.value > BigInt(bytes.length - position)) {
          throw new ProtobufError(
            `field ${fieldNumber} at byte ${tagStart} declares ${length.value} bytes but only ${bytes.length - position} remain`,
          );
        }
        const end = position + Number(length.value);
        yield { fieldNumber, wireType, bytes: bytes.subarray(position, end) };
        position = end;
        break;
      }
      case WireType.StartGroup:
        position = skipGroup(bytes, position, fieldNumber, tagStart);
        break;
      case WireType.EndGroup:
        throw new ProtobufError(`unexpected end-group tag for field ${fieldNumber} at byte ${tagStart}`);
      default:
        throw new ProtobufError(`invalid wire type ${wireType} for field ${fieldNumber} at byte ${tagStart}`);
    }
  }
}

/** Decodes one varint at `position`; returns the unsigned 64-bit value and the next position. */
export function readVarint(bytes: Uint8Array, position: number): { value: bigint; next: number } {
  // Fast path: values below 2^28 (tags, lengths, small ints) are summed as plain numbers.
  let low = 0;
  let cursor = position;
  for (let shift = 0; shift < 28; shift += 7) {
    const byte = bytes[cursor];
    if (byte === undefined) throw truncatedVarint(position);
    cursor++;
    low += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return { value: BigInt(low), next: cursor };
  }
  let value = BigInt(low);
  for (let shift = 28n; shift < 70n; shift += 7n) {
    const byte = bytes[cursor];
    if (byte === undefined) throw truncatedVarint(position);
    cursor++;
    value |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) {
      if (value > UINT64_MAX) throw new ProtobufError(`varint at byte ${position} overflows 64 bits`);
      return { value, next: cursor };
    }
  }
  throw new ProtobufError(`varint at byte ${position} is longer than 10 bytes`);
}

function truncatedVarint(position: number): ProtobufError {
  return new ProtobufError(`truncated varint at byte ${position}`);
}

function splitTag(tag: bigint, position: number): { fieldNumber: number; wireType: number } {
  const fieldNumber = Number(tag >> 3n);
  if (fieldNumber < 1 || fieldNumber > MAX_FIELD_NUMBER) {
    throw new ProtobufError(`invalid field number ${tag >> 3n} at byte ${position}`);
  }
  return { fieldNumber, wireType: Number(tag & 7n) };
}

function checkedEnd(bytes: Uint8Array, position: number, size: number, fieldNumber: number): number {
  if (bytes.length - position < size) {
    throw new ProtobufError(
      `field ${fieldNumber} at byte ${position} needs ${size} bytes, input is truncated`,
    );
  }
  return position + size;
}

/** Skips a (deprecated) group up to its matching end tag; nested groups included. */
function skipGroup(bytes: Uint8Array, start: number, fieldNumber: number, tagStart: number): number {
  const open = [fieldNumber];
  let position = start;
  while (open.length > 0) {
    if (position >= bytes.length) {
      throw new ProtobufError(`group for field ${fieldNumber} at byte ${tagStart} is not closed`);
    }
    const innerStart = position;
    const tag = readVarint(bytes, position);
    position = tag.next;
    const inner = splitTag(tag.value, innerStart);
    switch (inner.wireType) {
      case WireType.Varint:
        position = readVarint(bytes, position).next;
        break;
      case WireType.Fixed64:
        position = checkedEnd(bytes, position, 8, inner.fieldNumber);
        break;
      case WireType.Fixed32:
        position = checkedEnd(bytes, position, 4, inner.fieldNumber);
        break;
      case WireType.LengthDelimited: {
        const length = readVarint(bytes, position);
        position = length.next;
        if (length.value > BigInt(bytes.length - position)) {
          throw new ProtobufError(`field ${inner.fieldNumber} at byte ${innerStart} is truncated`);
        }
        position += Number(length.value);
        break;
      }
      case WireType.StartGroup:
        open.push(inner.fieldNumber);
        break;
      case WireType.EndGroup:
        if (open.pop() !== inner.fieldNumber) {
          throw new ProtobufError(
            `mismatched end-group tag for field ${inner.fieldNumber} at byte ${innerStart}`,
          );
        }
        break;
      default:
        throw new ProtobufError(`invalid wire type ${inner.wireType} at byte ${innerStart}`);
    }
  }
  return position;
}

/** Describes a field's wire type for error messages. */
export function wireTypeName(wireType: number): string {
  return (
    ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32'][wireType] ?? 'invalid'
  );
}

/** A length-delimited field as UTF-8 text (invalid sequences become U+FFFD). */
export function fieldString(field: ProtoField): string {
  return utf8Decoder.decode(fieldBytes(field));
}

/** A length-delimited field's payload. */
export function fieldBytes(field: ProtoField): Uint8Array {
  if (field.wireType !== WireType.LengthDelimited) throw wrongWireType(field, 'length-delimited');
  return field.bytes;
}

/** A varint field as its unsigned 64-bit value. */
export function fieldUint64(field: ProtoField): bigint {
  if (field.wireType !== WireType.Varint) throw wrongWireType(field, 'varint');
  return field.value;
}

/** A varint field read as int64 (two's complement). */
export function fieldInt64(field: ProtoField): bigint {
  return BigInt.asIntN(64, fieldUint64(field));
}

/** A varint int32/int64 field as a JS number; throws if it is not a safe integer. */
export function fieldInt(field: ProtoField): number {
  const value = fieldInt64(field);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new ProtobufError(`field ${field.fieldNumber} value ${value} is beyond a safe integer`);
  }
  return Number(value);
}

/** A repeated varint field, packed (one length-delimited field) or not (one varint per field). */
export function repeatedVarints(field: ProtoField): bigint[] {
  if (field.wireType === WireType.Varint) return [field.value];
  const packed = fieldBytes(field);
  const values: bigint[] = [];
  let position = 0;
  while (position < packed.length) {
    const { value, next } = readVarint(packed, position);
    values.push(value);
    position = next;
  }
  return values;
}

/** A repeated fixed-width field (`fixed32`/`float` of `width` 4, `fixed64`/`double` of 8), packed or not. */
export function repeatedFixed(field: ProtoField, width: 4 | 8): Uint8Array {
  const expected = width === 4 ? WireType.Fixed32 : WireType.Fixed64;
  if (field.wireType === expected) return field.bytes;
  const packed = fieldBytes(field);
  if (packed.length % width !== 0) {
    throw new ProtobufError(
      `packed field ${field.fieldNumber} has ${packed.length} bytes, not a multiple of ${width}`,
    );
  }
  return packed;
}

function wrongWireType(field: ProtoField, expected: string): ProtobufError {
  return new ProtobufError(
    `field ${field.fieldNumber} has wire type ${wireTypeName(field.wireType)}, expected ${expected}`,
  );
}
