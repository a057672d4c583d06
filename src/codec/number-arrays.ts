/**
 * The fast path for tensor data in JSON request bodies: a `"data"` value that is a flat array of
 * JSON numbers is read by a byte scanner straight into a `Float32Array`, instead of becoming a
 * JavaScript array of numbers through `JSON.parse` first (for a 1×3×224×224 FP32 input, most of
 * the cost of a request). Everything else — nested data, strings, booleans, malformed JSON —
 * goes through `JSON.parse` exactly as before.
 *
 * Exactness: each element becomes the float32 that `Math.fround(Number(text))` gives. When the
 * number's digits make an integer below 2^53 and its decimal exponent is within ±22, both are
 * exact doubles and one IEEE multiplication or division gives `Number(text)` itself (Clinger's
 * fast path). With up to 19 significant digits and an exponent within ±44, the double computed is
 * within a few units in the last place of `Number(text)`; it is used when `Math.fround` gives the
 * same float32 over a margin of 2^-48 (relative) either side, so no rounding boundary of float32
 * lies between the two. Every other number — and the rare one next to a boundary — goes through
 * `Number(text)` itself. A number beyond a double's range makes the array go the general way,
 * which refuses it.
 */

/** A flat numeric `data` array, as scanned: its float32 values and where its text is. */
export class NumberArrayText {
  /** The elements as float32, each `Math.fround(Number(text))`. */
  readonly float32: Float32Array;
  readonly #text: string;
  readonly #start: number;
  readonly #end: number;
  #array: number[] | undefined;

  constructor(text: string, start: number, end: number, float32: Float32Array) {
    this.#text = text;
    this.#start = start;
    this.#end = end;
    this.float32 = float32;
  }

  get length(): number {
    return this.float32.length;
  }

  /**
   * The array as `JSON.parse` reads it (numbers as doubles): what the general path decodes. Read
   * once, on first use; do not modify it.
   */
  toArray(): number[] {
    this.#array ??= JSON.parse(this.#text.slice(this.#start, this.#end)) as number[];
    return this.#array;
  }
}

/** Bodies shorter than this are left to `JSON.parse` alone: the scan would not pay for itself. */
export const FAST_PATH_MIN_CHARS = 4096;

/** Where the flat numeric `data` arrays of a JSON text are: each as scanned, with its text span. */
export interface NumberArraySpan {
  start: number;
  end: number;
  array: NumberArrayText;
}

const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const COMMA = 0x2c;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Finds every `"data": [numbers…]` outside string values in a JSON text and scans it. A `"data"`
 * string followed by `:` outside any string is an object key; a value that is not a flat array of
 * JSON numbers is skipped (left to `JSON.parse`). The text need not be valid JSON: the caller
 * parses the rest with `JSON.parse`, which reports any error.
 */
export function findNumberArrays(text: string): NumberArraySpan[] {
  const spans: NumberArraySpan[] = [];
  let i = 0;
  for (;;) {
    const open = text.indexOf('"', i);
    if (open === -1) break;
    // Find the closing quote: one not preceded by an odd number of backslashes.
    let close = text.indexOf('"', open + 1);
    while (close !== -1 && isEscaped(text, close)) close = text.indexOf('"', close + 1);
    if (close === -1) break;
    i = close + 1;
    if (close !== open + 5 || !text.startsWith('data', open + 1)) continue;
    let j = close + 1;
    while (j < text.length && isSpace(text.charCodeAt(j))) j++;
    if (text.charCodeAt(j) !== COLON) continue;
    j++;
    while (j < text.length && isSpace(text.charCodeAt(j))) j++;
    if (text.charCodeAt(j) !== OPEN) continue;
    const scanned = scanNumberArray(text, j);
    if (scanned === undefined) continue;
    spans.push({
      start: j,
      end: scanned.end,
      array: new NumberArrayText(text, j, scanned.end, scanned.values),
    });
    i = scanned.end;
  }
  return spans;
}

function isEscaped(text: string, quote: number): boolean {
  let backslashes = 0;
  for (let k = quote - 1; k >= 0 && text.charCodeAt(k) === BACKSLASH; k--) backslashes++;
  return backslashes % 2 === 1;
}

const POW10 = Float64Array.from({ length: 23 }, (_, k) => 10 ** k);
const EXACT_INTEGER = 2 ** 53;
/**
 * Relative margin around an approximated double (2^-48: 16 units in the last place or more) over
 * which Math.fround must be constant for the approximation's float32 to be Number(text)'s.
 */
const APPROXIMATION_MARGIN = 2 ** -48;

/**
 * Scans the JSON array at `text[start] === '['`: its values as float32 and the index after its
 * `]`, or undefined when it is not a flat array of JSON numbers each within a double's range.
 */
