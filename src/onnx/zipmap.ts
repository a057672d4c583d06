/**
 * Serving ZipMap outputs. scikit-learn classifiers exported with skl2onnx's default options end in
 * a `ZipMap` node (domain `ai.onnx.ml`), whose output is a `seq(map(int64|string, float))`: one
 * map of class → probability per row. onnxruntime's JavaScript API cannot return non-tensor
 * values, and the Open Inference Protocol cannot carry them.
 *
 * `rewriteZipMapOutputs` replaces each ZipMap node that produces a graph output by an `Identity`
 * of its float input, and declares that output as an FP32 `[N, C]` tensor under the same name: the
 * probabilities in the column order of the node's class labels, which it reports. The rewrite is
 * done on a copy of the model's bytes at load time; the stored file is never changed.
 */
import { ONNX_ELEM_TYPE } from './elem-types.ts';
import {
  fieldBytes,
  fieldString,
  type ProtoField,
  readFields,
  repeatedVarints,
  WireType,
} from './protobuf.ts';
import { ProtoWriter } from './protobuf-writer.ts';

/** One ZipMap output served as a tensor. */
export interface ZipMapRewrite {
  /** The graph output's name (unchanged). */
  output: string;
  /** The float tensor that fed the ZipMap node, now returned under `output`. */
  source: string;
  /** Class labels in column order, from the node's `classlabels_int64s` or `classlabels_strings`. */
  labels: string[];
  /** Which attribute the labels came from. */
  labelType: 'int64' | 'string';
}

/** A model ready for onnxruntime, and what was changed to make it servable. */
export interface PreparedModel {
  bytes: Uint8Array;
  /** Empty when the model was left as it is (its bytes are then the input's, not a copy). */
  zipmaps: ZipMapRewrite[];
}

interface NodeInfo {
  opType: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  labels: string[];
  labelType: 'int64' | 'string';
}

const ZIPMAP_DOMAIN = 'ai.onnx.ml';
/** Opset of the default domain added when a model imports none (Identity exists since opset 1). */
const FALLBACK_DEFAULT_OPSET = 9;

/**
 * Rewrites the ZipMap outputs of an ONNX model into FP32 tensors; a model without any is returned
 * as it is, without a copy. Bytes that are not a readable model are returned unchanged (the
 * caller's own checks report them).
 *
 * @example
 * ```ts
 * const { bytes, zipmaps } = rewriteZipMapOutputs(await readFile('logreg.onnx'));
 * zipmaps; // [{ output: 'output_probability', source: 'probabilities', labels: ['0', '1'], labelType: 'int64' }]
 * ```
 */
export function rewriteZipMapOutputs(model: Uint8Array): PreparedModel {
  const unchanged: PreparedModel = { bytes: model, zipmaps: [] };
  try {
    return rewrite(model) ?? unchanged;
  } catch {
    return unchanged;
  }
}

function rewrite(model: Uint8Array): PreparedModel | undefined {
  const graphs: Uint8Array[] = [];
  let hasDefaultOpset = false;
  for (const field of readFields(model)) {
    if (field.wireType !== WireType.LengthDelimited) continue;
    if (field.fieldNumber === 7) graphs.push(field.bytes);
    else if (field.fieldNumber === 8) {
      const domain = opsetDomain(field.bytes);
      if (domain === '' || domain === 'ai.onnx') hasDefaultOpset = true;
    }
  }
  // A repeated graph field is merged by protobuf parsers; leave such oddities alone.
  if (graphs.length !== 1) return undefined;
  const graph = graphs[0] as Uint8Array;

  const outputNames = new Set<string>();
  const zipmaps = new Map<string, ZipMapRewrite>();
  const nodes: NodeInfo[] = [];
  for (const field of readFields(graph)) {
    if (field.wireType !== WireType.LengthDelimited) continue;
    if (field.fieldNumber === 12) outputNames.add(valueName(field.bytes));
    else if (field.fieldNumber === 1) nodes.push(readNode(field.bytes));
  }
  for (const node of nodes) {
    if (node.opType !== 'ZipMap' || node.domain !== ZIPMAP_DOMAIN) continue;
    const [source] = node.inputs;
    const [output] = node.outputs;
    if (source === undefined || output === undefined || !outputNames.has(output)) continue;
    if (node.labels.length === 0) continue;
    zipmaps.set(output, { output, source, labels: node.labels, labelType: node.labelType });
  }
  if (zipmaps.size === 0) return undefined;

  const writer = new ProtoWriter();
  for (const field of readFields(model)) {
    if (field.fieldNumber === 7 && field.wireType === WireType.LengthDelimited) {
      writer.bytes(7, rewriteGraph(graph, zipmaps));
    } else {
      copyField(writer, field);
    }
  }
  if (!hasDefaultOpset) {
    writer.message(8, (opset) => opset.string(1, '').varint(2, FALLBACK_DEFAULT_OPSET));
  }
  return { bytes: writer.finish(), zipmaps: [...zipmaps.values()] };
}

