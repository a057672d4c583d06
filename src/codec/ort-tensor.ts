import { Tensor } from 'onnxruntime-node';
import type { TensorStorage } from './elements.ts';

/**
 * An onnxruntime tensor over `storage`, the way every runtime's native binding can read it.
 *
 * Where JavaScript has `Float16Array` (Node 24, Lambda's `nodejs24.x`), onnxruntime-common wraps
 * a 'float16' tensor's `Uint16Array` of half bit patterns in a `Float16Array` view, which the
 * onnxruntime-node 1.30 binding does not recognise as tensor data: it sees zero bytes and fails
 * with "not enough space". The tensor keeps the `Uint16Array` (the same bytes) as its data there;
 * on Node 20 and 22 nothing changes.
 *
 * @example
 * ```ts
 * ortTensor('float16', new Uint16Array([0x3c00]), [1]).data; // Uint16Array [0x3c00] on every Node
 * ```
 */
export function ortTensor(type: Tensor.Type, storage: TensorStorage, shape: readonly number[]): Tensor {
  const tensor = new Tensor(type, storage as Tensor.DataType, shape);
  if (type === 'float16' && storage instanceof Uint16Array && !(tensor.data instanceof Uint16Array)) {
    Object.defineProperty(tensor, 'data', { value: storage, enumerable: true });
  }
  return tensor;
}
