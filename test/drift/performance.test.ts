import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classificationMetrics } from '../../src/drift/statistics/classification.ts';
import { regressionMetrics } from '../../src/drift/statistics/regression.ts';
import { rocAucFromGroups } from '../../src/drift/statistics/roc.ts';
import { assertClose } from './helpers.ts';

// Expected values are the outputs printed in scikit-learn's documentation examples for the same
// inputs (precision_recall_fscore_support, confusion_matrix, roc_auc_score, log_loss, r2_score,
// mean_absolute_error, mean_squared_error); scikit-learn itself is not run. The Mann–Whitney value
// is recomputed with SciPy 1.17.1 by test/drift/reference-values/scipy_values.py.

describe('classificationMetrics', () => {
  it('per-class and macro precision, recall, F1 (scikit-learn docs example)', () => {
    const m = classificationMetrics({ actual: [0, 1, 2, 0, 1, 2], predicted: [0, 2, 1, 0, 0, 1] });
    assertClose(m.accuracy, 1 / 3, 1e-15);
    assertClose(m.macro.precision, 0.2222222222222222, 1e-12);
    assertClose(m.macro.recall, 0.3333333333333333, 1e-12);
    assertClose(m.macro.f1, 0.26666666666666666, 1e-12);
    assert.deepEqual(
      m.perClass.map((c) => [c.precision, c.recall, c.f1]),
      [
        [2 / 3, 1, 0.8],
        [0, 0, 0],
        [0, 0, 0],
      ],
    );
    assert.deepEqual(m.reasons, {
      rocAuc: 'no probabilities given (multiclass ROC AUC is one-vs-rest on them)',
      logLoss: 'no probabilities given',
    });
  });

  it('confusion matrix rows are actual classes (scikit-learn docs example)', () => {
    const m = classificationMetrics({ actual: [2, 0, 2, 2, 0, 1], predicted: [0, 0, 2, 2, 0, 2] });
    assert.deepEqual(m.confusion, [
      [2, 0, 0],
      [0, 0, 1],
      [1, 0, 2],
    ]);
    // Class 1 is never predicted: precision undefined (null), counted as 0 in the macro mean.
    assert.equal(m.perClass[1]?.precision, null);
    assertClose(m.macro.precision, (2 / 3 + 0 + 2 / 3) / 3, 1e-12);
  });

  it('ROC AUC by ranks (roc_auc_score docs: 0.75) and with ties counted as ½', () => {
    const m = classificationMetrics({
      actual: [0, 0, 1, 1],
      predicted: [0, 0, 0, 1],
      scores: [0.1, 0.4, 0.35, 0.8],
    });
    assertClose(m.rocAuc, 0.75, 1e-15);
    // Mann–Whitney U / (n₁n₂) from scipy.stats.mannwhitneyu([0.5, 0.9], [0.5, 0.2]) = 3.5 / 4
    assertClose(rocAucFromGroups(Float64Array.of(0.5, 0.9), Float64Array.of(0.5, 0.2)), 0.875, 1e-15);
    assertClose(rocAucFromGroups(Float64Array.of(1, 1), Float64Array.of(1, 1, 1)), 0.5, 1e-15);
  });

  it('multiclass ROC AUC: the mean of each class against the rest (SciPy per class)', () => {
    // 30 rows, 3 classes; expected 0.91 = mean of mannwhitneyu per class (0.9, 0.86, 0.97), SciPy
    // 1.17.1, recomputed by test/drift/reference-values/scipy_values.py on the same rows.
    const actual: number[] = [];
    const probabilities: number[] = [];
    for (let i = 0; i < 30; i++) {
      const y = i % 3;
      const a = ((i * 7) % 10) + (y === 0 ? 4 : 0);
      const b = ((i * 3) % 10) + (y === 1 ? 4 : 0);
      const c = ((i * 11) % 10) + 1 + (y === 2 ? 4 : 0);
      const t = a + b + c;
      actual.push(y);
      probabilities.push(a / t, b / t, c / t);
    }
    const predicted = actual.map((_, i) => {
      const row = probabilities.slice(3 * i, 3 * i + 3);
      return row.indexOf(Math.max(...row));
    });
    const m = classificationMetrics({ actual, predicted, classes: 3, probabilities });
    assertClose(m.rocAuc, 0.91, 1e-12);
    assert.equal(m.reasons.rocAuc, undefined);
    // A class absent from the outcomes is left out of the mean.
    const two = classificationMetrics({
      actual: actual.map((y) => (y === 2 ? 0 : y)),
      predicted,
      classes: 3,
      probabilities,
    });
    assert.ok(two.rocAuc !== null && two.rocAuc > 0 && two.rocAuc < 1);
  });

  it('log loss from class probabilities (log_loss docs example: 0.21616…)', () => {
    // ['spam', 'ham', 'ham', 'spam'] with ham = 0, spam = 1
    const m = classificationMetrics({
      actual: [1, 0, 0, 1],
      predicted: [1, 0, 0, 1],
      probabilities: [0.1, 0.9, 0.9, 0.1, 0.8, 0.2, 0.35, 0.65],
    });
    assertClose(m.logLoss, 0.21616187468057912, 1e-12);
    assertClose(m.rocAuc, 1, 1e-15);
    const fromScores = classificationMetrics({
      actual: [1, 0, 0, 1],
      predicted: [1, 0, 0, 1],
      scores: [0.9, 0.1, 0.2, 0.65],
    });
    assertClose(fromScores.logLoss, 0.21616187468057912, 1e-12);
  });

  it('clips probabilities so a confident mistake is finite', () => {
    const m = classificationMetrics({ actual: [1, 0], predicted: [0, 0], scores: [0, 0] });
    assertClose(m.logLoss, -Math.log(1e-15) / 2, 1e-12);
  });

  it('returns null with a reason for degenerate inputs', () => {
    const empty = classificationMetrics({ actual: [], predicted: [] });
    assert.equal(empty.accuracy, null);
    assert.equal(empty.macro.f1, null);
    assert.equal(empty.count, 0);
    assert.ok(empty.reasons.accuracy);

    const single = classificationMetrics({
      actual: [1, 1, 1],
      predicted: [1, 0, 1],
      classes: 2,
      scores: [0.9, 0.4, 0.8],
    });
    assert.equal(single.rocAuc, null);
    assert.match(single.reasons.rocAuc ?? '', /single class/);
    assertClose(single.accuracy, 2 / 3, 1e-15);

    const invalid = classificationMetrics({
      actual: [0, 1, Number.NaN, 5, -1],
      predicted: [0, 1, 1, 1, 0],
      classes: 2,
    });
    assert.equal(invalid.count, 2);
    assert.equal(invalid.skipped, 3);
    assert.equal(invalid.accuracy, 1);
  });

  it('refuses mismatched lengths', () => {
    assert.throws(() => classificationMetrics({ actual: [0, 1], predicted: [0] }), RangeError);
    assert.throws(
      () => classificationMetrics({ actual: [0, 1], predicted: [0, 1], scores: [0.5] }),
      RangeError,
    );
  });
});

describe('regressionMetrics', () => {
  it('MAE, RMSE and R² (scikit-learn docs example)', () => {
    const m = regressionMetrics(Float64Array.of(3, -0.5, 2, 7), Float64Array.of(2.5, 0, 2, 8));
    assertClose(m.mae, 0.5, 1e-15);
    assertClose(m.rmse, 0.6123724356957945, 1e-15);
    assertClose(m.r2, 0.9486081370449679, 1e-14);
    assertClose(m.meanError, 0.25, 1e-15);
  });

  it('skips non-finite pairs and explains undefined values', () => {
    const m = regressionMetrics([1, Number.NaN, 1, 1], [2, 5, Number.POSITIVE_INFINITY, 0]);
    assert.equal(m.count, 2);
    assert.equal(m.skipped, 2);
    assert.equal(m.r2, null);
    assert.match(m.reasons.r2 ?? '', /constant/);
    assert.equal(m.mae, 1);

    const none = regressionMetrics([], []);
    assert.deepEqual([none.mae, none.rmse, none.r2, none.meanError], [null, null, null, null]);
    assert.ok(none.reasons.mae);
    assert.equal(regressionMetrics([1], [2]).r2, null);
  });
});
