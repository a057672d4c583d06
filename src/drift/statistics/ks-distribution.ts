/**
 * Null distributions of the Kolmogorov–Smirnov statistics, as SciPy evaluates them for
 * `ks_2samp(…, method='auto')`:
 *
 * - **exact two-sample** tail P(D_{m,n} ≥ d) by lattice-path recursion in probability space
 *   (Hodges 1958, with Viehmann's 2021 recursion for 1 − p so that tiny p-values keep their
 *   relative precision), used while both samples have at most {@link KS_EXACT_LIMIT} values;
 * - beyond that, SciPy's asymptotic route: the **one-sample** two-sided distribution
 *   `kstwo.sf(d, round(m·n/(m+n)))`, evaluated with Simard & L'Ecuyer's (2011) choice of method:
 *   Ruben–Gambino closed forms at the ends, the exact Durbin matrix (Marsaglia–Tsang–Wang 2003),
 *   twice the exact one-sided tail (Smirnov/Birnbaum–Tingey, Miller's approximation), and the
 *   Pelz–Good (1976) expansion.
 *
 * Written from the published methods; the switch points are those SciPy documents in
 * `scipy/stats/_ksstats.py`.
 */
import { logGamma } from './special.ts';

/** `ks_2samp(method='auto')` is exact while both sample sizes are at most this (SciPy's `MAX_AUTO_N`). */
export const KS_EXACT_LIMIT = 10_000;

/**
 * Exact P(D_{m,n} ≥ h / lcm(m, n)) for two samples of sizes m and n (two-sided), where h is the
 * statistic on the lattice: D = h / lcm(m, n). A path from (0, 0) to (m, n) takes unit steps; it
 * is "outside" at (i, j) when |i/m − j/n| ≥ d, i.e. |i·n/g − j·m/g| ≥ h with g = gcd(m, n).
 * Q(i, j), the share of paths to (i, j) that have been outside, obeys
 * Q(i, j) = (i·Q(i−1, j) + j·Q(i, j−1)) / (i + j) inside and Q = 1 outside; the p-value is Q(m, n).
 * Work O(m · n · d), memory O(min(m, n)).
 *
 * @example
 * ```ts
 * ksTwoSampleExactSf(2, 4, 2); // 14/15: D = 2/4 between samples of 2 and 4
 * ```
 */
export function ksTwoSampleExactSf(m: number, n: number, h: number): number {
  if (h <= 0) return 1;
  // Rows over the larger sample, the window over the smaller one.
  const rows = Math.max(m, n);
  const cols = Math.min(m, n);
  const g = gcd(rows, cols);
  const rowStep = cols / g; // n/g in |i·n/g − j·m/g|
  const colStep = rows / g;
  const q = new Float64Array(cols + 1);
  // Row 0: inside while j·colStep < h; Q stays 0 there (only paths straight up).
  for (let j = 0; j <= cols; j++) q[j] = j * colStep < h ? 0 : 1;
  let lastLo = 0;
  for (let i = 1; i <= rows; i++) {
    // Inside when i·rowStep − h < j·colStep < i·rowStep + h.
    const lo = Math.max(0, Math.floor((i * rowStep - h) / colStep) + 1);
    const hi = Math.min(cols, Math.ceil((i * rowStep + h) / colStep) - 1);
    if (lo > hi) return 1;
    for (let j = lastLo; j < lo; j++) q[j] = 1;
    lastLo = lo;
    for (let j = lo; j <= hi; j++) {
      const left = j === 0 ? 0 : (q[j - 1] as number);
      q[j] = (i * (q[j] as number) + j * left) / (i + j);
    }
  }
  return clip(q[cols] as number);
}

/**
 * Two-sided two-sample KS p-value as SciPy's `ks_2samp(d, method='auto')`: exact when both sizes
 * are at most 10 000 (D rounded to the lattice first, as SciPy does), else `kstwo.sf(d, round(nₑ))`
 * with nₑ = m·n/(m + n).
 *
 * @example
 * ```ts
 * ksTwoSamplePValue(232 / 1100, 100, 110); // 0.015739183865607353 (SciPy's test suite)
 * ```
 */
export function ksTwoSamplePValue(d: number, m: number, n: number): { p: number; method: 'exact' | 'asymp' } {
  if (!(m > 0 && n > 0) || Number.isNaN(d)) return { p: Number.NaN, method: 'exact' };
  if (Math.max(m, n) <= KS_EXACT_LIMIT) {
    const g = gcd(m, n);
    const lcm = (m / g) * n;
    return { p: ksTwoSampleExactSf(m, n, Math.round(d * lcm)), method: 'exact' };
  }
  const en = (m * n) / (m + n);
  return { p: kolmogorovSmirnovSf(Math.round(en), d), method: 'asymp' };
}

