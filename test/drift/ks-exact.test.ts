/**
 * The KS p-value as SciPy's `scipy.stats.ks_2samp(x, y)` (method='auto', two-sided) computes it.
 *
 * Provenance of the expected values (the figures printed by SciPy's tests are used as printed; they
 * are not among those recomputed by test/drift/reference-values/scipy_values.py):
 * - "SciPy tests": expected values printed in SciPy's own test suite,
 *   scipy/stats/tests/test_stats.py::TestKSTwoSamples (SciPy repository at commit 3dbf660a, 2026),
 *   `stats.ks_2samp(x, y, 'two-sided', method='auto')` on the samples written out below;
 *   scipy/special/tests/test_kolmogorov.py::TestSmirnov for `special.smirnov`.
 * - "MTW 2003": Marsaglia, Tsang & Wang, "Evaluating Kolmogorov's distribution", J. Stat. Softw.
 *   8(18), their worked example P(D₁₀ < 0.274) = 0.6284796154565043.
 * - "oracle": exact rational arithmetic in this file (BigInt lattice-path counts), independent of
 *   the floating-point recursion under test.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ksStatistic } from '../../src/drift/statistics/ks.ts';
import {
  KS_EXACT_LIMIT,
  kolmogorovSmirnovSf,
  ksTwoSampleExactSf,
  ksTwoSamplePValue,
  smirnovSf,
} from '../../src/drift/statistics/ks-distribution.ts';
import { assertClose } from './helpers.ts';

const linspace = (a: number, b: number, n: number) =>
  Float64Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
const shift = (values: Float64Array, by: number) => values.map((v) => v + by);

/** Exact P(D_{m,n} ≥ h/lcm) as a ratio of BigInt path counts, converted to a double at the end. */
function oracleSf(m: number, n: number, h: number): number {
  const g = gcd(m, n);
  const mg = BigInt(m / g);
  const ng = BigInt(n / g);
  const H = BigInt(h);
  // inside[j] = number of paths from (0,0) to (i, j) staying strictly inside |i·n/g − j·m/g| < h.
  let row: bigint[] = new Array(n + 1).fill(0n);
  const inside = (i: number, j: number) => {
    const diff = BigInt(i) * ng - BigInt(j) * mg;
    return (diff < 0n ? -diff : diff) < H;
  };
  for (let i = 0; i <= m; i++) {
    const next: bigint[] = new Array(n + 1).fill(0n);
    for (let j = 0; j <= n; j++) {
      if (!inside(i, j)) continue;
      if (i === 0 && j === 0) next[j] = 1n;
      else next[j] = (i > 0 ? (row[j] as bigint) : 0n) + (j > 0 ? (next[j - 1] as bigint) : 0n);
    }
    row = next;
  }
  let total = 1n;
  for (let k = 1; k <= n; k++) total = (total * BigInt(m + k)) / BigInt(k);
  return ratio(total - (row[n] as bigint), total);
}

