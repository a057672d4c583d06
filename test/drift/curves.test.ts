/**
 * ROC and reliability curves of the report: the area equals the Mann–Whitney AUC (ties ½) and
 * the project's rank AUC, the points run monotonically from (0, 0) to (1, 1), the bins are
 * NumPy's means per bin, and the multiclass curves are one-vs-rest per class.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { performanceCurves } from '../../src/drift/check/performance.ts';
import { reliabilityCurve, rocAucFromGroups, rocCurve } from '../../src/drift/statistics/index.ts';
import { seededRandom } from './helpers.ts';

// 40 rows, scores on a 0.1 grid (many ties). Expected values from SciPy 1.17.1 / NumPy 2.4.6 on the
// same rows (built by the same integer formulas; the AUC is recomputed by test/drift/reference-values/scipy_values.py):
//   scipy.stats.mannwhitneyu(pos, neg).statistic / (19 * 21) -> 0.9486215538847118
//   per bin b = min(9, floor(10 s)): s[b].mean(), y[b].mean()  -> the table below
const scores = Array.from({ length: 40 }, (_, i) => Math.floor(((i * 37) % 101) / 10) / 10);
const labels = Array.from({ length: 40 }, (_, i) => (((i * 37) % 101) + ((i * 13) % 7) * 10 > 80 ? 1 : 0));

describe('ROC curve', () => {
  it('has the Mann–Whitney area with ties counted ½ (SciPy)', () => {
    const roc = rocCurve(scores, labels);
    assert.equal(roc.positives, 19);
    assert.equal(roc.negatives, 21);
    assert.ok(Math.abs((roc.auc as number) - 0.9486215538847118) < 1e-12, String(roc.auc));
  });

  it('runs from (0, 0) to (1, 1), monotone, one point per distinct score', () => {
    const roc = rocCurve(scores, labels);
    assert.deepEqual(roc.points[0], [0, 0]);
    assert.deepEqual(roc.points.at(-1), [1, 1]);
    assert.equal(roc.points.length, new Set(scores).size + 1);
    for (let i = 1; i < roc.points.length; i++) {
      const [f0, t0] = roc.points[i - 1] as [number, number];
      const [f1, t1] = roc.points[i] as [number, number];
      assert.ok(f1 >= f0 && t1 >= t0);
    }
  });

  it('equals the rank AUC on random scores, and is thinned to 101 points without changing it', () => {
    const random = seededRandom(3);
    const n = 5000;
    const s = Float64Array.from({ length: n }, () => random());
    const y = Uint8Array.from(s, (v) => (random() < v ? 1 : 0));
    const roc = rocCurve(s, y);
    const pos = s.filter((_, i) => y[i] === 1);
    const neg = s.filter((_, i) => y[i] === 0);
    assert.ok(Math.abs((roc.auc as number) - (rocAucFromGroups(pos, neg) as number)) < 1e-12);
    assert.equal(roc.points.length, 101);
    assert.deepEqual(roc.points.at(-1), [1, 1]);
  });

  it('has no curve when the outcomes hold one class only, and skips non-finite scores', () => {
    assert.equal(rocCurve([0.2, 0.9], [1, 1]).auc, null);
    const roc = rocCurve([0.1, Number.NaN, 0.9], [0, 1, 1]);
    assert.equal(roc.positives, 1);
    assert.equal(roc.auc, 1);
  });
});

describe('reliability curve', () => {
  it('gives each bin its mean predicted probability and observed share (NumPy)', () => {
    const bins = reliabilityCurve(scores, labels);
    const expected = [
      [0, 4, 0.0, 0.0],
      [1, 4, 0.1, 0.0],
      [2, 4, 0.2, 0.0],
      [3, 4, 0.3, 0.25],
      [4, 4, 0.4, 0.25],
      [5, 4, 0.5, 0.5],
      [6, 3, 0.6, 1.0],
      [7, 4, 0.7, 0.75],
      [8, 4, 0.8, 1.0],
      [9, 5, 0.9200000000000002, 1.0],
    ];
    assert.equal(bins.length, expected.length);
    bins.forEach((bin, i) => {
      const [b, count, mean, observed] = expected[i] as number[];
      assert.equal(bin.lower, (b as number) / 10);
      assert.equal(bin.count, count);
      assert.ok(Math.abs(bin.mean_predicted - (mean as number)) < 1e-12, `${b}: ${bin.mean_predicted}`);
      assert.equal(bin.observed, observed);
    });
  });
});

describe('curves of a classifier', () => {
  it('binary: the positive class only; multiclass: each class against the rest', () => {
    const binary = performanceCurves([0, 1, 1, 0], [0.8, 0.2, 0.3, 0.7, 0.4, 0.6, 0.6, 0.4], ['no', 'yes']);
    assert.deepEqual(
      binary.roc.map((c) => [c.class, c.auc]),
      [['yes', 1]],
    );
    // Three classes: class c's score is column c; unknown outcomes (-1) are left out.
    const actual = [0, 1, 2, 2, -1];
    const probabilities = [0.7, 0.2, 0.1, 0.1, 0.6, 0.3, 0.2, 0.3, 0.5, 0.6, 0.1, 0.3, 0.9, 0.05, 0.05];
    const multi = performanceCurves(actual, probabilities, ['a', 'b', 'c']);
    assert.deepEqual(
      multi.roc.map((c) => [c.class, c.positives, c.negatives]),
      [
        ['a', 1, 3],
        ['b', 1, 3],
        ['c', 2, 2],
      ],
    );
    // Class c: positives score 0.5 and 0.3, negatives 0.1 and 0.3: (2 + 1.5) / 4.
    assert.equal(multi.roc[2]?.auc, 0.875);
    assert.equal(multi.calibration.length, 3);
  });
});
