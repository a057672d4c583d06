import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { buildOnnxModel } from '../../scripts/lib/onnx/graph-builder.ts';
import {
  ModelUnavailableError,
  NotFoundError,
  ServingError,
  StorageUnavailableError,
} from '../../src/errors.ts';
import { ModelRepository } from '../../src/repository/model-repository.ts';
import {
  defaultCacheBytes,
  estimateSessionBytes,
  ModelLoader,
  type ModelLoaderOptions,
  type ModelRef,
  SANDBOX_PROCESS_BYTES,
  type SessionFactory,
  WARM_UP_MODEL_BASE64,
} from '../../src/runtime/model-loader.ts';
import { conformanceDir } from '../helpers/paths.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';

let s3: TestS3Server;
let relu: Uint8Array;
let squeezenet: Uint8Array;
let counter = 0;

before(async () => {
  s3 = await startS3Server();
  const backend = join(conformanceDir(), 'onnx-backend');
  relu = await readFile(join(backend, 'simple/test_single_relu_model/model.onnx'));
  squeezenet = await readFile(join(backend, 'light/light_squeezenet.onnx'));
});

after(async () => {
  await s3?.close();
});

beforeEach(async () => {
  await s3.setFault(null);
  s3.resetRequests();
});

/** Uploads `bytes` as version 1 of a model no other test uses. */
async function upload(base: string, bytes: Uint8Array | string): Promise<ModelRef> {
  counter += 1;
  const name = `${base}-${counter}`;
  const key = `models/${name}/1/model.onnx`;
  await s3.store.put(key, bytes);
  return { name, version: 1, key };
}

/** Real onnxruntime sessions, counting creations and releases. */
function countingSessions() {
  const created: InferenceSession[] = [];
  const released: InferenceSession[] = [];
  const createSession: SessionFactory = async (bytes, options) => {
    const session = await InferenceSession.create(bytes, options);
    const release = session.release.bind(session);
    session.release = async () => {
      released.push(session);
      await release();
    };
    created.push(session);
    return session;
  };
  return { created, released, createSession };
}

function loader(options: Partial<ModelLoaderOptions> = {}): ModelLoader {
  return new ModelLoader({ store: s3.store, maxCacheBytes: 64 * 2 ** 20, ...options });
}

