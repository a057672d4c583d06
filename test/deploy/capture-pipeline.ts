/**
 * Evaluates, on a log line, the two expressions the capture pipeline of the template is made of,
 * so that tests can prove the pipeline turns the http function's log lines into the `captures/`
 * layout of docs/captures.md:
 *
 * - the CloudWatch Logs subscription filter pattern, in its JSON form with `=` comparisons joined
 *   by `&&` (`{ $.message = "capture" }`);
 * - Firehose's JQ partition-key query, in the object form with paths and string slices
 *   (`{model: .capture.model, yyyy: .capture.ts[0:4]}`);
 * - the S3 prefix with `!{partitionKeyFromQuery:…}` placeholders.
 *
 * Anything outside those forms throws, so a change of the template that this evaluator does not
 * understand fails the test instead of passing it unexamined.
 */

/** Whether a JSON log line matches a filter pattern like `{ $.a.b = "x" && $.c = 1 }`. */
export function matchesFilterPattern(pattern: string, line: string): boolean {
  const body = /^\{\s*(.*?)\s*\}$/.exec(pattern.trim())?.[1];
  if (body === undefined) throw new Error(`not a JSON filter pattern: ${pattern}`);
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    return false;
  }
  return body.split('&&').every((term) => {
    const comparison = /^\$((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*=\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?)$/.exec(
      term.trim(),
    );
    if (!comparison) throw new Error(`unsupported filter term: ${term}`);
    const [, path = '', literal = ''] = comparison;
    const value = readPath(event, path.slice(1).split('.'));
    return literal.startsWith('"') ? value === JSON.parse(literal) : value === Number(literal);
  });
}

/** Firehose's partition keys for a record, from a query like `{k: .a.b, y: .a.ts[0:4]}`. */
export function partitionKeys(query: string, record: unknown): Record<string, string> {
  const body = /^\{\s*(.*?)\s*\}$/.exec(query.trim())?.[1];
  if (body === undefined) throw new Error(`not an object query: ${query}`);
  const keys: Record<string, string> = {};
  for (const entry of body.split(',')) {
    const parsed =
      /^([A-Za-z_][A-Za-z0-9_]*)\s*:\s*((?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?:\[(\d+):(\d+)\])?$/.exec(
        entry.trim(),
      );
    if (!parsed) throw new Error(`unsupported query entry: ${entry}`);
    const [, name = '', path = '', from, to] = parsed;
    const value = readPath(record, path.slice(1).split('.'));
    if (typeof value !== 'string') throw new Error(`${path} is not a string in the record`);
    keys[name] = from === undefined ? value : value.slice(Number(from), Number(to));
  }
  return keys;
}

/** Fills `!{partitionKeyFromQuery:name}` placeholders of a Firehose prefix. */
export function expandPrefix(prefix: string, keys: Record<string, string>): string {
  return prefix.replace(/!\{partitionKeyFromQuery:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const value = keys[name];
    if (value === undefined) throw new Error(`no partition key ${name}`);
    return value;
  });
}

function readPath(value: unknown, path: string[]): unknown {
  let current = value;
  for (const step of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}
