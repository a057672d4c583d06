/**
 * ONNX `TensorProto.DataType` numbers, by the element-type names the graph builder uses
 * (onnxruntime's spelling).
 */
export const ONNX_ELEM_TYPE = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
} as const;

/** Element types the graph builder can write data for. */
export type ElemType = keyof typeof ONNX_ELEM_TYPE;

const ONNX_ELEM_TYPE_NAMES = [
  'UNDEFINED',
  'FLOAT',
  'UINT8',
  'INT8',
  'UINT16',
  'INT16',
  'INT32',
  'INT64',
  'STRING',
  'BOOL',
  'FLOAT16',
  'DOUBLE',
  'UINT32',
  'UINT64',
  'COMPLEX64',
  'COMPLEX128',
  'BFLOAT16',
  'FLOAT8E4M3FN',
  'FLOAT8E4M3FNUZ',
  'FLOAT8E5M2',
  'FLOAT8E5M2FNUZ',
  'UINT4',
  'INT4',
  'FLOAT4E2M1',
];

/** The onnx.proto name of an element type number, for messages (e.g. `16` → `BFLOAT16`). */
export function onnxElemTypeName(elemType: number): string {
  return ONNX_ELEM_TYPE_NAMES[elemType] ?? `element type ${elemType}`;
}
