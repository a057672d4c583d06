import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCategoricalProfile } from '../../src/drift/statistics/categorical-profile.ts';
import { chooseTest } from '../../src/drift/statistics/choose.ts';
import { alignCategories, compareCategorical } from '../../src/drift/statistics/compare-categorical.ts';
import { compareNumeric } from '../../src/drift/statistics/compare-numeric.ts';
import { mergeNumericProfiles } from '../../src/drift/statistics/merge.ts';
import { buildNumericProfile } from '../../src/drift/statistics/numeric-profile.ts';
import { resolveDriftOptions } from '../../src/drift/statistics/options.ts';
import { predictionLabelDrift, predictionScoreDrift } from '../../src/drift/statistics/prediction.ts';
import { prepareNumeric } from '../../src/drift/statistics/sorted.ts';
import { categoricalSample, normalSample } from './helpers.ts';

describe('chooseTest (Evidently defaults)', () => {
  it('follows the size and n_unique rule', () => {
    assert.equal(chooseTest('numeric', 1000, 6), 'ks');
    assert.equal(chooseTest('numeric', 1000, 5), 'chisquare');
    assert.equal(chooseTest('numeric', 1000, 2), 'z');
    assert.equal(chooseTest('categorical', 200, 40), 'chisquare');
    assert.equal(chooseTest('categorical', 200, 2), 'z');
    assert.equal(chooseTest('numeric', 1001, 6), 'wasserstein');
    assert.equal(chooseTest('numeric', 1001, 5), 'jensenshannon');
    assert.equal(chooseTest('categorical', 1001, 2), 'jensenshannon');
  });
});

