/**
 * Decodes a serialized ONNX `TensorProto` (the `input_N.pb` / `output_N.pb` files of the ONNX
 * backend tests) into plain JS values, from `raw_data` or from the typed repeated fields.
 */
import { DATATYPE_OF_ONNX_ELEM_TYPE, ELEMENT_BYTES } from '../../../src/codec/datatypes.ts';
import { fromFloat16Bits } from '../../../src/codec/float16.ts';
import { onnxElemTypeName } from '../../../src/onnx/elem-types.ts';
import {
  fieldBytes,
  fieldInt,
  fieldString,
  ProtobufError,
  readFields,
  repeatedFixed,
  repeatedVarints,
} from '../../../src/onnx/protobuf.ts';
import type { Datatype, TensorElement } from '../../../src/types.ts';

/**
 * A decoded tensor, row-major. Element types: FP16/FP32/FP64 and integers up to 32 bits → number,
 * INT64/UINT64 → bigint, BOOL → boolean, BYTES → string (UTF-8).
 */
export interface DecodedTensor {
  name: string;
  dims: number[];
  datatype: Datatype;
  data: TensorElement[];
}

interface TensorFields {
  name: string;
  dims: number[];
  elemType: number;
  raw?: Uint8Array;
  floats: Uint8Array[];
  doubles: Uint8Array[];
  int32s: bigint[];
  int64s: bigint[];
  uint64s: bigint[];
  strings: Uint8Array[];
}

const utf8 = new TextDecoder();

/**
 * Decodes one `TensorProto`. Throws a clear Error for malformed bytes, element counts that do not
 * match `dims`, element types the protocol has no datatype for, and external or segmented data.
 *
 * @example
 * ```ts
 * const expected = decodeTensorProto(await readFile('test_data_set_0/output_0.pb'));
 * expected.dims; // [3, 4]
 * expected.datatype; // 'FP32'
 * ```
 */
export function decodeTensorProto(bytes: Uint8Array): DecodedTensor {
  let fields: TensorFields;
  try {
    fields = readTensorFields(bytes);
  } catch (error) {
    if (error instanceof ProtobufError)
      throw new Error(`not a TensorProto: ${error.message}`, { cause: error });
    throw error;
  }
  const label = fields.name === '' ? 'TensorProto' : `TensorProto ${fields.name}`;
  const datatype = DATATYPE_OF_ONNX_ELEM_TYPE[fields.elemType];
  if (datatype === undefined) {
    throw new Error(`${label}: element type ${onnxElemTypeName(fields.elemType)} is not supported`);
  }
  const count = fields.dims.reduce((product, dim) => product * dim, 1);
  const data =
    fields.raw === undefined ? typedData(fields, datatype) : rawData(fields.raw, datatype, count, label);
  if (data.length !== count) {
    throw new Error(`${label}: dims [${fields.dims.join(', ')}] need ${count} values, found ${data.length}`);
  }
  return { name: fields.name, dims: fields.dims, datatype, data };
}

function readTensorFields(bytes: Uint8Array): TensorFields {
  const fields: TensorFields = {
    name: '',
    dims: [],
    elemType: 0,
    floats: [],
    doubles: [],
    int32s: [],
    int64s: [],
    uint64s: [],
    strings: [],
  };
  for (const field of readFields(bytes)) {
    switch (field.fieldNumber) {
      case 1:
        for (const dim of repeatedVarints(field)) fields.dims.push(toDim(BigInt.asIntN(64, dim)));
        break;
      case 2:
        fields.elemType = fieldInt(field);
        break;
      case 3:
        throw new Error('TensorProto: segmented tensors are not supported');
      case 4:
        fields.floats.push(repeatedFixed(field, 4));
        break;
      case 5:
        appendAll(fields.int32s, repeatedVarints(field));
        break;
      case 6:
        fields.strings.push(fieldBytes(field));
        break;
      case 7:
        appendAll(fields.int64s, repeatedVarints(field));
        break;
      case 8:
        fields.name = fieldString(field);
        break;
      case 9:
        fields.raw = fieldBytes(field);
        break;
      case 10:
        fields.doubles.push(repeatedFixed(field, 8));
        break;
      case 11:
        appendAll(fields.uint64s, repeatedVarints(field));
        break;
      case 13:
        throw new Error('TensorProto: tensors with external data are not supported');
      case 14:
        if (fieldInt(field) !== 0)
          throw new Error('TensorProto: tensors with external data are not supported');
        break;
    }
  }
  return fields;
}

