/**
 * Finds where a JSON text stops being valid, so the error message can point at it without
 * quoting the payload (V8's own messages embed a snippet of the input). Runs only after
 * `JSON.parse` failed, and iterates with an explicit stack so nesting depth cannot overflow it.
 */

/** Where and why a JSON text is invalid. */
export interface JsonSyntaxProblem {
  /** UTF-16 offset of the offending character (the text length for a premature end). */
  position: number;
  line: number;
  column: number;
  reason: string;
}

/** What the scanner accepts next. */
const Expect = { Value: 0, ValueOrClose: 1, Key: 2, KeyOrClose: 3, Colon: 4, AfterValue: 5 } as const;
type Expect = (typeof Expect)[keyof typeof Expect];

const ARRAY = 0;
const OBJECT = 1;
const LITERALS = ['true', 'false', 'null'] as const;

/**
 * The first syntax problem in `text` by RFC 8259 (the grammar `JSON.parse` accepts), or
 * `undefined` when the text is valid JSON.
 *
 * @example
 * ```ts
 * findJsonSyntaxError('{"a":}'); // { position: 5, line: 1, column: 6, reason: "unexpected character '}'" }
 * ```
 */
export function findJsonSyntaxError(text: string): JsonSyntaxProblem | undefined {
  const containers: number[] = [];
  let expect: Expect = Expect.Value;
  let i = 0;
  const fail = (position: number, reason: string) => problemAt(text, position, reason);
  for (;;) {
    i = skipWhitespace(text, i);
    if (i >= text.length) {
      return expect === Expect.AfterValue && containers.length === 0
        ? undefined
        : fail(i, 'unexpected end of input');
    }
    const char = text[i] ?? '';
    switch (expect) {
      case Expect.Value:
      case Expect.ValueOrClose: {
        if (expect === Expect.ValueOrClose && char === ']') {
          containers.pop();
          expect = Expect.AfterValue;
          i++;
          break;
        }
        if (char === '[' || char === '{') {
          containers.push(char === '[' ? ARRAY : OBJECT);
          expect = char === '[' ? Expect.ValueOrClose : Expect.KeyOrClose;
          i++;
          break;
        }
        const end = scanScalar(text, i);
        if (typeof end !== 'number') return fail(end.position, end.reason);
        i = end;
        expect = Expect.AfterValue;
        break;
      }
      case Expect.Key:
      case Expect.KeyOrClose: {
        if (expect === Expect.KeyOrClose && char === '}') {
          containers.pop();
          expect = Expect.AfterValue;
          i++;
          break;
        }
        if (char !== '"') return fail(i, `expected a property name, got ${showChar(char)}`);
        const end = scanString(text, i);
        if (typeof end !== 'number') return fail(end.position, end.reason);
        i = end;
        expect = Expect.Colon;
        break;
      }
      case Expect.Colon:
        if (char !== ':') return fail(i, `expected ':' after a property name, got ${showChar(char)}`);
        i++;
        expect = Expect.Value;
        break;
      case Expect.AfterValue: {
        const container = containers.at(-1);
        if (container === undefined) return fail(i, `unexpected ${showChar(char)} after the JSON value`);
        const close = container === ARRAY ? ']' : '}';
        if (char === ',') {
          expect = container === ARRAY ? Expect.Value : Expect.Key;
        } else if (char === close) {
          containers.pop();
        } else {
          return fail(i, `expected ',' or '${close}', got ${showChar(char)}`);
        }
        i++;
        break;
      }
    }
  }
}

interface Problem {
  position: number;
  reason: string;
}

function skipWhitespace(text: string, from: number): number {
  let i = from;
  for (;;) {
    const code = text.charCodeAt(i);
    if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) return i;
    i++;
  }
}

/** A string, number or literal starting at `from`: its end, or the problem. */
function scanScalar(text: string, from: number): number | Problem {
  const char = text[from] ?? '';
  if (char === '"') return scanString(text, from);
  if (char === '-' || (char >= '0' && char <= '9')) return scanNumber(text, from);
  for (const literal of LITERALS) {
    if (literal[0] !== char) continue;
    for (let k = 1; k < literal.length; k++) {
      if (from + k >= text.length) return { position: from + k, reason: 'unexpected end of input' };
      if (text[from + k] !== literal[k]) {
        return { position: from + k, reason: `invalid literal, expected '${literal}'` };
      }
    }
    return from + literal.length;
  }
  return { position: from, reason: `unexpected ${showChar(char)}` };
}

function scanString(text: string, from: number): number | Problem {
  let i = from + 1;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === 0x22) return i + 1;
    if (code < 0x20) return { position: i, reason: 'control character in string' };
    if (code === 0x5c) {
      const escaped = text[i + 1];
      if (escaped === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          return { position: i, reason: 'invalid \\u escape in string' };
        }
        i += 6;
        continue;
      }
      if (escaped === undefined) break;
      if (!'"\\/bfnrt'.includes(escaped)) return { position: i, reason: 'invalid escape in string' };
      i += 2;
      continue;
    }
    i++;
  }
  return { position: text.length, reason: 'unterminated string' };
}

function scanNumber(text: string, from: number): number | Problem {
  let i = from;
  if (text[i] === '-') i++;
  if (text[i] === '0') {
    i++;
  } else {
    const end = skipDigits(text, i);
    if (end === i) return digitProblem(text, i, 'no digits after minus sign');
    i = end;
  }
  if (text[i] === '.') {
    const end = skipDigits(text, i + 1);
    if (end === i + 1) return digitProblem(text, end, 'no digits after decimal point');
    i = end;
  }
  if (text[i] === 'e' || text[i] === 'E') {
    i++;
    if (text[i] === '+' || text[i] === '-') i++;
    const end = skipDigits(text, i);
    if (end === i) return digitProblem(text, i, 'no digits in exponent');
    i = end;
  }
  return i;
}

function skipDigits(text: string, from: number): number {
  let i = from;
  while (i < text.length && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
  return i;
}

function digitProblem(text: string, position: number, reason: string): Problem {
  return {
    position,
    reason: position >= text.length ? 'unexpected end of input' : `invalid number: ${reason}`,
  };
}

function showChar(char: string): string {
  const code = char.charCodeAt(0);
  if (code < 0x20 || code === 0x7f || (code >= 0xd800 && code <= 0xdfff))
    return `character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return `character '${char}'`;
}

function problemAt(text: string, position: number, reason: string): JsonSyntaxProblem {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < position; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { position, line, column: position - lineStart + 1, reason };
}
