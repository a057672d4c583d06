/**
 * The serving core wired as in Lambda (createServing: S3 store → repository → loader → protocol →
 * HTTP app) against a real S3-compatible server on loopback, with outages injected.
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

const reluRequest = (values: number[]) =>
  new TextEncoder().encode(
    JSON.stringify({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: values }] }),
  );

before(async () => {
  s3 = await startS3Server({ client: { maxAttempts: 1, connectionTimeoutMs: 500, requestTimeoutMs: 2000 } });
  const relu = await readFile(
    join(conformanceDir(), 'onnx-backend', 'simple', 'test_single_relu_model', 'model.onnx'),
  );
  await publishModel(s3.store, { name: 'relu', version: 1, model: relu });
  await publishModel(s3.store, { name: 'relu-later', version: 1, model: relu });
  serving = createServing(readServingConfig({ MODEL_BUCKET: s3.bucket, REQUIRE_VALIDATION: 'false' }), {
    store: s3.store,
  });
});

after(async () => {
  await s3?.close();
});

describe('serving core over S3', () => {
  it('concurrent first requests for a model share one download', async () => {
    s3.resetRequests();

    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        serving.handle({ method: 'POST', path: '/v2/models/relu/infer', body: reluRequest([i - 10, 1]) }),
      ),
    );

    assert.deepEqual(
      outcomes.map((outcome) => outcome.response.status),
      Array(20).fill(200),
    );
    assert.equal(s3.count('GetObject', 'models/relu/1/model.onnx'), 1);
    assert.equal(outcomes.filter((outcome) => outcome.stats?.cacheHit === false).length >= 1, true);
    assert.equal(JSON.parse(outcomes[0]?.response.body ?? '{}').outputs[0].data[0], 0);
  });

  it('S3 down: 503 with a retry hint for what needs S3, loaded models keep answering; then recovers', async () => {
    await s3.stop();
    try {
      const ready = await serving.handle({ method: 'GET', path: '/v2/health/ready' });
      const cold = await serving.handle({
        method: 'POST',
        path: '/v2/models/relu-later/infer',
        body: reluRequest([1, 2]),
      });
      const warm = await serving.handle({
        method: 'POST',
        path: '/v2/models/relu/infer',
        body: reluRequest([-1, 3]),
      });

      assert.equal(ready.response.status, 503);
      assert.ok(Number(ready.response.headers['retry-after']) >= 1);
      assert.equal(cold.response.status, 503, cold.response.body);
      assert.match(JSON.parse(cold.response.body).error, /unavailable|unreachable/i);
      assert.equal(warm.response.status, 200, warm.response.body);
    } finally {
      await s3.restart();
    }

    const ready = await serving.handle({ method: 'GET', path: '/v2/health/ready' });
    const cold = await serving.handle({
      method: 'POST',
      path: '/v2/models/relu-later/infer',
      body: reluRequest([1, 2]),
    });

    assert.equal(ready.response.status, 200);
    assert.equal(cold.response.status, 200, cold.response.body);
    assert.deepEqual(JSON.parse(cold.response.body).outputs[0].data, [1, 2]);
  });

  it('preload loads listed models and reports the ones that fail', async () => {
    const results = await serving.preload(['relu:1', 'missing-model', '../bad']);

    assert.deepEqual(
      results.map((result) => [result.entry, result.ok]),
      [
        ['relu:1', true],
        ['missing-model', false],
        ['../bad', false],
      ],
    );
  });
});
