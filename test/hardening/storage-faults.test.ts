/**
 * Storage and runtime faults against the real local S3 server, injected deterministically by the
 * proxy of test/helpers/s3-server.ts: every fault is a 503 with a retry hint within a bounded
 * time, nothing broken is cached, and the service recovers by itself once S3 answers again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { publishModel } from '../../src/repository/publish.ts';
import { type S3Fault, startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import {
  assertNoLeak,
  bodyOf,
  PATIENT_CLIENT,
  reluModel,
  type Serving,
  servingOver,
  validReluRequest,
} from './helpers.ts';

/** Client timeouts are below a second (FAST_CLIENT); a fault must be answered well within this. */
const ANSWER_BOUND_MS = 5_000;

let s3: TestS3Server;
let relu: Uint8Array;

before(async () => {
  s3 = await startS3Server();
  relu = await reluModel();
  await publishModel(s3.store, { name: 'relu', version: 1, model: relu });
});

after(async () => {
  await s3?.close();
});

const infer = (serving: Serving, name = 'relu', values = [-1, 2]) =>
  serving.handle({
    method: 'POST',
    path: `/v2/models/${name}/infer`,
    body: bodyOf(validReluRequest(values)),
  });

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await run();
  return { value, ms: performance.now() - started };
}

const FAULTS: S3Fault[] = ['refuse', 'reset', 'status503', 'throttle', 'hang', 'truncate'];

