import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ksPValue, ksStatistic, ksTest } from '../../src/drift/statistics/ks.ts';
import { kolmogorovSmirnovSf } from '../../src/drift/statistics/ks-distribution.ts';
import { kolmogorovSurvival } from '../../src/drift/statistics/special.ts';
import { wasserstein1, wassersteinTest } from '../../src/drift/statistics/wasserstein.ts';
import { assertClose } from './helpers.ts';

const sorted = (values: number[]) => Float64Array.from(values).sort();

// Samples and expected figures: SciPy 1.17.1 / NumPy 2.4.6 output, recomputed (all equal within the
// tolerances below) by test/drift/reference-values/scipy_values.py:
//   rng = np.random.default_rng(20240601)
//   x = np.round(rng.normal(0, 1, 25), 2); y = np.round(rng.normal(0.5, 1, 30), 2)
//   stats.ks_2samp(x, y, method='asymp')  -> D, p (SciPy's asymp: kstwo.sf(D, round(n1 n2/(n1+n2))))
//   stats.ks_2samp(x, y, method='exact')  -> the exact two-sample p-value
//   special.kolmogorov((√en + 0.12 + 0.11/√en) * D) -> Stephens' corrected p-value (the former method)
// The exact p-values are also checked below against an exact rational oracle (BigInt path counts).
const X = [
  0.65, 0.47, -0.64, -1.18, -0.14, 1.2, 1.33, 0.91, 0.35, 1.6, 1.23, -0.22, -1.06, -0.36, -0.42, 0.69, -1.9,
  -0.19, 1.67, -0.92, -0.76, -0.08, -1.42, -0.13, -0.02,
];
const Y = [
  0.5, -0.49, 0.13, 1.15, -0.21, 1.05, 1.16, -0.93, -0.15, 1.16, 0.99, 0.68, 0.15, 0.61, 2.37, 0.28, 1.08,
  0.08, 0.3, 1.15, -0.43, 0.26, -0.11, -0.36, 0.68, 1.74, 0.72, 0.12, -0.95, 1.32,
];
const TIES_A = [0, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 6, 7, 8, 9, 9];
const TIES_B = [1, 2, 3, 3, 4, 4, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 8, 8, 9, 9, 9, 9];
// Low-discrepancy sequences, identical in IEEE arithmetic in Python and JavaScript.
const GOLDEN_REF = Array.from({ length: 400 }, (_, i) => ((i + 1) * 0.6180339887498949) % 1);
const GOLDEN_CUR = Array.from({ length: 500 }, (_, j) => {
  const u = ((j + 1) * Math.SQRT2) % 1;
  return u * (0.5 + 0.5 * u);
});

const cases = [
  // name, a, b, D, p(Stephens), p(SciPy asymp), p(SciPy exact)
  {
    name: 'normal samples',
    a: X,
    b: Y,
    d: 1 / 3,
    stephens: 0.0751679669967469,
    asymp: 0.0688809531212683,
    exact: 0.07589608911163262,
  },
  {
    name: 'tied integers',
    a: TIES_A,
    b: TIES_B,
    d: 0.3772727272727273,
    stephens: 0.07579911568143965,
    asymp: 0.08691354632744364,
    exact: 0.07429420982502821,
  },
  {
    name: 'n = 400 vs 500',
    a: GOLDEN_REF,
    b: GOLDEN_CUR,
    d: 0.129,
    stephens: 0.0010810870924935446,
    asymp: 0.0011115871383709582,
    exact: 0.0011139986889182947,
  },
];