/** The domain of an OperatorSetIdProto (`''`, the default domain, when absent). */
function opsetDomain(bytes: Uint8Array): string {
  for (const part of readFields(bytes)) {
    if (part.fieldNumber === 1 && part.wireType === WireType.LengthDelimited) return fieldString(part);
  }
  return '';
}

function rewriteGraph(graph: Uint8Array, zipmaps: ReadonlyMap<string, ZipMapRewrite>): Uint8Array {
  const writer = new ProtoWriter();
  for (const field of readFields(graph)) {
    if (field.wireType === WireType.LengthDelimited && field.fieldNumber === 1) {
      const node = readNode(field.bytes);
      const rewritten =
        node.opType === 'ZipMap' && node.domain === ZIPMAP_DOMAIN
          ? zipmaps.get(node.outputs[0] ?? '')
          : undefined;
      if (rewritten !== undefined) {
        writer.message(1, (identity) =>
          identity
            .string(1, rewritten.source)
            .string(2, rewritten.output)
            .string(3, `${node.name || 'ZipMap'}_as_tensor`)
            .string(4, 'Identity'),
        );
        continue;
      }
    }
    if (field.wireType === WireType.LengthDelimited && field.fieldNumber === 12) {
      const rewritten = zipmaps.get(valueName(field.bytes));
      if (rewritten !== undefined) {
        writer.message(12, (value) =>
          value
            .string(1, rewritten.output)
            .message(2, (type) =>
              type.message(1, (tensor) =>
                tensor
                  .varint(1, ONNX_ELEM_TYPE.float32)
                  .message(2, (shape) =>
                    shape
                      .message(1, () => undefined)
                      .message(1, (dim) => dim.varint(1, rewritten.labels.length)),
                  ),
              ),
            ),
        );
        continue;
      }
    }
    copyField(writer, field);
  }
  return writer.finish();
}

function copyField(writer: ProtoWriter, field: ProtoField): void {
  switch (field.wireType) {
    case WireType.Varint:
      writer.varint(field.fieldNumber, field.value);
      break;
    case WireType.LengthDelimited:
      writer.bytes(field.fieldNumber, field.bytes);
      break;
    case WireType.Fixed32:
      writer.fixed32(
        field.fieldNumber,
        new DataView(field.bytes.buffer, field.bytes.byteOffset, 4).getUint32(0, true),
      );
      break;
    case WireType.Fixed64:
      writer.fixed64(
        field.fieldNumber,
        new DataView(field.bytes.buffer, field.bytes.byteOffset, 8).getBigUint64(0, true),
      );
      break;
  }
}

function valueName(bytes: Uint8Array): string {
  for (const field of readFields(bytes)) {
    if (field.fieldNumber === 1 && field.wireType === WireType.LengthDelimited) return fieldString(field);
  }
  return '';
}

function readNode(bytes: Uint8Array): NodeInfo {
  const node: NodeInfo = {
    opType: '',
    domain: '',
    name: '',
    inputs: [],
    outputs: [],
    labels: [],
    labelType: 'int64',
  };
  for (const field of readFields(bytes)) {
    if (field.wireType !== WireType.LengthDelimited) continue;
    switch (field.fieldNumber) {
      case 1:
        node.inputs.push(fieldString(field));
        break;
      case 2:
        node.outputs.push(fieldString(field));
        break;
      case 3:
        node.name = fieldString(field);
        break;
      case 4:
        node.opType = fieldString(field);
        break;
      case 7:
        node.domain = fieldString(field);
        break;
      case 5:
        if (node.opType === '' || node.opType === 'ZipMap') readLabels(field.bytes, node);
        break;
    }
  }
  return node;
}

/** The class labels of a ZipMap attribute (`classlabels_int64s` or `classlabels_strings`). */
function readLabels(attribute: Uint8Array, node: NodeInfo): void {
  let name = '';
  const ints: string[] = [];
  const strings: string[] = [];
  for (const field of readFields(attribute)) {
    if (field.fieldNumber === 1 && field.wireType === WireType.LengthDelimited) name = fieldString(field);
    else if (
      field.fieldNumber === 8 &&
      field.wireType !== WireType.Fixed32 &&
      field.wireType !== WireType.Fixed64
    ) {
      for (const value of repeatedVarints(field)) ints.push(String(BigInt.asIntN(64, value)));
    } else if (field.fieldNumber === 9 && field.wireType === WireType.LengthDelimited) {
      strings.push(new TextDecoder().decode(fieldBytes(field)));
    }
  }
  if (name === 'classlabels_int64s' && ints.length > 0) {
    node.labels = ints;
    node.labelType = 'int64';
  } else if (name === 'classlabels_strings' && strings.length > 0) {
    node.labels = strings;
    node.labelType = 'string';
  }
}