describe('ModelLoader with onnxruntime and a local S3 server', () => {
  it("applies a model's config.json session overrides, and reloads when they change", async () => {
    const ref = await upload('relu', relu);
    const seen: InferenceSession.SessionOptions[] = [];
    const counting = countingSessions();
    const models = loader({
      sessionTuning: { intraOpThreads: 1, interOpThreads: 1, executionMode: 'sequential', spinning: false },
      createSession: async (bytes, options) => {
        seen.push(options);
        return counting.createSession(bytes, options);
      },
    });
    const overridden = { ...ref, config: { session: { intra_op_threads: 2, spinning: true } } };

    const first = await models.get(overridden);
    const again = await models.get({ ...ref, config: { session: { intra_op_threads: 2, spinning: true } } });
    const changed = await models.get({ ...ref, config: {} });

    assert.equal(first.cacheHit, false);
    assert.equal(again.cacheHit, true);
    assert.equal(changed.cacheHit, false);
    assert.deepEqual(
      seen.map((options) => [options.intraOpNumThreads, options.extra]),
      [
        [2, { session: { intra_op: { allow_spinning: '1' }, inter_op: { allow_spinning: '1' } } }],
        [1, { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } }],
      ],
    );
    assert.equal(counting.created.length, 2);
    models.clear();
  });

  it('loads a model lazily, derives its signature, runs it, then serves it from the cache', async () => {
    const ref = await upload('relu', relu);
    const models = loader();

    const first = await models.get(ref);
    const second = await models.get(ref);
    const output = await first.model.session.run({
      x: new Tensor('float32', Float32Array.from([-1, 2]), [1, 2]),
    });

    assert.equal(first.cacheHit, false);
    assert.equal(first.bytes, relu.byteLength);
    assert.equal(typeof first.loadMs, 'number');
    assert.equal(typeof first.downloadMs, 'number');
    assert.deepEqual(first.model.signature, {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 2] }],
    });
    assert.deepEqual(first.model.unsupported, []);
    assert.equal(first.model.sizeBytes, relu.byteLength);
    assert.equal(first.model.etag, (await s3.store.head(ref.key))?.etag);
    assert.deepEqual(Array.from((output.y?.data ?? []) as Float32Array), [0, 2]);
    assert.equal(second.cacheHit, true);
    assert.equal(second.model, first.model);
    assert.deepEqual(models.stats(), {
      entries: 1,
      bytes: estimateSessionBytes(relu.byteLength) + SANDBOX_PROCESS_BYTES,
      hits: 1,
      misses: 1,
      loads: 1,
      failures: 0,
      evictions: 0,
    });
  });

  it('loads what the repository resolves', async () => {
    const ref = await upload('resolved', relu);
    const repository = new ModelRepository({ store: s3.store, requireValidation: false });

    const { model } = await loader().get(await repository.resolve(ref.name));

    assert.equal(model.name, ref.name);
    assert.equal(model.version, 1);
  });

  it('shares one download and one session among 20 concurrent first calls', async () => {
    const ref = await upload('stampede', squeezenet);
    const sessions = countingSessions();
    const models = loader({ createSession: sessions.createSession });
    s3.resetRequests();

    const results = await Promise.all(Array.from({ length: 20 }, () => models.get(ref)));

    assert.equal(s3.count('GetObject', ref.key), 1);
    assert.equal(sessions.created.length, 1);
    assert.ok(results.every((result) => result.model === results[0]?.model));
    assert.equal(models.stats().loads, 1);
    assert.equal(models.stats().misses, 20);
  });

  it('does not remember a failed download: the next call loads', async () => {
    const ref = await upload('retry', relu);
    const models = loader();
    await s3.setFault('status503', (request) => request.operation === 'GetObject');

    await assert.rejects(models.get(ref), (error: unknown) => {
      assert.ok(error instanceof StorageUnavailableError);
      assert.equal(error.status, 503);
      return true;
    });
    await s3.setFault(null);
    const result = await models.get(ref);

    assert.equal(result.cacheHit, false);
    assert.equal(models.stats().failures, 1);
    assert.equal(models.stats().entries, 1);
  });

  for (const [label, damage] of [
    ['corrupt', () => new TextEncoder().encode('this is not an ONNX model at all')],
    ['truncated', () => squeezenet.subarray(0, Math.floor(squeezenet.byteLength / 2))],
  ] as const) {
    it(`answers 422 for a ${label} model, caches nothing, and loads it once it is fixed`, async () => {
      const ref = await upload(label, damage());
      const models = loader();

      for (let attempt = 0; attempt < 2; attempt += 1) {
        await assert.rejects(models.get(ref), (error: unknown) => {
          assert.ok(error instanceof ModelUnavailableError);
          assert.equal(error.status, 422);
          assert.equal(
            error.message,
            `model '${ref.name}' version 1 could not be loaded: Failed to load model because protobuf parsing failed.`,
          );
          assert.ok(error.cause instanceof Error);
          return true;
        });
      }
      await s3.store.put(ref.key, squeezenet);
      const fixed = await models.get(ref);

      assert.equal(s3.count('GetObject', ref.key), 3);
      assert.equal(fixed.model.signature.inputs[0]?.name, 'data_0');
      assert.equal(models.stats().failures, 2);
    });
  }

  it('answers 404 when the model file disappeared after the listing', async () => {
    const ref = await upload('vanished', relu);
    await s3.store.delete(ref.key);
    const models = loader();

    await assert.rejects(models.get(ref), (error: unknown) => {
      assert.ok(error instanceof NotFoundError);
      assert.equal(error.message, `model '${ref.name}' version 1 not found: its model file is gone`);
      return true;
    });
    assert.equal(models.stats().entries, 0);
  });

  it('evicts the least recently used session under a tight budget and releases it', async () => {
    const [a, b, c] = [await upload('lru-a', relu), await upload('lru-b', relu), await upload('lru-c', relu)];
    const sessions = countingSessions();
    const models = loader({
      createSession: sessions.createSession,
      maxCacheBytes: 2 * estimateSessionBytes(relu.byteLength),
    });
    const first = await models.get(a);
    await models.get(b);
    await models.get(a);

    await models.get(c);
    const again = await models.get(b);

    assert.deepEqual(sessions.released, [sessions.created[1], sessions.created[0]]);
    assert.equal(again.cacheHit, false);
    assert.equal(models.stats().evictions, 2);
    assert.equal(models.stats().entries, 2);
    await assert.rejects(first.model.session.run({}), (error: unknown) => {
      assert.ok(error instanceof ServingError);
      return error.status === 503;
    });
  });

  it('keeps a model larger than the whole budget, alone, until another one is loaded', async () => {
    const big = await upload('oversized', squeezenet);
    const small = await upload('small', relu);
    const sessions = countingSessions();
    const models = loader({ createSession: sessions.createSession, maxCacheBytes: 1024 });

    const loaded = await models.get(big);
    const output = await loaded.model.session.run({
      data_0: new Tensor('float32', new Float32Array(3 * 224 * 224), [1, 3, 224, 224]),
    });
    const hit = await models.get(big);
    await models.get(small);

    assert.equal(output.softmaxout_1?.dims.join('x'), '1x1000x1x1');
    assert.equal(hit.cacheHit, true);
    assert.deepEqual(sessions.released, [sessions.created[0]]);
    assert.equal(models.stats().entries, 1);
  });

  it('reloads a version whose file was replaced, as the listing ETag tells', async () => {
    const ref = await upload('replaced', relu);
    const models = loader();
    const firstEtag = (await s3.store.head(ref.key))?.etag;
    const first = await models.get({ ...ref, etag: firstEtag });

    await s3.store.put(ref.key, squeezenet);
    const secondEtag = (await s3.store.head(ref.key))?.etag;
    const second = await models.get({ ...ref, etag: secondEtag });
    const third = await models.get({ ...ref, etag: secondEtag });

    assert.notEqual(firstEtag, secondEtag);
    assert.equal(first.model.signature.inputs[0]?.name, 'x');
    assert.equal(second.cacheHit, false);
    assert.equal(second.model.signature.inputs[0]?.name, 'data_0');
    assert.equal(third.cacheHit, true);
    assert.equal(models.stats().entries, 1);
  });

  it('fails promptly with 503 while S3 is down, keeps serving what it holds, and recovers after', async () => {
    const cached = await upload('held', relu);
    const cold = await upload('cold', relu);
    const models = loader();
    await models.get(cached);

    await s3.stop();
    try {
      const held = await models.get(cached);
      await assert.rejects(models.get(cold), (error: unknown) => {
        assert.ok(error instanceof StorageUnavailableError);
        assert.equal(error.message, `object store unreachable during GetObject '${cold.key}'`);
        return true;
      });
      assert.equal(held.cacheHit, true);
    } finally {
      await s3.restart();
    }
    const recovered = await models.get(cold);

    assert.equal(recovered.cacheHit, false);
    assert.equal(models.stats().failures, 1);
  });

  it('preloads a list of models, reporting failures instead of throwing', async () => {
    const good = await upload('preload-good', relu);
    const corrupt = await upload('preload-bad', 'garbage');
    const missing: ModelRef = {
      name: 'preload-missing',
      version: 1,
      key: 'models/preload-missing/1/model.onnx',
    };
    const models = loader();

    const results = await models.preload([good, corrupt, missing]);

    assert.deepEqual(
      results.map((result) => [result.ref.name, result.ok]),
      [
        [good.name, true],
        [corrupt.name, false],
        ['preload-missing', false],
      ],
    );
    assert.ok(!results[1]?.ok && results[1]?.error instanceof ModelUnavailableError);
    assert.ok(!results[2]?.ok && results[2]?.error instanceof NotFoundError);
    assert.equal((await models.get(good)).cacheHit, true);
  });
});