/**
 * P(D_n ≥ x) for the two-sided one-sample KS statistic with n observations (SciPy's
 * `kstwo.sf(x, n)`), choosing the method as Simard & L'Ecuyer (2011) recommend.
 *
 * @example
 * ```ts
 * kolmogorovSmirnovSf(10, 0.5); // 2 · P(D⁺₁₀ ≥ 0.5), exact for x ≥ ½
 * ```
 */
export function kolmogorovSmirnovSf(n: number, x: number): number {
  if (!Number.isInteger(n) || n <= 0 || Number.isNaN(x)) return Number.NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    // Ruben–Gambino: P(D_n ≤ x) = n!/nⁿ (2t − 1)ⁿ for 1/(2n) ≤ x ≤ 1/n.
    return clip(1 - Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1)));
  }
  if (t >= n - 1) return clip(2 * (1 - x) ** n);
  if (x >= 0.5) return clip(2 * smirnovSf(n, x));
  const nxx = t * x;
  if (n <= 140) {
    // SciPy uses Pomeranz's recursion for 0.754693 < n·x² ≤ 4; the Durbin matrix is exact there too.
    if (nxx <= 4) return clip(1 - durbinCdf(n, x));
    return clip(2 * smirnovSf(n, x));
  }
  if (nxx >= 370) return 0;
  if (nxx >= 2.2) return clip(2 * smirnovSf(n, x));
  if (n <= 100_000 && n * x ** 1.5 <= 1.4) return clip(1 - durbinCdf(n, x));
  return clip(1 - pelzGoodCdf(n, x));
}

/**
 * P(D⁺_n ≥ x), the exact one-sided one-sample tail (Birnbaum & Tingey 1951, SciPy's
 * `special.smirnov`): x · Σ_{j=0}^{⌊n(1−x)⌋} C(n, j) (1 − x − j/n)^{n−j} (x + j/n)^{j−1}.
 * Every term is positive, so the sum keeps its relative precision; terms are formed in logs.
 *
 * @example
 * ```ts
 * smirnovSf(1, 0.3); // 0.7
 * ```
 */
export function smirnovSf(n: number, x: number): number {
  if (x <= 0) return 1;
  if (x >= 1) return 0;
  const last = Math.floor(n * (1 - x) + 1e-12);
  const logN = logGamma(n + 1);
  let total = 0;
  for (let j = 0; j <= last; j++) {
    const a = 1 - x - j / n;
    if (a <= 0) {
      // (0)^(n−j) is 0 unless j = n, where it is 1.
      if (j === n) total += Math.exp((j - 1) * Math.log(x + j / n));
      continue;
    }
    const logTerm =
      logN - logGamma(j + 1) - logGamma(n - j + 1) + (n - j) * Math.log(a) + (j - 1) * Math.log(x + j / n);
    total += Math.exp(logTerm);
  }
  return clip(x * total);
}

const SCALE_EXPONENT = 128;
const BIG = 2 ** SCALE_EXPONENT;

/**
 * P(D_n < x) exactly by Durbin's matrix method as Marsaglia, Tsang & Wang (2003) compute it:
 * with n·x = k − h (k integer, 0 ≤ h < 1) and m = 2k − 1, the CDF is n!/nⁿ · (Hⁿ)_{k,k} for an
 * m × m matrix H; powers are taken by squaring with a separate binary exponent.
 */
