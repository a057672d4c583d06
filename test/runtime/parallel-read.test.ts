import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { buildMlp } from '../../scripts/bench/common.ts';
import { S3ObjectStore } from '../../src/adapters/aws/s3-store.ts';
import { ObjectChangedError, StorageUnavailableError } from '../../src/errors.ts';
import { ModelLoader } from '../../src/runtime/model-loader.ts';
import { type PartedReadOptions, partSizeFor, readInParts } from '../../src/runtime/parallel-read.ts';
import { type RecordedRequest, startS3Server, type TestS3Server } from '../helpers/s3-server.ts';

const KIB = 1024;
/** Small parts so that a test object of about 1 MiB is read in many ranged requests. */
const SMALL_PARTS: PartedReadOptions = {
  thresholdBytes: 0,
  minPartBytes: 64 * KIB,
  maxPartBytes: 64 * KIB,
  concurrency: 4,
};

let s3: TestS3Server;
let counter = 0;

before(async () => {
  s3 = await startS3Server();
});

after(async () => {
  await s3?.close();
});

beforeEach(async () => {
  await s3.setFault(null);
  s3.resetRequests();
});

async function upload(bytes: Uint8Array): Promise<{ key: string; etag: string }> {
  counter += 1;
  const key = `models/parts-${counter}/1/model.onnx`;
  const { etag } = await s3.store.put(key, bytes);
  assert.ok(etag);
  return { key, etag };
}

const rangedGets = (key: string): RecordedRequest[] =>
  s3.requests.filter((r) => r.operation === 'GetObject' && r.key === key && r.range !== undefined);

describe('partSizeFor', () => {
  it('spreads an object over the connections, within the part size bounds', () => {
    const options = { thresholdBytes: 0, minPartBytes: 1_000, maxPartBytes: 8_000, concurrency: 4 };
    assert.equal(partSizeFor(100_000, options), 8_000);
    assert.equal(partSizeFor(20_000, options), 5_000);
    assert.equal(partSizeFor(2_000, options), 1_000);
  });
});

describe('readInParts against s3rver', () => {
  it('assembles the exact bytes from ranged GETs, each sent with If-Match on the ETag', async () => {
    const bytes = randomBytes(1024 * KIB + 12_345);
    const { key, etag } = await upload(bytes);
    const object = await readInParts(s3.store, key, { size: bytes.length, etag }, SMALL_PARTS);
    assert.ok(object);
    assert.equal(object.size, bytes.length);
    assert.equal(object.etag, etag);
    assert.ok(Buffer.from(object.body).equals(bytes), 'the assembled bytes differ from the object');
    const gets = rangedGets(key);
    assert.equal(gets.length, 17, '16 full parts of 64 KiB and one of 12 345 bytes');
    const starts = gets.map((r) => Number(/bytes=(\d+)-/.exec(r.range ?? '')?.[1])).sort((a, b) => a - b);
    assert.deepEqual(
      starts,
      Array.from({ length: 17 }, (_, i) => i * 64 * KIB),
    );
    for (const get of gets) assert.equal(get.ifMatch, `"${etag}"`);
    assert.equal(s3.count('GetObject', key), 17, 'no whole-object GET');
  });

  it("reads the first part alone when no ETag is known, and the others with that part's ETag", async () => {
    const bytes = randomBytes(300 * KIB);
    const { key, etag } = await upload(bytes);
    const object = await readInParts(s3.store, key, { size: bytes.length }, SMALL_PARTS);
    assert.ok(object && Buffer.from(object.body).equals(bytes));
    const gets = rangedGets(key);
    assert.equal(gets[0]?.range, `bytes=0-${64 * KIB - 1}`);
    assert.equal(gets[0]?.ifMatch, undefined);
    assert.deepEqual(
      gets.slice(1).map((r) => r.ifMatch),
      Array.from({ length: 4 }, () => `"${etag}"`),
    );
  });

  it('fails with ObjectChangedError when the object is replaced during the read (store ignoring If-Match)', async () => {
    const bytes = randomBytes(512 * KIB);
    const { key, etag } = await upload(bytes);
    // A reader whose third ranged GET is sent only after the object was replaced (same size).
    const client = s3.createClient();
    let gets = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetObjectCommand' && ++gets === 3) {
          await s3.store.put(key, randomBytes(512 * KIB));
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    const store = new S3ObjectStore({ client, bucket: s3.bucket });
    try {
      await assert.rejects(
        readInParts(store, key, { size: bytes.length, etag }, { ...SMALL_PARTS, concurrency: 1 }),
        (error: unknown) =>
          error instanceof ObjectChangedError &&
          error.status === 503 &&
          error.message.includes(key) &&
          error.message.includes('changed while it was read in parts') &&
          error.message.includes(etag),
      );
      assert.equal(rangedGets(key).length, 3, 'the read stops at the first part of the new version');
    } finally {
      client.destroy();
    }
  });

  it('fails with ObjectChangedError when the store answers 412 to If-Match, as S3 does', async () => {
    const bytes = randomBytes(256 * KIB);
    const { key, etag } = await upload(bytes);
    await s3.setFault(
      'preconditionFailed',
      (r) => r.key === key && r.range === `bytes=${64 * KIB}-${128 * KIB - 1}`,
    );
    await assert.rejects(
      readInParts(s3.store, key, { size: bytes.length, etag }, SMALL_PARTS),
      (error: unknown) =>
        error instanceof ObjectChangedError && error.message.includes(key) && error.message.includes(etag),
    );
  });

  it('reports a failing part as the store failure it is, and reads no part after it', async () => {
    const bytes = randomBytes(512 * KIB);
    const { key, etag } = await upload(bytes);
    await s3.setFault('reset', (r) => r.key === key && r.range === `bytes=${128 * KIB}-${192 * KIB - 1}`);
    await assert.rejects(
      readInParts(s3.store, key, { size: bytes.length, etag }, { ...SMALL_PARTS, concurrency: 1 }),
      (error: unknown) =>
        error instanceof StorageUnavailableError &&
        !(error instanceof ObjectChangedError) &&
        error.message.includes(key),
    );
    const starts = new Set(rangedGets(key).map((r) => r.range));
    assert.equal(starts.size, 3, 'parts 1 and 2, then part 3 (and its retry): nothing after it');
  });

  it('fails with ObjectChangedError when the object has another size than expected', async () => {
    const bytes = randomBytes(200 * KIB);
    const { key } = await upload(bytes);
    await assert.rejects(
      readInParts(s3.store, key, { size: bytes.length + 1 }, SMALL_PARTS),
      ObjectChangedError,
    );
  });

  it('returns undefined for a missing object', async () => {
    assert.equal(
      await readInParts(s3.store, 'models/none/1/model.onnx', { size: 1000 }, SMALL_PARTS),
      undefined,
    );
  });
});

