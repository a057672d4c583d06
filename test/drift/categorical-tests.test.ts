import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chiSquaredTest, zTest } from '../../src/drift/statistics/chi-squared.ts';
import {
  jensenShannonDistance,
  jensenShannonTest,
  populationStabilityIndex,
  psiTest,
} from '../../src/drift/statistics/divergence.ts';
import { assertClose } from './helpers.ts';

describe('chi-squared test of homogeneity', () => {
  // scipy.stats.chi2_contingency(np.array([reference, current]), correction=False), SciPy 1.17.1
  const cases = [
    { reference: [10, 20, 30], current: [30, 20, 10], statistic: 20, p: 4.539992976248486e-5, df: 2 },
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
      const result = chiSquaredTest(c.reference, c.current, 0.05);
      assertClose(result.statistic, c.statistic, 1e-12);
      assertClose(result.p_value, c.p, 1e-10);
      assert.equal(result.df, c.df);
      assert.equal(result.drifted, c.p < 0.05);
      assert.equal(result.test, 'chisquare');
    });
  }

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
    });
    assert.equal(chiSquaredTest([0, 0], [3, 4], 0.05).p_value, 1);
  });
});

describe('two-proportion z-test', () => {
  // Evidently's proportions_diff_z_stat_ind formula evaluated in NumPy, p = 2 * norm.sf(|z|) (SciPy 1.17.1)
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
    const chi = chiSquaredTest([30, 50], [50, 40], 0.05);
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
  // scipy.spatial.distance.jensenshannon(p, q, 2.0), SciPy 1.17.1 (the first is its docs' example)
  it('matches scipy.spatial.distance.jensenshannon with base 2', () => {
    assertClose(jensenShannonDistance([1, 0, 0], [0, 1, 0]), 1, 1e-15);
    assertClose(jensenShannonDistance([1, 0], [0.5, 0.5]), 0.5579230452841438, 1e-12);
    assertClose(jensenShannonDistance([10, 20, 30], [30, 20, 10]), 0.35470351519813204, 1e-12);
    assertClose(jensenShannonDistance([120, 90, 40, 0], [100, 110, 35, 5]), 0.12648391422536812, 1e-12);
  });

  it('is 0 for proportional counts and drifts from 0.1', () => {
    assert.equal(jensenShannonDistance([1, 2, 3], [10, 20, 30]), 0);
    assert.equal(jensenShannonTest([120, 90, 40, 0], [100, 110, 35, 5], 0.1).drifted, true);
    assert.equal(jensenShannonTest([120, 90, 40, 0], [100, 110, 35, 5], 0.13).drifted, false);
  });
});

describe('population stability index', () => {
  // Σ (c − r) ln(c / r) over proportions floored at 1e-4, evaluated in NumPy 2.4.6
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
