/**
 * Models are untrusted input. Each hostile model here is built by the project (hostile-models.ts)
 * and served through the serving core as Lambda wires it, over a real S3-compatible server, with
 * real onnxruntime in real model processes. Every test would fail without its protection: the
 * output-size and memory bombs answer 200 or kill the process, the loops never answer, the
 * external-data models read files outside their folder. The relu model keeps being served
 * throughout.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { publishModel } from '../../src/repository/publish.ts';
import { validateModel } from '../../src/validation/validate-model.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { bodyOf, reluModel, type Serving, servingOver, validReluRequest } from './helpers.ts';
import {
  constantExpandBomb,
  constantLoop,
  externalDataModel,
  inputExpandBomb,
  inputLoop,
  largeInitializerModel,
} from './hostile-models.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'external-data');

let s3: TestS3Server;
let serving: Serving;

const post = (path: string, value: unknown) => serving.handle({ method: 'POST', path, body: bodyOf(value) });
const errorOf = (body: string) => (JSON.parse(body) as { error: string }).error;

async function assertReluServed(): Promise<void> {
  const outcome = await post('/v2/models/relu/infer', validReluRequest([-1, 2]));
  assert.equal(outcome.response.status, 200, outcome.response.body);
  const live = await serving.handle({ method: 'GET', path: '/v2/health/live' });
  assert.equal(live.response.status, 200);
}

before(async () => {
  s3 = await startS3Server();
  await publishModel(s3.store, { name: 'relu', version: 1, model: await reluModel() });
  await publishModel(s3.store, { name: 'expand', version: 1, model: inputExpandBomb() });
  await publishModel(s3.store, { name: 'loop', version: 1, model: inputLoop() });
  serving = servingOver(s3, {
    REQUIRE_VALIDATION: 'false',
    INFERENCE_DEADLINE_SECONDS: '2',
    INFERENCE_MEMORY_MB: '512',
  });
  await assertReluServed();
});

after(async () => {
  serving?.loader.clear();
  await s3?.close();
});

describe('bounded inference', () => {
  it('refuses outputs larger than a response can carry, naming the output and its size, before encoding', async () => {
    const outcome = await post('/v2/models/expand/infer', {
      inputs: [{ name: 'shape', shape: [2], datatype: 'INT64', data: [4000, 4000] }],
    });
    assert.equal(outcome.response.status, 422, outcome.response.body);
    assert.match(
      errorOf(outcome.response.body),
      /'y' \[4000, 4000\] 61\.0 MiB.*over the 6\.0 MiB a response can carry/,
    );
    assert.ok(outcome.response.body.length < 1000);
    await assertReluServed();
  });

  it('ends a request whose outputs would need more memory than a run may take with a 422; the model still serves', async () => {
    const outcome = await post('/v2/models/expand/infer', {
      inputs: [{ name: 'shape', shape: [2], datatype: 'INT64', data: [16000, 16000] }],
    });
    assert.equal(outcome.response.status, 422, outcome.response.body);
    assert.match(errorOf(outcome.response.body), /needed more memory than the 512 MiB a run may take/);
    const small = await post('/v2/models/expand/infer', {
      inputs: [{ name: 'shape', shape: [2], datatype: 'INT64', data: [2, 3] }],
    });
    assert.equal(small.response.status, 200, small.response.body);
    await assertReluServed();
  });

  it('stops an input-driven loop at the deadline (504) while the process keeps answering, then serves the model again', async () => {
    const order: string[] = [];
    const endless = post('/v2/models/loop/infer', {
      inputs: [{ name: 'n', shape: [1], datatype: 'INT64', data: [1_000_000_000_000] }],
    }).then((outcome) => {
      order.push('loop');
      return outcome;
    });
    // The event loop is free while the model runs elsewhere: health answers before the loop ends.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const live = await serving.handle({ method: 'GET', path: '/v2/health/live' });
    order.push('live');
    assert.equal(live.response.status, 200);
    const outcome = await endless;
    assert.deepEqual(order, ['live', 'loop']);
    assert.equal(outcome.response.status, 504, outcome.response.body);
    assert.match(errorOf(outcome.response.body), /ran past the 2 s deadline of an inference and was stopped/);

    const again = await post('/v2/models/loop/infer', {
      inputs: [{ name: 'n', shape: [1], datatype: 'INT64', data: [3] }],
    });
    assert.equal(again.response.status, 200, again.response.body);
    assert.deepEqual(
      (JSON.parse(again.response.body) as { outputs: { data: number[] }[] }).outputs[0]?.data,
      [3],
    );
    await assertReluServed();
  });

  it('refuses a model whose load allocates past the memory limit', async () => {
    await publishModel(s3.store, { name: 'large', version: 1, model: largeInitializerModel(200_000_000) });
    const bounded = servingOver(s3, { REQUIRE_VALIDATION: 'false', INFERENCE_MEMORY_MB: '128' });
    try {
      const outcome = await bounded.handle({
        method: 'POST',
        path: '/v2/models/large/infer',
        body: bodyOf({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] }),
      });
      assert.ok(outcome.response.status === 422, outcome.response.body);
      assert.match(errorOf(outcome.response.body), /memory/);
    } finally {
      bounded.loader.clear();
    }
    await assertReluServed();
  });
});

describe('validation fails closed and is bounded', () => {
  const verdict = async (
    name: string,
    model: Uint8Array,
    options: Parameters<typeof validateModel>[2] = {},
  ) => {
    await publishModel(s3.store, { name, version: 1, model });
    const result = await validateModel(s3.store, `models/${name}/1/model.onnx`, { runs: 2, ...options });
    assert.equal(result.outcome, 'validated');
    return result.outcome === 'validated' ? result.metadata : undefined;
  };

  it('marks a constant output-size bomb invalid, saying which limit was hit', async () => {
    const metadata = await verdict('const-expand', constantExpandBomb(30_000), { limits: { memoryMb: 512 } });
    assert.equal(metadata?.status, 'invalid');
    assert.match(metadata?.reason ?? '', /memory limit|output size limit/);
  });

  it('marks a constant endless loop invalid with the time limit', async () => {
    const metadata = await verdict('const-loop', constantLoop(), { limits: { deadlineMs: 1000 } });
    assert.equal(metadata?.status, 'invalid');
    assert.match(metadata?.reason ?? '', /time limit: .*ran past the 1 s deadline/);
  });

  it("marks a slow model invalid against its config.json's latency ceiling", async () => {
    await s3.store.put('models/slow/config.json', JSON.stringify({ validation: { max_latency_ms: 0.001 } }));
    const metadata = await verdict('slow', constantLoop(20_000n));
    assert.equal(metadata?.status, 'invalid');
    assert.match(
      metadata?.reason ?? '',
      /latency limit: the median smoke run took .* ms, over the 0\.001 ms/,
    );
  });

  it('serves a version only with a valid verdict for its current upload', async () => {
    await publishModel(s3.store, { name: 'gated', version: 1, model: await reluModel() });
    const strict = servingOver(s3, { REQUIRE_VALIDATION: 'true', MODEL_REFRESH_SECONDS: '0' });
    const request = () =>
      strict.handle({ method: 'POST', path: '/v2/models/gated/infer', body: bodyOf(validReluRequest()) });
    try {
      const pending = await request();
      assert.equal(pending.response.status, 503, pending.response.body);
      assert.match(errorOf(pending.response.body), /is not validated yet/);

      await validateModel(s3.store, 'models/gated/1/model.onnx', { runs: 1 });
      assert.equal((await request()).response.status, 200);

      // A new upload of the same version is not covered by the old verdict.
      await s3.store.put(
        'models/gated/1/model.onnx',
        await reluModel().then((bytes) => new Uint8Array([...bytes, 0x3a, 0x00])),
      );
      const replaced = await request();
      assert.equal(replaced.response.status, 503, replaced.response.body);
      assert.match(errorOf(replaced.response.body), /describes an earlier upload/);
    } finally {
      strict.loader.clear();
    }
  });
});

describe('external data stays inside the version folder', () => {
  const hostile: [string, string][] = [
    ['relative path to a file of the process', '.local/stack.json'],
    ['absolute path', '/etc/passwd'],
    ['parent folder', '../../other/1/model.onnx.data'],
    ['nested parent', 'weights/../../../secret.bin'],
    ['backslash', '..\\..\\secret.bin'],
    ['dot segment', './model.onnx.data'],
    ['URL', 'file:///etc/passwd'],
    ['percent-escaped parent', '%2e%2e/secret.bin'],
    ['the model itself', 'model.onnx'],
  ];
  for (const [label, location] of hostile) {
    it(`refuses a tensor at ${label} ('${location}') in validation and in the loader`, async () => {
      const name = `ext-${hostile.findIndex(([l]) => l === label)}`;
      await publishModel(s3.store, { name, version: 1, model: externalDataModel({ location }) });
      const result = await validateModel(s3.store, `models/${name}/1/model.onnx`, { runs: 1 });
      assert.equal(result.outcome, 'validated');
      if (result.outcome === 'validated') {
        assert.equal(result.metadata.status, 'invalid');
        assert.match(result.metadata.reason ?? '', /tensor 'w' reads external data at/);
      }
      // Unvalidated path: the loader refuses it on its own.
      await s3.store.delete(`models/${name}/1/metadata.json`);
      const outcome = await post(`/v2/models/${name}/infer`, {
        inputs: [{ name: 'x', shape: [4], datatype: 'FP32', data: [0, 0, 0, 0] }],
      });
      assert.equal(outcome.response.status, 422, outcome.response.body);
      assert.match(errorOf(outcome.response.body), /reads external data at/);
    });
  }

  it('refuses a tensor whose file is missing from the folder, without looking anywhere else', async () => {
    await publishModel(s3.store, {
      name: 'ext-missing',
      version: 1,
      model: externalDataModel({ location: 'weights.bin' }),
    });
    const outcome = await post('/v2/models/ext-missing/infer', {
      inputs: [{ name: 'x', shape: [4], datatype: 'FP32', data: [0, 0, 0, 0] }],
    });
    assert.equal(outcome.response.status, 422, outcome.response.body);
    assert.match(
      errorOf(outcome.response.body),
      /'weights\.bin', which is not in the model's version folder/,
    );
  });

  for (const [mode, env] of [
    ['in memory', {}],
    ['from ephemeral storage', { EXTERNAL_DATA_MEMORY_BYTES: '1' }],
  ] as const) {
    it(`serves a model whose external data is in its version folder (${mode}), validated first`, async () => {
      const name = `torch-external-${mode === 'in memory' ? 'mem' : 'disk'}`;
      await publishModel(s3.store, {
        name,
        version: 1,
        model: await readFile(join(FIXTURES, 'model.onnx')),
        versionFiles: [
          {
            name: 'model.onnx.data',
            body: await readFile(join(FIXTURES, 'model.onnx.data')),
            contentType: 'application/octet-stream',
          },
        ],
      });
      const result = await validateModel(s3.store, `models/${name}/1/model.onnx`, { runs: 1 });
      assert.equal(result.outcome === 'validated' && result.metadata.status, 'valid');
      const strict = servingOver(s3, { REQUIRE_VALIDATION: 'true', ...env });
      try {
        const inputs = JSON.parse(await readFile(join(FIXTURES, 'inputs.json'), 'utf8'));
        const expected = JSON.parse(await readFile(join(FIXTURES, 'expected.json'), 'utf8')) as {
          tolerance: number;
          outputs: { name: string; data: number[] }[];
        };
        const outcome = await strict.handle({
          method: 'POST',
          path: `/v2/models/${name}/infer`,
          body: bodyOf(inputs),
        });
        assert.equal(outcome.response.status, 200, outcome.response.body);
        const got =
          (JSON.parse(outcome.response.body) as { outputs: { data: number[] }[] }).outputs[0]?.data ?? [];
        const want = expected.outputs[0]?.data ?? [];
        assert.equal(got.length, want.length);
        for (let i = 0; i < want.length; i++) {
          assert.ok(Math.abs((got[i] ?? Number.NaN) - (want[i] ?? 0)) <= expected.tolerance, `element ${i}`);
        }
      } finally {
        strict.loader.clear();
      }
    });
  }
});