describe('compareNumeric', () => {
  const smallReference = buildNumericProfile(normalSample(800, 0, 1, 11));
  const largeReference = buildNumericProfile(normalSample(20_000, 0, 1, 12));

  it('runs KS for a small reference: same distribution ok, shifted drift', () => {
    const same = compareNumeric('x', smallReference, normalSample(2000, 0, 1, 13));
    assert.equal(same.test?.test, 'ks');
    assert.equal(same.verdict, 'ok');
    assert.ok((same.test?.p_value ?? 0) > 0.1);
    const shifted = compareNumeric('x', smallReference, normalSample(2000, 0.4, 1, 14));
    assert.equal(shifted.test?.test, 'ks');
    assert.equal(shifted.verdict, 'drift');
    assert.equal(shifted.test?.drifted, true);
    assert.equal(shifted.psi?.test, 'psi');
    assert.equal(shifted.referenceCount, 800);
    assert.equal(shifted.currentCount, 2000);
  });

  it('runs normalised Wasserstein for a large reference (sketched)', () => {
    assert.equal(largeReference.sketch.exact, false);
    const same = compareNumeric('x', largeReference, normalSample(50_000, 0, 1, 15));
    assert.equal(same.test?.test, 'wasserstein');
    assert.equal(same.verdict, 'ok');
    assert.ok((same.test?.statistic ?? 1) < 0.03);
    const shifted = compareNumeric('x', largeReference, normalSample(50_000, 0.5, 1, 16));
    assert.equal(shifted.verdict, 'drift');
    assert.ok(Math.abs((shifted.test?.statistic ?? 0) - 0.5) < 0.03);
    assert.ok((shifted.psi?.statistic ?? 0) > 0.2);
    const slight = compareNumeric('x', largeReference, normalSample(50_000, 0.07, 1, 17));
    assert.equal(slight.verdict, 'warning');
  });

  it('accepts a prepared sample and a profile built with the reference binning', () => {
    const current = normalSample(3000, 0.3, 1, 18);
    const fromRaw = compareNumeric('x', largeReference, current);
    const fromSorted = compareNumeric('x', largeReference, prepareNumeric(current));
    assert.deepEqual(fromSorted, fromRaw);
    const half = current.length / 2;
    const fromProfile = compareNumeric(
      'x',
      largeReference,
      mergeNumericProfiles(
        buildNumericProfile(current.subarray(0, half), { binning: largeReference }),
        buildNumericProfile(current.subarray(half), { binning: largeReference }),
      ),
    );
    assert.equal(fromProfile.test?.test, 'wasserstein');
    assert.ok(Math.abs((fromProfile.test?.statistic ?? 0) - (fromRaw.test?.statistic ?? 1)) < 0.005);
    assert.deepEqual(fromProfile.psi, fromRaw.psi);
    assert.throws(() => compareNumeric('x', largeReference, buildNumericProfile(current)), /bins differ/);
  });

  it('tests a column with at most 5 distinct values as categorical', () => {
    const reference = buildNumericProfile(Float64Array.from({ length: 600 }, (_, i) => i % 3));
    const same = compareNumeric(
      'rooms',
      reference,
      Float64Array.from({ length: 300 }, (_, i) => i % 3),
    );
    assert.equal(same.test?.test, 'chisquare');
    assert.equal(same.nUnique, 3);
    assert.equal(same.test?.statistic, 0);
    const shifted = compareNumeric(
      'rooms',
      reference,
      Float64Array.from({ length: 300 }, (_, i) => (i % 4 === 0 ? 1 : 2)),
    );
    assert.equal(shifted.verdict, 'drift');

    const binary = buildNumericProfile(Float64Array.from({ length: 500 }, (_, i) => i % 2));
    assert.equal(compareNumeric('flag', binary, Float64Array.of(0, 1, 1)).test?.test, 'z');

    const large = buildNumericProfile(Float64Array.from({ length: 5000 }, (_, i) => i % 4));
    assert.equal(compareNumeric('rooms', large, Float64Array.of(0, 1, 2, 3)).test?.test, 'jensenshannon');
  });

  it('counts reference and current values together for n_unique', () => {
    const reference = buildNumericProfile(Float64Array.from({ length: 300 }, (_, i) => i % 3));
    const current = Float64Array.from({ length: 300 }, (_, i) => i % 9);
    const result = compareNumeric('x', reference, current);
    assert.equal(result.nUnique, 9);
    assert.equal(result.test?.test, 'ks');
  });

  it('reports an empty window as untested, not as NaN', () => {
    const result = compareNumeric('x', smallReference, [Number.NaN, null]);
    assert.equal(result.test, null);
    assert.equal(result.reason, 'no current values');
    assert.equal(result.currentMissing, 2);
    assert.equal(result.verdict, 'ok');
  });

  it('compares against a constant reference', () => {
    const reference = buildNumericProfile(new Float64Array(5000).fill(1));
    const same = compareNumeric('c', reference, new Float64Array(100).fill(1));
    assert.equal(same.test?.statistic, 0);
    const moved = compareNumeric('c', reference, new Float64Array(100).fill(1.5));
    assert.equal(moved.verdict, 'drift');
  });

  it('runs a forced test, or says why it cannot', () => {
    const psi = compareNumeric('x', smallReference, normalSample(500, 0, 1, 19), { test: 'psi' });
    assert.equal(psi.test?.test, 'psi');
    assert.deepEqual(psi.test, psi.psi);
    const chi = compareNumeric('x', smallReference, normalSample(500, 2, 1, 20), { test: 'chisquare' });
    assert.equal(chi.test?.test, 'chisquare');
    assert.equal(chi.verdict, 'drift');
    const z = compareNumeric('x', smallReference, normalSample(500, 0, 1, 21), { test: 'z' });
    assert.equal(z.test, null);
    assert.match(z.reason ?? '', /at most two values/);
  });
});

