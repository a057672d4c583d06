/**
 * The process a model runs in (see `sandbox.ts`): one onnxruntime session, driven over the IPC
 * channel of its parent (messages typed in `sandbox-protocol.ts`). It refuses outputs over the
 * parent's byte limit before sending them, and exits as soon as the parent goes away. Everything
 * here may be killed at any moment.
 *
 * Plain JavaScript on purpose: it runs under an address-space cap (`ulimit -v`), and a
 * TypeScript loader (tsx) reserves gigabytes of WebAssembly memory that the cap refuses.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

const { InferenceSession, Tensor } = createRequire(import.meta.url)('onnxruntime-node');

/** @type {import('onnxruntime-node').InferenceSession | undefined} */
let session;

/** @param {import('./sandbox-protocol.ts').ChildMessage} message */
const send = (message) => {
  process.send?.(message);
};

/** The first line of an error. @param {unknown} error */
function reason(error) {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split('\n')[0] ?? '').slice(0, 1000) || 'unknown error';
}

/** @param {import('onnxruntime-node').Tensor} tensor */
function tensorBytes(tensor) {
  if (tensor.type === 'string') {
    let total = 0;
    for (const value of tensor.data) total += Buffer.byteLength(value) + 4;
    return total;
  }
  return tensor.data.byteLength;
}

/**
 * A feed as the native binding can read it. Where JavaScript has `Float16Array` (Node 24),
 * onnxruntime-common wraps a 'float16' tensor's `Uint16Array` of half bits in a `Float16Array`
 * view that the onnxruntime-node 1.30 binding reads as zero bytes ("not enough space"): the tensor
 * keeps the `Uint16Array` (as `src/codec/ort-tensor.ts` does in the serving process).
 * @param {{ type: import('onnxruntime-node').Tensor.Type, data: any, dims: readonly number[] }} wire
 */
function feedTensor(wire) {
  const tensor = new Tensor(wire.type, wire.data, wire.dims);
  if (wire.type === 'float16' && wire.data instanceof Uint16Array && !(tensor.data instanceof Uint16Array)) {
    Object.defineProperty(tensor, 'data', { value: wire.data, enumerable: true });
  }
  return tensor;
}

/**
 * The bytes of a model handed over as a file. A failure names the error code, not the path (the
 * message reaches the client).
 * @param {string} path
 */
async function readModelFile(path) {
  try {
    return await readFile(path);
  } catch (error) {
    throw new Error(`the model file handed to this process could not be read (${error?.code ?? 'error'})`);
  }
}

/** @param {import('./sandbox-protocol.ts').ParentMessage} message */
async function handle(message) {
  if (message.type === 'load') {
    try {
      const options = { ...message.options };
      if (message.externalData !== undefined) options.externalData = message.externalData;
      const model = message.modelFile !== undefined ? await readModelFile(message.modelFile) : message.model;
      session =
        message.path !== undefined
          ? await InferenceSession.create(message.path, options)
          : await InferenceSession.create(model ?? new Uint8Array(), options);
      send({
        type: 'loaded',
        inputNames: [...session.inputNames],
        outputNames: [...session.outputNames],
        inputMetadata: structuredClone([...session.inputMetadata]),
        outputMetadata: structuredClone([...session.outputMetadata]),
      });
    } catch (error) {
      send({ type: 'load-error', message: reason(error) });
    }
    return;
  }
  if (session === undefined) {
    send({ type: 'error', id: message.id, kind: 'runtime', message: 'no model is loaded' });
    return;
  }
  const feeds = {};
  for (const [name, wire] of Object.entries(message.feeds)) feeds[name] = feedTensor(wire);
  let results;
  try {
    results =
      message.fetches === undefined
        ? await session.run(feeds, message.runOptions ?? {})
        : await session.run(feeds, message.fetches, message.runOptions ?? {});
  } catch (error) {
    const text = reason(error);
    const memory = /Failed to allocate memory|bad_alloc|std::length_error/.test(text);
    send({ type: 'error', id: message.id, kind: memory ? 'memory' : 'runtime', message: text });
    return;
  }
  const sizes = Object.entries(results).map(([name, tensor]) => ({
    name,
    bytes: tensorBytes(tensor),
    dims: [...tensor.dims],
  }));
  const total = sizes.reduce((sum, size) => sum + size.bytes, 0);
  if (total > message.maxOutputBytes) {
    send({ type: 'too-large', id: message.id, outputs: sizes, total });
    return;
  }
  const outputs = {};
  for (const [name, tensor] of Object.entries(results)) {
    outputs[name] = { type: tensor.type, data: tensor.data, dims: [...tensor.dims] };
  }
  send({ type: 'result', id: message.id, outputs });
}

// Messages are handled one at a time, in order: onnxruntime runs block this thread anyway.
let queue = Promise.resolve();
process.on('message', (message) => {
  queue = queue
    .then(() => handle(message))
    .catch((error) => {
      process.stderr.write(`model process: ${reason(error)}\n`);
    });
});
process.on('disconnect', () => process.exit(0));
