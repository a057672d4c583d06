/**
 * The binary tensor data extension of the Open Inference Protocol (Triton's and KServe's
 * `binary_tensor_data`): tensor values travel as raw little-endian bytes after the JSON object
 * of the request or response instead of as JSON numbers.
 *
 * Request: the `Inference-Header-Content-Length` header gives the length of the JSON part at the
 * start of the body; an input with `parameters.binary_data_size` (and no `data`) takes that many
 * bytes from what follows, inputs in request order. Response: outputs asked for with
 * `parameters.binary_data: true` (or all of them with the request parameter
 * `binary_data_output: true`) carry `parameters.binary_data_size` instead of `data`, and their
 * bytes follow the JSON part, whose length the response header of the same name gives.
 *
 * Layout per datatype: the native size, row-major, no padding; BOOL one byte 0 or 1; FP16 IEEE
 * half bits; BYTES each element a 4-byte little-endian length then its bytes (UTF-8 here).
 */
import type { Tensor } from 'onnxruntime-node';
import { BadRequestError } from '../errors.ts';
import type { InferenceRequest, InferenceResponse, RequestInput } from '../types.ts';
import { ELEMENT_BYTES } from './datatypes.ts';
import { countOf, describeValue, formatShape, quote } from './describe.ts';
import { ELEMENT_CODECS, type TensorStorage } from './elements.ts';
import { toFloat16Bits } from './float16.ts';
import { stringifyJson } from './json.ts';

/** The header that gives the length of the JSON part of a body carrying binary tensor data. */
export const BINARY_HEADER = 'inference-header-content-length';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/**
 * Splits a request body at the length the `Inference-Header-Content-Length` header gives: the
 * JSON part, and the binary tensor data after it. Without the header the whole body is JSON.
 *
 * @throws BadRequestError when the header is not an integer from 0 to the body's length.
 * @example
 * ```ts
 * const { json, binary } = splitBinaryBody(body, headers['inference-header-content-length']);
 * ```
 */
export function splitBinaryBody(
  body: Uint8Array,
  headerLength: string | undefined,
): { json: Uint8Array; binary?: Uint8Array } {
  if (headerLength === undefined) return { json: body };
  const text = headerLength.trim();
  const length = /^[0-9]{1,15}$/.test(text) ? Number(text) : Number.NaN;
  if (!(length <= body.byteLength)) {
    throw new BadRequestError(
      `header Inference-Header-Content-Length: expected the length of the JSON part, an integer from 0 to the body's ${body.byteLength} bytes, got ${quote(headerLength)}`,
    );
  }
  return { json: body.subarray(0, length), binary: body.subarray(length) };
}

/**
 * Gives each input that declares `parameters.binary_data_size` its slice of the binary data, in
 * request order, and checks that the sizes account for every byte.
 *
 * @throws BadRequestError for a size without binary data, or sizes that do not add up.
 */
export function attachBinaryInputs(request: InferenceRequest, binary: Uint8Array | undefined): void {
  let offset = 0;
  for (const input of request.inputs) {
    if (input.binaryDataSize === undefined) continue;
    const label = `input ${quote(input.name)}:`;
    if (binary === undefined) {
      throw new BadRequestError(
        `${label} parameters.binary_data_size is set but no binary data came with the request (binary data follows the JSON object of an HTTP body, with an Inference-Header-Content-Length header giving the JSON object's length; batch files carry values in 'data')`,
      );
    }
    const end = offset + input.binaryDataSize;
    if (end > binary.byteLength) {
      throw new BadRequestError(
        `${label} parameters.binary_data_size is ${input.binaryDataSize} bytes but only ${binary.byteLength - offset} bytes of binary data are left after the inputs before it`,
      );
    }
    input.binary = binary.subarray(offset, end);
    offset = end;
  }
  if (binary !== undefined && offset !== binary.byteLength) {
    throw new BadRequestError(
      `the body has ${binary.byteLength} bytes of binary data after the JSON part but the inputs' parameters.binary_data_size add up to ${offset}`,
    );
  }
}

/**
 * The tensor storage of an input given as binary data, checked against its datatype and shape.
 * Floats are taken as they are (binary data can carry NaN and ±Infinity, which JSON cannot).
 *
 * @throws BadRequestError naming the input and the expected versus the received size or element.
 */
export function decodeBinaryData(input: RequestInput & { binary: Uint8Array }): TensorStorage {
  const { binary, datatype, shape } = input;
  const label = `input ${quote(input.name)}`;
  const count = shape.reduce((product, dim) => product * dim, 1);
  if (datatype === 'BYTES') return decodeBinaryStrings(binary, count, shape, label);
  const size = ELEMENT_BYTES[datatype];
  if (binary.byteLength !== count * size) {
    throw new BadRequestError(
      `${label}: shape ${formatShape(shape)} of ${datatype} needs ${count * size} bytes of binary data (${countOf(count, 'element')} of ${size}), got ${binary.byteLength}`,
    );
  }
  const storage = ELEMENT_CODECS[datatype].allocate(count) as Exclude<TensorStorage, string[]>;
  // A copy, so the storage is aligned for its element type whatever the offset in the body.
  new Uint8Array(storage.buffer, 0, binary.byteLength).set(binary);
  if (datatype === 'BOOL') {
    const bad = (storage as Uint8Array).findIndex((byte) => byte > 1);
    if (bad !== -1) {
      throw new BadRequestError(
        `${label} element ${bad}: expected byte 0 or 1 for BOOL, got ${(storage as Uint8Array)[bad]}`,
      );
    }
  }
  return storage;
}

