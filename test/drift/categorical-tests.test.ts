import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chiSquaredHomogeneityTest, chiSquaredTest, zTest } from '../../src/drift/statistics/chi-squared.ts';
import {
  jensenShannonDistance,
  jensenShannonTest,
  populationStabilityIndex,
  psiTest,
} from '../../src/drift/statistics/divergence.ts';
import { assertClose } from './helpers.ts';

describe('chi-squared goodness of fit (Evidently: chisquare(current, expected=reference proportions × n_current))', () => {
  // Expected values printed in SciPy's own docstring of scipy.stats.chisquare (scipy/stats/_stats_py.py,
  // read at commit 3dbf660a of the SciPy repository):
  //   chisquare([16, 18, 16, 14, 12, 12])                                -> statistic=2.0, pvalue=0.84914503608460956
  //   chisquare([16, 18, 16, 14, 12, 12], f_exp=[16, 16, 16, 16, 16, 8]) -> statistic=3.5, pvalue=0.62338762774958223
  // Reference counts proportional to f_exp give the same expected counts (n_current = 88).
  it("matches SciPy's documented chisquare examples", () => {
    const uniform = chiSquaredTest([1, 1, 1, 1, 1, 1], [16, 18, 16, 14, 12, 12], 0.05);
    assertClose(uniform.statistic, 2, 1e-14);
    assertClose(uniform.p_value, 0.84914503608460956, 1e-12);
    assert.equal(uniform.df, 5);
    assert.equal(uniform.method, 'goodness-of-fit');
    const weighted = chiSquaredTest([2, 2, 2, 2, 2, 1], [16, 18, 16, 14, 12, 12], 0.05);
    assertClose(weighted.statistic, 3.5, 1e-14);
    assertClose(weighted.p_value, 0.62338762774958223, 1e-12);
  });

  it('equals the closed form with two degrees of freedom (p = exp(−χ²/2))', () => {
    // expected = [10, 20, 30]: χ² = 20²/10 + 0 + 20²/30 = 160/3.
    const result = chiSquaredTest([10, 20, 30], [30, 20, 10], 0.05);
    assertClose(result.statistic, 160 / 3, 1e-14);
    assertClose(result.p_value, Math.exp(-80 / 3), 1e-12);
    assert.equal(result.df, 2);
    assert.equal(result.drifted, true);
    // Unequal sizes: expected = reference × 30/60 = [5, 10, 15]; χ² = 1/5 + 0 + 1/15 = 4/15.
    const scaled = chiSquaredTest([10, 20, 30], [6, 10, 14], 0.05);
    assertClose(scaled.statistic, 4 / 15, 1e-14);
    assertClose(scaled.p_value, Math.exp(-2 / 15), 1e-12);
  });

  it('gives an infinite statistic and p = 0 for a value the reference never saw (as SciPy does)', () => {
    const result = chiSquaredTest([120, 90, 40, 0], [100, 110, 35, 5], 0.05);
    assert.equal(result.statistic, Number.POSITIVE_INFINITY);
    assert.equal(result.p_value, 0);
    assert.equal(result.df, 3);
    assert.equal(result.drifted, true);
  });

  it('drops buckets empty on both sides from the degrees of freedom', () => {
    assert.equal(chiSquaredTest([10, 0, 20], [12, 0, 18], 0.05).df, 1);
  });

  it('has nothing to compare with a single bucket or an empty side', () => {
    assert.deepEqual(chiSquaredTest([7], [9], 0.05), {
      test: 'chisquare',
      statistic: 0,
      p_value: 1,
      threshold: 0.05,
      drifted: false,
      df: 0,
      method: 'goodness-of-fit',
    });
    assert.equal(chiSquaredTest([0, 0], [3, 4], 0.05).p_value, 1);
  });
});

