/**
 * Capture and outcomes under concurrent load: counts in = counts out (sample rate 1). Every
 * accepted outcome is one stored line, every prediction one capture line, none twice.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { S3ObjectStore } from '../../src/adapters/aws/s3-store.ts';
import { formatCaptureLines } from '../../src/capture/log-line.ts';
import { readServingConfig } from '../../src/config/serving-config.ts';
import { publishModel } from '../../src/repository/publish.ts';
import { createServing } from '../../src/serving.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { bodyOf, reluModel, type Serving } from './helpers.ts';

let s3: TestS3Server;
let serving: Serving;

before(async () => {
  s3 = await startS3Server();
  await publishModel(s3.store, { name: 'relu', version: 1, model: await reluModel() });
  // Patient timeouts: this is about counting under load, not about faults.
  const client = s3.createClient({
    maxAttempts: 1,
    connectionTimeoutMs: 60_000,
    requestTimeoutMs: 60_000,
    socketTimeoutMs: 60_000,
  });
  serving = createServing(readServingConfig({ MODEL_BUCKET: s3.bucket, REQUIRE_VALIDATION: 'false' }), {
    store: new S3ObjectStore({ client, bucket: s3.bucket }),
  });
});

after(async () => {
  await s3?.close();
});

describe('counts in = counts out under load', () => {
  it('300 concurrent outcome posts of 1–20 outcomes: every outcome stored once', async () => {
    const posts = Array.from({ length: 300 }, (_, p) =>
      Array.from({ length: (p % 20) + 1 }, (_, i) => ({ id: `p${p}-o${i}`, value: (p + i) % 3 })),
    );
    const sent = posts.reduce((sum, outcomes) => sum + outcomes.length, 0);

    const answers = await Promise.all(
      posts.map((outcomes) =>
        serving.handle({ method: 'POST', path: '/v2/models/relu/outcomes', body: bodyOf({ outcomes }) }),
      ),
    );

    const failed = answers.filter((answer) => answer.response.status !== 200);
    assert.deepEqual(
      failed.slice(0, 3).map((answer) => answer.response.body),
      [],
    );
    assert.equal(
      answers.reduce((sum, answer) => sum + (answer.outcomes?.accepted ?? 0), 0),
      sent,
    );
    const ids: string[] = [];
    for (const { key } of (await s3.store.list('outcomes/relu/')).objects) {
      const text = new TextDecoder().decode((await s3.store.get(key))?.body);
      for (const line of text.split('\n').filter((l) => l !== ''))
        ids.push((JSON.parse(line) as { id: string }).id);
    }
    assert.equal(ids.length, sent);
    assert.equal(new Set(ids).size, sent, 'no outcome stored twice');
  });

  it('500 concurrent inferences: one capture line per prediction, ids unique', async () => {
    const requests = Array.from({ length: 500 }, (_, r) => ({
      id: `req-${r}`,
      inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [r, -r] }],
    }));

    const answers = await Promise.all(
      requests.map((request) =>
        serving.handle({ method: 'POST', path: '/v2/models/relu/infer', body: bodyOf(request) }),
      ),
    );

    assert.ok(answers.every((answer) => answer.response.status === 200));
    let lines = 0;
    const ids = new Set<string>();
    for (const answer of answers) {
      assert.equal(answer.captureError, undefined);
      const { text, count, oversized } = formatCaptureLines(answer.captures ?? [], 'hardening');
      assert.deepEqual(oversized, []);
      lines += count;
      for (const record of answer.captures ?? []) ids.add(String((record as { id?: unknown }).id));
      assert.equal(text.split('\n').filter((line) => line !== '').length, count);
    }
    assert.ok(lines > 0);
    assert.equal(ids.size, lines, 'capture ids unique');
    assert.equal(lines, requests.length);
    assert.deepEqual([...ids].sort(), requests.map((request) => request.id).sort());
  });
});