describe('storage faults at cold start', () => {
  for (const fault of FAULTS) {
    it(`${fault} on every S3 request: 503 + Retry-After in bounded time, nothing cached, then recovers`, async () => {
      const serving = servingOver(s3, { MODEL_REFRESH_SECONDS: '0' });
      await s3.setFault(fault);
      let failed: Awaited<ReturnType<typeof infer>>;
      let ms: number;
      try {
        ({ value: failed, ms } = await timed(() => infer(serving)));
      } finally {
        await s3.setFault(null);
      }

      assert.equal(failed.response.status, 503, failed.response.body);
      assert.ok(Number(failed.response.headers['retry-after']) >= 1, JSON.stringify(failed.response.headers));
      assert.ok(ms < ANSWER_BOUND_MS, `${fault} took ${ms} ms`);
      const message = JSON.parse(failed.response.body) as { error: string };
      assert.match(message.error, /object store/);
      assertNoLeak(failed.response.body.replace(/'models\/relu\/[^']*'/g, ''));
      assert.ok(!failed.response.body.includes(s3.endpoint) && !failed.response.body.includes(s3.bucket));
      assert.equal(serving.loader.stats().entries, 0, 'nothing cached from a failed load');

      const recovered = await infer(serving, 'relu', [3, -4]);
      assert.equal(recovered.response.status, 200, recovered.response.body);
      assert.deepEqual(JSON.parse(recovered.response.body).outputs[0].data, [3, 0]);
    });
  }

  it('a fault only on the model download (listing fine): 503, then the next request loads it', async () => {
    for (const fault of ['truncate', 'reset', 'hang'] as const) {
      const serving = servingOver(s3);
      await s3.setFault(
        fault,
        (request) => request.operation === 'GetObject' && request.key.endsWith('model.onnx'),
      );
      const failed = await infer(serving).finally(() => s3.setFault(null));
      assert.equal(failed.response.status, 503, `${fault}: ${failed.response.body}`);
      assert.equal(serving.loader.stats().entries, 0);
      assert.equal((await infer(serving)).response.status, 200);
    }
  });

  it('S3 goes away after a model is cached: the cached model keeps answering; new work gets 503', async () => {
    const serving = servingOver(s3, { MODEL_REFRESH_SECONDS: '0' });
    assert.equal((await infer(serving)).response.status, 200);
    await s3.setFault('refuse');
    try {
      const warm = await infer(serving);
      const outcome = await serving.handle({
        method: 'POST',
        path: '/v2/models/relu/outcomes',
        body: bodyOf({ outcomes: [{ id: 'a', value: 1 }] }),
      });
      // The listing is refreshed every request here (interval 0) and fails; what matters is the
      // answer: either the cached model (200) or a clean 503, never a 500.
      assert.ok([200, 503].includes(warm.response.status), warm.response.body);
      assert.equal(outcome.response.status, 503, outcome.response.body);
    } finally {
      await s3.setFault(null);
    }
  });
});

describe('model objects changing under the service', () => {
  it('a truncated model file is a 422, not cached; fixing the file serves it without a restart', async () => {
    await s3.store.put('models/broken/1/model.onnx', relu.subarray(0, Math.floor(relu.length / 2)));
    const serving = servingOver(s3, { MODEL_REFRESH_SECONDS: '0' });

    const broken = await infer(serving, 'broken');
    const again = await infer(serving, 'broken');

    assert.equal(broken.response.status, 422, broken.response.body);
    assert.match(JSON.parse(broken.response.body).error, /could not be loaded/);
    assertNoLeak(broken.response.body);
    assert.equal(again.response.status, 422, 'the failure is retried, not cached as a success');
    assert.equal(serving.loader.stats().entries, 0);
    await s3.store.put('models/broken/1/model.onnx', relu);
    const fixed = await infer(serving, 'broken');
    assert.equal(fixed.response.status, 200, fixed.response.body);
  });

  it('a model replaced while cached is reloaded; one deleted while cached stops being served', async () => {
    await publishModel(s3.store, { name: 'swap', version: 1, model: relu });
    const serving = servingOver(s3, { MODEL_REFRESH_SECONDS: '0' });
    assert.equal((await infer(serving, 'swap')).response.status, 200);
    s3.resetRequests();

    // Same bytes plus a trailing unknown protobuf field would change the ETag; simplest: re-put
    // different bytes (the truncated file) and check the service notices.
    await s3.store.put('models/swap/1/model.onnx', relu.subarray(0, 10));
    const replaced = await infer(serving, 'swap');
    assert.equal(replaced.response.status, 422, replaced.response.body);
    assert.equal(
      s3.count('GetObject', 'models/swap/1/model.onnx'),
      1,
      'the replaced file was downloaded again',
    );

    await s3.store.delete('models/swap/1/model.onnx');
    const deleted = await infer(serving, 'swap');
    assert.equal(deleted.response.status, 404, deleted.response.body);
  });

  it('a model replaced while being downloaded: the download that broke is a 503, the next request serves the new file', async () => {
    await publishModel(s3.store, { name: 'moving', version: 1, model: relu });
    const serving = servingOver(s3, { MODEL_REFRESH_SECONDS: '0' });
    await s3.setFault(
      'hang',
      (request) => request.operation === 'GetObject' && request.key === 'models/moving/1/model.onnx',
    );
    const pending = infer(serving, 'moving');
    // Replace the object while the download hangs, then let the hung connection drop.
    await s3.store.put('models/moving/1/model.onnx', relu.subarray(0, 12));
    const failed = await pending.finally(() => s3.setFault(null));
    assert.equal(failed.response.status, 503, failed.response.body);

    const next = await infer(serving, 'moving');
    assert.equal(next.response.status, 422, `the new (broken) file is what is served: ${next.response.body}`);
  });
});

describe('concurrency and the cache budget', () => {
  it('100 concurrent first requests for one model: one download, one session, all 200', async () => {
    await publishModel(s3.store, { name: 'stampede', version: 1, model: relu });
    // No fault injected: a patient client, so that a busy machine's slow store is not a failure.
    const serving = servingOver(s3, {}, PATIENT_CLIENT);
    s3.resetRequests();

    const outcomes = await Promise.all(
      Array.from({ length: 100 }, (_, i) => infer(serving, 'stampede', [i, -i])),
    );

    assert.deepEqual(
      outcomes.map((outcome) => outcome.response.status),
      Array(100).fill(200),
    );
    assert.equal(s3.count('GetObject', 'models/stampede/1/model.onnx'), 1);
    assert.ok(s3.count('ListObjectsV2') <= 2, `listed ${s3.count('ListObjectsV2')} times`);
    const stats = serving.loader.stats();
    assert.equal(stats.loads, 1);
    assert.equal(stats.entries, 1);
    assert.deepEqual(JSON.parse(outcomes[7]?.response.body ?? '{}').outputs[0].data, [7, 0]);
  });

  it('mixed models under a 1 MiB cache budget: evictions, no errors, right answers', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `budget-${i}`);
    for (const name of names) await publishModel(s3.store, { name, version: 1, model: relu });
    // Sessions in this process: this test is about the cache's budget and evictions, and a model
    // process of its own (≈ 80 MB each) would not fit a 1 MiB budget at all.
    const serving = servingOver(s3, { MODEL_CACHE_MB: '1', INFERENCE_ISOLATION: 'none' }, PATIENT_CLIENT);

    const outcomes = await Promise.all(
      Array.from({ length: 120 }, (_, i) => infer(serving, names[(i * 7) % names.length], [i, -1])),
    );

    for (const [i, outcome] of outcomes.entries()) {
      assert.equal(outcome.response.status, 200, outcome.response.body);
      assert.deepEqual(JSON.parse(outcome.response.body).outputs[0].data, [i, 0]);
    }
    const stats = serving.loader.stats();
    assert.ok(stats.evictions > 0, JSON.stringify(stats));
    assert.ok(stats.bytes <= 1024 * 1024, JSON.stringify(stats));
    assert.equal(stats.failures, 0);
  });
});
