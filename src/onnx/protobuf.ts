/**
 * A minimal protocol-buffers wire-format reader: just enough to read ONNX `ModelProto` and
 * `TensorProto` messages without a schema compiler. Its writer is `protobuf-writer.ts`.
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

/** Largest field number protobuf allows. */
export const MAX_FIELD_NUMBER = 2 ** 29 - 1;
/** Bounds of what a 64-bit varint or fixed64 holds (uint64 and int64 together). */
export const UINT64_MAX = (1n << 64n) - 1n;
export const INT64_MIN = -(1n << 63n);
const utf8Decoder = new TextDecoder();

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
