/**
 * Validation of JSON that users write by hand — `config.json`, its `drift` section, outcome
 * bodies, drift invocation payloads — through zod schemas, with one message format that names
 * the field, what was expected and what was found:
 * `'capture.sample_rate' must be a number from 0 to 1; got number 1.5`.
 *
 * Each leaf schema carries its expectation as its error message (`z.number({ error: 'a number' })`, zod's tree-shakable `zod/mini` API),
 * so a message never depends on zod's own wording. The hot-path inference request parser stays
 * hand-written (src/codec/parse-request.ts): it is measured per request.
 */
import * as z from 'zod/mini';

/** What a hand-written JSON value is, for "got …": short strings and numbers as themselves, containers by kind. */
export function describeJson(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    return value.length === 0
      ? 'an empty array'
      : `an array of ${value.length} item${value.length === 1 ? '' : 's'}`;
  }
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return `${typeof value} ${String(value)}`;
}

/** A path as written in messages: `capture.sample_rate`, `labels[1]`; `(top level)` when empty. */
export function formatPath(path: readonly PropertyKey[], root = '(top level)'): string {
  if (path.length === 0) return root;
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text;
}

/** The value at `path` of `input`, or undefined where the path leaves it. */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const part of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    if (!Object.hasOwn(value, part)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

/** One problem found in user JSON: where, what was expected, and the message that says both. */
export interface JsonProblem {
  /** Dotted path from the root (`capture.sample_rate`), `(top level)` for the root. */
  field: string;
  message: string;
}

/** How fields are named in messages: `prefix` before every path (`drift.`), `root` for the whole value. */
export interface ProblemOptions {
  prefix?: string;
  root?: string;
}

/**
 * The first problem of a failed parse, worded `'field' must be EXPECTED; got VALUE` (or, for
 * fields a strict object does not know, `unknown field 'field' (known: …)`). `prefix` is put before
 * every field name (`drift.`), and `root` names the whole value.
 */
export function firstProblem(
  error: z.core.$ZodError,
  input: unknown,
  options: ProblemOptions = {},
): JsonProblem {
  const { prefix = '', root = '(top level)' } = options;
  const issue = error.issues[0];
  if (issue === undefined) return { field: root, message: `'${root}' is not valid` };
  const where = (path: readonly PropertyKey[]) => (path.length === 0 ? root : `${prefix}${formatPath(path)}`);
  if (issue.code === 'unrecognized_keys') {
    // A field a closed object does not declare (see `closedObject`): its message lists the known ones.
    const field = where([...issue.path, issue.keys[0] ?? '']);
    return { field, message: `unknown field '${field}' ${issue.message}` };
  }
  if (issue.code === 'invalid_key') {
    // A record key that fails its schema: the key is the offending value.
    const field = `${where(issue.path.slice(0, -1))} key`;
    const expected = issue.issues[0]?.message ?? issue.message;
    return { field, message: `'${field}' must be ${expected}; got ${describeJson(issue.path.at(-1))}` };
  }
  const field = where(issue.path);
  return {
    field,
    message: `'${field}' must be ${issue.message}; got ${describeJson(valueAt(input, issue.path))}`,
  };
}

/**
 * An object whose fields are all declared: any other field fails, naming the known ones. (Its JSON
 * Schema says `additionalProperties: false`.)
 */
export function closedObject<S extends z.core.$ZodLooseShape>(shape: S, expected = 'an object') {
  const known = `(known: ${Object.keys(shape).join(', ')})`;
  return z.strictObject(shape, { error: (issue) => (issue.code === 'unrecognized_keys' ? known : expected) });
}

/**
 * Parses `input` with `schema`; on failure throws what `fail` makes of the first problem.
 *
 * @example
 * ```ts
 * const config = parseUserJson(schema, json, (problem) => new ModelUnavailableError(problem.message));
 * ```
 */
export function parseUserJson<T>(
  schema: z.ZodMiniType<T>,
  input: unknown,
  fail: (problem: JsonProblem) => Error,
  options: ProblemOptions = {},
): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw fail(firstProblem(result.error, input, options));
}
