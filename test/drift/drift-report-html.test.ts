/**
 * The HTML drift report opened in a real headless Chromium (Debian's, driven by playwright-core):
 * it renders one chart per feature without errors, fetches nothing, shows the verdict, escapes
 * hostile names and holds no raw capture value. A screenshot is saved for a human to look at.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { checkModel } from '../../src/drift/check/check.ts';
import { buildDriftReport } from '../../src/drift/report/report.ts';
import { renderDriftHtml } from '../../src/drift/report/report-html.ts';
import type { DriftReport } from '../../src/drift/report/report-types.ts';
import { chromiumSkip, launchChromium } from '../helpers/chromium.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import {
  captureRecords,
  type DemoFixture,
  demoFixture,
  publishWithReference,
  putCaptures,
  putOutcomes,
  shifted,
} from './monitoring-fixtures.ts';

/** Where the screenshot goes (printed as a test diagnostic). */
const SCREENSHOT = join(tmpdir(), 'onnx-serve-drift-report.png');
const END = new Date('2026-06-02T00:00:00.000Z');
const HOUR = 3_600_000;

// In CI the browser must be there; on a laptop without it, say so and skip.
const skip = chromiumSkip('the HTML report');

let s3: TestS3Server;
let workDir: string;
let context: BrowserContext | undefined;
let wine: DemoFixture;
let report: DriftReport;
/** Every input value of every capture, as JSON writes it: none may appear in the page. */
let rawValues: string[];

