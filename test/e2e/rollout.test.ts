/**
 * The rollout walk-through of docs/model-repository.md on the local stack (`npm start`'s code,
 * built bundles, serverless.yml): version 2 published as a shadow (captured, never answering),
 * then a 10 % canary (10 % ± 2 % of 2,000 requests, sticky ids), outcomes posted, and the drift
 * report naming the version that performs better, with a ModelRolloutVerdict event.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main as drift } from '../../scripts/drift-cli.ts';
import { mulberry32 } from '../../scripts/lib/random.ts';
import { expectedLabel, TWO_CLASS_CONFIG, twoClassModel } from '../../scripts/lib/rollout-models.ts';
import { captureOfStoredLine } from '../../src/capture/log-line.ts';
import type { CaptureRecord } from '../../src/capture/record.ts';
import { requestJson } from '../helpers/http.ts';
import { type RunningStack, startStack, waitForVerdict } from '../helpers/local-stack.ts';

const MODEL = 'rollout-demo';
const ARGMAX = [1, 1] as const;
const WEIGHTED = [1, 2] as const;

let stack: RunningStack;

before(async () => {
  stack = await startStack({
    CAPTURE_FLUSH_SECONDS: '0.5',
    DEMO_MODELS: 'false',
    MODEL_REFRESH_SECONDS: '0',
    // Every shadow run is counted here, however busy the machine: none may miss the budget.
    SHADOW_BUDGET_MS: '10000',
  });
});

after(async () => {
  await stack?.stop();
});

const random = mulberry32(19);
const rowOf = (): [number, number] => [random(), random()];

async function putConfig(config: Record<string, unknown>): Promise<void> {
  await stack.store.put(`models/${MODEL}/config.json`, JSON.stringify({ ...TWO_CLASS_CONFIG, ...config }));
}

async function infer(id: string, row: [number, number]): Promise<{ version: string; label: number }> {
  const response = await requestJson(`${stack.apiUrl}/v2/models/${MODEL}/infer`, {
    body: { id, inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP32', data: [row] }] },
  });
  assert.equal(response.status, 200, response.text);
  const body = response.body as { model_version: string; outputs: { name: string; data: number[] }[] };
  return {
    version: body.model_version,
    label: Number(body.outputs.find((output) => output.name === 'label')?.data[0]),
  };
}

/** Sends the requests a few at a time; answers in the order of `requests`. */
async function inferAll(requests: { id: string; row: [number, number] }[]) {
  const answers: { version: string; label: number }[] = [];
  for (let at = 0; at < requests.length; at += 16) {
    const slice = requests.slice(at, at + 16);
    answers.push(...(await Promise.all(slice.map(({ id, row }) => infer(id, row)))));
  }
  return answers;
}

async function captures(): Promise<CaptureRecord[]> {
  const found: CaptureRecord[] = [];
  for (const { key } of (await stack.store.list(`captures/${MODEL}/`)).objects) {
    for (const line of new TextDecoder().decode((await stack.store.get(key))?.body).split('\n')) {
      const record = captureOfStoredLine(line);
      if (record !== undefined) found.push(record);
    }
  }
  return found;
}

async function waitForCaptures(count: number): Promise<CaptureRecord[]> {
  const deadline = Date.now() + 60_000;
  while (true) {
    const found = await captures();
    if (found.length >= count) return found;
    if (Date.now() > deadline) throw new Error(`${found.length} of ${count} captures after 60 s`);
    await new Promise((done) => setTimeout(done, 200));
  }
}