describe('ModelLoader with an injected session factory', () => {
  const ref: ModelRef = { name: 'fake', version: 2, key: 'models/fake/2/model.onnx' };
  const store = {
    get: async (key: string) => ({ key, size: 3, body: new Uint8Array([1, 2, 3]) }),
    head: async () => undefined,
    put: async () => ({}),
    list: async () => ({ objects: [], prefixes: [] }),
    delete: async () => {},
  };

  it('keeps only the first line of an onnxruntime error, without its source location', async () => {
    const models = new ModelLoader({
      store,
      createSession: async () => {
        throw new Error('[ErrorCode:InvalidGraph] Load model failed: bad node\n  at native frame');
      },
    });

    await assert.rejects(models.get(ref), {
      name: 'ModelUnavailableError',
      message: "model 'fake' version 2 could not be loaded: Load model failed: bad node",
    });
  });

  it('records values the protocol cannot carry, so the model can be refused at inference', async () => {
    const session = {
      inputMetadata: [{ name: 'x', isTensor: true, type: 'float32', shape: [1] }],
      outputMetadata: [{ name: 'probs', isTensor: false }],
      release: async () => {},
    } as unknown as InferenceSession;
    const models = new ModelLoader({ store, createSession: async () => session });

    const { model } = await models.get(ref);

    assert.equal(model.unsupported.length, 1);
    assert.match(
      model.unsupported[0] ?? '',
      /^output 'probs' is not a tensor but a sequence or map, which onnxruntime-node cannot return .*re-export with tensor outputs/,
    );
  });

  it('passes the default session options and the tuning, overridable', async () => {
    const seen: InferenceSession.SessionOptions[] = [];
    const models = new ModelLoader({
      store,
      sessionTuning: { intraOpThreads: 2, interOpThreads: 1, executionMode: 'sequential', spinning: false },
      sessionOptions: { intraOpNumThreads: 1 },
      createSession: async (_bytes, options) => {
        seen.push(options);
        throw new Error('stop here');
      },
    });

    await assert.rejects(models.get(ref), ModelUnavailableError);

    assert.deepEqual(seen, [
      {
        logSeverityLevel: 4,
        graphOptimizationLevel: 'all',
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      },
    ]);
  });
});

