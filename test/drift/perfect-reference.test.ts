import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JoinedRows } from '../../src/drift/check/accumulator.ts';
import { FloatColumn } from '../../src/drift/check/columns.ts';
import { estimatedPerformance } from '../../src/drift/check/estimated-performance.ts';
import { assessPerformance } from '../../src/drift/check/performance.ts';
import { parseDriftSettings } from '../../src/drift/check/settings.ts';
import {
  addCbpeRow,
  classificationMetrics,
  emptyCbpeSums,
  fitCbpe,
} from '../../src/drift/statistics/index.ts';

/** 200 joined predictions, `correct` of them right (two classes). */
function joined(correct: number): JoinedRows {
  const actual = new FloatColumn();
  const predicted = new FloatColumn();
  for (let i = 0; i < 200; i++) {
    const label = i % 2;
    actual.push(label);
    predicted.push(i < correct ? label : 1 - label);
  }
  return { actual, predicted, probabilities: null, delays: new FloatColumn(), late: 0 };
}

function referenceWithAccuracy(accuracy: number) {
  const n = 100;
  const right = Math.round(accuracy * n);
  const actual = Array.from({ length: n }, (_, i) => i % 2);
  const predicted = actual.map((label, i) => (i < right ? label : 1 - label));
  return { label_column: 'label', classification: classificationMetrics({ actual, predicted, classes: 2 }) };
}

describe('performance against a perfect reference', () => {
  const settings = parseDriftSettings(undefined, 'm');

  it('a drop from a perfect reference accuracy (training rows) is a warning that says why, not degraded', () => {
    const section = assessPerformance(
      'classification',
      joined(180),
      ['0', '1'],
      referenceWithAccuracy(1),
      settings,
    );

    assert.equal(section.verdict, 'warning');
    assert.match(section.reason ?? '', /reference accuracy is perfect \(1\).*training rows.*hold-out rows/);
  });

  it('the same drop from an honest (hold-out) reference is degraded', () => {
    const section = assessPerformance(
      'classification',
      joined(180),
      ['0', '1'],
      referenceWithAccuracy(0.97),
      settings,
    );

    assert.equal(section.verdict, 'degraded');
  });
});

describe('estimated performance (CBPE) against a perfect reference', () => {
  it('has no calibrated threshold when the reference chunks all score the same, and says why', () => {
    // Reference: a model right on every row (training rows), so every chunk's accuracy is 1.
    const n = 1000;
    const actual = Array.from({ length: n }, (_, i) => i % 2);
    const probabilities = actual.flatMap((label) => (label === 1 ? [0.1, 0.9] : [0.9, 0.1]));
    const model = fitCbpe({ classes: 2, actual, predicted: actual, probabilities });
    assert.ok(model);
    assert.equal(model.reference.accuracy?.std, 0);
    const sums = emptyCbpeSums(2);
    const scratch = new Float64Array(2);
    for (let i = 0; i < 200; i++) addCbpeRow(model, sums, i % 2, i % 2 ? [0.3, 0.7] : [0.7, 0.3], scratch);
    const reference = {
      schema: 1 as const,
      model: 'm',
      created_at: '2026-01-01T00:00:00.000Z',
      task: 'classification' as const,
      source: { file: 'r.csv', format: 'csv' as const, rows: n, unscored_rows: 0, label_column: 'label' },
      rows: n,
      features: [],
      prediction: null,
      performance: { label_column: 'label', cbpe: model },
    };
    const section = estimatedPerformance(reference, sums, {}, null, 100, []);
    assert.equal(section.metrics.accuracy?.threshold, null);
    assert.equal(section.metrics.accuracy?.degraded, false);
    assert.equal(section.verdict, 'ok');
    assert.match(section.reason ?? '', /no spread/);
    // A fixed threshold still judges it: 0.05 below the reference's 1.
    const fixed = estimatedPerformance(reference, sums, {}, null, 100, [], {
      maxDrop: null,
      maxRelativeDrop: null,
    });
    assert.equal(fixed.metrics.accuracy?.threshold, 0.95);
    assert.equal(fixed.verdict, 'degraded');
  });
});