describe('chi-squared test of homogeneity (the option chisquare_method: homogeneity)', () => {
  // Pearson's statistic on the 2 × k table (scipy.stats.chi2_contingency(table, correction=False)).
  // The first case is checked in closed form: χ² = 20 with df = 2, so p = exp(−10).
  // The others: chi2_contingency(np.array([reference, current]), correction=False) with SciPy 1.17.1 /
  // NumPy 2.4.6, recomputed by test/drift/reference-values/scipy_values.py (their statistics are also the hand-computable Pearson sums).
  const cases = [
    { reference: [10, 20, 30], current: [30, 20, 10], statistic: 20, p: Math.exp(-10), df: 2 },
    { reference: [60, 40], current: [40, 60], statistic: 8, p: 0.004677734981047276, df: 1 },
    {
      reference: [120, 90, 40, 0],
      current: [100, 110, 35, 5],
      statistic: 9.151515151515152,
      p: 0.02734278512677493,
      df: 3,
    },
    { reference: [5, 0], current: [0, 5], statistic: 10, p: 0.001565402258002549, df: 1 },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.reference)} vs ${JSON.stringify(c.current)}`, () => {
      const result = chiSquaredTest(c.reference, c.current, 0.05, 'homogeneity');
      assertClose(result.statistic, c.statistic, 1e-12);
      assertClose(result.p_value, c.p, 1e-10);
      assert.equal(result.df, c.df);
      assert.equal(result.drifted, c.p < 0.05);
      assert.equal(result.method, 'homogeneity');
      assert.deepEqual(result, chiSquaredHomogeneityTest(c.reference, c.current, 0.05));
    });
  }
});

describe('two-proportion z-test', () => {
  // Evidently's proportions_diff_z_stat_ind formula (pooled two-proportion z), p = 2 * norm.sf(|z|):
  // SciPy 1.17.1, recomputed by test/drift/reference-values/scipy_values.py
  it('matches the pooled z statistic and its p-value', () => {
    const a = zTest([60, 40], [40, 60], 0.05);
    assertClose(a.statistic, 2.8284271247461894, 1e-12);
    assertClose(a.p_value, 0.004677734981047275, 1e-10);
    const b = zTest([30, 50], [50, 40], 0.05);
    assertClose(b.statistic, -2.3541564241009567, 1e-12);
    assertClose(b.p_value, 0.018564796925718163, 1e-10);
  });

  it('gives the 2 × 2 chi-squared p-value (z² = χ²)', () => {
    const z = zTest([30, 50], [50, 40], 0.05);
    const chi = chiSquaredHomogeneityTest([30, 50], [50, 40], 0.05);
    assertClose(z.statistic ** 2, chi.statistic, 1e-12);
    assertClose(z.p_value, chi.p_value ?? Number.NaN, 1e-10);
  });

  it('is 0 with p = 1 when one value holds everything', () => {
    const result = zTest([10, 0], [20, 0], 0.05);
    assert.equal(result.statistic, 0);
    assert.equal(result.p_value, 1);
  });
});

describe('Jensen–Shannon distance', () => {
  // Evidently calls scipy.spatial.distance.jensenshannon(p, q) with the default base e. Expected values:
  //   SciPy's docstring and scipy/spatial/distance/tests/test_distance.py::test_jensenshannon:
  //     jensenshannon([1.0, 0.0], [0.5, 0.5]) -> 0.46450140402245893
  //     jensenshannon(a, b, axis=1) with a = [[1..4],[5..8],[9..12]], b = [[13..16],[17..20],[21..24]]
  //       -> [0.1402339, 0.0399106, 0.0201815] (printed to 7 digits)
  //   closed forms: disjoint supports give √ln 2; the base-2 distance times √ln 2 is the natural one.
  it('matches scipy.spatial.distance.jensenshannon with its default (natural) base', () => {
    assertClose(jensenShannonDistance([1, 0], [0.5, 0.5]), 0.46450140402245893, 1e-14);
    assertClose(jensenShannonDistance([1, 0, 0], [0, 1, 0]), Math.sqrt(Math.LN2), 1e-15);
    const rows = [
      [[1, 2, 3, 4], [13, 14, 15, 16], 0.1402339],
      [[5, 6, 7, 8], [17, 18, 19, 20], 0.0399106],
      [[9, 10, 11, 12], [21, 22, 23, 24], 0.0201815],
    ] as const;
    for (const [a, b, expected] of rows) assertClose(jensenShannonDistance(a, b), expected, 5e-6);
    // [1, 0] vs [½, ½] by hand: m = [¾, ¼], JS = ½ ln(4/3) + ½(½ ln(2/3) + ½ ln 2).
    const byHand = Math.sqrt(0.5 * Math.log(4 / 3) + 0.5 * (0.5 * Math.log(2 / 3) + 0.5 * Math.LN2));
    assertClose(jensenShannonDistance([1, 0], [0.5, 0.5]), byHand, 1e-15);
  });

  it('is 0 for proportional counts and drifts from 0.1', () => {
    assert.equal(jensenShannonDistance([1, 2, 3], [10, 20, 30]), 0);
    // 0.12648391422536812 with base 2, so √ln 2 × that = 0.10530… naturally.
    const d = jensenShannonDistance([120, 90, 40, 0], [100, 110, 35, 5]);
    assert.ok(d > 0.105 && d < 0.106, `got ${d}`);
    assert.equal(jensenShannonTest([120, 90, 40, 0], [100, 110, 35, 5], 0.1).drifted, true);
    assert.equal(jensenShannonTest([120, 90, 40, 0], [100, 110, 35, 5], 0.11).drifted, false);
  });
});

describe('population stability index', () => {
  // Σ (c − r) ln(c / r) over proportions floored at 1e-4, evaluated in NumPy 2.4.6 (test/drift/reference-values/scipy_values.py)
  it('matches the definition', () => {
    assertClose(populationStabilityIndex([50, 50], [40, 60]), 0.04054651081081642, 1e-12);
    assertClose(
      populationStabilityIndex(
        [10, 10, 10, 10, 10, 10, 10, 10, 10, 10],
        [5, 5, 8, 9, 10, 10, 11, 12, 14, 16],
      ),
      0.12108983439237198,
      1e-12,
    );
  });

  it('floors empty buckets at epsilon', () => {
    assertClose(populationStabilityIndex([50, 50, 0], [45, 50, 5]), 0.31537696989415864, 1e-12);
    assert.ok(Number.isFinite(populationStabilityIndex([1, 0], [0, 1])));
  });

  it('reads the customary levels with threshold 0.2', () => {
    assert.equal(psiTest([50, 50], [40, 60], 0.2).drifted, false);
    assert.equal(psiTest([50, 50, 0], [45, 50, 5], 0.2).drifted, true);
  });
});
