import type { InferenceSession } from 'onnxruntime-node';
import { datatypeOfOrtType } from '../codec/datatypes.ts';
import { readModelInfo } from '../onnx/model-info.ts';
import type { ModelSignature, TensorSpec } from '../types.ts';

export interface DerivedSignature {
  signature: ModelSignature;
  /** Why the model cannot be served, one entry per offending input or output; empty when it can. */
  unsupported: string[];
}

/**
 * Derives the protocol signature of a session from onnxruntime's metadata. Free dimensions
 * (symbolic names, or the empty string for unnamed ones) become `-1`. Values the protocol cannot
 * carry (sequences, maps, element types without an OIP datatype) are left out of the signature
 * and listed in `unsupported`, so the model can be refused with a clear message instead of
 * failing inside the codec.
 *
 * onnxruntime reports both a scalar and an undeclared shape as `[]`; `markUndeclaredRanks` tells
 * them apart from the model file.
 *
 * @example
 * ```ts
 * const { signature, unsupported } = deriveSignature(session.inputMetadata, session.outputMetadata);
 * signature.inputs[0]; // { name: 'x', datatype: 'FP32', shape: [-1, 4] }
 * ```
 */
export function deriveSignature(
  inputs: readonly InferenceSession.ValueMetadata[],
  outputs: readonly InferenceSession.ValueMetadata[],
): DerivedSignature {
  const unsupported: string[] = [];
  const specs = (role: 'input' | 'output', metadata: readonly InferenceSession.ValueMetadata[]) => {
    const result: TensorSpec[] = [];
    for (const value of metadata) {
      if (!value.isTensor) {
        unsupported.push(
          `${role} '${value.name}' is not a tensor but a sequence or map, which onnxruntime-node cannot ${
            role === 'output' ? 'return' : 'take'
          } and the protocol cannot carry; ZipMap outputs (scikit-learn) are served as tensors, anything else needs a re-export with tensor ${role}s (e.g. skl2onnx options={'zipmap': False}, or remove the value from the graph)`,
        );
        continue;
      }
      const datatype = datatypeOfOrtType(value.type);
      if (datatype === undefined) {
        unsupported.push(
          `${role} '${value.name}' has element type '${value.type}', which the protocol cannot carry`,
        );
        continue;
      }
      result.push({
        name: value.name,
        datatype,
        shape: value.shape.map((dim) => (typeof dim === 'number' && dim >= 0 ? dim : -1)),
      });
    }
    return result;
  };
  return { signature: { inputs: specs('input', inputs), outputs: specs('output', outputs) }, unsupported };
}

/**
 * onnxruntime reports a value whose graph declares no shape at all as `[]`, exactly like a scalar.
 * The ModelProto says which is which: values without a declared shape get `shape: null` (any rank
 * accepted) instead of being held to rank 0. A file the decoder cannot read changes nothing.
 */
export function markUndeclaredRanks(signature: ModelSignature, modelBytes: Uint8Array): void {
  let info: ReturnType<typeof readModelInfo>;
  try {
    info = readModelInfo(modelBytes);
  } catch {
    return;
  }
  const undeclared = new Set(
    [...info.inputs, ...info.outputs].filter((value) => value.shape === null).map((value) => value.name),
  );
  for (const spec of [...signature.inputs, ...signature.outputs]) {
    if (spec.shape !== null && spec.shape.length === 0 && undeclared.has(spec.name)) spec.shape = null;
  }
}
