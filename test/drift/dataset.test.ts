import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FeatureDrift, TestResult } from '../../src/drift/statistics/types.ts';
import { adjustPValues, assessDataset, verdictOf } from '../../src/drift/statistics/verdict.ts';
import { assertAllClose, assertClose } from './helpers.ts';

function feature(name: string, test: TestResult | null): FeatureDrift {
  return {
    feature: name,
    kind: 'numeric',
    referenceCount: 100,
    currentCount: 100,
    currentMissing: 0,
    nUnique: 50,
    test,
    psi: null,
    verdict: test ? verdictOf(test, 0.5) : 'ok',
  };
}
const ks = (p: number): TestResult => ({
  test: 'ks',
  statistic: 0.2,
  p_value: p,
  threshold: 0.05,
  drifted: p < 0.05,
});
const ws = (d: number): TestResult => ({
  test: 'wasserstein',
  statistic: d,
  threshold: 0.1,
  drifted: d >= 0.1,
});

describe('adjustPValues', () => {
  // scipy.stats.false_discovery_control(ps, method='bh'), SciPy 1.17.1 (test/drift/reference-values/scipy_values.py)
  it('matches SciPy for Benjamini–Hochberg', () => {
    const adjusted = adjustPValues([0.01, 0.04, 0.03, 0.2, 0.005, 0.5], 'benjamini-hochberg');
    assertAllClose(adjusted, [0.03, 0.06, 0.06, 0.24, 0.03, 0.5]);
    assert.deepEqual(
      adjustPValues([0.01, 0.04, 0.03], 'benjamini-hochberg').map((p) => +p.toFixed(12)),
      [0.03, 0.04, 0.04],
    );
  });

  it('multiplies by m for Bonferroni, capped at 1, and leaves them with none', () => {
    assert.deepEqual(
      adjustPValues([0.01, 0.3, 0.02], 'bonferroni').map((p) => +p.toFixed(12)),
      [0.03, 0.9, 0.06],
    );
    assert.deepEqual(adjustPValues([0.5, 0.6], 'bonferroni'), [1, 1]);
    assert.deepEqual(adjustPValues([0.5, 0.01], 'none'), [0.5, 0.01]);
    assert.deepEqual(adjustPValues([], 'benjamini-hochberg'), []);
  });
});

describe('assessDataset', () => {
  it('corrects p-value tests only, then judges each feature on the adjusted p-value', () => {
    const result = assessDataset([feature('a', ks(0.04)), feature('b', ks(0.03)), feature('c', ws(0.12))]);
    const [a, b, c] = result.features;
    // BH over the two KS tests: both adjusted to 0.04 → still drift.
    assertClose(a?.adjusted_p_value, 0.04, 1e-12);
    assertClose(b?.adjusted_p_value, 0.04, 1e-12);
    assert.equal(a?.verdict, 'drift');
    assert.equal(c?.adjusted_p_value, undefined);
    assert.equal(c?.verdict, 'drift');
    assert.equal(result.drifted, 3);
    assert.equal(result.verdict, 'drift');

    const bonferroni = assessDataset([feature('a', ks(0.04)), feature('b', ks(0.03))], {
      correction: 'bonferroni',
    });
    assert.deepEqual(
      bonferroni.features.map((f) => [f.verdict, f.test?.drifted]),
      [
        ['warning', false],
        ['warning', false],
      ],
    );
    assert.equal(bonferroni.verdict, 'warning');
    assert.equal(bonferroni.features[0]?.test?.p_value, 0.04);
  });

  it('declares dataset drift from half the tested features (Evidently drift_share 0.5)', () => {
    const four = [
      feature('a', ws(0.2)),
      feature('b', ws(0.3)),
      feature('c', ws(0.01)),
      feature('d', ws(0.02)),
    ];
    const result = assessDataset(four);
    assert.equal(result.share, 0.5);
    assert.equal(result.verdict, 'drift');
    assert.equal(assessDataset(four, { driftShare: 0.75 }).verdict, 'warning');
  });

  it('is ok with no drifted feature, warning with one, and leaves untested features out of the share', () => {
    assert.equal(assessDataset([feature('a', ws(0.01)), feature('b', ws(0.02))]).verdict, 'ok');
    const one = assessDataset([feature('a', ws(0.2)), feature('b', ws(0.02)), feature('c', ws(0.03))]);
    assert.equal(one.verdict, 'warning');
    const withUntested = assessDataset([feature('a', ws(0.2)), feature('b', null), feature('c', ws(0.01))]);
    assert.equal(withUntested.tested, 2);
    assert.equal(withUntested.untested, 1);
    assert.equal(withUntested.share, 0.5);
    assert.equal(withUntested.verdict, 'drift');
    const nothing = assessDataset([feature('a', null)]);
    assert.equal(nothing.verdict, 'ok');
    assert.equal(nothing.share, 0);
  });

  it('warns when drift plus warning features reach the share', () => {
    const result = assessDataset([feature('a', ws(0.06)), feature('b', ws(0.07)), feature('c', ws(0.01))]);
    assert.equal(result.warnings, 2);
    assert.equal(result.verdict, 'warning');
  });
});