describe('compareCategorical', () => {
  const labels = ['red', 'green', 'blue', 'black'];

  it('runs chi-squared for a small reference and JS for a large one', () => {
    const small = buildCategoricalProfile(categoricalSample(900, labels, [4, 3, 2, 1], 31));
    const sameSample = categoricalSample(900, labels, [4, 3, 2, 1], 32);
    const same = compareCategorical('colour', small, sameSample, { chiSquaredMethod: 'homogeneity' });
    assert.equal(same.test?.test, 'chisquare');
    assert.equal(same.verdict, 'ok');
    // Evidently's goodness of fit is the default: it reads the reference sample's own noise as exact
    // proportions, so the same two samples score a smaller p-value than under homogeneity.
    const gof = compareCategorical('colour', small, sameSample);
    assert.equal(gof.test?.method, 'goodness-of-fit');
    assert.ok((gof.test?.p_value ?? 1) < (same.test?.p_value ?? 0));
    const shifted = compareCategorical('colour', small, categoricalSample(900, labels, [1, 2, 3, 4], 33));
    assert.equal(shifted.verdict, 'drift');

    const large = buildCategoricalProfile(categoricalSample(20_000, labels, [4, 3, 2, 1], 34));
    const sameLarge = compareCategorical(
      'colour',
      large,
      categoricalSample(20_000, labels, [4, 3, 2, 1], 35),
    );
    assert.equal(sameLarge.test?.test, 'jensenshannon');
    assert.equal(sameLarge.verdict, 'ok');
    const shiftedLarge = compareCategorical(
      'colour',
      large,
      categoricalSample(20_000, labels, [1, 2, 3, 4], 36),
    );
    assert.equal(shiftedLarge.verdict, 'drift');
  });

  it('gives new categories their own buckets and keeps a real "other" apart from the pool', () => {
    const reference = buildCategoricalProfile(['a', 'a', 'b', 'other', 'c'], { maxCategories: 2 });
    const aligned = alignCategories(reference, ['a', 'other', 'new', 'new', null]);
    assert.deepEqual(aligned.labels, ['a', 'b', 'new', 'other', '\u0000other']);
    assert.deepEqual(aligned.reference, [2, 1, 0, 0, 2]);
    assert.deepEqual(aligned.current, [1, 0, 2, 1, 0]);
    assert.equal(aligned.currentMissing, 1);
  });

  it('uses z for a binary column and reports a single-valued window sensibly', () => {
    const reference = buildCategoricalProfile(categoricalSample(400, ['yes', 'no'], [1, 1], 37));
    const result = compareCategorical('answer', reference, ['yes', 'yes', 'yes']);
    assert.equal(result.test?.test, 'z');
    const empty = compareCategorical('answer', reference, []);
    assert.equal(empty.test, null);
    assert.equal(empty.reason, 'no current values');
  });
});

describe('verdict levels', () => {
  it('warns between alpha and alpha / warningRatio for p-values', () => {
    // 2 × 2 table [[100, 100], [118, 82]]: χ² = 3.266, p = 0.0707, between 0.05 and 0.1.
    const reference = buildCategoricalProfile([...Array(100).fill('x'), ...Array(100).fill('y')]);
    const current = [...Array(118).fill('x'), ...Array(82).fill('y')];
    const homogeneity = { test: 'chisquare', chiSquaredMethod: 'homogeneity' } as const;
    const result = compareCategorical('f', reference, current, homogeneity);
    const p = result.test?.p_value ?? 0;
    assert.ok(p > 0.05 && p < 0.1, `p = ${p}`);
    assert.equal(result.verdict, 'warning');
    assert.equal(
      compareCategorical('f', reference, current, { ...homogeneity, warningRatio: 1 }).verdict,
      'ok',
    );
  });

  it('rejects invalid settings with a message naming them', () => {
    assert.throws(
      () => resolveDriftOptions({ thresholds: { ks: 1.5 } }),
      /threshold for 'ks' must be in \(0, 1\)/,
    );
    assert.throws(() => resolveDriftOptions({ warningRatio: 0 }), /warningRatio/);
    assert.throws(() => resolveDriftOptions({ driftShare: 2 }), /driftShare/);
    assert.throws(() => resolveDriftOptions({ correction: 'holm' as never }), /correction must be one of/);
    assert.throws(() => resolveDriftOptions({ test: 'anderson' as never }), /test must be one of/);
    assert.equal(resolveDriftOptions({ thresholds: { psi: undefined } }).thresholds.psi, 0.2);
  });
});

describe('prediction drift', () => {
  it('compares predicted labels and scores with the reference predictions', () => {
    const labels = buildCategoricalProfile(categoricalSample(5000, ['0', '1', '2'], [5, 3, 2], 41));
    const same = predictionLabelDrift(labels, categoricalSample(5000, ['0', '1', '2'], [5, 3, 2], 42));
    assert.equal(same.feature, 'prediction');
    assert.equal(same.verdict, 'ok');
    const skewed = predictionLabelDrift(labels, categoricalSample(5000, ['0', '1', '2'], [2, 3, 5], 43));
    assert.equal(skewed.verdict, 'drift');

    const scores = buildNumericProfile(normalSample(5000, 0.3, 0.1, 44));
    assert.equal(predictionScoreDrift(scores, normalSample(5000, 0.3, 0.1, 45)).verdict, 'ok');
    assert.equal(predictionScoreDrift(scores, normalSample(5000, 0.4, 0.1, 46)).verdict, 'drift');
  });
});
