/**
 * API capture through the serving core wired as in Lambda (createServing) against a real
 * S3-compatible server: which answered inferences yield capture records, per `CAPTURE_ENABLED`
 * and the model's `capture` settings. (The log line and the local pipeline: test/capture,
 * test/local, test/e2e/capture.test.ts.)
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

const request = (id: string) =>
  new TextEncoder().encode(
    JSON.stringify({ id, inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [-1, 2] }] }),
  );

before(async () => {
  s3 = await startS3Server();
  const relu = await readFile(
    join(conformanceDir(), 'onnx-backend', 'simple', 'test_single_relu_model', 'model.onnx'),
  );
  await publishModel(s3.store, { name: 'relu', version: 1, model: relu });
  await publishModel(s3.store, {
    name: 'private',
    version: 1,
    model: relu,
    config: { capture: { enabled: false } },
  });
  await publishModel(s3.store, {
    name: 'sampled',
    version: 1,
    model: relu,
    config: { capture: { sample_rate: 0 } },
  });
});

after(async () => {
  await s3?.close();
});

describe('API capture in the serving core', () => {
  it('an answered inference yields its capture record, built after the answer', async () => {
    const serving = createServing(
      readServingConfig({ MODEL_BUCKET: s3.bucket, REQUIRE_VALIDATION: 'false' }),
      { store: s3.store },
    );

    const outcome = await serving.handle({
      method: 'POST',
      path: '/v2/models/relu/infer',
      body: request('r-1'),
    });

    assert.equal(outcome.response.status, 200);
    assert.equal(outcome.captures?.length, 1);
    const [record] = outcome.captures ?? [];
    assert.equal(record?.id, 'r-1');
    assert.equal(record?.model, 'relu');
    assert.equal(record?.version, '1');
    assert.equal(record?.source, 'api');
    // The model's one input is [1, 2] with a fixed width: tabular by default, features f0, f1.
    assert.deepEqual({ ...(record?.inputs as object) }, { f0: -1, f1: 2 });
    assert.deepEqual(record?.outputs, JSON.parse(outcome.response.body).outputs);
  });

  it('nothing for a model with capture disabled or sampled at 0, and nothing when CAPTURE_ENABLED=false', async () => {
    const serving = createServing(
      readServingConfig({ MODEL_BUCKET: s3.bucket, REQUIRE_VALIDATION: 'false' }),
      { store: s3.store },
    );
    const off = createServing(
      readServingConfig({ MODEL_BUCKET: s3.bucket, REQUIRE_VALIDATION: 'false', CAPTURE_ENABLED: 'false' }),
      {
        store: s3.store,
      },
    );

    const disabled = await serving.handle({
      method: 'POST',
      path: '/v2/models/private/infer',
      body: request('p'),
    });
    const sampled = await serving.handle({
      method: 'POST',
      path: '/v2/models/sampled/infer',
      body: request('s'),
    });
    const globallyOff = await off.handle({
      method: 'POST',
      path: '/v2/models/relu/infer',
      body: request('g'),
    });

    assert.deepEqual(
      [disabled, sampled, globallyOff].map((outcome) => outcome.response.status),
      [200, 200, 200],
    );
    assert.deepEqual(disabled.captures, []);
    assert.deepEqual(sampled.captures, []);
    assert.equal(globallyOff.captures, undefined);
  });

  it('a refused inference captures nothing', async () => {
    const serving = createServing(
      readServingConfig({ MODEL_BUCKET: s3.bucket, REQUIRE_VALIDATION: 'false' }),
      { store: s3.store },
    );
    const wrong = new TextEncoder().encode(
      JSON.stringify({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'INT64', data: [1, 2] }] }),
    );

    const outcome = await serving.handle({ method: 'POST', path: '/v2/models/relu/infer', body: wrong });

    assert.equal(outcome.response.status, 400);
    assert.equal(outcome.captures, undefined);
  });
});
