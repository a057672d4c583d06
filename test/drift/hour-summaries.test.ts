/**
 * Incremental drift checks: per-hour capture summaries under `reports/{model}/_summaries/`, so a
 * run reads only the capture objects it has not read yet, and the window's report equals the one
 * a full re-read of the captures gives.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { checkModel } from '../../src/drift/check/check.ts';
import { buildDriftReport } from '../../src/drift/report/report.ts';
import type { DriftReport } from '../../src/drift/report/report-types.ts';
import { summaryKey } from '../../src/drift/summaries/hour-summaries.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import {
  captureRecords,
  clearPrefix,
  type DemoFixture,
  demoFixture,
  type OutcomeLine,
  publishWithReference,
  putCaptures,
  putOutcomes,
  shifted,
} from './monitoring-fixtures.ts';

const HOUR = 3_600_000;
const END = new Date('2026-06-02T00:00:00.000Z');
const START = new Date(END.getTime() - 20 * HOUR);
const SPACING = 5 * 60_000;

let s3: TestS3Server;
let cancer: DemoFixture;

before(async () => {
  s3 = await startS3Server({ client: { requestTimeoutMs: 10_000, socketTimeoutMs: 10_000 } });
  cancer = await demoFixture('breast-cancer');
  await publishWithReference(s3.store, cancer);
});

after(async () => {
  await s3?.close();
});

beforeEach(async () => {
  for (const prefix of ['captures/', 'outcomes/', 'reports/']) await clearPrefix(s3.store, prefix);
});

async function check(now: Date, summaries: boolean): Promise<DriftReport> {
  return buildDriftReport(
    await checkModel('breast-cancer', { store: s3.store, end: END, now, summaries }),
    END,
  );
}

/** The parts of a report that must not depend on how the window was read (numbers to 1e-9). */
function comparable(report: DriftReport): unknown {
  return round({
    verdict: report.verdict,
    counts: report.counts,
    data_drift: report.data_drift,
    prediction_drift: report.prediction_drift,
    performance: report.performance,
    outcomes: report.outcomes,
  });
}

function round(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? Number(value.toPrecision(9)) : value;
  if (Array.isArray(value)) return value.map(round);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, round(v)]));
  }
  return value;
}

function outcome(id: string, value: string, receivedMs: number): OutcomeLine {
  const time = new Date(receivedMs).toISOString();
  return { id, value, ts: time, received_at: time };
}