/** Appends without spreading: a packed field can hold more values than a call's argument limit. */
function appendAll<T>(target: T[], values: readonly T[]): void {
  for (const value of values) target.push(value);
}

function toDim(dim: bigint): number {
  if (dim < 0n || dim > BigInt(Number.MAX_SAFE_INTEGER))
    throw new Error(`TensorProto: invalid dimension ${dim}`);
  return Number(dim);
}

function rawData(raw: Uint8Array, datatype: Datatype, count: number, label: string): TensorElement[] {
  if (datatype === 'BYTES') throw new Error(`${label}: string tensors cannot use raw_data`);
  const width = ELEMENT_BYTES[datatype];
  if (raw.length !== count * width) {
    throw new Error(
      `${label}: raw_data has ${raw.length} bytes, ${count} ${datatype} values need ${count * width}`,
    );
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const data: TensorElement[] = new Array(count);
  for (let i = 0; i < count; i++) data[i] = readRawElement(view, i * width, datatype);
  return data;
}

function readRawElement(view: DataView, offset: number, datatype: Exclude<Datatype, 'BYTES'>): TensorElement {
  switch (datatype) {
    case 'BOOL':
      return view.getUint8(offset) !== 0;
    case 'UINT8':
      return view.getUint8(offset);
    case 'INT8':
      return view.getInt8(offset);
    case 'UINT16':
      return view.getUint16(offset, true);
    case 'INT16':
      return view.getInt16(offset, true);
    case 'FP16':
      return fromFloat16Bits(view.getUint16(offset, true));
    case 'UINT32':
      return view.getUint32(offset, true);
    case 'INT32':
      return view.getInt32(offset, true);
    case 'FP32':
      return view.getFloat32(offset, true);
    case 'UINT64':
      return view.getBigUint64(offset, true);
    case 'INT64':
      return view.getBigInt64(offset, true);
    case 'FP64':
      return view.getFloat64(offset, true);
  }
}

/** Which typed field onnx.proto assigns to each element type when raw_data is not used. */
function typedData(fields: TensorFields, datatype: Datatype): TensorElement[] {
  switch (datatype) {
    case 'FP32':
      return fixedValues(fields.floats, 4, (view, offset) => view.getFloat32(offset, true));
    case 'FP64':
      return fixedValues(fields.doubles, 8, (view, offset) => view.getFloat64(offset, true));
    case 'FP16':
      return fields.int32s.map((bits) => fromFloat16Bits(Number(bits & 0xffffn)));
    case 'BOOL':
      return fields.int32s.map((value) => value !== 0n);
    case 'INT8':
    case 'INT16':
    case 'INT32':
      return fields.int32s.map((value) => Number(BigInt.asIntN(32, value)));
    case 'UINT8':
    case 'UINT16':
      return fields.int32s.map((value) => Number(BigInt.asUintN(32, value)));
    case 'INT64':
      return fields.int64s.map((value) => BigInt.asIntN(64, value));
    case 'UINT32':
      return fields.uint64s.map((value) => Number(BigInt.asUintN(32, value)));
    case 'UINT64':
      return fields.uint64s;
    case 'BYTES':
      return fields.strings.map((bytes) => utf8.decode(bytes));
  }
}

function fixedValues(
  chunks: Uint8Array[],
  width: number,
  read: (view: DataView, offset: number) => number,
): number[] {
  const values: number[] = [];
  for (const chunk of chunks) {
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let offset = 0; offset < chunk.length; offset += width) values.push(read(view, offset));
  }
  return values;
}
