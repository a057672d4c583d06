/**
 * Data quality: every bad input value is counted (missing, non-finite, type mismatch, outside the
 * reference range, new category), judged against its threshold, reported, and the per-hour
 * summaries give the same counts as a full read.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { checkModel } from '../../src/drift/check/check.ts';
import { CategoryCounts, FloatColumn } from '../../src/drift/check/columns.ts';
import {
  analyseDataQuality,
  countCategoricalValue,
  emptyQuality,
  numericValue,
} from '../../src/drift/check/data-quality.ts';
import { parseDriftSettings } from '../../src/drift/check/settings.ts';
import type { ReferenceDocument } from '../../src/drift/profiles/reference-types.ts';
import { buildDriftReport } from '../../src/drift/report/report.ts';
import type { DriftReport } from '../../src/drift/report/report-types.ts';
import { buildCategoricalProfile, buildNumericProfile } from '../../src/drift/statistics/index.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import {
  captureRecords,
  clearPrefix,
  type DemoFixture,
  demoFixture,
  publishWithReference,
  putCaptures,
} from './monitoring-fixtures.ts';

describe('data-quality counters', () => {
  it('classifies each numeric value: number, absent, empty, non-finite, mismatched', () => {
    const q = emptyQuality();
    assert.equal(numericValue(1.5, q), 1.5);
    assert.equal(numericValue(' 2.5 ', q), 2.5);
    assert.equal(numericValue(true, q), 1);
    assert.ok(Number.isNaN(numericValue(undefined, q)));
    assert.ok(Number.isNaN(numericValue(null, q)));
    assert.ok(Number.isNaN(numericValue('', q)));
    assert.ok(Number.isNaN(numericValue('NaN', q)));
    assert.ok(Number.isNaN(numericValue('-Infinity', q)));
    assert.equal(numericValue(Number.POSITIVE_INFINITY, q), Number.POSITIVE_INFINITY);
    assert.ok(Number.isNaN(numericValue('twelve', q)));
    assert.ok(Number.isNaN(numericValue({ value: 3 }, q)));
    assert.deepEqual(q, { absent: 3, nonFinite: 3, mismatched: 2, example: 'text' });
  });

  it('counts categorical values that are absent, NaN or objects', () => {
    const q = emptyQuality();
    for (const value of ['a', 3, null, undefined, Number.NaN, [1, 2], { b: 1 }])
      countCategoricalValue(value, q);
    assert.deepEqual(q, { absent: 2, nonFinite: 1, mismatched: 2, example: 'array' });
  });

  it('judges each check against its threshold, failing features first', () => {
    const reference: ReferenceDocument = {
      schema: 1,
      model: 'm',
      created_at: '2026-01-01T00:00:00.000Z',
      task: 'classification',
      source: { file: 'r.csv', format: 'csv', rows: 100, unscored_rows: 0, label_column: null },
      rows: 100,
      features: [
        { name: 'x', profile: buildNumericProfile(Array.from({ length: 100 }, (_, i) => i)) },
        {
          name: 'colour',
          profile: buildCategoricalProfile(Array.from({ length: 100 }, (_, i) => (i % 2 ? 'red' : 'blue'))),
        },
      ],
      prediction: null,
      performance: null,
    };
    const x = new FloatColumn();
    // 100 rows: 90 inside [0, 99], 4 above, 3 below, 3 missing.
    for (let i = 0; i < 90; i++) x.push(i);
    for (const v of [120, 130, 140, 150, -1, -2, -3]) x.push(v);
    for (let i = 0; i < 3; i++) x.push(Number.NaN);
    const colour = new CategoryCounts();
    for (let i = 0; i < 97; i++) colour.add(i % 2 ? 'red' : 'blue');
    for (let i = 0; i < 3; i++) colour.add('green');
    const section = analyseDataQuality(
      {
        reference,
        predictions: 100,
        nonTabular: 0,
        quality: [
          { absent: 1, nonFinite: 2, mismatched: 0, example: null },
          { absent: 0, nonFinite: 0, mismatched: 0, example: null },
        ],
        numeric: [x, null],
        categorical: [null, colour],
      },
      { missing: 0.05, outOfRange: 0.05, newCategory: 0.05, typeMismatch: 0 },
      0.5,
      10,
    );
    assert.equal(section.verdict, 'fail');
    assert.deepEqual(section.failing_features, ['x']);
    assert.deepEqual(section.warning_features, ['colour']);
    assert.deepEqual(
      section.features.map((f) => f.name),
      ['x', 'colour'],
    );
    const [xq, cq] = section.features;
    assert.equal(xq?.out_of_range, 7);
    assert.deepEqual(
      xq?.checks.map((c) => [c.name, c.count, c.verdict]),
      [
        ['missing', 3, 'warning'],
        ['type_mismatch', 0, 'ok'],
        ['out_of_range', 7, 'fail'],
      ],
    );
    assert.equal(cq?.new_categories, 3);
    assert.deepEqual(cq?.new_category_examples, ['green']);
    assert.equal(cq?.checks.find((c) => c.name === 'new_category')?.verdict, 'warning');
    // Below min_predictions: counts, but no verdict.
    const few = analyseDataQuality(
      {
        reference,
        predictions: 5,
        nonTabular: 0,
        quality: [emptyQuality(), emptyQuality()],
        numeric: [null, null],
        categorical: [null, null],
      },
      { missing: 0.05, outOfRange: 0.05, newCategory: 0.05, typeMismatch: 0 },
      0.5,
      10,
    );
    assert.equal(few.verdict, 'insufficient_data');
  });

  it('reads its thresholds from config.json, rejecting a bad one by name', () => {
    const settings = parseDriftSettings({ data_quality: { missing: 0.2, type_mismatch: 0.01 } }, 'm');
    assert.deepEqual(settings.dataQuality, {
      missing: 0.2,
      outOfRange: 0.05,
      newCategory: 0.05,
      typeMismatch: 0.01,
    });
    assert.throws(
      () => parseDriftSettings({ data_quality: { missing: 2 } }, 'm'),
      /'drift\.data_quality\.missing' must be a share in \[0, 1\]; got number 2/,
    );
    assert.throws(() => parseDriftSettings({ data_quality: { nulls: 0.1 } }, 'm'), /data_quality\.nulls/);
  });
});

const HOUR = 3_600_000;
const END = new Date('2026-06-02T00:00:00.000Z');

describe('data quality in the drift check (full read and per-hour summaries)', () => {
  let s3: TestS3Server;
  let cancer: DemoFixture;

  before(async () => {
    s3 = await startS3Server();
    cancer = await demoFixture('breast-cancer');
    await publishWithReference(s3.store, cancer);
  });
  after(async () => {
    await s3?.close();
  });
  beforeEach(async () => {
    for (const prefix of ['captures/', 'reports/']) await clearPrefix(s3.store, prefix);
  });

  async function check(summaries: boolean): Promise<DriftReport> {
    return buildDriftReport(
      await checkModel('breast-cancer', { store: s3.store, end: END, now: END, summaries }),
      END,
    );
  }

  it('counts every bad value, fails the feature, raises the alert, and summaries agree', async () => {
    // Prepare: text in mean_radius (12 rows), mean_texture absent (20), "NaN" text in worst_area (4).
    const records = await captureRecords(cancer, cancer.holdoutRows, {
      start: new Date(END.getTime() - 20 * HOUR),
      spacingMs: 5 * 60_000,
      prefix: 'q',
    });
    records.forEach((record, i) => {
      const inputs = record.inputs as Record<string, unknown>;
      if (i % 10 === 0 && i < 120) inputs.mean_radius = 'n/a';
      if (i % 7 === 0 && i < 140) delete inputs.mean_texture;
      if (i % 30 === 1) inputs.worst_area = 'NaN';
    });
    await putCaptures(s3.store, records, { format: 'firehose', name: 'q' });

    // Act
    const full = await check(false);
    const incremental = await check(true);

    // Assess
    const q = full.data_quality;
    assert.equal(q.rows, records.length);
    const radius = q.features.find((f) => f.name === 'mean_radius');
    assert.equal(radius?.type_mismatches, 12);
    assert.equal(radius?.type_mismatch_kind, 'text');
    assert.equal(radius?.missing, 0);
    assert.equal(radius?.verdict, 'fail');
    const texture = q.features.find((f) => f.name === 'mean_texture');
    assert.equal(texture?.missing, 20);
    assert.equal(texture?.checks.find((c) => c.name === 'missing')?.verdict, 'fail');
    const area = q.features.find((f) => f.name === 'worst_area');
    assert.equal(area?.non_finite, Math.ceil((records.length - 1) / 30));
    assert.equal(q.verdict, 'fail');
    assert.deepEqual(q.failing_features.slice(0, 2).sort(), ['mean_radius', 'mean_texture']);
    assert.deepEqual(
      q.features.slice(0, q.failing_features.length).map((f) => f.name),
      q.failing_features,
    );
    assert.ok(full.alert.reasons.includes('data_quality'));
    // The drift test saw the same values: the mismatched text is not profiled as a number.
    const radiusDrift = full.data_drift.features.find((f) => f.name === 'mean_radius');
    assert.equal(radiusDrift?.current.count, records.length - 12);
    // Per-hour summaries: the same section.
    assert.deepEqual(incremental.data_quality, q);
  });
});