describe('drift check with per-hour summaries', () => {
  it('reads only new capture objects, matches a full re-read, and applies late outcomes to their hour', async () => {
    // Prepare: the hold-out rows over 20 hours, a few features shifted; even rows in a first
    // object per hour, odd rows in a second one written after the first check.
    const rows = shifted(cancer, cancer.holdoutRows, { mean_radius: 2, worst_area: 150 });
    const records = await captureRecords(cancer, rows, { start: START, spacingMs: SPACING, prefix: 'r' });
    const first = records.filter((_, i) => i % 2 === 0);
    const second = records.filter((_, i) => i % 2 === 1);
    const firstKeys = await putCaptures(s3.store, first, { format: 'firehose', name: 'a' });
    const truth = (i: number) => cancer.classNames[cancer.holdoutLabels[i] as number] as string;
    await putOutcomes(
      s3.store,
      'breast-cancer',
      records.slice(0, 60).map((record, i) => outcome(record.id, truth(i), Date.parse(record.ts) + HOUR)),
      'o1',
    );

    // Act 1: the first check folds every object in.
    s3.resetRequests();
    const one = await check(END, true);
    for (const key of firstKeys) assert.equal(s3.count('GetObject', key), 1, key);
    const outcomeKeys = (await s3.store.list('outcomes/breast-cancer/')).objects.map((o) => o.key);
    assert.ok(outcomeKeys.length > 0);
    for (const key of outcomeKeys) assert.equal(s3.count('GetObject', key), 1, key);
    assert.deepEqual(comparable(one), comparable(await check(END, false)));
    const firstHour = summaryKey('breast-cancer', Date.parse(first[0]?.ts ?? ''));
    assert.ok(await s3.store.head(firstHour), firstHour);

    // Act 2: new objects in the same hours; only they are read.
    const secondKeys = await putCaptures(s3.store, second, { format: 'jsonl', name: 'b' });
    s3.resetRequests();
    const two = await check(END, true);
    for (const key of [...firstKeys, ...outcomeKeys]) assert.equal(s3.count('GetObject', key), 0, key);
    for (const key of secondKeys) assert.equal(s3.count('GetObject', key), 1, key);
    const full = await check(END, false);
    assert.deepEqual(comparable(two), comparable(full));
    assert.equal(two.counts.predictions, records.length);
    assert.deepEqual(two.data_drift.drifted_features, full.data_drift.drifted_features);

    // Act 3: a late outcome, received after the window, for a prediction of an earlier hour that had none.
    const now = new Date(END.getTime() + 2 * HOUR);
    const lateIndex = 100;
    const late = records[lateIndex];
    assert.ok(late);
    await putOutcomes(
      s3.store,
      'breast-cancer',
      [outcome(late.id, truth(lateIndex), now.getTime() - HOUR)],
      'late',
    );
    s3.resetRequests();
    const three = await check(now, true);
    for (const key of [...firstKeys, ...secondKeys, ...outcomeKeys])
      assert.equal(s3.count('GetObject', key), 0, key);
    const lateKeys = (await s3.store.list('outcomes/breast-cancer/')).objects
      .map((o) => o.key)
      .filter((key) => key.endsWith('/late.jsonl'));
    assert.equal(lateKeys.length, 1);
    for (const key of lateKeys) assert.equal(s3.count('GetObject', key), 1, key);
    assert.equal(three.performance.rows, two.performance.rows + 1);
    assert.equal(three.outcomes.late, 1);
    assert.deepEqual(comparable(three), comparable(await check(now, false)));
  });

  it('stays within the sketch approximation when the window holds more values than the sketch', async () => {
    // Prepare: 2000 predictions over 20 hours (100 an hour, so each hour is exact and the window is not).
    const pool = [...cancer.trainRows, ...cancer.holdoutRows];
    const rows = Array.from({ length: 2000 }, (_, i) => pool[i % pool.length] as number[]);
    const records = await captureRecords(cancer, shifted(cancer, rows, { mean_radius: 0.5 }), {
      start: START,
      spacingMs: 36_000,
      prefix: 'big',
    });
    await putCaptures(s3.store, records, { format: 'jsonl', name: 'big' });

    // Act
    const summarised = await check(END, true);
    const full = await check(END, false);

    // Assess: same counts and verdicts; KS D within the merged sketches' error bound.
    assert.deepEqual(summarised.counts, full.counts);
    assert.equal(summarised.data_drift.verdict, full.data_drift.verdict);
    assert.deepEqual(summarised.data_drift.drifted_features, full.data_drift.drifted_features);
    full.data_drift.features.forEach((feature, f) => {
      const other = summarised.data_drift.features[f];
      assert.equal(other?.name, feature.name);
      assert.equal(other?.test?.name, feature.test?.name, feature.name);
      const d = Math.abs((other?.test?.statistic ?? Number.NaN) - (feature.test?.statistic ?? Number.NaN));
      assert.ok(d <= 0.003, `${feature.name}: ${d}`);
      assert.equal(other?.psi?.statistic, feature.psi?.statistic, feature.name);
    });
  });

  it('rebuilds an hour whose capture object changed', async () => {
    const records = await captureRecords(cancer, cancer.holdoutRows.slice(0, 24), {
      start: START,
      spacingMs: SPACING,
      prefix: 'c',
    });
    const keys = await putCaptures(s3.store, records, { format: 'jsonl', name: 'c' });
    await check(END, true);
    // The first hour's object is replaced by one holding only its first record.
    const key = keys[0] ?? '';
    const kept = records.filter((r) => Date.parse(r.ts) < START.getTime() + HOUR).slice(0, 1);
    await putCaptures(s3.store, kept, { format: 'jsonl', name: 'c' });
    const again = await check(END, true);
    assert.ok(key.length > 0);
    assert.deepEqual(comparable(again), comparable(await check(END, false)));
    assert.equal(again.counts.predictions, records.length - 11);
  });
});
