/**
 * Hostile and careless ONNX models built by the project's own graph builder, for the tests that
 * prove each protection: output-size bombs, endless loops, tensors pointing at files, a large
 * initializer. Every model here is small on disk; what it does at run time is not.
 */
import { buildOnnxModel, type ExternalDataRef } from '../../scripts/lib/onnx/graph-builder.ts';

/** `y = Expand(1.0, shape)`: the caller picks the output's size with a 2-element int64 input. */
export function inputExpandBomb(): Uint8Array {
  return buildOnnxModel({
    inputs: [{ name: 'shape', elemType: 'int64', shape: [2] }],
    outputs: [{ name: 'y', elemType: 'float32', shape: [null, null] }],
    initializers: [{ name: 'one', elemType: 'float32', dims: [1], data: [1] }],
    nodes: [{ opType: 'Expand', inputs: ['one', 'shape'], outputs: ['y'] }],
  });
}

/**
 * `y = Expand(1.0, [side, side]) + x`: a constant output of `side²` floats whatever the request
 * (`x` is a float `[1]` so that validation has an input to feed).
 */
export function constantExpandBomb(side = 30_000): Uint8Array {
  return buildOnnxModel({
    inputs: [{ name: 'x', elemType: 'float32', shape: [1] }],
    outputs: [{ name: 'y', elemType: 'float32', shape: [null, null] }],
    initializers: [
      { name: 'one', elemType: 'float32', dims: [1], data: [1] },
      { name: 'shape', elemType: 'int64', dims: [2], data: [BigInt(side), BigInt(side)] },
    ],
    nodes: [
      { opType: 'Expand', inputs: ['one', 'shape'], outputs: ['big'] },
      { opType: 'Add', inputs: ['big', 'x'], outputs: ['y'] },
    ],
  });
}

const loopBody = {
  name: 'body',
  inputs: [
    { name: 'i', elemType: 'int64' as const, shape: [] },
    { name: 'cond_in', elemType: 'bool' as const, shape: [] },
    { name: 'acc_in', elemType: 'float32' as const, shape: [1] },
  ],
  outputs: [
    { name: 'cond_out', elemType: 'bool' as const, shape: [] },
    { name: 'acc_out', elemType: 'float32' as const, shape: [1] },
  ],
  initializers: [{ name: 'step', elemType: 'float32' as const, dims: [1], data: [1] }],
  nodes: [
    { opType: 'Identity', inputs: ['cond_in'], outputs: ['cond_out'] },
    { opType: 'Add', inputs: ['acc_in', 'step'], outputs: ['acc_out'] },
  ],
};

/** A `Loop` whose trip count is the int64 input `n` (`[1]`); `y` counts the trips. */
export function inputLoop(): Uint8Array {
  return buildOnnxModel({
    inputs: [{ name: 'n', elemType: 'int64', shape: [1] }],
    outputs: [{ name: 'y', elemType: 'float32', shape: [1] }],
    initializers: [
      { name: 'cond', elemType: 'bool', dims: [], data: [true] },
      { name: 'zero', elemType: 'float32', dims: [1], data: [0] },
      { name: 'axes', elemType: 'int64', dims: [1], data: [0n] },
    ],
    nodes: [
      { opType: 'Squeeze', inputs: ['n', 'axes'], outputs: ['trips'] },
      {
        opType: 'Loop',
        inputs: ['trips', 'cond', 'zero'],
        outputs: ['y'],
        attributes: { body: { graph: loopBody } },
      },
    ],
  });
}

/** A `Loop` of a constant `trips` count (default 10¹²: days) added to a float `[1]` input. */
export function constantLoop(trips: bigint = 1_000_000_000_000n): Uint8Array {
  return buildOnnxModel({
    inputs: [{ name: 'x', elemType: 'float32', shape: [1] }],
    outputs: [{ name: 'y', elemType: 'float32', shape: [1] }],
    initializers: [
      { name: 'trips', elemType: 'int64', dims: [], data: [trips] },
      { name: 'cond', elemType: 'bool', dims: [], data: [true] },
    ],
    nodes: [
      {
        opType: 'Loop',
        inputs: ['trips', 'cond', 'x'],
        outputs: ['y'],
        attributes: { body: { graph: loopBody } },
      },
    ],
  });
}

/**
 * `y = x + w` where `w` (float32 `[count]`) is stored at `external.location`: relative, absolute,
 * `..`, or whatever a test wants to try.
 */
export function externalDataModel(external: ExternalDataRef, count = 4): Uint8Array {
  return buildOnnxModel({
    inputs: [{ name: 'x', elemType: 'float32', shape: [count] }],
    outputs: [{ name: 'y', elemType: 'float32', shape: [count] }],
    initializers: [{ name: 'w', elemType: 'float32', dims: [count], data: [], externalData: external }],
    nodes: [{ opType: 'Add', inputs: ['x', 'w'], outputs: ['y'] }],
  });
}

/**
 * A tiny file whose session allocates `count` floats at load time
 * (`ConstantOfShape` of a constant shape, folded into an initializer by the optimizer) and adds
 * one of them to `x`.
 */
export function largeInitializerModel(count = 400_000_000): Uint8Array {
  return buildOnnxModel({
    inputs: [{ name: 'x', elemType: 'float32', shape: [1] }],
    outputs: [{ name: 'y', elemType: 'float32', shape: [1] }],
    initializers: [
      { name: 'shape', elemType: 'int64', dims: [1], data: [BigInt(count)] },
      { name: 'start', elemType: 'int64', dims: [1], data: [0n] },
      { name: 'end', elemType: 'int64', dims: [1], data: [1n] },
    ],
    nodes: [
      {
        opType: 'ConstantOfShape',
        inputs: ['shape'],
        outputs: ['big'],
        attributes: { value: { tensor: { elemType: 'float32', dims: [1], data: [1] } } },
      },
      { opType: 'Slice', inputs: ['big', 'start', 'end'], outputs: ['first'] },
      { opType: 'Add', inputs: ['first', 'x'], outputs: ['y'] },
    ],
  });
}