describe('defaultCacheBytes', () => {
  it("is half of the function's memory", () => {
    assert.equal(defaultCacheBytes(2048), 1024 * 2 ** 20);
    assert.equal(defaultCacheBytes(128), 64 * 2 ** 20);
  });

  it('falls back to 1 GiB when the memory is unknown', () => {
    for (const memory of [undefined, 0, -1, Number.NaN]) assert.equal(defaultCacheBytes(memory), 2 ** 30);
  });
});

describe('ModelLoader: runtime warm-up', () => {
  it('is the identity model it says it is, and onnxruntime loads it', async () => {
    const built = buildOnnxModel({
      inputs: [{ name: 'x', elemType: 'float32', shape: [1] }],
      outputs: [{ name: 'y', elemType: 'float32', shape: [1] }],
      initializers: [],
      nodes: [{ opType: 'Identity', inputs: ['x'], outputs: ['y'] }],
    });

    const session = await InferenceSession.create(Buffer.from(WARM_UP_MODEL_BASE64, 'base64'));
    const { y } = await session.run({ x: new Tensor('float32', Float32Array.from([3]), [1]) });
    await session.release();

    assert.equal(Buffer.from(built).toString('base64'), WARM_UP_MODEL_BASE64);
    assert.deepEqual(Array.from((y?.data ?? []) as Float32Array), [3]);
  });

  it('runs once, while the first model file downloads, and a failed warm-up fails no load', async () => {
    const first = await upload('warm-first', relu);
    const second = await upload('warm-second', relu);
    const events: string[] = [];
    const store = Object.assign(Object.create(s3.store) as typeof s3.store, {
      get: async (key: string) => {
        events.push(`get ${key}`);
        const object = await s3.store.get(key);
        events.push(`got ${key}`);
        return object;
      },
    });
    const models = new ModelLoader({
      store,
      warmUp: async () => {
        events.push('warm-up');
        throw new Error('warm-up failed');
      },
    });

    await models.get(first);
    await models.get(second);

    assert.deepEqual(events, [
      `get ${first.key}`,
      'warm-up',
      `got ${first.key}`,
      `get ${second.key}`,
      `got ${second.key}`,
    ]);
  });
});
