import { randomUUID } from 'node:crypto';
import { BadRequestError } from '../errors.ts';
import {
  DATATYPES,
  type Datatype,
  type InferenceRequest,
  type RequestInput,
  type RequestOutput,
} from '../types.ts';
import { describeValue, formatShape, quote } from './describe.ts';
import { isJsonObject } from './json.ts';
import { findJsonSyntaxError } from './json-syntax.ts';
import { FAST_PATH_MIN_CHARS, findNumberArrays, NumberArrayText } from './number-arrays.ts';

/** Deepest nesting of arrays and objects a request body may have (rank-32 nested data needs 36). */
export const MAX_JSON_DEPTH = 64;
/** Highest tensor rank accepted (ONNX Runtime's own kernels rarely go beyond 8). */
export const MAX_RANK = 32;
/** Most elements one input tensor may declare; far beyond what fits in a request body anyway. */
export const MAX_ELEMENTS = 2 ** 31;

type JsonObject = Record<string, unknown>;

/**
 * Parses a request body as JSON. Syntax errors become a `BadRequestError` that says what is wrong
 * and where (offset, line, column) without quoting the payload; bodies nested deeper than
 * {@link MAX_JSON_DEPTH} levels are rejected too.
 *
 * @example
 * ```ts
 * parseJsonBody('{"inputs": []}'); // { inputs: [] }
 * parseJsonBody('{"inputs": ]');  // throws "malformed JSON: unexpected character ']' at position 11 (line 1, column 12)"
 * ```
 */
export function parseJsonBody(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    const problem = findJsonSyntaxError(text);
    throw new BadRequestError(
      problem === undefined
        ? 'malformed JSON'
        : `malformed JSON: ${problem.reason} at position ${problem.position} (line ${problem.line}, column ${problem.column})`,
    );
  }
  if (exceedsDepth(value, MAX_JSON_DEPTH)) {
    throw new BadRequestError(`malformed JSON: nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  return value;
}

/**
 * Parses an inference request body as `parseJsonBody` does, except that each `data` value that is
 * a flat array of JSON numbers comes back as a `NumberArrayText` (its elements already read as
 * float32, its text kept for any other datatype) instead of a JavaScript array: see
 * `number-arrays.ts`. Any error is `parseJsonBody`'s own, for the same text.
 *
 * @example
 * ```ts
 * const body = parseInferenceBody(text); // inputs[0].data: NumberArrayText for [0.1, 0.2, …]
 * ```
 */
export function parseInferenceBody(text: string, minChars = FAST_PATH_MIN_CHARS): unknown {
  if (text.length < minChars) return parseJsonBody(text);
  const spans = findNumberArrays(text);
  if (spans.length === 0) return parseJsonBody(text);
  // Each array becomes a placeholder string no client can predict (a fresh random tag per body),
  // put back as the scanned array by the reviver, which only sees the small rest of the body.
  const nonce = randomUUID();
  const tag = `\\u0000${nonce}:`;
  const placeholder = `\u0000${nonce}:`;
  let rest = '';
  let from = 0;
  spans.forEach((span, index) => {
    rest += `${text.slice(from, span.start)}"${tag}${index}"`;
    from = span.end;
  });
  rest += text.slice(from);
  let value: unknown;
  try {
    value = JSON.parse(rest, (key, member: unknown) => {
      if (key !== 'data' || typeof member !== 'string' || !member.startsWith(placeholder)) return member;
      return spans[Number(member.slice(placeholder.length))]?.array ?? member;
    });
  } catch {
    return parseJsonBody(text);
  }
  if (exceedsDepth(value, MAX_JSON_DEPTH)) {
    throw new BadRequestError(`malformed JSON: nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  return value;
}

/**
 * Checks the structure of a JSON-parsed Open Inference Protocol inference request and returns a
 * fresh, typed copy. Tensor data is only checked to be an array or a single value here; its
 * elements are checked against the model by `decodeInputs`.
 *
 * Only own properties are read and no client key is ever assigned, so `__proto__` or
 * `constructor` keys in the body are inert. Unknown fields are ignored, and optional fields
 * (`id`, `parameters`, `outputs`) that are `null` count as absent, as some clients serialise them.
 *
 * @throws BadRequestError naming the field (`inputs[1].name`, `input 'x': shape[0] …`) and what was expected.
 * @example
 * ```ts
 * const request = parseInferenceRequest(parseJsonBody(text));
 * request.inputs[0]; // { name: 'x', shape: [1, 4], datatype: 'FP32', data: [...] }
 * ```
 */
export function parseInferenceRequest(body: unknown): InferenceRequest {
  if (!isJsonObject(body)) {
    throw new BadRequestError(`request body: expected a JSON object, got ${describeValue(body)}`);
  }
  const id = own(body, 'id') ?? undefined;
  if (id !== undefined && typeof id !== 'string') {
    throw new BadRequestError(`id: expected a string, got ${describeValue(id)}`);
  }
  const parameters = optionalObject(own(body, 'parameters'), 'parameters:');
  const inputs = parseInputs(own(body, 'inputs'));
  const outputs = parseOutputs(own(body, 'outputs'));
  return {
    ...(id === undefined ? {} : { id }),
    ...(parameters === undefined ? {} : { parameters }),
    inputs,
    ...(outputs === undefined ? {} : { outputs }),
  };
}

function parseInputs(value: unknown): RequestInput[] {
  if (value === undefined) throw new BadRequestError('inputs: required, a non-empty array of input tensors');
  if (!Array.isArray(value) || value.length === 0) {
    const got = Array.isArray(value) ? 'an empty array' : describeValue(value);
    throw new BadRequestError(`inputs: expected a non-empty array of input tensors, got ${got}`);
  }
  const seen = new Set<string>();
  return value.map((input: unknown, index) => {
    const parsed = parseInput(input, index);
    if (seen.has(parsed.name)) {
      throw new BadRequestError(`inputs[${index}]: duplicate input name ${quote(parsed.name)}`);
    }
    seen.add(parsed.name);
    return parsed;
  });
}

function parseInput(value: unknown, index: number): RequestInput {
  const at = `inputs[${index}]`;
  if (!isJsonObject(value))
    throw new BadRequestError(`${at}: expected an object, got ${describeValue(value)}`);
  const name = own(value, 'name');
  if (typeof name !== 'string' || name === '') {
    throw new BadRequestError(`${at}.name: expected a non-empty string, got ${describeValue(name)}`);
  }
  const label = `input ${quote(name)}:`;
  const shape = parseShape(own(value, 'shape'), label);
  const datatype = parseDatatype(own(value, 'datatype'), label);
  const parameters = optionalObject(own(value, 'parameters'), `${label} parameters`);
  const data = own(value, 'data');
  const binarySize = parameters === undefined ? undefined : own(parameters, 'binary_data_size');
  if (binarySize !== undefined && binarySize !== null) {
    if (typeof binarySize !== 'number' || !Number.isSafeInteger(binarySize) || binarySize < 0) {
      throw new BadRequestError(
        `${label} parameters.binary_data_size expected a non-negative integer (bytes), got ${describeValue(binarySize)}`,
      );
    }
    if (data !== undefined) {
      throw new BadRequestError(`${label} give either data or parameters.binary_data_size, not both`);
    }
    return { name, shape, datatype, parameters, data: undefined, binaryDataSize: binarySize };
  }
  if (data === undefined) {
    throw new BadRequestError(`${label} data is required (or parameters.binary_data_size for binary data)`);
  }
  if (
    !Array.isArray(data) &&
    !(data instanceof NumberArrayText) &&
    !['number', 'string', 'boolean'].includes(typeof data)
  ) {
    throw new BadRequestError(`${label} data expected an array of values, got ${describeValue(data)}`);
  }
  return { name, shape, datatype, ...(parameters === undefined ? {} : { parameters }), data };
}

function parseShape(value: unknown, label: string): number[] {
  if (!Array.isArray(value)) {
    throw new BadRequestError(`${label} shape expected an array of integers, got ${describeValue(value)}`);
  }
  if (value.length > MAX_RANK) {
    throw new BadRequestError(`${label} shape has rank ${value.length}, more than the maximum ${MAX_RANK}`);
  }
  const shape: number[] = [];
  let elements = 1;
  for (const [j, dim] of value.entries()) {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      throw new BadRequestError(
        `${label} shape[${j}] expected a non-negative integer, got ${describeValue(dim)}`,
      );
    }
    elements *= dim;
    if (dim > MAX_ELEMENTS || elements > MAX_ELEMENTS) {
      throw new BadRequestError(
        `${label} shape ${formatShape(value)} has more than the maximum ${MAX_ELEMENTS} elements`,
      );
    }
    // -0 is an integer to JSON.parse; keep it out of shapes.
    shape.push(dim === 0 ? 0 : dim);
  }
  return shape;
}