describe('HTML drift report in headless Chromium', { skip }, () => {
  before(async () => {
    s3 = await startS3Server();
    workDir = await mkdtemp(join(tmpdir(), 'drift-html-'));
    wine = await demoFixture('wine');
    await publishWithReference(s3.store, wine);
    // Three copies of the hold-out rows, shifted on four features, each value with a distinctive
    // tail of digits that no aggregate would produce.
    const rows = shifted(wine, [...wine.holdoutRows, ...wine.holdoutRows, ...wine.holdoutRows], {
      alcohol: 1.5,
      hue: 0.3,
      proline: 400,
      color_intensity: 2,
    }).map((row, r) => row.map((value, f) => value + 0.000_123_456_7 * (((r * 31 + f * 7) % 97) + 1)));
    const records = await captureRecords(wine, rows, {
      start: new Date(END.getTime() - 20 * HOUR),
      spacingMs: 400_000,
      prefix: 'secret-id',
    });
    rawValues = records.flatMap((record) =>
      Object.values(record.inputs).map((value) => JSON.stringify(value)),
    );
    await putCaptures(s3.store, records, { format: 'firehose', name: 'a' });
    await putOutcomes(
      s3.store,
      'wine',
      records.slice(0, 60).map((record, i) => {
        const time = new Date(Date.parse(record.ts) + 2 * HOUR).toISOString();
        return {
          id: record.id,
          value: wine.classNames[wine.holdoutLabels[i % wine.holdoutLabels.length] as number] as string,
          ts: time,
          received_at: time,
        };
      }),
      'o',
    );
    report = buildDriftReport(await checkModel('wine', { store: s3.store, end: END, now: END }), END);
    context = await launchChromium(join(workDir, 'profile'));
  });

  after(async () => {
    await context?.close();
    await s3?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  /** Opens `html` from a file; returns the page with what it logged and requested. */
  async function open(html: string, name: string) {
    assert.ok(context);
    const file = join(workDir, name);
    await writeFile(file, html);
    const url = pathToFileURL(file).href;
    const page = await context.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(url, { waitUntil: 'load' });
    return { page, errors, requests, url };
  }

  it('renders one chart per feature and the prediction chart, with no error and no request', async (t) => {
    // Act
    const { page, errors, requests, url } = await open(renderDriftHtml(report), 'drift.html');

    // Assess
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [url], 'nothing fetched but the file itself');
    const charts = page.locator('svg.feature-chart');
    assert.equal(await charts.count(), wine.featureNames.length);
    // Drifted features first, then warnings, then the rest, each group in feature order.
    const byLevel = (level: string) =>
      report.data_drift.features.filter((f) => f.verdict === level).map((f) => f.name);
    const ordered = [...byLevel('drift'), ...byLevel('warning'), ...byLevel('ok')];
    assert.equal(ordered.length, wine.featureNames.length);
    assert.ok(byLevel('drift').length > 0);
    assert.notDeepEqual(ordered, wine.featureNames, 'the order differs from the feature order here');
    assert.deepEqual(
      await charts.evaluateAll((svgs) => svgs.map((svg) => svg.getAttribute('data-feature'))),
      ordered,
    );
    const tableOrder = await page
      .locator('table.features tbody tr td:first-child')
      .evaluateAll((cells) => cells.map((cell) => cell.textContent));
    assert.deepEqual(tableOrder, ordered);
    // The data-quality section lists every feature, failing ones first.
    const qualityRows = page.locator('table.quality tbody tr');
    assert.equal(await qualityRows.count(), wine.featureNames.length);
    const failing = report.data_quality.failing_features;
    const qualityOrder = await page
      .locator('table.quality tbody tr td:first-child')
      .evaluateAll((cells) => cells.map((cell) => cell.textContent));
    assert.deepEqual(qualityOrder.slice(0, failing.length), failing);
    for (const box of await charts.evaluateAll((svgs) =>
      svgs.map((svg) => svg.getBoundingClientRect().width),
    )) {
      assert.ok(box > 200, `each chart is drawn at a readable width (got ${box}px)`);
    }
    assert.equal(await page.locator('svg.prediction-chart').count(), 1);
    // Reference and current bars are both drawn.
    assert.ok((await page.locator('svg.feature-chart rect.ref').count()) > wine.featureNames.length);
    assert.ok((await page.locator('svg.feature-chart rect.cur').count()) > wine.featureNames.length);

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    t.diagnostic(`screenshot: ${SCREENSHOT}`);
  });

  it('shows the dataset verdict, the drifted features and the performance table', async () => {
    // Act
    const { page } = await open(renderDriftHtml(report), 'drift.html');

    // Assess
    const verdict = page.locator('#verdict');
    assert.ok(await verdict.isVisible());
    assert.equal(report.verdict, 'warning');
    assert.match((await verdict.textContent()) ?? '', /Dataset verdict: warning/);
    const table = (await page.locator('table.features').textContent()) ?? '';
    for (const name of report.data_drift.drifted_features) assert.ok(table.includes(name), name);
    assert.ok(report.data_drift.drifted_features.includes('alcohol'));
    const performance = (await page.locator('table.performance').textContent()) ?? '';
    assert.match(performance, /accuracy/);
    assert.ok(await page.locator('table.confusion').isVisible());
    // CBPE: the estimated metrics beside the realised ones.
    assert.ok(await page.locator('#estimated-performance').isVisible());
    const estimated = (await page.locator('table.estimated').textContent()) ?? '';
    assert.match(estimated, /accuracy/);
    assert.ok(Object.keys(report.estimated_performance.metrics).length >= 4);
  });

  it('draws the estimated and realised accuracy per hour when the series is there', async () => {
    // Prepare: a series with a band, a threshold, a degraded last hour and one without outcomes.
    const hourly = [0, 1, 2, 3].map((h) => ({
      hour: new Date(END.getTime() - (4 - h) * HOUR).toISOString(),
      predictions: 40,
      estimated_accuracy: 0.9 - h * 0.04,
      estimated_lower: 0.85 - h * 0.04,
      estimated_upper: 0.95 - h * 0.04,
      threshold: 0.8,
      degraded: h === 3,
      joined: h === 3 ? 0 : 30,
      realized_accuracy: h === 3 ? null : 0.88 - h * 0.02,
    }));
    const withSeries = { ...report, estimated_performance: { ...report.estimated_performance, hourly } };

    // Act
    const { page, errors } = await open(renderDriftHtml(withSeries), 'hourly.html');

    // Assess
    assert.deepEqual(errors, []);
    assert.ok(await page.locator('svg.hourly-chart').isVisible());
    assert.equal(await page.locator('svg.hourly-chart circle.realised').count(), 3);
    const points = (await page.locator('svg.hourly-chart polyline.estimated').getAttribute('points')) ?? '';
    assert.equal(points.trim().split(' ').length, 4);
    // The band is a closed shape over the 4 hours (upper then lower), the threshold a line.
    const band = (await page.locator('svg.hourly-chart polygon.band').getAttribute('points')) ?? '';
    assert.equal(band.trim().split(' ').length, 8);
    assert.equal(await page.locator('svg.hourly-chart polyline.threshold').count(), 1);
    assert.equal(await page.locator('svg.hourly-chart circle.degraded-hour').count(), 1);
    // The recent hours, most recent first, beside the realised accuracy.
    const rows = await page
      .locator('table.hourly tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    assert.equal(rows.length, 4);
    assert.equal(rows[0]?.[0], `${hourly[3]?.hour.slice(0, 13).replace('T', ' ')}:00`);
    assert.equal(rows[0]?.[7], 'degraded');
    assert.equal(rows[1]?.[6], '0.84');
  });

  it('puts what drifted or failed first: the attention list, then the failing sections', async () => {
    // Act
    const { page, errors } = await open(renderDriftHtml(report), 'drift.html');

    // Assess
    assert.deepEqual(errors, []);
    const items = await page
      .locator('ol.attention li')
      .evaluateAll((lis) => lis.map((li) => ({ level: li.className, text: li.textContent ?? '' })));
    const fails = items.filter((i) => i.level === 'att-fail');
    assert.ok(fails.length > 0);
    assert.deepEqual(
      items.slice(0, fails.length).map((i) => i.level),
      fails.map(() => 'att-fail'),
      'failing items before warnings',
    );
    for (const name of report.data_drift.drifted_features) {
      assert.ok(
        fails.some((i) => i.text.includes(`feature ${name} drifts`)),
        `${name} is in the attention list`,
      );
    }
    for (const name of report.data_quality.failing_features) {
      assert.ok(
        fails.some((i) => i.text.includes(`data quality of ${name}`)),
        name,
      );
    }
    // Every link leads to a section of the page.
    const targets = await page
      .locator('ol.attention a')
      .evaluateAll((links) => links.map((a) => a.getAttribute('href')?.slice(1) ?? ''));
    for (const id of new Set(targets)) assert.equal(await page.locator(`[id="${id}"]`).count(), 1, id);
    // Sections in order of severity: every failing analysis heading comes before every ok one.
    const headings = await page
      .locator('h2[id]')
      .evaluateAll((hs) => hs.map((h) => ({ id: h.id, text: h.textContent ?? '' })));
    const rank = (text: string) =>
      /\b(drift|fail|degraded)\b/.test(text) ? 0 : /warning/.test(text) ? 1 : 2;
    const analysed = headings
      .filter((h) =>
        [
          'data-drift',
          'data-quality',
          'multivariate-drift',
          'prediction-drift',
          'performance',
          'estimated-performance',
        ].includes(h.id),
      )
      .map((h) => (h.id === 'data-drift' ? rank(report.data_drift.verdict) : rank(h.text)));
    assert.equal(analysed.length, 6);
    assert.deepEqual(
      analysed,
      [...analysed].sort((a, b) => a - b),
    );
    assert.ok(analysed[0] === 0, 'a failing section leads');
  });

  it('draws ROC and calibration curves on the joined outcomes, one line per class', async () => {
    // Act
    const { page, errors } = await open(renderDriftHtml(report), 'drift.html');

    // Assess: wine has 3 classes, drawn one against the rest.
    assert.deepEqual(errors, []);
    const curves = report.performance.curves;
    assert.ok(curves);
    assert.equal(curves.roc.length, wine.classNames.length);
    assert.ok(await page.locator('svg.roc-chart').isVisible());
    assert.ok(await page.locator('svg.calibration-chart').isVisible());
    assert.equal(await page.locator('svg.roc-chart polyline.roc-line').count(), 3);
    assert.equal(await page.locator('svg.calibration-chart polyline.calibration-line').count(), 3);
    const dots = curves.calibration.reduce((n, c) => n + c.bins.length, 0);
    assert.equal(await page.locator('svg.calibration-chart circle.calibration-point').count(), dots);
    for (const svg of ['svg.roc-chart', 'svg.calibration-chart']) {
      const width = await page.locator(svg).evaluate((e) => e.getBoundingClientRect().width);
      assert.ok(width > 200, `${svg} is drawn at a readable width (got ${width}px)`);
    }
    // Each line runs from (0, 0) to (1, 1) of the plot, and its caption gives the class's AUC.
    const lines = await page
      .locator('svg.roc-chart polyline.roc-line')
      .evaluateAll((ls) => ls.map((l) => (l.getAttribute('points') ?? '').split(' ')));
    for (const line of lines) {
      const [x0, y0] = (line[0] ?? '').split(',').map(Number);
      const [x1, y1] = (line.at(-1) ?? '').split(',').map(Number);
      assert.ok((x1 as number) > (x0 as number) && (y1 as number) < (y0 as number), line.join(' '));
    }
    const caption = (await page.locator('svg.roc-chart + figcaption').textContent()) ?? '';
    for (const c of curves.roc) assert.ok(caption.includes(`${c.class} AUC`), caption);
    // The joined outcomes have every class here, so each AUC is defined.
    assert.ok(curves.roc.every((c) => c.auc !== null && c.positives > 0 && c.negatives > 0));
  });

  it('shows calibrated thresholds as bands, not as the fixed threshold', async () => {
    // Prepare: the first feature judged against a calibrated band.
    const calibrated = structuredClone(report);
    const feature = calibrated.data_drift.features[0];
    assert.ok(feature?.test);
    feature.test.calibration = {
      mean: 0.04,
      std: 0.01,
      chunks: 10,
      chunk_size: 50,
      scale: 0.5,
      lower: 0.005,
      upper: 0.035,
      warning: 0.0275,
    };

    // Act
    const { page } = await open(renderDriftHtml(calibrated), 'calibrated.html');

    // Assess
    const row = await page
      .locator('table.features tbody tr', { hasText: feature.name })
      .first()
      .evaluate((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent));
    assert.equal(row[6], '≤ 0.035 calibrated');
  });

  it('holds aggregates only: no capture value and no prediction id', async () => {
    // Prepare
    const html = renderDriftHtml(report);

    // Act
    const { page } = await open(html, 'drift.html');
    const text = (await page.locator('body').textContent()) ?? '';

    // Assess: the values were made distinctive, so a hit would be a copied value, not chance.
    assert.ok(rawValues.length > 1000);
    const leaked = rawValues.filter((value) => html.includes(value));
    assert.deepEqual(leaked, []);
    assert.ok(!html.includes('secret-id') && !text.includes('secret-id'));
  });

  it('escapes every name it shows: a hostile feature name or class label stays text', async () => {
    // Prepare: names that would run script or fetch something if they were not escaped.
    const hostile = '<img src="https://example.invalid/x.png" onerror="console.error(1)">';
    const label = '"><script>console.error(2)</script>';
    const tampered = structuredClone(report);
    const first = tampered.data_drift.features[0];
    assert.ok(first);
    first.name = hostile;
    tampered.data_drift.drifted_features = [hostile];
    tampered.model = `${label}model`;
    tampered.warnings.push(hostile);
    if (tampered.performance.labels) tampered.performance.labels[0] = label;
    const roc = tampered.performance.curves?.roc[0];
    assert.ok(roc);
    roc.class = label;

    // Act
    const { page, errors, requests, url } = await open(renderDriftHtml(tampered), 'hostile.html');

    // Assess
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [url]);
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.locator('script').count(), 0);
    assert.ok(((await page.locator('table.features').textContent()) ?? '').includes(hostile));
    assert.ok(((await page.locator('h1').textContent()) ?? '').includes(label));
  });
});
