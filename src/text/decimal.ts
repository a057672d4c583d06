/**
 * Reading CSV numbers fast, and knowing when their text is already their JSON. Parsing hundreds
 * of numbers per row with `Number` and formatting them again for the capture record with
 * `String` costs more than the inference of a small model; most CSV numbers are written exactly
 * as JavaScript would print them, so the capture can copy the text instead.
 */

/** What `readDecimal` read: the value, and whether the text is exactly the value's JSON. */
export interface DecimalRead {
  value: number;
  /** The text is how `JSON.stringify` writes `value`, so it can be copied into JSON as it is. */
  canonical: boolean;
}

/** Exact powers of ten (10^22 is the last one a double holds exactly). */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, exponent) => 10 ** exponent);
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const MINUS = 0x2d;
const POINT = 0x2e;
const COMMA = 0x2c;
/** `-0.`, five zeros and 17 digits: longer texts are never read here. */
const MAX_LENGTH = 25;

/**
 * Reads a plain decimal, `-?digits[.digits]` with at most 17 significant digits, into `out`:
 * always the same value as `Number(text)`. Anything else (spaces, `+`, exponents, more digits)
 * returns false and is left to `Number`.
 *
 * Up to 15 significant digits the value is computed here (a mantissa below 2^53 divided by an
 * exact power of ten is correctly rounded), which is about twice as fast as `Number`.
 *
 * `canonical` is set when the text is also how `JSON.stringify` writes the value (no leading or
 * trailing zeros, not `-0`, not small enough for an exponent, and the shortest digits that read
 * back as the value, closest to it): such text can be copied into JSON instead of formatting the
 * number. Up to 15 significant digits the form suffices (two decimals of 15 digits never read as
 * the same double); with 16 or 17, `isShortestDigits` checks it exactly.
 *
 * With `start` and `end`, reads `text[start, end)` exactly as it would read
 * `text.slice(start, end)`, without making that string.
 *
 * @example
 * ```ts
 * const out = { value: 0, canonical: false };
 * readDecimal('-1.25', out);               // true, { value: -1.25, canonical: true }
 * readDecimal('1.50', out);                // true, { value: 1.5, canonical: false }
 * readDecimal('0.10000000149011612', out); // true, { value: 0.10000000149011612, canonical: true }
 * readDecimal('1e3', out);                 // false
 * ```
 */
export function readDecimal(text: string, out: DecimalRead, start = 0, end = text.length): boolean {
  const length = end;
  if (end - start === 0 || end - start > MAX_LENGTH) return false;
  let index = start;
  if (text.charCodeAt(start) === MINUS) index = start + 1;
  const firstDigit = index;
  // The significant digits: the first 15 in `mantissa` (exact), the 16th and 17th in `extra`.
  let mantissa = 0;
  let significant = 0;
  let extra = 0;
  let digits = 0;
  let point = -1;
  for (; index < length; index++) {
    const code = text.charCodeAt(index);
    if (code >= DIGIT_0 && code <= DIGIT_9) {
      digits += 1;
      if (significant === 0 && code === DIGIT_0) continue;
      significant += 1;
      if (significant <= 15) mantissa = mantissa * 10 + (code - DIGIT_0);
      else if (significant <= 17) extra = extra * 10 + (code - DIGIT_0);
      else return false;
    } else if (code === POINT && point === -1) {
      point = index;
    } else {
      return false;
    }
  }
  if (digits === 0) return false;
  const decimals = point === -1 ? 0 : length - point - 1;
  if (decimals > 22) return false;
  const negative = firstDigit === start + 1;
  if (significant <= 15) {
    const magnitude = decimals === 0 ? mantissa : mantissa / (POWERS_OF_TEN[decimals] as number);
    out.value = negative ? -magnitude : magnitude;
    out.canonical = hasCanonicalForm(text, end, firstDigit, point, mantissa, negative);
    return true;
  }
  if (point === -1) return false; // 16- and 17-digit integers: left to `Number`
  const value = Number(start === 0 && end === text.length ? text : text.slice(start, end));
  out.value = value;
  out.canonical =
    hasCanonicalForm(text, end, firstDigit, point, mantissa, negative) &&
    isShortestDigits(
      mantissa,
      extra,
      significant,
      decimals,
      Math.abs(value),
      text.charCodeAt(length - 1) - DIGIT_0,
    );
  return true;
}

/**
 * Reads the plain decimal starting at `text[start]` and ending at the next comma or at `end`,
 * into `out.value`; returns where it ended (the comma's index, or `end`), or -1 when the field is
 * not a plain decimal of at most 15 significant digits (then `readDecimal` or `Number` must read
 * it). The value is the one `readDecimal` gives (the same as `Number` of the field's text); one
 * pass over the characters, with no string made: for rows of hundreds of numbers, about twice as
 * fast as finding each comma and reading each field. `out.canonical` is not set.
 *
 * @example
 * ```ts
 * const out = { value: 0, canonical: false };
 * readDecimalField('1.5,-2', 0, 6, out);  // 3, out.value 1.5
 * readDecimalField('1.5,-2', 4, 6, out);  // 6, out.value -2
 * readDecimalField('1e3,2', 0, 5, out);   // -1
 * ```
 */
