/**
 * CBPE in the drift check: the reference published with labels carries the calibration; a window
 * without outcomes gets estimated metrics, which sit beside the realised ones once outcomes come,
 * and the per-hour summaries give the same estimate plus an hourly series.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { checkModel } from '../../src/drift/check/check.ts';
import { buildDriftReport } from '../../src/drift/report/report.ts';
import type { DriftReport } from '../../src/drift/report/report-types.ts';
import { ROOT } from '../helpers/paths.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { assertClose } from './helpers.ts';
import {
  captureRecords,
  clearPrefix,
  type DemoFixture,
  demoFixture,
  publishWithReference,
  putCaptures,
  putOutcomes,
} from './monitoring-fixtures.ts';

const HOUR = 3_600_000;
const END = new Date('2026-06-02T00:00:00.000Z');
const validate = new Ajv({ allErrors: true, strict: false }).compile(
  JSON.parse(readFileSync(join(ROOT, 'docs', 'drift-report.schema.json'), 'utf8')),
);

describe('estimated performance (CBPE) in the drift check', () => {
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
    for (const prefix of ['captures/', 'outcomes/', 'reports/']) await clearPrefix(s3.store, prefix);
  });

  async function check(summaries: boolean): Promise<DriftReport> {
    const report = buildDriftReport(
      await checkModel('breast-cancer', { store: s3.store, end: END, now: END, summaries }),
      END,
    );
    assert.ok(validate(report), JSON.stringify(validate.errors, null, 2));
    return report;
  }

  it('estimates without outcomes, agrees with the realised value, and the summaries agree', async () => {
    // Prepare: the hold-out rows over 20 hours, no outcomes yet.
    const records = await captureRecords(cancer, cancer.holdoutRows, {
      start: new Date(END.getTime() - 20 * HOUR),
      spacingMs: 5 * 60_000,
      prefix: 'e',
    });
    await putCaptures(s3.store, records, { format: 'firehose', name: 'e' });

    // Act 1: no outcomes.
    const blind = await check(false);

    // Assess 1: an estimate, a band, no realised value.
    const section = blind.estimated_performance;
    assert.equal(blind.performance.verdict, 'not_available');
    assert.equal(section.rows, records.length);
    assert.notEqual(section.verdict, 'not_available', section.reason);
    const accuracy = section.metrics.accuracy;
    assert.ok(accuracy && accuracy.estimate !== null && accuracy.lower !== null && accuracy.upper !== null);
    assert.ok(accuracy.lower < accuracy.estimate && accuracy.estimate < accuracy.upper);
    assert.equal(accuracy.realized, null);
    // The hourly series comes from a full read too: every prediction in one of its hours.
    assert.ok(section.hourly.length >= 10);
    assert.equal(
      section.hourly.reduce((total, h) => total + h.predictions, 0),
      records.length,
    );
    assert.ok(section.hourly.every((h) => h.joined === 0 && h.realized_accuracy === null));

    // Act 2: every outcome arrives.
    const truth = (i: number) => cancer.classNames[cancer.holdoutLabels[i] as number] as string;
    await putOutcomes(
      s3.store,
      'breast-cancer',
      records.map((record, i) => ({ id: record.id, value: truth(i), ts: record.ts, received_at: record.ts })),
      'o',
    );
    const full = await check(false);
    const incremental = await check(true);

    // Assess 2: the realised value sits in the band, beside the same estimate.
    const withOutcomes = full.estimated_performance.metrics.accuracy;
    assert.ok(withOutcomes);
    assertClose(withOutcomes.estimate, accuracy.estimate as number, 1e-12);
    assert.equal(withOutcomes.realized, full.performance.metrics.accuracy);
    const realised = withOutcomes.realized as number;
    assert.ok(
      realised >= (withOutcomes.lower as number) && realised <= (withOutcomes.upper as number),
      `realised ${realised} in [${withOutcomes.lower}, ${withOutcomes.upper}]`,
    );
    // Summaries: same estimate, and an hourly series that adds up to the window.
    const inc = incremental.estimated_performance;
    for (const [name, metric] of Object.entries(full.estimated_performance.metrics)) {
      assertClose(inc.metrics[name as keyof typeof inc.metrics]?.estimate, metric.estimate as number, 1e-12);
    }
    assert.ok(inc.hourly.length >= 10);
    assert.equal(
      inc.hourly.reduce((total, h) => total + h.predictions, 0),
      records.length,
    );
    assert.equal(
      inc.hourly.reduce((total, h) => total + h.joined, 0),
      records.length,
    );
    for (const hour of inc.hourly) {
      if (hour.joined > 0) assert.ok(hour.realized_accuracy !== null && hour.estimated_accuracy !== null);
      assert.ok(hour.threshold !== null && hour.estimated_lower !== null && hour.estimated_upper !== null);
    }
    // A full read gives the same series, hour by hour.
    const fullHours = full.estimated_performance.hourly;
    assert.deepEqual(
      fullHours.map((h) => [h.hour, h.predictions, h.joined, h.realized_accuracy, h.degraded]),
      inc.hourly.map((h) => [h.hour, h.predictions, h.joined, h.realized_accuracy, h.degraded]),
    );
    fullHours.forEach((h, i) => {
      assertClose(h.estimated_accuracy, inc.hourly[i]?.estimated_accuracy as number, 1e-12);
      assertClose(h.threshold, inc.hourly[i]?.threshold as number, 1e-12);
    });
    // Multivariate drift: unshifted hold-out rows stay inside the band; both paths agree.
    assert.equal(full.multivariate_drift.verdict, 'ok', JSON.stringify(full.multivariate_drift));
    assert.equal(incremental.multivariate_drift.rows, records.length);
    assertClose(incremental.multivariate_drift.statistic, full.multivariate_drift.statistic as number, 1e-12);
  });

  it('multivariate drift: shuffling correlated features across rows (same marginals) is caught', async () => {
    // Prepare: rows of the hold-out with the "worst_*" features taken from another row: each
    // feature's values are unchanged, their links to the other features are broken.
    const rows = cancer.holdoutRows.map((row, i, all) => {
      const other = all[(i * 37 + 11) % all.length] as number[];
      return row.map((value, f) =>
        (cancer.featureNames[f] as string).startsWith('worst_') ? (other[f] as number) : value,
      );
    });
    const records = await captureRecords(cancer, rows, {
      start: new Date(END.getTime() - 20 * HOUR),
      spacingMs: 5 * 60_000,
      prefix: 'm',
    });
    await putCaptures(s3.store, records, { format: 'firehose', name: 'm' });

    // Act
    const report = await check(false);

    // Assess
    const m = report.multivariate_drift;
    assert.equal(m.verdict, 'drift', JSON.stringify(m));
    assert.ok((m.statistic as number) > (m.upper as number));
    assert.ok(m.components >= 1 && m.components < m.features);
  });
});