describe('two-sample Kolmogorov–Smirnov', () => {
  for (const c of cases) {
    it(`${c.name}: D equals SciPy's, p is SciPy's exact p (method='auto' at these sizes)`, () => {
      const a = sorted(c.a);
      const b = sorted(c.b);
      assertClose(ksStatistic(a, b), c.d, 1e-12);
      const p = ksPValue(ksStatistic(a, b), a.length, b.length);
      assertClose(p, c.exact, 1e-12);
      // The former Stephens approximation was 1–3 % off here; SciPy's one-sample asymp 15 %.
      assert.ok(Math.abs(p - c.stephens) / c.exact > 1e-3);
      assertClose(
        kolmogorovSurvival(
          (Math.sqrt((a.length * b.length) / (a.length + b.length)) +
            0.12 +
            0.11 / Math.sqrt((a.length * b.length) / (a.length + b.length))) *
            c.d,
        ),
        c.stephens,
        1e-10,
      );
    });
  }

  it('gives D = 0 and p = 1 for identical samples', () => {
    const a = sorted(X);
    const result = ksTest({ atoms: a, size: a.length }, { atoms: a, size: a.length }, 0.05);
    assert.deepEqual(result, {
      test: 'ks',
      statistic: 0,
      p_value: 1,
      threshold: 0.05,
      drifted: false,
      method: 'exact',
    });
  });

  it('gives D = 1 for disjoint samples and drifts', () => {
    const result = ksTest({ atoms: [1, 2, 3], size: 300 }, { atoms: [4, 5], size: 200 }, 0.05);
    assert.equal(result.statistic, 1);
    assert.ok((result.p_value ?? 1) < 1e-50);
    assert.equal(result.drifted, true);
  });

  it('uses the observation counts, not the sketch length, for the p-value', () => {
    const d = ksStatistic([1, 2, 3, 4], [1.5, 2.5, 3.5, 4.5]);
    const small = ksTest({ atoms: [1, 2, 3, 4], size: 4 }, { atoms: [1.5, 2.5, 3.5, 4.5], size: 4 }, 0.05);
    const large = ksTest(
      { atoms: [1, 2, 3, 4], size: 40_000 },
      { atoms: [1.5, 2.5, 3.5, 4.5], size: 40_000 },
      0.05,
    );
    assert.equal(small.statistic, d);
    assert.equal(large.statistic, d);
    // 40 000 per side is past SciPy's exact limit: kstwo.sf(D, round(20 000)).
    assert.equal(large.method, 'asymp');
    assertClose(large.p_value, kolmogorovSmirnovSf(20_000, d), 1e-15);
    assert.equal(small.method, 'exact');
    assert.ok((large.p_value ?? 1) < (small.p_value ?? 0));
  });

  it('is NaN, not a throw, with an empty side', () => {
    assert.ok(Number.isNaN(ksStatistic([], [1])));
    assert.ok(Number.isNaN(ksPValue(0.5, 0, 3)));
  });
});

describe('Wasserstein-1 distance', () => {
  // scipy.stats.wasserstein_distance on the same samples (SciPy 1.17.1, test/drift/reference-values/scipy_values.py);
  // the first is its docs' example.
  it('matches scipy.stats.wasserstein_distance', () => {
    assertClose(wasserstein1([0, 1, 3], [5, 6, 8]), 5, 1e-15);
    assertClose(wasserstein1(sorted(X), sorted(Y)), 0.46606666666666674, 1e-12);
    assertClose(wasserstein1(sorted(TIES_A), sorted(TIES_B)), 1.8136363636363637, 1e-12);
    assertClose(wasserstein1(sorted(GOLDEN_REF), sorted(GOLDEN_CUR)), 0.08370851292327078, 1e-11);
  });

  it('normalises by the reference population std, as Evidently (W / np.std(reference))', () => {
    const ref = sorted(GOLDEN_REF);
    const result = wassersteinTest(
      { atoms: ref, size: ref.length },
      { atoms: sorted(GOLDEN_CUR), size: 500 },
      0.28831102599444314,
      0.1,
    );
    assertClose(result.statistic, 0.29034100459579426, 1e-11);
    assert.equal(result.drifted, true);
    assert.equal(result.threshold, 0.1);
    assert.equal(result.p_value, undefined);
  });

  it('floors the norm at 0.001 for a constant reference', () => {
    const result = wassersteinTest({ atoms: [2, 2], size: 2 }, { atoms: [2.001, 2.001], size: 2 }, 0, 0.1);
    assertClose(result.statistic, 1, 1e-9);
  });

  it('is 0 for identical samples and the shift for a shifted copy', () => {
    const a = sorted(X);
    assert.equal(wasserstein1(a, a), 0);
    assertClose(
      wasserstein1(
        a,
        a.map((v) => v + 0.25),
      ),
      0.25,
      1e-12,
    );
  });
});
