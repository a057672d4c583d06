/**
 * `JSON.stringify` for response bodies, except that a `bigint` is written as its exact integer
 * digits instead of throwing, so INT64/UINT64 outputs beyond 2^53 reach the client exactly.
 * Everything else follows `JSON.stringify`: `toJSON` is honoured, non-finite numbers become `null`,
 * `undefined`, functions and symbols are skipped in objects and `null` in arrays, cycles throw a
 * `TypeError`. A top-level value JSON cannot hold gives `'null'` rather than `undefined`.
 *
 * Arrays of plain numbers, strings and booleans (tensor data) go through the native
 * `JSON.stringify` in one call, so large float outputs cost about what they would without bigints.
 *
 * @example
 * ```ts
 * stringifyJson({ data: [1, 9007199254740993n] }); // '{"data":[1,9007199254740993]}'
 * ```
 */
export function stringifyJson(value: unknown): string {
  return write(value, '', new Set()) ?? 'null';
}

function write(value: unknown, key: string, ancestors: Set<object>): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value === null) return 'null';
  const toJSON: unknown = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return write(toJSON.call(value, key), key, ancestors);
  if (value instanceof Number || value instanceof String || value instanceof Boolean) {
    return write(value.valueOf(), key, ancestors);
  }
  if (ancestors.has(value)) throw new TypeError('Converting circular structure to JSON');
  ancestors.add(value);
  const text = Array.isArray(value) ? writeArray(value, ancestors) : writeObject(value, ancestors);
  ancestors.delete(value);
  return text;
}

function writeArray(values: readonly unknown[], ancestors: Set<object>): string {
  if (isFlatPrimitive(values)) return JSON.stringify(values);
  let text = '[';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) text += ',';
    text += write(values[i], String(i), ancestors) ?? 'null';
  }
  return `${text}]`;
}

function writeObject(object: object, ancestors: Set<object>): string {
  let text = '';
  for (const [key, member] of Object.entries(object)) {
    const part = write(member, key, ancestors);
    if (part === undefined) continue;
    text += `${text === '' ? '' : ','}${JSON.stringify(key)}:${part}`;
  }
  return `{${text}}`;
}

/** True when native JSON.stringify writes the array exactly as `write` would: no bigint, no object. */
function isFlatPrimitive(values: readonly unknown[]): boolean {
  for (let i = 0; i < values.length; i++) {
    const type = typeof values[i];
    if (type !== 'number' && type !== 'string' && type !== 'boolean' && values[i] !== null) return false;
  }
  return true;
}

/** A JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