export function scanNumberArray(
  text: string,
  start: number,
): { values: Float32Array; end: number } | undefined {
  // At most one element per two characters, plus one; grown up to that as needed.
  const most = 1 + ((text.length - start) >> 1);
  let values = new Float32Array(Math.min(most, 1 << 16));
  let count = 0;
  let i = start + 1;
  let c = text.charCodeAt(i);
  while (c <= 0x20 && isSpace(c)) c = text.charCodeAt(++i);
  if (c === CLOSE) return { values: new Float32Array(0), end: i + 1 };
  for (;;) {
    // One number, by JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    let negative = false;
    if (c === MINUS) {
      negative = true;
      c = text.charCodeAt(++i);
    }
    const digitsStart = i;
    if (!(c >= ZERO && c <= NINE)) return undefined;
    // The digits as an integer (exact below 2^53), how many are significant, and the power of ten.
    let mantissa = 0;
    let digits = 0;
    let exponent = 0;
    if (c === ZERO) {
      c = text.charCodeAt(++i);
      if (c >= ZERO && c <= NINE) return undefined; // leading zero
    } else {
      do {
        mantissa = mantissa * 10 + (c - ZERO);
        digits++;
        c = text.charCodeAt(++i);
      } while (c >= ZERO && c <= NINE);
    }
    if (c === DOT) {
      c = text.charCodeAt(++i);
      if (!(c >= ZERO && c <= NINE)) return undefined;
      if (mantissa === 0) {
        // Leading zeros of a fraction are not significant.
        while (c === ZERO) {
          exponent--;
          c = text.charCodeAt(++i);
        }
      }
      while (c >= ZERO && c <= NINE) {
        mantissa = mantissa * 10 + (c - ZERO);
        digits++;
        exponent--;
        c = text.charCodeAt(++i);
      }
    }
    if (c === LOWER_E || c === UPPER_E) {
      c = text.charCodeAt(++i);
      let exponentSign = 1;
      if (c === PLUS || c === MINUS) {
        if (c === MINUS) exponentSign = -1;
        c = text.charCodeAt(++i);
      }
      if (!(c >= ZERO && c <= NINE)) return undefined;
      let written = 0;
      do {
        if (written < 100_000) written = written * 10 + (c - ZERO);
        c = text.charCodeAt(++i);
      } while (c >= ZERO && c <= NINE);
      exponent += exponentSign * written;
    }
    // A double whose float32 is Math.fround(Number(text)); storing it in the Float32Array rounds.
    let value: number;
    if (digits <= 19 && exponent >= -44 && exponent <= 44) {
      // Integer and power of ten both exact: one correctly rounded operation gives Number(text)
      // itself (Clinger's fast path). Otherwise the double is within a few units in the last place
      // of Number(text) (the mantissa rounds at most four times past 2^53, each operation once),
      // and its float32 is the same when Math.fround is constant over a wider margin around it.
      let exact = mantissa < EXACT_INTEGER;
      if (exponent >= 0) {
        if (exponent <= 22) value = mantissa * (POW10[exponent] as number);
        else {
          value = mantissa * 1e22 * (POW10[exponent - 22] as number);
          exact = false;
        }
      } else if (exponent >= -22) value = mantissa / (POW10[-exponent] as number);
      else {
        value = mantissa / 1e22 / (POW10[-exponent - 22] as number);
        exact = false;
      }
      if (!exact) {
        const margin = value * APPROXIMATION_MARGIN;
        if (Math.fround(value - margin) !== Math.fround(value + margin)) {
          value = exactNumber(text, digitsStart, i);
          if (Number.isNaN(value)) return undefined;
        }
      }
    } else {
      value = exactNumber(text, digitsStart, i);
      if (Number.isNaN(value)) return undefined;
    }
    if (negative) value = -value;
    if (count === values.length) {
      const grown = new Float32Array(Math.min(values.length * 2, most));
      grown.set(values);
      values = grown;
    }
    values[count++] = value;
    if (c <= 0x20) while (isSpace(c)) c = text.charCodeAt(++i);
    if (c === COMMA) {
      c = text.charCodeAt(++i);
      if (c <= 0x20) while (isSpace(c)) c = text.charCodeAt(++i);
      continue;
    }
    if (c === CLOSE) return { values: count === values.length ? values : values.slice(0, count), end: i + 1 };
    return undefined;
  }
}

/** `Number(text)` of an unsigned slice, or NaN when it is beyond a double's range (the general path refuses those). */
function exactNumber(text: string, start: number, end: number): number {
  const value = Number(text.slice(start, end));
  return Number.isFinite(value) ? value : Number.NaN;
}