function durbinCdf(n: number, x: number): number {
  const nd = n * x;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const H: Float64Array = new Float64Array(m * m);
  // H[i][j] = 1/(i − j + 1)! for i − j + 1 ≥ 0.
  const invFactorial = new Float64Array(m + 2);
  invFactorial[0] = 1;
  for (let i = 1; i <= m + 1; i++) invFactorial[i] = (invFactorial[i - 1] as number) / i;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      const d = i - j + 1;
      H[i * m + j] = d >= 0 ? (invFactorial[d] as number) : 0;
    }
  }
  for (let i = 0; i < m; i++) {
    H[i * m] = (H[i * m] as number) - h ** (i + 1) * (invFactorial[i + 1] as number);
    H[(m - 1) * m + i] = (H[(m - 1) * m + i] as number) - h ** (m - i) * (invFactorial[m - i] as number);
  }
  if (2 * h - 1 > 0)
    H[(m - 1) * m] = (H[(m - 1) * m] as number) + (2 * h - 1) ** m * (invFactorial[m] as number);

  let result: Float64Array | null = null;
  let resultExponent = 0;
  let base: Float64Array = H;
  let baseExponent = 0;
  let e = n;
  while (e > 0) {
    if (e % 2 === 1) {
      if (result === null) {
        result = base.slice();
        resultExponent = baseExponent;
      } else {
        result = multiply(result, base, m);
        resultExponent += baseExponent;
      }
    }
    e = Math.floor(e / 2);
    if (e > 0) {
      base = multiply(base, base, m);
      baseExponent *= 2;
      if (Math.abs(base[(k - 1) * m + (k - 1)] as number) > BIG) {
        for (let i = 0; i < base.length; i++) base[i] = (base[i] as number) / BIG;
        baseExponent += SCALE_EXPONENT;
      }
    }
    if (result !== null && Math.abs(result[(k - 1) * m + (k - 1)] as number) > BIG) {
      for (let i = 0; i < result.length; i++) result[i] = (result[i] as number) / BIG;
      resultExponent += SCALE_EXPONENT;
    }
  }
  let p = (result as Float64Array)[(k - 1) * m + (k - 1)] as number;
  for (let i = 1; i <= n; i++) {
    p = (p * i) / n;
    if (Math.abs(p) < 1 / BIG && p !== 0) {
      p *= BIG;
      resultExponent -= SCALE_EXPONENT;
    }
  }
  return clip(p * 2 ** resultExponent);
}

function multiply(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < m; l++) {
      const ail = a[i * m + l] as number;
      if (ail === 0) continue;
      for (let j = 0; j < m; j++)
        out[i * m + j] = (out[i * m + j] as number) + ail * (b[l * m + j] as number);
    }
  }
  return out;
}

const PI2 = Math.PI * Math.PI;
const PI4 = PI2 * PI2;
const PI6 = PI4 * PI2;
const SQRT_2PI = Math.sqrt(2 * Math.PI);

/**
 * Pelz & Good's (1976) expansion of P(D_n ≤ x) ≈ K₀(z) + K₁(z)/√n + K₂(z)/n + K₃(z)/n^{3/2},
 * z = x√n, each Kᵢ written with Jacobi theta transforms so that it converges fast for small z.
 */
function pelzGoodCdf(n: number, x: number): number {
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const logQ = -PI2 / 8 / z2;
  if (logQ < -708) return 0;
  const terms = Math.ceil((16 * z) / Math.PI);
  // Sums over odd j = 2k − 1 of c(j) · q^{j²}, with q^{j²} = q · q^{(j² − 1)}.
  let k0 = 0;
  let k1 = 0;
  let k2 = 0;
  let k3 = 0;
  for (let k = 1; k <= terms; k++) {
    const j = 2 * k - 1;
    const j2 = j * j;
    const w = Math.exp(logQ * j2);
    if (w === 0) break;
    k0 += w;
    k1 += ((PI2 * j2) / 4 - z2) * w;
    k2 += (6 * z6 + 2 * z4 + ((2 * z4 - 5 * z2) * PI2 * j2) / 4 + (PI4 * (1 - 2 * z2) * j2 * j2) / 16) * w;
    k3 +=
      (-30 * z6 -
        90 * z6 * z2 +
        (PI2 * (135 * z4 - 96 * z6) * j2) / 4 +
        (PI4 * (212 * z4 - 60 * z2) * j2 * j2) / 16 +
        (PI6 * (5 - 30 * z2) * j2 * j2 * j2) / 64) *
      w;
  }
  k0 *= SQRT_2PI / z;
  k1 *= SQRT_2PI / (6 * z4);
  k2 *= SQRT_2PI / (72 * z6 * z);
  k3 *= SQRT_2PI / (6480 * z6 * z4);
  // Sums over all integers k of the other theta terms.
  const logR = -PI2 / 2 / z2;
  let s2 = 0;
  let s3 = 0;
  for (let k = 1; k <= terms; k++) {
    const w = Math.exp(logR * k * k);
    if (w === 0) break;
    const k2sq = k * k;
    s2 += k2sq * w;
    s3 += (3 * z2 - PI2 * k2sq) * k2sq * w;
  }
  k2 += (s2 * PI2 * SQRT_2PI) / (-36 * z2 * z);
  k3 += (s3 * PI2 * SQRT_2PI) / (216 * z6);
  const rootN = Math.sqrt(n);
  return clip(k0 + k1 / rootN + k2 / n + k3 / (n * rootN));
}

/** ln(n! / nⁿ). */
function logFactorialOverPower(n: number): number {
  return logGamma(n + 1) - n * Math.log(n);
}

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) {
    const t = x % y;
    x = y;
    y = t;
  }
  return x;
}

function clip(p: number): number {
  return Math.min(1, Math.max(0, p));
}