describe('ModelLoader reading large model files in parts', () => {
  // An MLP of about 38 KB read in parts of 4 KiB.
  const mlp = buildMlp([64, 128, 10]).bytes;
  const parts = { thresholdBytes: 4 * KIB, minPartBytes: 4 * KIB, maxPartBytes: 4 * KIB, concurrency: 3 };

  it('loads a model above the threshold with ranged GETs and serves the same outputs', async () => {
    const { key, etag } = await upload(mlp);
    const loader = new ModelLoader({ store: s3.store, isolation: 'none', partedRead: parts });
    const { model } = await loader.get({ name: 'parts', version: 1, key, etag, size: mlp.length });
    assert.equal(rangedGets(key).length, Math.ceil(mlp.length / (4 * KIB)));
    assert.equal(
      s3.requests.filter((r) => r.operation === 'GetObject' && r.key === key && r.range === undefined).length,
      0,
    );
    const reference = await InferenceSession.create(mlp);
    const feeds = {
      input: new Tensor(
        'float32',
        Float32Array.from({ length: 128 }, (_, i) => i / 64),
        [2, 64],
      ),
    };
    const expected = await reference.run(feeds);
    const got = await model.session.run(feeds);
    assert.deepEqual(
      Array.from(got.probabilities?.data as Float32Array),
      Array.from(expected.probabilities?.data as Float32Array),
    );
    await reference.release();
    loader.clear();
  });

  it('reads the stored version with one GET when the file was replaced since the listing', async () => {
    const { key, etag } = await upload(mlp);
    const loader = new ModelLoader({
      store: s3.store,
      isolation: 'none',
      partedRead: { ...parts, concurrency: 1 },
    });
    const { model } = await loader.get({
      name: 'parts',
      version: 1,
      key,
      etag: `${etag}-old`,
      size: mlp.length,
    });
    assert.equal(model.etag, etag, 'the version read is the one stored now');
    assert.equal(rangedGets(key).length, 1, 'the first part showed the change');
    assert.equal(
      s3.requests.filter((r) => r.operation === 'GetObject' && r.key === key && r.range === undefined).length,
      1,
    );
    loader.clear();
  });

  it('reads files below the threshold, and files of unknown size, with one GET', async () => {
    const { key, etag } = await upload(mlp);
    const loader = new ModelLoader({
      store: s3.store,
      isolation: 'none',
      partedRead: { ...parts, thresholdBytes: mlp.length + 1 },
    });
    await loader.get({ name: 'parts', version: 1, key, etag, size: mlp.length });
    loader.clear();
    await new ModelLoader({ store: s3.store, isolation: 'none', partedRead: parts }).get({
      name: 'parts',
      version: 1,
      key,
      etag,
    });
    assert.equal(rangedGets(key).length, 0);
    assert.equal(s3.count('GetObject', key), 2);
  });
});
