import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCategoricalProfile } from '../../src/drift/statistics/categorical-profile.ts';
import { ksStatistic } from '../../src/drift/statistics/ks.ts';
import { mergeCategoricalProfiles, mergeNumericProfiles } from '../../src/drift/statistics/merge.ts';
import {
  binCounts,
  buildNumericProfile,
  equalWidthEdges,
  histogramOf,
  quantileCuts,
} from '../../src/drift/statistics/numeric-profile.ts';
import { midQuantiles, sketchQuantile } from '../../src/drift/statistics/sketch.ts';
import { prepareNumeric, quantileSorted } from '../../src/drift/statistics/sorted.ts';
import { wasserstein1 } from '../../src/drift/statistics/wasserstein.ts';
import { assertAllClose, assertClose, normalSample } from './helpers.ts';

const X = [
  0.65, 0.47, -0.64, -1.18, -0.14, 1.2, 1.33, 0.91, 0.35, 1.6, 1.23, -0.22, -1.06, -0.36, -0.42, 0.69, -1.9,
  -0.19, 1.67, -0.92, -0.76, -0.08, -1.42, -0.13, -0.02,
];

describe('buildNumericProfile', () => {
  // Expected: NumPy 2.4.6 — X.mean(), X.std(), np.quantile(X, ps), np.histogram(X, bins=4)
  // (recomputed by test/drift/reference-values/scipy_values.py)
  const profile = buildNumericProfile([...X, Number.NaN, null, Number.POSITIVE_INFINITY], {
    histogramBins: 4,
  });

  it('counts finite values and treats NaN, null and ±Infinity as missing', () => {
    assert.equal(profile.count, 25);
    assert.equal(profile.missing, 3);
    assert.equal(profile.min, -1.9);
    assert.equal(profile.max, 1.67);
    assert.equal(profile.distinct, 25);
  });

  it('has NumPy moments and type-7 quantiles', () => {
    assertClose(profile.mean, 0.026400000000000024, 1e-12);
    assertClose(profile.std, 0.9493824519128211, 1e-12);
    const expected = [
      -1.9, -1.7848, -1.3719999999999999, -1.132, -0.64, -0.13, 0.69, 1.2900000000000003, 1.5459999999999994,
      1.6531999999999998, 1.67,
    ];
    assert.deepEqual(
      profile.quantiles.map((q) => q.p),
      [0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1],
    );
    assertAllClose(
      profile.quantiles.map((q) => q.value),
      expected,
      1e-12,
      1e-15,
    );
  });

  it('has the same histogram as np.histogram', () => {
    assert.deepEqual(profile.histogram.counts, [4, 9, 6, 6]);
    assert.equal(profile.histogram.below, 0);
    assert.equal(profile.histogram.above, 0);
    assertAllClose(
      profile.histogram.edges,
      [-1.9, -1.0074999999999998, -0.11499999999999999, 0.7774999999999999, 1.67],
    );
  });

  it('cuts PSI bins at the deciles, right-closed', () => {
    const deciles = [
      -1.132, -0.7919999999999999, -0.40800000000000003, -0.20199999999999996, -0.13, 0.12799999999999948,
      0.6139999999999995, 0.9680000000000009, 1.2900000000000003,
    ];
    assertAllClose(profile.psiBins.cuts, deciles);
    assert.equal(profile.psiBins.counts.length, 10);
    assert.equal(
      profile.psiBins.counts.reduce((a, b) => a + b, 0),
      25,
    );
  });

  it('keeps a small column exactly and survives a JSON round trip', () => {
    assert.equal(profile.sketch.exact, true);
    assert.deepEqual(
      profile.sketch.values,
      [...X].sort((a, b) => a - b),
    );
    assert.deepEqual(JSON.parse(JSON.stringify(profile)), profile);
    assert.equal(profile.discrete, null);
  });

  it('keeps exact value counts for a column with few values', () => {
    const p = buildNumericProfile(Float64Array.of(3, 1, 1, 2, 3, 3));
    assert.deepEqual(p.discrete, { values: [1, 2, 3], counts: [2, 1, 3] });
    assert.equal(p.distinct, 3);
  });

  it('summarises an empty or constant column without NaN', () => {
    const empty = buildNumericProfile([Number.NaN]);
    assert.equal(empty.count, 0);
    assert.equal(empty.missing, 1);
    assert.equal(empty.mean, null);
    assert.deepEqual(empty.quantiles, []);
    assert.deepEqual(empty.histogram, { edges: [], counts: [], below: 0, above: 0 });
    assert.deepEqual(JSON.parse(JSON.stringify(empty)), empty);

    const constant = buildNumericProfile(new Float64Array(50).fill(7));
    assert.equal(constant.std, 0);
    assert.deepEqual(constant.histogram, { edges: [7, 7], counts: [50], below: 0, above: 0 });
    assert.deepEqual(constant.psiBins, { cuts: [], counts: [50] });
  });

  it('sketches a large column within 1/(2K) in CDF and close in Wasserstein', () => {
    const raw = normalSample(200_000, 10, 3, 7);
    const profile = buildNumericProfile(raw, { sketchSize: 1000 });
    assert.equal(profile.sketch.exact, false);
    assert.equal(profile.sketch.values.length, 1000);
    const sorted = prepareNumeric(raw).values;
    assert.ok(ksStatistic(profile.sketch.values, sorted) <= 1 / 2000 + 1e-9);
    assert.ok(wasserstein1(profile.sketch.values, sorted) / (profile.std ?? 1) < 0.005);
  });

  it('refuses nonsense sizes', () => {
    assert.throws(() => buildNumericProfile([1], { sketchSize: 0 }), RangeError);
    assert.throws(() => buildNumericProfile([1], { histogramBins: 1.5 }), RangeError);
  });
});

