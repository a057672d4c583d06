import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JoinedRows } from '../../src/drift/check/accumulator.ts';
import { FloatColumn } from '../../src/drift/check/columns.ts';
import { assessPerformance } from '../../src/drift/check/performance.ts';
import { parseDriftSettings } from '../../src/drift/check/settings.ts';
import { classificationMetrics } from '../../src/drift/statistics/index.ts';

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