export function readDecimalField(text: string, start: number, end: number, out: DecimalRead): number {
  let index = start;
  let code = index < end ? text.charCodeAt(index) : COMMA;
  const negative = code === MINUS;
  if (negative) code = ++index < end ? text.charCodeAt(index) : COMMA;
  let mantissa = 0;
  let significant = 0;
  let digits = 0;
  let decimals = -1;
  for (;;) {
    if (code >= DIGIT_0 && code <= DIGIT_9) {
      digits += 1;
      if (decimals >= 0) decimals += 1;
      if (significant > 0 || code !== DIGIT_0) {
        if (++significant > 15) return -1;
        mantissa = mantissa * 10 + (code - DIGIT_0);
      }
    } else if (code === POINT && decimals === -1) {
      decimals = 0;
    } else {
      break;
    }
    code = ++index < end ? text.charCodeAt(index) : COMMA;
  }
  // Anything but the comma or the end after the number; no digits; '5.' (left to the general reader).
  if (code !== COMMA || digits === 0 || decimals === 0 || decimals > 22 || index - start > MAX_LENGTH)
    return -1;
  const magnitude = decimals <= 0 ? mantissa : mantissa / (POWERS_OF_TEN[decimals] as number);
  out.value = negative ? -magnitude : magnitude;
  return index;
}

/**
 * Whether a plain decimal is written in JavaScript's form for its value, digits aside: no
 * leading zero but the one of `0.x`, no trailing zero after the point, not `-0`, and at most five
 * zeros after `0.` (smaller numbers print with an exponent).
 */
function hasCanonicalForm(
  text: string,
  length: number,
  firstDigit: number,
  point: number,
  mantissa: number,
  negative: boolean,
): boolean {
  const integerDigits = (point === -1 ? length : point) - firstDigit;
  // '.5' and '5.' read as numbers but print as '0.5' and '5'.
  if (integerDigits === 0 || point === length - 1) return false;
  if (mantissa === 0) return !negative && point === -1 && integerDigits === 1; // '0' only: not '-0', '00', '0.0'
  if (point !== -1 && text.charCodeAt(length - 1) === DIGIT_0) return false;
  if (text.charCodeAt(firstDigit) !== DIGIT_0) return true;
  if (integerDigits > 1) return false; // '01'
  let zeros = 0;
  while (text.charCodeAt(point + 1 + zeros) === DIGIT_0) zeros += 1;
  return zeros <= 5;
}

const SPLITTER = 2 ** 27 + 1;
/** Far above the rounding of `d`, far below any real distance that matters. */
const MARGIN = 1e-9;
const BITS = new Float64Array(1);
const WORDS = new Uint32Array(BITS.buffer);
/** Index of the word holding a double's sign and exponent. */
const HIGH = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/**
 * Whether the `significant` (16 or 17) digits `mantissa`·10^(significant−15) + `extra`, scaled
 * by 10^−`decimals`, are the digits JavaScript prints for `x` (the double they read as): the
 * shortest digits that read back as `x` and, among those, the closest to it. Exact: with the
 * digits as an integer M in units of the last digit, it works out M − x·10^decimals exactly
 * (Dekker's product, then subtractions that are exact by Sterbenz's lemma), then checks that M is
 * within half a unit of x and that neither multiple of ten units around x (the decimals with one
 * digit fewer) lies within half an ulp of x. A tie at any of these bounds counts as not
 * canonical: the caller then formats the number, which is only slower.
 */
function isShortestDigits(
  mantissa: number,
  extra: number,
  significant: number,
  decimals: number,
  x: number,
  lastDigit: number,
): boolean {
  // M = high·10^9 + low, both exact: high has 7 or 8 digits, low 9.
  const shift = significant === 16 ? 1e8 : 1e7;
  const high = Math.floor(mantissa / shift);
  const low = (mantissa - high * shift) * (significant === 16 ? 10 : 100) + extra;
  const scale = POWERS_OF_TEN[decimals] as number;
  // x·scale = product + error exactly (Dekker: split both factors into 26-bit halves).
  const product = x * scale;
  let t = SPLITTER * x;
  const xHigh = t - (t - x);
  const xLow = x - xHigh;
  t = SPLITTER * scale;
  const sHigh = t - (t - scale);
  const sLow = scale - sHigh;
  const error = xHigh * sHigh - product + xHigh * sLow + xLow * sHigh + xLow * sLow;
  // d = M − x·scale, in units of the last digit: the subtractions are exact, the last one within
  // 2^-48 (d is below 32 and the error's bits reach down to 2^-50), hence the margin.
  const d = high * 1e9 - product + low - error;
  if (!(Math.abs(d) < 0.5 - MARGIN)) return false;
  // Half an ulp of x: the power of two 53 binary places below x's leading bit (x is normal).
  BITS[0] = x;
  WORDS[HIGH] = (((WORDS[HIGH] as number) >>> 20) - 53) << 20;
  WORDS[1 - HIGH] = 0;
  const halfUlp = (BITS[0] as number) * scale;
  // The decimals one digit shorter around x are M − r and M − r + 10 units (r the last digit).
  const below = d - lastDigit;
  return Math.abs(below) > halfUlp + MARGIN && Math.abs(below + 10) > halfUlp + MARGIN;
}
