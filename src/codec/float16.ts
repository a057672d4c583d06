/**
 * IEEE 754 binary16 conversion. onnxruntime-node takes and returns 'float16' tensor data as the
 * raw bit patterns in a `Uint16Array` when the JavaScript runtime has no `Float16Array` (Node 20
 * and 22), and wraps a given `Uint16Array` in a `Float16Array` view where one exists.
 */

const SIGN = 0x8000;
const INFINITY_BITS = 0x7c00;
const NAN_BITS = 0x7e00;
/** Halfway between the largest half (65504) and 2^16: from here, round-to-nearest-even overflows. */
const OVERFLOW_THRESHOLD = 65520;
const MIN_NORMAL = 2 ** -14;

/**
 * The binary16 bit pattern nearest to `value`, rounding ties to even, converting from the double
 * directly (going through float32 first would round twice). Magnitudes from 65520 up become
 * ±Infinity, those below 2^-25 become ±0; NaN becomes the canonical quiet NaN.
 *
 * @example
 * ```ts
 * toFloat16Bits(1); // 0x3c00
 * toFloat16Bits(70000); // 0x7c00 (Infinity)
 * ```
 */
export function toFloat16Bits(value: number): number {
  if (Number.isNaN(value)) return NAN_BITS;
  const sign = value < 0 || Object.is(value, -0) ? SIGN : 0;
  const magnitude = Math.abs(value);
  if (magnitude >= OVERFLOW_THRESHOLD) return sign | INFINITY_BITS;
  if (magnitude < MIN_NORMAL) {
    // Subnormals are multiples of 2^-24; a result of 1024 is exactly the smallest normal's bits.
    return sign | roundHalfEven(magnitude * 2 ** 24);
  }
  let exponent = Math.floor(Math.log2(magnitude));
  // log2 can be off by one next to powers of two; scaling by a power of two is exact.
  if (2 ** exponent > magnitude) exponent--;
  else if (2 ** (exponent + 1) <= magnitude) exponent++;
  let mantissa = roundHalfEven((magnitude / 2 ** exponent - 1) * 1024);
  if (mantissa === 1024) {
    mantissa = 0;
    exponent++;
  }
  return sign | ((exponent + 15) << 10) | mantissa;
}

/**
 * The number a binary16 bit pattern stands for (exact: every half is a double).
 *
 * @example
 * ```ts
 * fromFloat16Bits(0x3555); // 0.333251953125
 * ```
 */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & SIGN ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