// onnxruntime-node hands strings to the runtime NUL-terminated: a NUL would cut them short.
function decodeBinaryStrings(
  binary: Uint8Array,
  count: number,
  shape: readonly number[],
  label: string,
): string[] {
  const view = new DataView(binary.buffer, binary.byteOffset, binary.byteLength);
  const strings = new Array<string>(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > binary.byteLength) {
      throw new BadRequestError(
        `${label}: shape ${formatShape(shape)} needs ${countOf(count, 'element')} of BYTES binary data, got ${i}`,
      );
    }
    const length = view.getUint32(offset, true);
    offset += 4;
    if (offset + length > binary.byteLength) {
      throw new BadRequestError(
        `${label} element ${i}: length prefix says ${length} bytes but only ${binary.byteLength - offset} are left`,
      );
    }
    const bytes = binary.subarray(offset, offset + length);
    offset += length;
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      throw new BadRequestError(`${label} element ${i}: expected UTF-8 text for BYTES, got invalid bytes`);
    }
    if (text.includes('\0')) {
      throw new BadRequestError(`${label} element ${i}: expected a string without NUL characters for BYTES`);
    }
    strings[i] = text;
  }
  if (offset !== binary.byteLength) {
    throw new BadRequestError(
      `${label}: ${countOf(count, 'element')} of BYTES end at byte ${offset} but binary_data_size is ${binary.byteLength}`,
    );
  }
  return strings;
}

/**
 * Which outputs to return as binary data: those whose `parameters.binary_data` is true, or every
 * output when the request parameter `binary_data_output` is true and the output does not say
 * `binary_data: false`. Checked at once; the returned function takes the model's output names
 * (used when the request names no outputs).
 *
 * @throws BadRequestError when either parameter is not a boolean.
 * @example
 * ```ts
 * binaryOutputSelection({ inputs, parameters: { binary_data_output: true } })(['label']); // Set {'label'}
 * ```
 */
export function binaryOutputSelection(
  request: InferenceRequest,
): (modelOutputs: readonly string[]) => Set<string> {
  const all = flag(request.parameters, 'binary_data_output', 'parameters.binary_data_output');
  const requested = request.outputs ?? [];
  const chosen = requested
    .filter(
      (output, index) =>
        flag(output.parameters, 'binary_data', `outputs[${index}].parameters.binary_data`) ?? all ?? false,
    )
    .map((output) => output.name);
  return (modelOutputs) => new Set(requested.length === 0 && all === true ? modelOutputs : chosen);
}

function flag(
  parameters: Record<string, unknown> | undefined,
  key: string,
  field: string,
): boolean | undefined {
  if (parameters === undefined || !Object.hasOwn(parameters, key)) return undefined;
  const value = parameters[key];
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'boolean') {
    throw new BadRequestError(`${field}: expected true or false, got ${describeValue(value)}`);
  }
  return value;
}

/** The binary data of an output tensor, in the extension's layout. */
export function tensorBytes(tensor: Tensor): Uint8Array {
  const data = tensor.data;
  if (Array.isArray(data)) return stringBytes(data as string[]);
  if (tensor.type === 'float16' && !(data instanceof Uint16Array)) {
    // A runtime with Float16Array hands out numbers: back to half bits.
    const values = data as ArrayLike<number>;
    const bits = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) bits[i] = toFloat16Bits(values[i] ?? 0);
    return new Uint8Array(bits.buffer);
  }
  const view = data as ArrayBufferView;
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function stringBytes(strings: readonly string[]): Uint8Array {
  const encoded = strings.map((text) => encoder.encode(text));
  const total = encoded.reduce((sum, bytes) => sum + 4 + bytes.byteLength, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const bytes of encoded) {
    view.setUint32(offset, bytes.byteLength, true);
    out.set(bytes, offset + 4);
    offset += 4 + bytes.byteLength;
  }
  return out;
}

/**
 * A response with binary outputs: its JSON part, where each output named in `names` has
 * `parameters.binary_data_size` instead of `data`, and the bytes that follow it, those outputs'
 * data in output order.
 *
 * @example
 * ```ts
 * const { json, binary } = encodeBinaryResponse(response, new Set(['probabilities']), results);
 * ```
 */
export function encodeBinaryResponse(
  response: InferenceResponse,
  names: ReadonlySet<string>,
  results: Record<string, Tensor>,
): { json: string; binary: Uint8Array } {
  const chunks: Uint8Array[] = [];
  const outputs = response.outputs.map((output) => {
    const tensor = Object.hasOwn(results, output.name) ? results[output.name] : undefined;
    if (!names.has(output.name) || tensor === undefined) return output;
    const bytes = tensorBytes(tensor);
    chunks.push(bytes);
    const { data: _data, ...rest } = output;
    return { ...rest, parameters: { ...output.parameters, binary_data_size: bytes.byteLength } };
  });
  return { json: stringifyJson({ ...response, outputs }), binary: concatBytes(chunks) };
}

/** One array holding `chunks` one after the other. */
function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
