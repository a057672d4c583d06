/**
 * Reads what a model declares (signature, opsets, producer, `metadata_props`) straight from the
 * `ModelProto` bytes, without onnxruntime: cheap enough to validate an upload, and the only way to
 * see `metadata_props`, which onnxruntime's JS API does not expose.
 */
import { DATATYPE_OF_ONNX_ELEM_TYPE } from '../codec/datatypes.ts';
import type { TensorSpec } from '../types.ts';
import { onnxElemTypeName } from './elem-types.ts';
import {
  fieldBytes,
  fieldInt,
  fieldString,
  ProtobufError,
  type ProtoField,
  readFields,
  WireType,
  wireTypeName,
} from './protobuf.ts';

/** An input or output the protocol cannot describe as a tensor, and why. */
export interface UnsupportedValue {
  name: string;
  direction: 'input' | 'output';
  reason: string;
}

/** What {@link readModelInfo} finds in a model. */
export interface ModelInfo {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  docString: string;
  opsets: { domain: string; version: number }[];
  metadata: Record<string, string>;
  graphName: string;
  /** Graph inputs that are not initializers, in graph order; unsupported ones left out. */
  inputs: TensorSpec[];
  /** Graph outputs in graph order; unsupported ones left out. */
  outputs: TensorSpec[];
  /** Inputs and outputs that are not tensors of an OIP datatype (sequences, maps, bfloat16, …). */
  unsupported: UnsupportedValue[];
}

/** Thrown when the bytes are not a readable ONNX model. */
export class NotAnOnnxModelError extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`not an ONNX model: ${reason}`, options);
    this.name = 'NotAnOnnxModelError';
  }
}

/**
 * Decodes the signature and metadata of an ONNX `ModelProto`. Large initializers are skipped by
 * length, never copied. Throws {@link NotAnOnnxModelError} for bytes that are not an ONNX model.
 *
 * Dimensions: `dim_value` → that number; `dim_param` or no value → `-1`; a tensor type without a
 * `shape` → `shape: null` (unknown rank).
 *
 * @example
 * ```ts
 * const info = readModelInfo(await readFile('model.onnx'));
 * info.inputs; // [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }]
 * info.metadata.task; // 'classification'
 * ```
 */
export function readModelInfo(bytes: Uint8Array): ModelInfo {
  if (bytes.length === 0) throw new NotAnOnnxModelError('the file is empty');
  try {
    return decodeModel(bytes);
  } catch (error) {
    if (error instanceof ProtobufError) throw new NotAnOnnxModelError(error.message, { cause: error });
    throw error;
  }
}

interface RawValueInfo {
  name: string;
  type: Uint8Array | undefined;
}

interface GraphParts {
  name: string;
  inputs: RawValueInfo[];
  outputs: RawValueInfo[];
  initializerNames: Set<string>;
}

function decodeModel(bytes: Uint8Array): ModelInfo {
  let irVersion: number | undefined;
  let producerName = '';
  let producerVersion = '';
  let docString = '';
  const opsets: ModelInfo['opsets'] = [];
  const metadata: Record<string, string> = {};
  let graph: GraphParts | undefined;

  for (const field of readFields(bytes)) {
    switch (field.fieldNumber) {
      case 1:
        irVersion = fieldInt(expect(field, WireType.Varint, 'ir_version'));
        break;
      case 2:
        producerName = fieldString(expect(field, WireType.LengthDelimited, 'producer_name'));
        break;
      case 3:
        producerVersion = fieldString(expect(field, WireType.LengthDelimited, 'producer_version'));
        break;
      case 6:
        docString = fieldString(expect(field, WireType.LengthDelimited, 'doc_string'));
        break;
      case 7:
        graph = readGraph(fieldBytes(expect(field, WireType.LengthDelimited, 'graph')), graph);
        break;
      case 8:
        opsets.push(readOpset(fieldBytes(expect(field, WireType.LengthDelimited, 'opset_import'))));
        break;
      case 14: {
        const entry = readStringEntry(fieldBytes(expect(field, WireType.LengthDelimited, 'metadata_props')));
        metadata[entry.key] = entry.value;
        break;
      }
    }
  }
  if (irVersion === undefined) throw new NotAnOnnxModelError('no ir_version (field 1) in ModelProto');
  if (graph === undefined) throw new NotAnOnnxModelError('no graph (field 7) in ModelProto');

  const unsupported: UnsupportedValue[] = [];
  const describe = (value: RawValueInfo, direction: UnsupportedValue['direction']): TensorSpec[] => {
    const described = describeValue(value);
    if (typeof described === 'string') {
      unsupported.push({ name: value.name, direction, reason: described });
      return [];
    }
    return [described];
  };
  const inputs = graph.inputs
    .filter((input) => !graph.initializerNames.has(input.name))
    .flatMap((input) => describe(input, 'input'));
  const outputs = graph.outputs.flatMap((output) => describe(output, 'output'));
  return {
    irVersion,
    producerName,
    producerVersion,
    docString,
    opsets,
    metadata,
    graphName: graph.name,
    inputs,
    outputs,
    unsupported,
  };
}

