/** Message helpers shared by the codec: every echo of client data is short and bounded. */

const MAX_QUOTED = 64;
const MAX_LISTED = 16;

/** A client string in quotes, cut to a bounded length so messages never carry large payloads. */
export function quote(text: string): string {
  const cut = text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
  return `'${cut}'`;
}

/** What a JSON value is, for "got …" in messages: numbers and short strings as themselves, containers by kind. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'undefined':
      return 'nothing';
    default:
      return typeof value;
  }
}

/** A shape as `[1,3,224,224]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Names as a quoted, comma-separated list, cut after a bounded number. */
export function listNames(names: readonly string[]): string {
  if (names.length === 0) return '(none)';
  const shown = names.slice(0, MAX_LISTED).map(quote).join(', ');
  return names.length > MAX_LISTED ? `${shown} and ${names.length - MAX_LISTED} more` : shown;
}

/** `1 element`, `3 elements`. */
export function countOf(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
