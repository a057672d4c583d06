import type { Tensor } from 'onnxruntime-node';
import type { Datatype } from '../types.ts';

/** OIP datatype → onnxruntime tensor type. */
export const ORT_TYPE_OF = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
} as const satisfies Record<Datatype, Tensor.Type>;

const DATATYPE_OF_ORT: ReadonlyMap<string, Datatype> = new Map(
  Object.entries(ORT_TYPE_OF).map(([datatype, ort]) => [ort, datatype as Datatype]),
);

/** onnxruntime tensor type → OIP datatype, or `undefined` for types the protocol has no name for. */
export function datatypeOfOrtType(type: string): Datatype | undefined {
  return DATATYPE_OF_ORT.get(type);
}

/** ONNX `TensorProto.DataType` number → OIP datatype (undefined for complex, bfloat16, float8…). */
export const DATATYPE_OF_ONNX_ELEM_TYPE: Readonly<Record<number, Datatype>> = {
  1: 'FP32',
  2: 'UINT8',
  3: 'INT8',
  4: 'UINT16',
  5: 'INT16',
  6: 'INT32',
  7: 'INT64',
  8: 'BYTES',
  9: 'BOOL',
  10: 'FP16',
  11: 'FP64',
  12: 'UINT32',
  13: 'UINT64',
};

/** Bytes per element of each fixed-size datatype, as tensors lay them out (BYTES is variable). */
export const ELEMENT_BYTES: Readonly<Record<Exclude<Datatype, 'BYTES'>, number>> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};
