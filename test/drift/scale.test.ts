import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCategoricalProfile } from '../../src/drift/statistics/categorical-profile.ts';
import { classificationMetrics } from '../../src/drift/statistics/classification.ts';
import { compareCategorical } from '../../src/drift/statistics/compare-categorical.ts';
import { compareNumeric } from '../../src/drift/statistics/compare-numeric.ts';
import { buildNumericProfile } from '../../src/drift/statistics/numeric-profile.ts';
import { regressionMetrics } from '../../src/drift/statistics/regression.ts';
import { prepareNumeric } from '../../src/drift/statistics/sorted.ts';
import { assessDataset } from '../../src/drift/statistics/verdict.ts';
import { categoricalSample, normalSample, seededRandom } from './helpers.ts';

const ROWS = 1_000_000;

// A smoke test at production scale: no timing assertion, the time is printed as a diagnostic.
describe('scale: 1 M reference rows × 1 M current rows', () => {
  it('profiles and tests numeric and categorical features, and computes performance', () => {
    const started = performance.now();
    const features = [
      { name: 'n0', reference: normalSample(ROWS, 0, 1, 1), current: normalSample(ROWS, 0, 1, 2) },
      { name: 'n1', reference: normalSample(ROWS, 10, 3, 3), current: normalSample(ROWS, 11, 3, 4) },
      { name: 'n2', reference: normalSample(ROWS, -5, 0.5, 5), current: normalSample(ROWS, -5, 0.6, 6) },
    ];
    const results = features.map(({ name, reference, current }) => {
      const profile = JSON.parse(JSON.stringify(buildNumericProfile(reference)));
      const sample = prepareNumeric(current);
      // The same sorted copy serves the test and the current histogram for the report.
      const currentProfile = buildNumericProfile(sample, { binning: profile });
      assert.equal(currentProfile.count, ROWS);
      return compareNumeric(name, profile, sample);
    });
    const labels = ['a', 'b', 'c', 'd', 'e'];
    const categorical = compareCategorical(
      'c0',
      buildCategoricalProfile(categoricalSample(ROWS, labels, [5, 4, 3, 2, 1], 7)),
      categoricalSample(ROWS, labels, [5, 4, 3, 2, 1], 8),
    );
    const dataset = assessDataset([...results, categorical]);
    assert.deepEqual(
      dataset.features.map((f) => [f.feature, f.test?.test, f.verdict]),
      [
        ['n0', 'wasserstein', 'ok'],
        ['n1', 'wasserstein', 'drift'],
        ['n2', 'wasserstein', 'drift'],
        ['c0', 'jensenshannon', 'ok'],
      ],
    );
    assert.equal(dataset.verdict, 'drift');

    const random = seededRandom(9);
    const actual = new Int32Array(ROWS);
    const predicted = new Int32Array(ROWS);
    const scores = new Float64Array(ROWS);
    for (let i = 0; i < ROWS; i++) {
      actual[i] = random() < 0.3 ? 1 : 0;
      scores[i] = Math.min(1, Math.max(0, 0.3 + (actual[i] === 1 ? 0.2 : -0.1) + 0.3 * (random() - 0.5)));
      predicted[i] = (scores[i] ?? 0) >= 0.5 ? 1 : 0;
    }
    const classification = classificationMetrics({ actual, predicted, scores, classes: 2 });
    assert.ok((classification.rocAuc ?? 0) > 0.9);
    const regression = regressionMetrics(features[0]?.reference ?? [], features[0]?.current ?? []);
    assert.equal(regression.count, ROWS);
    console.log(
      `# scale: 4 features and performance metrics at ${ROWS} rows in ${Math.round(performance.now() - started)} ms`,
    );
  });
});
