/**
 * The outcomes endpoint through the serving core wired as in Lambda (createServing) against a real
 * S3-compatible server on loopback: stored before the answer, refused without a trace, 503 when
 * the store fails.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readServingConfig } from '../../src/config/serving-config.ts';
import { publishModel } from '../../src/repository/publish.ts';
import { createServing } from '../../src/serving.ts';
import { conformanceDir } from '../helpers/paths.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';

let s3: TestS3Server;
let serving: ReturnType<typeof createServing>;

const post = (path: string, body: unknown) =>
  serving.handle({
    method: 'POST',
    path,
    body: new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body)),
  });

async function outcomeKeys(): Promise<string[]> {
  return (await s3.store.list('outcomes/')).objects.map((object) => object.key).sort();
}

before(async () => {
  s3 = await startS3Server({ client: { maxAttempts: 1, connectionTimeoutMs: 500, requestTimeoutMs: 2000 } });
  const relu = await readFile(
    join(conformanceDir(), 'onnx-backend', 'simple', 'test_single_relu_model', 'model.onnx'),
  );
  await publishModel(s3.store, { name: 'relu', version: 1, model: relu });
  serving = createServing(readServingConfig({ MODEL_BUCKET: s3.bucket, REQUIRE_VALIDATION: 'false' }), {
    store: s3.store,
  });
});

after(async () => {
  await s3?.close();
});

describe('POST /v2/models/{name}/outcomes', () => {
  it('stores the outcomes as one JSON-lines object under outcomes/{name}/{hour}/ before answering 200', async () => {
    const before = await outcomeKeys();

    const outcome = await post('/v2/models/relu/outcomes', {
      outcomes: [
        { id: 'req-1', value: 1.5, ts: '2026-01-02T03:04:05Z' },
        { id: 'req-2:0', value: 'yes' },
      ],
    });

    assert.equal(outcome.response.status, 200, outcome.response.body);
    assert.deepEqual(JSON.parse(outcome.response.body), { accepted: 2 });
    const added = (await outcomeKeys()).filter((key) => !before.includes(key));
    assert.equal(added.length, 1);
    const [key = ''] = added;
    assert.equal(outcome.outcomes?.key, key);
    assert.match(key, /^outcomes\/relu\/\d{4}\/\d\d\/\d\d\/\d\d\/[0-9a-f-]{36}\.jsonl$/);
    const lines = new TextDecoder()
      .decode((await s3.store.get(key))?.body)
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[0], {
      id: 'req-1',
      value: 1.5,
      ts: '2026-01-02T03:04:05.000Z',
      received_at: lines[0]?.received_at,
    });
    assert.equal(lines[1]?.ts, lines[1]?.received_at);
    const receivedAt = new Date(String(lines[0]?.received_at));
    assert.ok(key.includes(`/${receivedAt.getUTCFullYear()}/`), `${key} is filed by the receipt time`);
  });

  it('an invalid body is a 400 naming the problem, and nothing is written', async () => {
    const before = await outcomeKeys();

    const bad = [
      await post('/v2/models/relu/outcomes', { outcomes: [{ id: 'a', value: 1 }, { id: 'b' }] }),
      await post('/v2/models/relu/outcomes', '{"outcomes": ['),
      await post('/v2/models/relu/outcomes', ''),
    ];

    assert.deepEqual(
      bad.map((outcome) => outcome.response.status),
      [400, 400, 400],
    );
    assert.match(JSON.parse(bad[0]?.response.body ?? '{}').error, /^outcomes\[1\]\.value must be/);
    assert.match(JSON.parse(bad[1]?.response.body ?? '{}').error, /malformed JSON/);
    assert.match(JSON.parse(bad[2]?.response.body ?? '{}').error, /empty; expected a JSON body \{"outcomes"/);
    assert.deepEqual(await outcomeKeys(), before);
  });

  it('a bad model name is a 400 before any S3 call; an unknown model a 404', async () => {
    s3.resetRequests();
    const badName = await post('/v2/models/..%2Fx/outcomes', { outcomes: [{ id: 'a', value: 1 }] });
    const requestsForBadName = s3.requests.length;
    const unknown = await post('/v2/models/no-such-model/outcomes', { outcomes: [{ id: 'a', value: 1 }] });

    assert.equal(badName.response.status, 400);
    assert.equal(requestsForBadName, 0);
    assert.equal(unknown.response.status, 404);
    assert.match(JSON.parse(unknown.response.body).error, /model 'no-such-model' not found/);
    assert.equal(s3.count('PutObject'), 0);
  });

  it('a failed write is a 503 with a retry hint, claims nothing, and the next try succeeds', async () => {
    const before = await outcomeKeys();
    await s3.setFault('status503', (request) => request.operation === 'PutObject');
    let failed: Awaited<ReturnType<typeof post>>;
    try {
      failed = await post('/v2/models/relu/outcomes', { outcomes: [{ id: 'retry-1', value: 0 }] });
    } finally {
      await s3.setFault(null);
    }
    const afterFailure = await outcomeKeys();
    const retried = await post('/v2/models/relu/outcomes', { outcomes: [{ id: 'retry-1', value: 0 }] });

    assert.equal(failed.response.status, 503);
    assert.ok(Number(failed.response.headers['retry-after']) >= 1);
    assert.equal(JSON.parse(failed.response.body).accepted, undefined);
    assert.deepEqual(afterFailure, before);
    assert.equal(retried.response.status, 200);
    assert.equal((await outcomeKeys()).length, before.length + 1);
  });

  it('other methods are 405 with Allow: POST; server metadata lists the extension', async () => {
    const get = await serving.handle({ method: 'GET', path: '/v2/models/relu/outcomes' });
    const metadata = await serving.handle({ method: 'GET', path: '/v2' });

    assert.equal(get.response.status, 405);
    assert.equal(get.response.headers.allow, 'POST');
    assert.deepEqual(JSON.parse(metadata.response.body).extensions, [
      'model_repository',
      'model_configuration',
      'statistics',
      'classification',
      'binary_tensor_data',
      'outcomes',
    ]);
  });
});