function parseDatatype(value: unknown, label: string): Datatype {
  const datatype = DATATYPES.find((candidate) => candidate === value);
  if (datatype === undefined) {
    throw new BadRequestError(
      `${label} datatype expected one of ${DATATYPES.join(', ')}, got ${describeValue(value)}`,
    );
  }
  return datatype;
}

function parseOutputs(value: unknown): RequestOutput[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    throw new BadRequestError(`outputs: expected an array of requested outputs, got ${describeValue(value)}`);
  }
  const seen = new Set<string>();
  return value.map((output: unknown, index) => {
    const at = `outputs[${index}]`;
    if (!isJsonObject(output))
      throw new BadRequestError(`${at}: expected an object, got ${describeValue(output)}`);
    const name = own(output, 'name');
    if (typeof name !== 'string' || name === '') {
      throw new BadRequestError(`${at}.name: expected a non-empty string, got ${describeValue(name)}`);
    }
    if (seen.has(name)) throw new BadRequestError(`${at}: duplicate output name ${quote(name)}`);
    seen.add(name);
    const parameters = optionalObject(own(output, 'parameters'), `${at}.parameters:`);
    return { name, ...(parameters === undefined ? {} : { parameters }) };
  });
}

function optionalObject(value: unknown, label: string): JsonObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value))
    throw new BadRequestError(`${label} expected an object, got ${describeValue(value)}`);
  return value;
}

/** Reads only own properties, so nothing inherited (or planted on a prototype) is ever taken as input. */
function own(object: JsonObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** Iterative, so a hostile depth cannot overflow the stack; stops at the first level past `max`. */
function exceedsDepth(root: unknown, max: number): boolean {
  const stack: [value: unknown, depth: number][] = [[root, 1]];
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const [value, depth] = entry;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > max) return true;
    // A scanned numeric array is one level (its elements are numbers).
    if (value instanceof NumberArrayText) continue;
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}
