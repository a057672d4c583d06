/**
 * Drift monitoring end to end in the local stack (`npm start`'s code, built bundles,
 * serverless.yml): the demo models come with their reference profiles; predictions over HTTP are
 * captured, outcomes posted, and `npm run drift` finds no drift in traffic like the hold-out rows,
 * then drift once shifted traffic arrives, with the ModelDriftDetected event in the stack's events
 * file; the drift schedule of serverless.yml runs on the local timer.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main as drift } from '../../scripts/drift-cli.ts';
import { captureOfStoredLine } from '../../src/capture/log-line.ts';
import type { ReferenceDocument } from '../../src/drift/profiles/reference-types.ts';
import type { DriftReport } from '../../src/drift/report/report-types.ts';
import { requestJson } from '../helpers/http.ts';
import { type RunningStack, startStack } from '../helpers/local-stack.ts';

let stack: RunningStack;
let features: string[];
let holdout: { rows: number[][]; labels: number[] };
let reference: ReferenceDocument;

before(async () => {
  stack = await startStack({ CAPTURE_FLUSH_SECONDS: '0.5', DRIFT_INTERVAL_SECONDS: '1' });
  const demo = join(stack.stateDir, 'demo-models', 'breast-cancer');
  features = (JSON.parse(await readFile(join(demo, 'config.json'), 'utf8')) as { feature_names: string[] })
    .feature_names;
  const [, ...lines] = (await readFile(join(demo, 'holdout.csv'), 'utf8')).trim().split('\n');
  const parsed = lines.map((line) => line.split(',').map(Number));
  holdout = {
    rows: parsed.map((row) => row.slice(0, -1)),
    labels: parsed.map((row) => row.at(-1) as number),
  };
  reference = json(await stack.store.get('models/breast-cancer/1/reference.json'));
});

after(async () => {
  await stack?.stop();
});

function json<T>(object: { body: Uint8Array } | undefined): T {
  assert.ok(object, 'object exists');
  return JSON.parse(new TextDecoder().decode(object.body)) as T;
}

async function infer(id: string, rows: number[][]): Promise<string[]> {
  const response = await requestJson(`${stack.apiUrl}/v2/models/breast-cancer/infer`, {
    body: {
      id,
      inputs: [{ name: 'input', shape: [rows.length, features.length], datatype: 'FP32', data: rows }],
    },
  });
  assert.equal(response.status, 200, response.text);
  const ids = (response.body as { parameters?: { prediction_ids?: string[] } }).parameters?.prediction_ids;
  assert.ok(ids && ids.length === rows.length);
  return ids;
}

/** Polls the bucket until every id is captured (the local pipeline flushes every 0.5 s). */
async function waitForCaptures(ids: readonly string[]): Promise<void> {
  const wanted = new Set(ids);
  const deadline = Date.now() + 30_000;
  while (true) {
    const seen = new Set<string>();
    for (const { key } of (await stack.store.list('captures/breast-cancer/')).objects) {
      for (const line of new TextDecoder().decode((await stack.store.get(key))?.body).split('\n')) {
        const record = captureOfStoredLine(line);
        if (record && wanted.has(record.id)) seen.add(record.id);
      }
    }
    if (seen.size === wanted.size) return;
    if (Date.now() > deadline)
      throw new Error(`${wanted.size - seen.size} of ${wanted.size} captures missing after 30 s`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

async function runDrift(): Promise<{ printed: string[]; report: DriftReport }> {
  const printed: string[] = [];
  const outcomes = await drift(['--model', 'breast-cancer', '--state-dir', stack.stateDir], (line) =>
    printed.push(line),
  );
  const outcome = outcomes[0];
  assert.equal(outcome?.status, 'checked', printed.join('\n'));
  return { printed, report: outcome.report };
}

describe('local stack: drift monitoring', () => {
  it('publishes the demo models with their reference profiles, performance included', async () => {
    for (const name of ['breast-cancer', 'iris', 'wine']) {
      const stored = json<ReferenceDocument>(await stack.store.get(`models/${name}/1/reference.json`));
      assert.equal(stored.source.file, 'train.csv');
      assert.equal(typeof stored.performance?.classification?.accuracy, 'number', name);
    }
    assert.equal(reference.features.length, 30);
  });

  it('npm run drift: no drift for hold-out traffic, then drift and an event once traffic shifts', async () => {
    // Prepare: the hold-out rows as one request (142 predictions), and outcomes for 100 of them.
    const normal = await infer('normal', holdout.rows);
    await waitForCaptures(normal);
    const posted = await requestJson(`${stack.apiUrl}/v2/models/breast-cancer/outcomes`, {
      body: { outcomes: normal.slice(0, 100).map((id, i) => ({ id, value: holdout.labels[i] })) },
    });
    assert.equal(posted.status, 200, posted.text);

    // Act
    const first = await runDrift();

    // Assess: no drift, outcomes joined, report written where the CLI says.
    assert.equal(first.report.verdict, 'ok', first.printed.join('\n'));
    assert.match(first.printed[0] ?? '', /^breast-cancer v1: data drift ok \(0 of 30 features drift\)/);
    assert.match(first.printed[0] ?? '', /outcome coverage 70\.4 %/);
    assert.equal(first.report.outcomes.joined, 100);
    assert.ok(await stack.store.head(first.report.keys.html));
    assert.ok(first.printed.some((line) => line.includes(first.report.keys.html)));

    // Prepare: the same rows with 20 features moved by 4 reference standard deviations.
    const sd = new Map(
      reference.features.map((f) => [f.name, f.profile.kind === 'numeric' ? (f.profile.std ?? 0) : 0]),
    );
    const rows = holdout.rows.map((row) =>
      row.map((v, f) => (f < 20 ? v + 4 * (sd.get(features[f] ?? '') ?? 0) : v)),
    );
    await waitForCaptures(await infer('shifted', rows));

    // Act
    const second = await runDrift();

    // Assess
    assert.equal(second.report.verdict, 'drift', second.printed.join('\n'));
    assert.equal(second.report.counts.predictions, 2 * holdout.rows.length);
    assert.ok(second.printed.some((line) => line.startsWith('  event   ModelDriftDetected → ')));
    const events = (await readFile(join(stack.stateDir, 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as {
            source: string;
            'detail-type': string;
            detail: { model: string; report: { json: string } };
          },
      );
    const mine = events.find((event) => event.detail.report.json === second.report.keys.json);
    assert.ok(mine, 'the event of this check is in events.jsonl');
    assert.equal(mine.source, 'onnx-serve');
    assert.equal(mine['detail-type'], 'ModelDriftDetected');
  });

  it('runs the drift schedule of serverless.yml on the local timer', async () => {
    const deadline = Date.now() + 30_000;
    while (!stack.lines.some((line) => line.startsWith('local stack: drift (scheduled) '))) {
      if (Date.now() > deadline) throw new Error('no scheduled drift run within 30 s');
      await new Promise((done) => setTimeout(done, 100));
    }
    assert.ok(
      stack.lines.some((line) => /schedules\s+drift ← rate\(1 hour\) \(locally every 1 s\)/.test(line)),
    );
  });
});