describe('local stack: rollout walk-through', () => {
  const truth = new Map<string, number>();

  it('publishes version 2 as a shadow: captured under the same ids, answers untouched', async () => {
    // Prepare: version 1 serves; version 2 arrives with the config naming it a shadow.
    await stack.store.put(`models/${MODEL}/1/model.onnx`, twoClassModel(ARGMAX));
    await waitForVerdict(stack.store, MODEL, 1);
    await putConfig({ default_version: 1 });
    await stack.store.put(`models/${MODEL}/2/model.onnx`, twoClassModel(WEIGHTED));
    await waitForVerdict(stack.store, MODEL, 2);
    await putConfig({ default_version: 1, shadow: [2] });
    const requests = Array.from({ length: 200 }, (_, i) => ({ id: `shadowed-${i}`, row: rowOf() }));

    // Act
    const answers = await inferAll(requests);

    // Assess: every answer is version 1's; version 2's outputs are captured as shadows.
    requests.forEach(({ id, row }, i) => {
      assert.deepEqual(answers[i], { version: '1', label: expectedLabel(ARGMAX, row) });
      truth.set(id, expectedLabel(ARGMAX, row));
    });
    const records = await waitForCaptures(400);
    const shadows = records.filter((record) => record.shadow === true);
    assert.equal(shadows.length, 200);
    assert.ok(shadows.every((record) => record.version === '2' && truth.has(record.id)));
    const byId = new Map(requests.map(({ id, row }) => [id, row]));
    for (const record of shadows) {
      const label = record.outputs.find((output) => output.name === 'label')?.data?.[0];
      assert.equal(Number(label), expectedLabel(WEIGHTED, byId.get(record.id) as [number, number]));
    }
  });

  it('moves to a 10 % canary: 10 % ± 2 % of 2,000 requests, the same id always on the same version', async (t) => {
    // Prepare
    await putConfig({ traffic: { '1': 90, '2': 10 } });
    const requests = Array.from({ length: 2000 }, (_, i) => ({ id: `canary-${i}`, row: rowOf() }));

    // Act
    const answers = await inferAll(requests);
    const replayed = await inferAll(requests.slice(0, 200));

    // Assess
    const share = answers.filter((answer) => answer.version === '2').length / answers.length;
    t.diagnostic(`canary share of 2,000 requests: ${(share * 100).toFixed(2)} %`);
    assert.ok(Math.abs(share - 0.1) <= 0.02, `canary share ${share}`);
    assert.deepEqual(
      replayed.map((answer) => answer.version),
      answers.slice(0, 200).map((answer) => answer.version),
    );
    requests.forEach(({ id, row }, i) => {
      const weights = answers[i]?.version === '2' ? WEIGHTED : ARGMAX;
      assert.equal(answers[i]?.label, expectedLabel(weights, row));
      truth.set(id, expectedLabel(ARGMAX, row));
    });
    await waitForCaptures(400 + 2200);
  });

  it('reports which version performs better on the posted outcomes, with a ModelRolloutVerdict event', async (t) => {
    // Prepare: the outcomes are version 1's answers, so version 2 is wrong where the two disagree.
    const outcomes = [...truth].map(([id, value]) => ({ id, value }));
    const posted = await requestJson(`${stack.apiUrl}/v2/models/${MODEL}/outcomes`, { body: { outcomes } });
    assert.equal(posted.status, 200, posted.text);

    // Act
    const printed: string[] = [];
    const [outcome] = await drift(['--model', MODEL, '--state-dir', stack.stateDir], (line) =>
      printed.push(line),
    );

    // Assess
    assert.equal(outcome?.status, 'checked', printed.join('\n'));
    const rollout = outcome.report.rollout;
    assert.ok(rollout, 'the report has a rollout section');
    assert.equal(rollout.primary, '1');
    const byVersion = new Map(rollout.versions.map((v) => [`${v.version}/${v.role}`, v]));
    assert.equal(byVersion.get('1/primary')?.accuracy, 1);
    const shadow = rollout.comparisons.find((c) => c.kind === 'shadow');
    const canary = rollout.comparisons.find((c) => c.kind === 'canary');
    t.diagnostic(JSON.stringify(rollout.comparisons));
    assert.equal(shadow?.verdict, 'worse', JSON.stringify(rollout));
    assert.equal(shadow?.test, 'mcnemar_exact');
    assert.equal(canary?.verdict, 'worse', JSON.stringify(rollout));
    const html = new TextDecoder().decode((await stack.store.get(outcome.report.keys.html))?.body);
    assert.match(html, /<h2>Rollout<\/h2>/);
    const events = (await readFile(join(stack.stateDir, 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { 'detail-type': string; detail: { model: string } });
    assert.ok(
      events.some((event) => event['detail-type'] === 'ModelRolloutVerdict' && event.detail.model === MODEL),
    );
  });
});
