/**
 * A client of the binary tensor data extension, written from the protocol's description
 * independently of src/codec/binary.ts: tensors to little-endian bytes and back, and an inference
 * request over a real socket with binary inputs and binary outputs.
 */
import type { TensorElement } from '../../src/types.ts';

type Fixed = [size: number, write: (view: DataView, offset: number, value: TensorElement) => void];

const big = (value: TensorElement) => BigInt(value as number | bigint | string);

const FIXED: Record<string, Fixed> = {
  BOOL: [1, (v, o, x) => v.setUint8(o, x === true ? 1 : 0)],
  UINT8: [1, (v, o, x) => v.setUint8(o, Number(x))],
  INT8: [1, (v, o, x) => v.setInt8(o, Number(x))],
  UINT16: [2, (v, o, x) => v.setUint16(o, Number(x), true)],
  INT16: [2, (v, o, x) => v.setInt16(o, Number(x), true)],
  UINT32: [4, (v, o, x) => v.setUint32(o, Number(x), true)],
  INT32: [4, (v, o, x) => v.setInt32(o, Number(x), true)],
  FP16: [2, (v, o, x) => v.setUint16(o, halfBits(Number(x)), true)],
  FP32: [4, (v, o, x) => v.setFloat32(o, Number(x), true)],
  UINT64: [8, (v, o, x) => v.setBigUint64(o, big(x), true)],
  INT64: [8, (v, o, x) => v.setBigInt64(o, big(x), true)],
  FP64: [8, (v, o, x) => v.setFloat64(o, Number(x), true)],
};

/** IEEE 754 half-precision bits of `value`, rounded to nearest even (through float32). */
function halfBits(value: number): number {
  const f32 = new DataView(new ArrayBuffer(4));
  f32.setFloat32(0, value);
  const bits = f32.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  const e = exponent - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = (mantissa | 0x800000) >>> (1 - e);
    const rounded =
      (m >>> 13) + ((m & 0x1fff) > 0x1000 || ((m & 0x1fff) === 0x1000 && (m >>> 13) & 1) ? 1 : 0);
    return sign | rounded;
  }
  const half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1) ? 1 : 0));
}

/** The extension's bytes of a tensor's flat data. */
export function tensorToBytes(datatype: string, data: readonly TensorElement[]): Uint8Array {
  if (datatype === 'BYTES') {
    const parts = data.map((value) => Buffer.from(String(value), 'utf8'));
    const out = Buffer.alloc(parts.reduce((n, part) => n + 4 + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.writeUInt32LE(part.length, offset);
      part.copy(out, offset + 4);
      offset += 4 + part.length;
    }
    return new Uint8Array(out);
  }
  const fixed = FIXED[datatype];
  if (fixed === undefined) throw new Error(`tensorToBytes: ${datatype} is not supported by this helper`);
  const [size, write] = fixed;
  const out = new Uint8Array(data.length * size);
  const view = new DataView(out.buffer);
  for (const [i, value] of data.entries()) write(view, i * size, value);
  return out;
}

/** Flat data from the extension's bytes; 64-bit integers as bigint, FP16 as numbers. */
export function bytesToTensor(datatype: string, bytes: Uint8Array): TensorElement[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: TensorElement[] = [];
  if (datatype === 'BYTES') {
    for (let offset = 0; offset < bytes.byteLength; ) {
      const length = view.getUint32(offset, true);
      out.push(Buffer.from(bytes.subarray(offset + 4, offset + 4 + length)).toString('utf8'));
      offset += 4 + length;
    }
    return out;
  }
  const read: Record<string, [number, (offset: number) => TensorElement]> = {
    BOOL: [1, (o) => view.getUint8(o) === 1],
    UINT8: [1, (o) => view.getUint8(o)],
    INT8: [1, (o) => view.getInt8(o)],
    UINT16: [2, (o) => view.getUint16(o, true)],
    INT16: [2, (o) => view.getInt16(o, true)],
    FP16: [2, (o) => half(view.getUint16(o, true))],
    UINT32: [4, (o) => view.getUint32(o, true)],
    INT32: [4, (o) => view.getInt32(o, true)],
    FP32: [4, (o) => view.getFloat32(o, true)],
    UINT64: [8, (o) => view.getBigUint64(o, true)],
    INT64: [8, (o) => view.getBigInt64(o, true)],
    FP64: [8, (o) => view.getFloat64(o, true)],
  };
  const entry = read[datatype];
  if (entry === undefined) throw new Error(`bytesToTensor: unknown datatype ${datatype}`);
  const [size, get] = entry;
  for (let offset = 0; offset < bytes.byteLength; offset += size) out.push(get(offset));
  return out;
}

function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

export interface BinaryTensor {
  name: string;
  shape: number[];
  datatype: string;
  data: TensorElement[];
}

/**
 * POSTs an inference whose inputs all travel as binary data and asks for every output as binary
 * data; returns the status, the response's JSON part and its outputs with the binary data decoded.
 */
export async function inferBinary(
  url: string,
  inputs: readonly BinaryTensor[],
  extra: Record<string, unknown> = {},
): Promise<{
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
  outputs: BinaryTensor[];
  text: string;
}> {
  const chunks = inputs.map((input) => tensorToBytes(input.datatype, input.data));
  const header = Buffer.from(
    JSON.stringify({
      ...extra,
      inputs: inputs.map((input, i) => ({
        name: input.name,
        shape: input.shape,
        datatype: input.datatype,
        parameters: { binary_data_size: chunks[i]?.byteLength },
      })),
      parameters: { binary_data_output: true },
    }),
  );
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.byteLength),
    },
    body: Buffer.concat([header, ...chunks]),
  });
  const body = new Uint8Array(await response.arrayBuffer());
  const jsonLength = Number(response.headers.get('inference-header-content-length') ?? body.byteLength);
  const text = Buffer.from(body.subarray(0, jsonLength)).toString('utf8');
  const json = JSON.parse(text) as Record<string, unknown>;
  let offset = jsonLength;
  const outputs = (
    (json.outputs ?? []) as (BinaryTensor & { parameters?: { binary_data_size?: number } })[]
  ).map((output) => {
    const size = output.parameters?.binary_data_size;
    if (size === undefined) return output;
    const data = bytesToTensor(output.datatype, body.subarray(offset, offset + size));
    offset += size;
    return { name: output.name, shape: output.shape, datatype: output.datatype, data };
  });
  if (response.status === 200 && offset !== body.byteLength) {
    throw new Error(`response has ${body.byteLength - offset} bytes no output accounts for`);
  }
  return { status: response.status, headers: response.headers, json, outputs, text };
}