/** Merges into `into` when a model repeats the graph field, as protobuf parsers do. */
function readGraph(bytes: Uint8Array, into: GraphParts | undefined): GraphParts {
  const graph = into ?? { name: '', inputs: [], outputs: [], initializerNames: new Set<string>() };
  for (const field of readFields(bytes)) {
    switch (field.fieldNumber) {
      case 2:
        graph.name = fieldString(expect(field, WireType.LengthDelimited, 'graph.name'));
        break;
      case 5:
        graph.initializerNames.add(
          readTensorName(fieldBytes(expect(field, WireType.LengthDelimited, 'initializer'))),
        );
        break;
      case 11:
        graph.inputs.push(readValueInfo(fieldBytes(expect(field, WireType.LengthDelimited, 'graph.input'))));
        break;
      case 12:
        graph.outputs.push(
          readValueInfo(fieldBytes(expect(field, WireType.LengthDelimited, 'graph.output'))),
        );
        break;
      case 15: {
        // SparseTensorProto: its name is the name of its `values` tensor (field 1).
        for (const sparse of readFields(
          fieldBytes(expect(field, WireType.LengthDelimited, 'sparse_initializer')),
        )) {
          if (sparse.fieldNumber === 1) {
            graph.initializerNames.add(
              readTensorName(fieldBytes(expect(sparse, WireType.LengthDelimited, 'values'))),
            );
          }
        }
        break;
      }
    }
  }
  return graph;
}

/** Only the name: raw_data and the other payloads are stepped over without being read. */
function readTensorName(bytes: Uint8Array): string {
  let name = '';
  for (const field of readFields(bytes)) {
    if (field.fieldNumber === 8) name = fieldString(expect(field, WireType.LengthDelimited, 'tensor name'));
  }
  return name;
}

function readValueInfo(bytes: Uint8Array): RawValueInfo {
  const info: RawValueInfo = { name: '', type: undefined };
  for (const field of readFields(bytes)) {
    if (field.fieldNumber === 1)
      info.name = fieldString(expect(field, WireType.LengthDelimited, 'value name'));
    else if (field.fieldNumber === 2)
      info.type = fieldBytes(expect(field, WireType.LengthDelimited, 'value type'));
  }
  return info;
}

const NON_TENSOR_TYPES: Record<number, string> = {
  4: 'a sequence',
  5: 'a map',
  7: 'an opaque value',
  8: 'a sparse tensor',
  9: 'an optional value',
};

/** A tensor spec, or the reason the value is not one the protocol can carry. */
function describeValue(value: RawValueInfo): TensorSpec | string {
  if (value.type === undefined) return 'it has no type';
  let tensorType: Uint8Array | undefined;
  let other: string | undefined;
  for (const field of readFields(value.type)) {
    if (field.fieldNumber === 1)
      tensorType = fieldBytes(expect(field, WireType.LengthDelimited, 'tensor_type'));
    else if (NON_TENSOR_TYPES[field.fieldNumber] !== undefined) other = NON_TENSOR_TYPES[field.fieldNumber];
  }
  if (tensorType === undefined)
    return other === undefined ? 'its type is not a tensor type' : `it is ${other}, not a tensor`;

  let elemType = 0;
  let shape: number[] | null = null;
  for (const field of readFields(tensorType)) {
    if (field.fieldNumber === 1) elemType = fieldInt(expect(field, WireType.Varint, 'elem_type'));
    else if (field.fieldNumber === 2)
      shape = readShape(fieldBytes(expect(field, WireType.LengthDelimited, 'shape')));
  }
  const datatype = DATATYPE_OF_ONNX_ELEM_TYPE[elemType];
  if (datatype === undefined) {
    return elemType === 0
      ? 'its element type is undefined'
      : `its element type ${onnxElemTypeName(elemType)} (${elemType}) has no Open Inference Protocol datatype`;
  }
  return { name: value.name, datatype, shape };
}

function readShape(bytes: Uint8Array): number[] {
  const dims: number[] = [];
  for (const field of readFields(bytes)) {
    if (field.fieldNumber !== 1) continue;
    let dim = -1;
    for (const part of readFields(fieldBytes(expect(field, WireType.LengthDelimited, 'dim')))) {
      if (part.fieldNumber === 1) dim = fieldInt(expect(part, WireType.Varint, 'dim_value'));
      else if (part.fieldNumber === 2) dim = -1;
    }
    dims.push(dim);
  }
  return dims;
}

function readOpset(bytes: Uint8Array): ModelInfo['opsets'][number] {
  const opset = { domain: '', version: 0 };
  for (const field of readFields(bytes)) {
    if (field.fieldNumber === 1)
      opset.domain = fieldString(expect(field, WireType.LengthDelimited, 'opset domain'));
    else if (field.fieldNumber === 2)
      opset.version = fieldInt(expect(field, WireType.Varint, 'opset version'));
  }
  return opset;
}

function readStringEntry(bytes: Uint8Array): { key: string; value: string } {
  const entry = { key: '', value: '' };
  for (const field of readFields(bytes)) {
    if (field.fieldNumber === 1)
      entry.key = fieldString(expect(field, WireType.LengthDelimited, 'metadata key'));
    else if (field.fieldNumber === 2)
      entry.value = fieldString(expect(field, WireType.LengthDelimited, 'metadata value'));
  }
  return entry;
}

/** A known field with the wrong wire type means the bytes are some other message, not ONNX. */
function expect(field: ProtoField, wireType: number, name: string): ProtoField {
  if (field.wireType !== wireType) {
    throw new NotAnOnnxModelError(
      `field ${name} (${field.fieldNumber}) has wire type ${wireTypeName(field.wireType)}, expected ${wireTypeName(wireType)}`,
    );
  }
  return field;
}