describe('binning helpers', () => {
  it('count into fixed edges and right-closed cuts', () => {
    assert.deepEqual(equalWidthEdges(0, 1, 4), [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(histogramOf(Float64Array.of(-1, 0, 0.5, 1, 2), [0, 0.5, 1]), {
      edges: [0, 0.5, 1],
      counts: [1, 2],
      below: 1,
      above: 1,
    });
    assert.deepEqual(quantileCuts(Float64Array.of(1, 2, 3, 4, 5), 2), [3]);
    assert.deepEqual(binCounts(Float64Array.of(1, 2, 3, 4, 5), [3]), [3, 2]);
    // Zero-inflated data: the tied deciles collapse into one cut and its bin holds all the zeros.
    const zeros = Float64Array.from({ length: 100 }, (_, i) => (i < 60 ? 0 : i));
    const cuts = quantileCuts(zeros, 10);
    assert.equal(cuts[0], 0);
    assert.equal(binCounts(zeros, cuts)[0], 60);
  });

  it('reads mid-quantiles and sketch quantiles', () => {
    assert.deepEqual(Array.from(midQuantiles(Float64Array.of(1, 2, 3, 4), null, 2)), [1.5, 3.5]);
    assert.equal(sketchQuantile([1.5, 3.5], 1, 4, 0.5), 2.5);
    assert.equal(sketchQuantile([1.5, 3.5], 1, 4, 0), 1);
    assert.equal(sketchQuantile([1.5, 3.5], 1, 4, 1), 4);
    assert.equal(quantileSorted(Float64Array.of(1, 2, 3, 4), 0.5), 2.5);
  });
});

describe('buildCategoricalProfile', () => {
  it('counts, ranks and caps categories, pooling the tail in other', () => {
    const profile = buildCategoricalProfile(['b', 'a', 'b', 'c', null, 'a', 'b', undefined, 'd', ''], {
      maxCategories: 2,
    });
    assert.deepEqual(profile, {
      kind: 'categorical',
      count: 8,
      missing: 2,
      distinct: 5,
      categories: ['b', 'a'],
      counts: [3, 2],
      other: 3,
    });
  });

  it('keys numbers and booleans by String() and treats NaN as missing', () => {
    const profile = buildCategoricalProfile([1, 1, true, Number.NaN, 2]);
    assert.deepEqual(profile.categories, ['1', '2', 'true']);
    assert.equal(profile.missing, 1);
  });

  it('is safe with category names such as __proto__', () => {
    const profile = buildCategoricalProfile(['__proto__', 'constructor', '__proto__']);
    assert.deepEqual(profile.categories, ['__proto__', 'constructor']);
    assert.deepEqual(JSON.parse(JSON.stringify(profile)), profile);
  });
});

describe('merging profiles', () => {
  it('merges numeric profiles built with the same binning exactly in counts and moments', () => {
    const reference = buildNumericProfile(normalSample(5000, 0, 1, 1));
    const a = normalSample(3000, 0.2, 1.1, 2);
    const b = normalSample(4000, -0.1, 0.9, 3);
    const merged = mergeNumericProfiles(
      buildNumericProfile(a, { binning: reference }),
      buildNumericProfile(b, { binning: reference }),
    );
    const direct = buildNumericProfile(Float64Array.from([...a, ...b]), { binning: reference });
    assert.equal(merged.count, direct.count);
    assert.equal(merged.min, direct.min);
    assert.equal(merged.max, direct.max);
    assertClose(merged.mean, direct.mean ?? Number.NaN, 1e-12, 1e-15);
    assertClose(merged.std, direct.std ?? Number.NaN, 1e-12);
    assert.deepEqual(merged.histogram, direct.histogram);
    assert.deepEqual(merged.psiBins, direct.psiBins);
    assert.ok(ksStatistic(merged.sketch.values, direct.sketch.values) <= 2 / 1000);
    assertAllClose(
      merged.quantiles.map((q) => q.value),
      direct.quantiles.map((q) => q.value),
      0,
      0.02,
    );
  });

  it('stays exact while the merged count fits the sketch', () => {
    const reference = buildNumericProfile([1, 2, 3, 4, 5]);
    const merged = mergeNumericProfiles(
      buildNumericProfile([3, 1], { binning: reference }),
      buildNumericProfile([2, Number.NaN], { binning: reference }),
    );
    assert.deepEqual(merged.sketch, { exact: true, values: [1, 2, 3] });
    assert.equal(merged.missing, 1);
    assert.deepEqual(merged.discrete, { values: [1, 2, 3], counts: [1, 1, 1] });
    assert.equal(merged.quantiles.find((q) => q.p === 0.5)?.value, 2);
  });

  it('refuses profiles with different bins', () => {
    assert.throws(
      () => mergeNumericProfiles(buildNumericProfile([1, 2, 3]), buildNumericProfile([1, 5, 9])),
      {
        name: 'RangeError',
        message: /different bins/,
      },
    );
  });

  it('merges categorical profiles, re-capping', () => {
    const merged = mergeCategoricalProfiles(
      buildCategoricalProfile(['a', 'a', 'b']),
      buildCategoricalProfile(['b', 'b', 'c', null]),
      { maxCategories: 2 },
    );
    assert.deepEqual(merged, {
      kind: 'categorical',
      count: 6,
      missing: 1,
      distinct: 3,
      categories: ['b', 'a'],
      counts: [3, 2],
      other: 1,
    });
  });
});
