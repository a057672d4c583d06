/**
 * Thresholds calibrated on the reference (mean ± 3σ over reference chunks, NannyML's default), as
 * an option beside the fixed thresholds: per-feature drift statistics, the data-quality missing
 * share, CBPE estimates and multivariate drift.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyseDataDrift } from '../../src/drift/check/analyse.ts';
import { analyseDataQuality, emptyQuality } from '../../src/drift/check/data-quality.ts';
import { estimatedPerformance } from '../../src/drift/check/estimated-performance.ts';
import { analyseMultivariate } from '../../src/drift/check/multivariate-drift.ts';
import { DriftConfigError, featureOptions, parseDriftSettings } from '../../src/drift/check/settings.ts';
import type { ReferenceDocument } from '../../src/drift/profiles/reference-types.ts';
import {
  addCbpeRow,
  applyCalibration,
  buildNumericProfile,
  calibratedBand,
  calibrateNumeric,
  compareNumeric,
  emptyCbpeSums,
  fitCbpe,
  fitPca,
  type NumericProfile,
  resolveDriftOptions,
} from '../../src/drift/statistics/index.ts';
import { normalSample, seededRandom } from './helpers.ts';

const FIXED = resolveDriftOptions();
const CALIBRATED = resolveDriftOptions({ calibrated: true });

describe('calibrated drift thresholds per feature', () => {
  const reference = normalSample(5000, 0, 1, 7);
  const profile = buildNumericProfile(reference);
  const calibration = calibrateNumeric(profile, reference);

  it('stores each test statistic over 10 reference chunks of 500 rows', () => {
    assert.ok(calibration);
    assert.equal(calibration.chunks, 10);
    assert.equal(calibration.chunkRows, 500);
    assert.equal(calibration.chunkCount, 500);
    for (const test of ['ks', 'wasserstein', 'jensenshannon', 'psi', 'chisquare'] as const) {
      const s = calibration.statistics[test];
      assert.ok(s && s.mean > 0 && s.std > 0, `${test}: ${JSON.stringify(s)}`);
    }
    // Wasserstein / σ of 500 values against 5000 of the same normal: a few hundredths.
    const w = calibration.statistics.wasserstein?.mean as number;
    assert.ok(w > 0.01 && w < 0.08, String(w));
    assert.equal(calibration.missingShare.mean, 0);
  });

  it('flags a shift inside the fixed threshold but outside the calibrated band only with calibration on', () => {
    const current = normalSample(20_000, 0.08, 1, 8);
    const fixed = applyCalibration(compareNumeric('x', profile, current, FIXED), calibration, FIXED);
    assert.equal(fixed.test?.test, 'wasserstein');
    assert.ok((fixed.test?.statistic as number) < 0.1, 'inside the fixed threshold 0.1');
    assert.notEqual(fixed.verdict, 'drift');
    assert.equal(fixed.test?.calibration, undefined);

    const calibrated = applyCalibration(
      compareNumeric('x', profile, current, CALIBRATED),
      calibration,
      CALIBRATED,
    );
    const band = calibrated.test?.calibration;
    assert.ok(band);
    assert.ok((calibrated.test?.statistic as number) > band.upper);
    assert.equal(calibrated.verdict, 'drift');
    assert.equal(calibrated.test?.drifted, true);
    assert.equal(calibrated.test?.threshold, 0.1, 'the fixed threshold is still reported');
  });

  it('does not flag unshifted traffic: the band is scaled to the window and reference sizes', () => {
    // A band taken at the chunks' size unscaled would sit far above (too loose), and one scaled
    // by the window alone (√(c/n), ignoring the reference's own noise) below the null statistic.
    let drifted = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const current = normalSample(20_000, 0, 1, 100 + seed);
      const d = applyCalibration(compareNumeric('x', profile, current, CALIBRATED), calibration, CALIBRATED);
      if (d.verdict === 'drift') drifted++;
    }
    assert.ok(drifted <= 1, `${drifted} of 12 unshifted windows drifted`);
    const band = calibratedBand(calibration, 'wasserstein', 5000, 20_000, 0.5, 'goodness-of-fit');
    const stats = calibration?.statistics.wasserstein;
    assert.ok(band && stats);
    // r = (1/n + 1/N) / (1/c − 1/N) = (1/20000 + 1/5000) / (1/500 − 1/5000)
    const r = (1 / 20_000 + 1 / 5000) / (1 / 500 - 1 / 5000);
    assert.ok(Math.abs(band.scale - Math.sqrt(r)) < 1e-12);
    assert.ok(Math.abs(band.upper - (stats.mean + 3 * stats.std) * Math.sqrt(r)) < 1e-12);
  });

  it('takes a calibrated p-value test out of the correction family and decides by its statistic', () => {
    const small = normalSample(800, 0, 1, 3);
    const smallProfile = buildNumericProfile(small);
    const smallCalibration = calibrateNumeric(smallProfile, small);
    const current = normalSample(5000, 0.2, 1, 4);
    const settings = parseDriftSettings({ calibration: { features: true } }, 'm');
    const version = versionOf(
      [{ name: 'x', profile: smallProfile, calibration: smallCalibration }],
      [buildNumericProfile(current, { binning: smallProfile })],
    );
    const section = analyseDataDrift(version, settings);
    const test = section.features[0]?.test;
    assert.equal(test?.name, 'ks');
    assert.ok(test?.calibration);
    assert.equal(test.adjusted_p_value, undefined);
    assert.equal(test.drifted, (test.statistic as number) > test.calibration.upper);
  });

  it('is set in config.json: for every feature, or per feature', () => {
    const settings = parseDriftSettings(
      { calibration: { features: true }, features: { b: { calibrated: false } } },
      'm',
    );
    assert.equal(settings.options.calibrated, true);
    assert.equal(featureOptions(settings, 'a').calibrated, true);
    assert.equal(featureOptions(settings, 'b').calibrated, false);
    assert.equal(parseDriftSettings(undefined, 'm').options.calibrated, false);
    assert.deepEqual(parseDriftSettings(undefined, 'm').calibration, {
      features: false,
      missing: false,
      estimatedPerformance: true,
      multivariate: true,
    });
    assert.throws(
      () => parseDriftSettings({ calibration: { features: 'yes' } }, 'm'),
      (e: Error) => e instanceof DriftConfigError && /calibration\.features/.test(e.message),
    );
    assert.throws(
      () => parseDriftSettings({ calibration: { drift: true } }, 'm'),
      (e: Error) => e instanceof DriftConfigError && /calibration\.drift/.test(e.message),
    );
  });

  it('decides the data drift section through the settings', () => {
    const current = normalSample(20_000, 0.08, 1, 9);
    const version = versionOf(
      [{ name: 'x', profile, calibration }],
      [buildNumericProfile(current, { binning: profile })],
    );
    const off = analyseDataDrift(version, parseDriftSettings(undefined, 'm'));
    const on = analyseDataDrift(version, parseDriftSettings({ calibration: { features: true } }, 'm'));
    assert.deepEqual(off.drifted_features, []);
    assert.deepEqual(on.drifted_features, ['x']);
    assert.equal(on.verdict, 'drift');
  });
});

describe('calibrated data-quality missing share', () => {
  it('fails a missing share the fixed threshold allows, once calibrated', () => {
    // Reference: 2 % missing in every chunk (rows 0, 50, 100, …).
    const values = Float64Array.from({ length: 5000 }, (_, i) => (i % 50 === 0 ? Number.NaN : i % 97));
    const profile = buildNumericProfile(values);
    const calibration = calibrateNumeric(profile, values);
    assert.ok(calibration);
    assert.ok(Math.abs(calibration.missingShare.mean - 0.02) < 1e-12);
    const version = {
      reference: referenceOf([{ name: 'x', profile, calibration }]),
      predictions: 5000,
      nonTabular: 0,
      // 5 % missing: within the reference's 2 % + 0.05, far above the chunks' 2 % + 3σ.
      quality: [{ absent: 250, nonFinite: 0, mismatched: 0, example: null }],
      numeric: [
        buildNumericProfile(
          Float64Array.from({ length: 4750 }, (_, i) => i % 97),
          { binning: profile },
        ),
      ],
      categorical: [null],
    };
    const thresholds = { missing: 0.05, outOfRange: 0.05, newCategory: 0.05, typeMismatch: 0 };
    const fixed = analyseDataQuality(version, thresholds, 0.5, 100);
    const calibrated = analyseDataQuality(version, thresholds, 0.5, 100, true);
    const missing = (s: typeof fixed) => s.features[0]?.checks.find((c) => c.name === 'missing');
    assert.equal(missing(fixed)?.calibrated, false);
    assert.ok(Math.abs((missing(fixed)?.threshold as number) - 0.07) < 1e-12);
    assert.notEqual(missing(fixed)?.verdict, 'fail');
    assert.equal(missing(calibrated)?.calibrated, true);
    assert.ok((missing(calibrated)?.threshold as number) < 0.05);
    assert.equal(missing(calibrated)?.verdict, 'fail');
    assert.equal(calibrated.verdict, 'fail');
    // The other checks keep their fixed thresholds.
    assert.equal(calibrated.features[0]?.checks.find((c) => c.name === 'out_of_range')?.threshold, 0.05);
  });
});

describe('fixed thresholds where calibration is the default', () => {
  it('multivariate: fixed upper at reference mean × (1 + max increase), calibrated band otherwise', () => {
    const random = seededRandom(5);
    const columns = [0, 1, 2].map(() => Float64Array.from({ length: 2000 }, () => random()));
    const model = fitPca([0, 1, 2], columns);
    assert.ok(model);
    const reference = { ...referenceOf([]), multivariate: model };
    // A window whose mean error is above the calibrated band of 2000 rows, inside a fixed 10 %
    // increase.
    const rows = 2000;
    const band = analyseMultivariate(reference, model.mean * rows, rows, 100);
    assert.ok((band.upper as number) < model.mean * 1.1, 'the calibrated band is narrower here');
    const sum = (((band.upper as number) + model.mean * 1.1) / 2) * rows;
    const calibrated = analyseMultivariate(reference, sum, rows, 100);
    const fixed = analyseMultivariate(reference, sum, rows, 100, 0.1);
    assert.equal(calibrated.thresholds, 'calibrated');
    assert.equal(calibrated.verdict, 'drift');
    assert.equal(fixed.thresholds, 'fixed');
    assert.equal(fixed.verdict, 'ok');
    assert.equal(fixed.lower, null);
    assert.ok(Math.abs((fixed.upper as number) - model.mean * 1.1) < 1e-12);
    assert.equal(analyseMultivariate(reference, model.mean * 1.2 * rows, rows, 100, 0.1).verdict, 'drift');
  });

  it('CBPE: fixed thresholds are the reference value minus the rule drop', () => {
    const random = seededRandom(11);
    const n = 2000;
    const probabilities: number[] = [];
    const actual: number[] = [];
    const predicted: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = random();
      probabilities.push(1 - p, p);
      actual.push(random() < p ? 1 : 0);
      predicted.push(p >= 0.5 ? 1 : 0);
    }
    const model = fitCbpe({ classes: 2, actual, predicted, probabilities });
    assert.ok(model);
    const sums = emptyCbpeSums(2);
    const scratch = new Float64Array(2);
    for (let i = 0; i < 500; i++) {
      const p = random();
      addCbpeRow(model, sums, p >= 0.5 ? 1 : 0, [1 - p, p], scratch);
    }
    const reference = { ...referenceOf([]), performance: { label_column: 'y', cbpe: model } };
    const calibrated = estimatedPerformance(reference, sums, {}, null, 100, []);
    const fixed = estimatedPerformance(reference, sums, {}, null, 100, [], {
      maxDrop: 0.1,
      maxRelativeDrop: null,
    });
    assert.equal(calibrated.thresholds, 'calibrated');
    assert.equal(fixed.thresholds, 'fixed');
    const refAccuracy = model.reference.accuracy?.mean as number;
    assert.ok(Math.abs((fixed.metrics.accuracy?.threshold as number) - (refAccuracy - 0.1)) < 1e-12);
    // Other metrics: 0.05 below their reference value.
    const refF1 = model.reference.f1_macro?.mean as number;
    assert.ok(Math.abs((fixed.metrics.f1_macro?.threshold as number) - (refF1 - 0.05)) < 1e-12);
    assert.notEqual(calibrated.metrics.accuracy?.threshold, fixed.metrics.accuracy?.threshold);
  });
});

function referenceOf(features: ReferenceDocument['features']): ReferenceDocument {
  return {
    schema: 1,
    model: 'm',
    created_at: '2026-01-01T00:00:00.000Z',
    task: 'classification',
    source: { file: 'r.csv', format: 'csv', rows: 5000, unscored_rows: 0, label_column: null },
    rows: 5000,
    features,
    prediction: null,
    performance: null,
  };
}

function versionOf(features: ReferenceDocument['features'], numeric: NumericProfile[]) {
  const rows = numeric[0]?.count ?? 0;
  return {
    version: '1',
    reference: referenceOf(features),
    predictions: rows,
    nonTabular: 0,
    numeric,
    categorical: numeric.map(() => null),
    quality: numeric.map(() => emptyQuality()),
    labels: null,
    scores: null,
  };
}