/** num/den as the nearest double-ish value, keeping relative precision for tiny ratios. */
function ratio(num: bigint, den: bigint): number {
  if (num === 0n) return 0;
  const shift = BigInt(den.toString(2).length - num.toString(2).length + 80);
  const q = (num << shift) / den;
  return Number(q) / 2 ** Number(shift);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

describe("two-sample KS p-value: SciPy's ks_2samp(method='auto')", () => {
  // SciPy tests, TestKSTwoSamples: (x, y, D, two-sided p), all exact (max(n1, n2) <= 10 000).
  const x100 = linspace(1, 100, 100);
  const x110 = linspace(1, 100, 110);
  const x2233 = Float64Array.from([2, 2, 2, 3, 3, 3, 3, 5, 5, 5, 5, 5, 6, 6, 6, 6]);
  const x2356 = Float64Array.from([
    ...Array(3).fill(2),
    ...Array(4).fill(3),
    ...Array(10).fill(5),
    ...Array(4).fill(6),
  ]);
  const x3467 = Float64Array.from([
    ...Array(10).fill(3),
    ...Array(2).fill(4),
    ...Array(10).fill(6),
    ...Array(4).fill(7),
  ]);
  const cases = [
    { name: 'test100_110, +20.1', a: x100, b: shift(x110, 20.1), d: 232 / 1100, p: 0.015739183865607353 },
    { name: 'test100_110, +19.9', a: x100, b: shift(x110, 19.9), d: 229 / 1100, p: 0.017803803861026313 },
    { name: 'testRepeatedValues, 16 × 16', a: x2233, b: shift(x2233, 1), d: 5 / 16, p: 0.4262934613454952 },
    { name: 'testRepeatedValues, 21 × 26', a: x2356, b: x3467, d: 190 / 21 / 26, p: 0.0919245790168125 },
    { name: 'test100_100', a: x100, b: shift(x100, 2.1), d: 3 / 100, p: 0.999999999996206 },
    { name: 'testTwoVsFour', a: Float64Array.from([0.99, 1.99]), b: linspace(1, 4, 4), d: 3 / 4, p: 6 / 15 },
    { name: 'testTwoVsThree', a: Float64Array.from([0.99, 1.99]), b: linspace(1, 3, 3), d: 2 / 3, p: 0.6 },
  ];
  for (const c of cases) {
    it(`${c.name}: D and p as printed in SciPy's tests (relative 1e-12)`, () => {
      const a = Float64Array.from(c.a).sort();
      const b = Float64Array.from(c.b).sort();
      const d = ksStatistic(a, b);
      assertClose(d, c.d, 1e-12);
      const result = ksTwoSamplePValue(d, a.length, b.length);
      assert.equal(result.method, 'exact');
      assertClose(result.p, c.p, 1e-12);
    });
  }

  it("testLarge (10 000 × 110): exact, equal to twice SciPy's one-sided exact p for the same D", () => {
    // SciPy's test prints the two-sided p as 4.2188474935755949e-15 but compares it with atol=1e-14 (a
    // legacy value, "the original tests used assert_array_almost_equal"). Its one-sided 'less' p for the
    // same D, 3.1317328311518713e-26, comes from the exact path count; P(D⁺ ≥ d) = P(D⁻ ≥ d) by symmetry
    // and P(both) is negligible this far out, so the two-sided p is twice it.
    const a = Float64Array.from(linspace(1, 200, 10_000).map((v) => v - 1 / 10_000 / 110 / 4));
    const b = linspace(2, 100, 110);
    const d = ksStatistic(a, b);
    assertClose(d, 55275 / (10_000 * 11), 1e-12);
    const result = ksTwoSamplePValue(d, 10_000, 110);
    assert.equal(result.method, 'exact');
    assertClose(result.p, 2 * 3.1317328311518713e-26, 1e-9);
    assert.ok(Math.abs(result.p - 4.2188474935755949e-15) < 1e-14);
  });

  it("testLargeBoth (10 000 × 11 000): past the exact limit, SciPy's asymptotic kstwo.sf(D, round(nₑ))", () => {
    const d = 563 / 110_000;
    const result = ksTwoSamplePValue(d, 10_000, 11_000);
    assert.equal(result.method, 'asymp');
    assertClose(result.p, 0.9990660108966576, 1e-12);
    // SciPy's method='exact' for the same D: 0.9990456491488628 (exact recursion, forced here).
    assertClose(ksTwoSampleExactSf(10_000, 11_000, 563), 0.9990456491488628, 1e-12);
  });

  it('switches to asymptotic exactly above 10 000 values on either side', () => {
    assert.equal(KS_EXACT_LIMIT, 10_000);
    assert.equal(ksTwoSamplePValue(0.05, 1000, 10_000).method, 'exact');
    assert.equal(ksTwoSamplePValue(0.05, 1000, 10_001).method, 'asymp');
    // Asymptotic: one-sample law at n = round(1000 · 10 001 / 11 001) = 909.
    assertClose(ksTwoSamplePValue(0.05, 1000, 10_001).p, kolmogorovSmirnovSf(909, 0.05), 1e-15);
  });

  it('equals the exact rational oracle, including tiny p-values and unequal, coprime sizes', () => {
    const grid = [
      [7, 5],
      [13, 17],
      [20, 20],
      [24, 36],
      [37, 53],
      [60, 45],
    ] as const;
    let checked = 0;
    for (const [m, n] of grid) {
      const lcm = (m / gcd(m, n)) * n;
      for (const fraction of [0.05, 0.2, 0.35, 0.5, 0.8, 1]) {
        const h = Math.max(1, Math.round(fraction * lcm));
        const expected = oracleSf(m, n, h);
        assertClose(ksTwoSampleExactSf(m, n, h), expected, 1e-12, 1e-300);
        assertClose(ksTwoSampleExactSf(n, m, h), expected, 1e-12, 1e-300);
        checked++;
      }
    }
    assert.equal(checked, 36);
    // A p-value far below double-precision epsilon keeps its relative precision (no 1 − p cancellation).
    const tiny = oracleSf(37, 53, Math.round(0.8 * 37 * 53));
    assert.ok(tiny < 1e-13 && tiny > 0, `oracle ${tiny}`);
    assertClose(ksTwoSampleExactSf(37, 53, Math.round(0.8 * 37 * 53)), tiny, 1e-12);
  });
});

describe("one-sample KS distribution: SciPy's kstwo.sf (the asymptotic route)", () => {
  it("equals MTW 2003's worked example for the Durbin matrix", () => {
    assertClose(1 - kolmogorovSmirnovSf(10, 0.274), 0.6284796154565043, 1e-13);
  });

  it("equals the closed forms SciPy's TestKSTwo checks (Ruben–Gambino ends, 2·smirnov at ½)", () => {
    for (const n of [1, 2, 3, 10, 100, 1000]) {
      assert.equal(kolmogorovSmirnovSf(n, 0.5 / n), 1);
      // sf(1/n) = 1 − n!/nⁿ
      let factorialOverPower = 1;
      for (let i = 1; i <= n; i++) factorialOverPower *= i / n;
      assertClose(kolmogorovSmirnovSf(n, 1 / n), 1 - factorialOverPower, 1e-12);
      if (n > 1) assertClose(kolmogorovSmirnovSf(n, 1 - 1 / n), Math.min(1, 2 * (1 / n) ** n), 1e-12, 1e-300);
      if (n > 2) assertClose(kolmogorovSmirnovSf(n, 0.5), 2 * smirnovSf(n, 0.5), 1e-14);
      assert.equal(kolmogorovSmirnovSf(n, 1), 0);
    }
  });

  it("smirnov(n, ½) equals SciPy's TestSmirnov table (printed to 12 digits)", () => {
    const table = [
      [1, 0.5],
      [2, 0.25],
      [3, 0.166666666667],
      [4, 0.09375],
      [5, 0.056],
      [6, 0.0327932098765],
      [7, 0.0191958707681],
      [8, 0.0112953186035],
      [9, 0.00661933257355],
      [10, 0.003888705],
    ] as const;
    for (const [n, p] of table) assertClose(smirnovSf(n, 0.5), p, 1e-11);
    assertClose(smirnovSf(1, 0.1), 0.9, 1e-14);
    assertClose(smirnovSf(3, 0.875), 0.125 ** 3, 1e-13);
  });

  it('decreases in x, stays in [0, 1] across the method switch points', () => {
    for (const n of [50, 140, 141, 909, 5238, 200_000]) {
      let last = 1;
      for (let k = 1; k <= 400; k++) {
        const x = k / 400;
        const p = kolmogorovSmirnovSf(n, x);
        assert.ok(p >= 0 && p <= 1, `n=${n} x=${x} p=${p}`);
        assert.ok(p <= last + 1e-9, `n=${n} x=${x}: ${p} > ${last}`);
        last = p;
      }
    }
  });
});
