import type { Tensor } from 'onnxruntime-node';
import { ORT_TYPE_OF } from '../codec/datatypes.ts';
import { ELEMENT_CODECS } from '../codec/elements.ts';
import { ortTensor } from '../codec/ort-tensor.ts';
import type { Datatype, TensorSpec } from '../types.ts';

/**
 * Value patterns tried in order: `small` (positive fractions, integers 1, short words) suits most
 * models; `zeros` is the fallback for inputs used as indices into a dimension of size 1.
 */
export const SMOKE_FILLS = ['small', 'zeros'] as const;
export type SmokeFill = (typeof SMOKE_FILLS)[number];

/**
 * Most elements a smoke input may have. A request body is at most 6 MB, so no client could send
 * a bigger tensor than this anyway; building one could only exhaust the validator's memory.
 */
export const MAX_SMOKE_ELEMENTS = 2 ** 22;

/** One generated input, in the protocol's terms (flat row-major data). */
export interface SmokeInput {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: (number | string | boolean)[];
}

/** A declared input the validator cannot build a smoke tensor for. */
export class SmokeInputError extends Error {
  override readonly name = 'SmokeInputError';
}

const WORDS = ['alpha', 'beta', 'gamma', 'delta'] as const;

/**
 * The shape fed for a declared shape: free dimensions become 1; an undeclared rank becomes `[1]`.
 *
 * @example
 * ```ts
 * smokeShape({ name: 'x', datatype: 'FP32', shape: [-1, 4] }); // [1, 4]
 * ```
 */
export function smokeShape(spec: TensorSpec, batch = 1): number[] {
  if (spec.shape === null) return [batch];
  return spec.shape.map((dim, index) => (dim < 0 ? (index === 0 ? batch : 1) : dim));
}

/**
 * Element `index` of a smoke tensor: deterministic, small, valid for the datatype.
 *
 * @example
 * ```ts
 * smokeValue('FP32', 0, 'small'); // 0.125
 * smokeValue('BYTES', 1, 'small'); // 'beta'
 * smokeValue('BOOL', 0, 'small'); // false
 * ```
 */
export function smokeValue(datatype: Datatype, index: number, fill: SmokeFill): number | string | boolean {
  switch (datatype) {
    case 'BOOL':
      return false;
    case 'BYTES':
      return fill === 'small' ? (WORDS[index % WORDS.length] ?? 'alpha') : 'a';
    case 'FP16':
    case 'FP32':
    case 'FP64':
      // Eighths are exact in every float width, FP16 included.
      return fill === 'small' ? ((index % 8) + 1) / 8 : 0;
    default:
      return fill === 'small' ? 1 : 0;
  }
}

/**
 * Inputs for a smoke inference, generated from the model's declared inputs. Throws
 * {@link SmokeInputError} for an input larger than {@link MAX_SMOKE_ELEMENTS}.
 *
 * @example
 * ```ts
 * smokeInputs([{ name: 'x', datatype: 'INT64', shape: [-1, 2] }], 'small');
 * // [{ name: 'x', datatype: 'INT64', shape: [1, 2], data: [1, 1] }]
 * ```
 */
export function smokeInputs(specs: readonly TensorSpec[], fill: SmokeFill, batch = 1): SmokeInput[] {
  return specs.map((spec) => {
    const shape = smokeShape(spec, batch);
    const count = shape.reduce((product, dim) => product * dim, 1);
    if (count > MAX_SMOKE_ELEMENTS) {
      throw new SmokeInputError(
        `input '${spec.name}' has ${count} elements at its smallest shape [${shape.join(', ')}], more than a request can carry (${MAX_SMOKE_ELEMENTS})`,
      );
    }
    const data = Array.from({ length: count }, (_, index) => smokeValue(spec.datatype, index, fill));
    return { name: spec.name, datatype: spec.datatype, shape, data };
  });
}

/** onnxruntime tensors for the generated inputs, by input name. */
export function smokeFeeds(inputs: readonly SmokeInput[]): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const input of inputs) {
    const codec = ELEMENT_CODECS[input.datatype];
    const storage = codec.allocate(input.data.length);
    const invalid = codec.fill(input.data, storage, 0);
    if (invalid !== -1) {
      // smokeValue only makes valid elements; reaching this is a bug, not a property of the model.
      throw new TypeError(`smoke value ${String(input.data[invalid])} is not ${codec.expected}`);
    }
    feeds[input.name] = ortTensor(ORT_TYPE_OF[input.datatype], storage, input.shape);
  }
  return feeds;
}
