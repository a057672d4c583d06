import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { buildMlp } from '../../scripts/bench/common.ts';
import { S3ObjectStore } from '../../src/adapters/aws/s3-store.ts';
import { ModelUnavailableError, ObjectChangedError } from '../../src/errors.ts';
import { ModelFile } from '../../src/runtime/model-file.ts';
import { ModelLoader, type ModelLoaderOptions } from '../../src/runtime/model-loader.ts';
import { type PartedReadOptions, readInParts } from '../../src/runtime/parallel-read.ts';
import { ModelSandbox, type SandboxSource } from '../../src/runtime/sandbox.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';

const KIB = 1024;
/** An MLP of about 38 KB, and another of another size, both read in parts of 4 KiB. */
const mlp = buildMlp([64, 128, 10], 3).bytes;
const other = buildMlp([64, 96, 10], 4).bytes;
const PARTS: PartedReadOptions = {
  thresholdBytes: 4 * KIB,
  minPartBytes: 4 * KIB,
  maxPartBytes: 4 * KIB,
  concurrency: 3,
};
const feeds = () => ({
  input: new Tensor(
    'float32',
    Float32Array.from({ length: 128 }, (_, i) => i / 64),
    [2, 64],
  ),
});

let s3: TestS3Server;
let base: string;
let counter = 0;
/** What each sandbox was asked to load, by kind (`model`, `modelFile`, `path`), in order. */
const handedOver: string[] = [];
const originalLoad = ModelSandbox.prototype.load;

before(async () => {
  s3 = await startS3Server();
  base = await mkdtemp(join(tmpdir(), 'model-file-test-'));
  // Records the kind of each hand-off and still loads it.
  ModelSandbox.prototype.load = function (this: ModelSandbox, source: SandboxSource) {
    handedOver.push(Object.keys(source)[0] ?? '');
    return originalLoad.call(this, source);
  };
});

after(async () => {
  ModelSandbox.prototype.load = originalLoad;
  await s3?.close();
  await rm(base, { recursive: true, force: true });
});

beforeEach(async () => {
  handedOver.length = 0;
  await s3.setFault(null);
});

async function upload(bytes: Uint8Array): Promise<{ name: string; key: string; etag: string }> {
  counter += 1;
  const name = `file-${counter}`;
  const key = `models/${name}/1/model.onnx`;
  const { etag } = await s3.store.put(key, bytes);
  assert.ok(etag);
  return { name, key, etag };
}

/** A fresh, empty ephemeral directory. */
async function ephemeral(): Promise<string> {
  return mkdtemp(join(base, 'ephemeral-'));
}

async function outputsOf(run: (f: Record<string, Tensor>) => Promise<Record<string, Tensor>>) {
  return Array.from((await run(feeds())).probabilities?.data as Float32Array);
}

async function reference(bytes: Uint8Array): Promise<number[]> {
  const session = await InferenceSession.create(bytes);
  try {
    return await outputsOf((f) => session.run(f));
  } finally {
    await session.release();
  }
}

function loaderOf(options: Partial<ModelLoaderOptions>): ModelLoader {
  return new ModelLoader({ store: s3.store, partedRead: PARTS, modelFileBytes: 4 * KIB, ...options });
}

describe('ModelFile', () => {
  it('is created alone in a private directory (0700), itself 0600, and removed with it', async () => {
    const dir = await ephemeral();
    const file = await ModelFile.create(1000, { baseDir: dir });
    assert.ok(file);
    assert.equal(file.path, join(file.dir, 'model.onnx'));
    assert.deepEqual(await readdir(file.dir), ['model.onnx']);
    assert.equal((await stat(file.dir)).mode & 0o777, 0o700);
    assert.equal((await stat(file.path)).mode & 0o777, 0o600);
    await file.remove();
    assert.deepEqual(await readdir(dir), []);
  });

  it('holds the parts written at their offsets, in any order', async () => {
    const bytes = randomBytes(10_000);
    const file = await ModelFile.create(bytes.length, { baseDir: await ephemeral() });
    assert.ok(file);
    await file.write(bytes.subarray(6000), 6000);
    await file.write(bytes.subarray(0, 6000), 0);
    assert.equal(await file.seal(bytes, { written: true }), true);
    assert.ok((await readFile(file.path)).equals(bytes));
    await file.remove();
  });

  it('is rewritten whole on sealing when the writes did not place these bytes', async () => {
    const bytes = randomBytes(3000);
    const file = await ModelFile.create(8000, { baseDir: await ephemeral() });
    assert.ok(file);
    await file.write(randomBytes(8000), 0);
    assert.equal(await file.seal(bytes, { written: true }), true, 'the count of bytes written differs');
    assert.ok((await readFile(file.path)).equals(bytes), 'rewritten and cut to the new length');
    await file.remove();
  });

  it('is not made when the storage has no room for it', async () => {
    const dir = await ephemeral();
    assert.equal(await ModelFile.create(Number.MAX_SAFE_INTEGER, { baseDir: dir }), undefined);
    assert.deepEqual(await readdir(dir), []);
  });

  it('is not made when its directory cannot be created', async () => {
    const notADirectory = join(await ephemeral(), 'file');
    await writeFile(notADirectory, 'x');
    assert.equal(await ModelFile.create(1000, { baseDir: notADirectory }), undefined);
  });

  it('becomes unusable after a failed write, without throwing, and does not seal', async (t) => {
    const dir = await ephemeral();
    // Past the largest file ext4 allows (16 TiB) a write fails with EFBIG; a file system that
    // takes it (XFS, tmpfs) cannot show the failure this way.
    const probe = await open(join(dir, 'probe'), 'w');
    const refused = await probe.write(randomBytes(10), 0, 10, 2 ** 52).then(
      () => false,
      () => true,
    );
    await probe.close();
    await rm(join(dir, 'probe'));
    if (!refused) {
      t.skip('this file system takes a write at 4 PiB');
      return;
    }
    const file = await ModelFile.create(1000, { baseDir: dir });
    assert.ok(file);
    await file.write(randomBytes(10), 2 ** 52);
    assert.equal(file.usable, false);
    await file.write(randomBytes(10), 0);
    assert.equal(await file.seal(randomBytes(10), { written: false }), false);
    await file.remove();
  });
});

describe('readInParts writing each part to a file', () => {
  it('writes the exact bytes, and a file replaced mid-read is still an ObjectChangedError', async () => {
    const bytes = randomBytes(64 * KIB);
    const { key, etag } = await upload(bytes);
    const file = await ModelFile.create(bytes.length, { baseDir: await ephemeral() });
    assert.ok(file);
    const object = await readInParts(s3.store, key, { size: bytes.length, etag }, PARTS, (part, offset) =>
      file.write(part, offset),
    );
    assert.ok(object && Buffer.from(object.body).equals(bytes));
    assert.equal(await file.seal(object.body, { written: true }), true);
    assert.ok((await readFile(file.path)).equals(bytes));
    await file.remove();

    // The same read, but the object is replaced (same size) before the third ranged GET.
    const client = s3.createClient();
    let gets = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetObjectCommand' && ++gets === 3)
          await s3.store.put(key, randomBytes(64 * KIB));
        return next(args);
      },
      { step: 'initialize' },
    );
    const replaced = await ModelFile.create(bytes.length, { baseDir: await ephemeral() });
    assert.ok(replaced);
    const written: number[] = [];
    try {
      await assert.rejects(
        readInParts(
          new S3ObjectStore({ client, bucket: s3.bucket }),
          key,
          { size: bytes.length, etag },
          { ...PARTS, concurrency: 1 },
          (part, offset) => {
            written.push(offset);
            return replaced.write(part, offset);
          },
        ),
        (error: unknown) => error instanceof ObjectChangedError && error.message.includes(key),
      );
      assert.deepEqual(written, [0, 4 * KIB], 'only the parts of the first version were written');
    } finally {
      client.destroy();
      await replaced.remove();
    }
  });
});

describe('ModelLoader handing a large model to its process through a file', () => {
  it('loads it by file, infers what the model does over IPC, and leaves no file behind', async () => {
    const { name, key, etag } = await upload(mlp);
    const dir = await ephemeral();
    // Looks at the ephemeral directory whenever a ranged GET goes out, i.e. while parts are written.
    const client = s3.createClient();
    const seen: { entries: string[]; dirMode: number; fileMode: number }[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetObjectCommand') {
          const [folder] = await readdir(dir);
          if (folder !== undefined) {
            seen.push({
              entries: await readdir(join(dir, folder)),
              dirMode: (await stat(join(dir, folder))).mode & 0o777,
              fileMode: (await stat(join(dir, folder, 'model.onnx'))).mode & 0o777,
            });
          }
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    const store = new S3ObjectStore({ client, bucket: s3.bucket });
    const byFile = loaderOf({ store, ephemeralDir: dir });
    const overIpc = loaderOf({ store, ephemeralDir: dir, modelFileBytes: false });
    try {
      const ref = { name, version: 1, key, etag, size: mlp.length };
      const file = await byFile.get(ref);
      assert.deepEqual(handedOver, ['modelFile']);
      assert.equal(
        seen.length,
        Math.ceil(mlp.length / (4 * KIB)),
        'the file existed during every ranged GET',
      );
      for (const look of seen)
        assert.deepEqual(look, { entries: ['model.onnx'], dirMode: 0o700, fileMode: 0o600 });
      assert.deepEqual(await readdir(dir), [], 'the file is removed once the session is built');

      const ipc = await overIpc.get(ref);
      assert.deepEqual(handedOver, ['modelFile', 'model']);
      const expected = await reference(mlp);
      assert.deepEqual(await outputsOf((f) => file.model.session.run(f)), expected);
      assert.deepEqual(await outputsOf((f) => ipc.model.session.run(f)), expected);
      assert.deepEqual(file.model.signature, ipc.model.signature);
    } finally {
      byFile.clear();
      overIpc.clear();
      client.destroy();
    }
  });

  it('removes the file when the model cannot be loaded, with the message bytes get', async () => {
    const truncated = mlp.subarray(0, 20 * KIB);
    const { name, key, etag } = await upload(truncated);
    const dir = await ephemeral();
    const loader = loaderOf({ ephemeralDir: dir });
    await assert.rejects(
      loader.get({ name, version: 1, key, etag, size: truncated.length }),
      (error: unknown) =>
        error instanceof ModelUnavailableError &&
        error.status === 422 &&
        error.message ===
          `model '${name}' version 1 could not be loaded: Failed to load model because protobuf parsing failed.`,
    );
    assert.deepEqual(handedOver, ['modelFile']);
    assert.deepEqual(await readdir(dir), []);
  });

  it('removes the file when the model file is gone', async () => {
    const dir = await ephemeral();
    const loader = loaderOf({ ephemeralDir: dir });
    await assert.rejects(
      loader.get({ name: 'gone', version: 1, key: 'models/gone/1/model.onnx', size: mlp.length }),
      (error: unknown) => error instanceof Error && (error as { status?: number }).status === 404,
    );
    assert.deepEqual(await readdir(dir), []);
  });

  it('sends the bytes over IPC when the file cannot be created', async () => {
    const { name, key, etag } = await upload(mlp);
    const notADirectory = join(await ephemeral(), 'file');
    await writeFile(notADirectory, 'x');
    const loader = loaderOf({ ephemeralDir: notADirectory });
    try {
      const { model } = await loader.get({ name, version: 1, key, etag, size: mlp.length });
      assert.deepEqual(handedOver, ['model']);
      assert.deepEqual(await outputsOf((f) => model.session.run(f)), await reference(mlp));
    } finally {
      loader.clear();
    }
  });

  it('sends the bytes over IPC when a write to the file failed, and removes the file', async (t) => {
    const { name, key, etag } = await upload(mlp);
    const dir = await ephemeral();
    // What a failed write leaves: a file that does not seal (the failure itself: 'becomes unusable').
    const seal = ModelFile.prototype.seal;
    t.mock.method(
      ModelFile.prototype,
      'seal',
      async function (this: ModelFile, ...args: Parameters<typeof seal>) {
        await seal.apply(this, args);
        return false;
      },
    );
    const loader = loaderOf({ ephemeralDir: dir });
    try {
      const { model } = await loader.get({ name, version: 1, key, etag, size: mlp.length });
      assert.deepEqual(handedOver, ['model']);
      assert.deepEqual(await readdir(dir), []);
      assert.deepEqual(await outputsOf((f) => model.session.run(f)), await reference(mlp));
    } finally {
      loader.clear();
    }
  });

  it('hands over the version stored now when the file was replaced during the read', async () => {
    const { name, key, etag } = await upload(mlp);
    const dir = await ephemeral();
    const client = s3.createClient();
    let gets = 0;
    let replacedEtag: string | undefined;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetObjectCommand' && ++gets === 3) {
          replacedEtag = (await s3.store.put(key, other)).etag;
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    const loader = loaderOf({
      store: new S3ObjectStore({ client, bucket: s3.bucket }),
      ephemeralDir: dir,
      partedRead: { ...PARTS, concurrency: 1 },
    });
    try {
      const { model } = await loader.get({ name, version: 1, key, etag, size: mlp.length });
      assert.ok(replacedEtag);
      assert.equal(model.etag, replacedEtag);
      assert.equal(model.sizeBytes, other.length);
      assert.deepEqual(handedOver, ['modelFile']);
      assert.deepEqual(await outputsOf((f) => model.session.run(f)), await reference(other));
      assert.deepEqual(await readdir(dir), []);
    } finally {
      loader.clear();
      client.destroy();
    }
  });

  it('keeps small models, and sessions in this process, off the file', async () => {
    const { name, key, etag } = await upload(mlp);
    const dir = await ephemeral();
    const small = loaderOf({ ephemeralDir: dir, modelFileBytes: mlp.length + 1 });
    const inProcess = loaderOf({ ephemeralDir: dir, isolation: 'none' });
    try {
      await small.get({ name, version: 1, key, etag, size: mlp.length });
      assert.deepEqual(handedOver, ['model']);
      const { model } = await inProcess.get({ name, version: 1, key, etag, size: mlp.length });
      assert.deepEqual(handedOver, ['model'], 'no model process, no hand-off');
      assert.deepEqual(await outputsOf((f) => model.session.run(f)), await reference(mlp));
      assert.deepEqual(await readdir(dir), []);
    } finally {
      small.clear();
      inProcess.clear();
    }
  });
});
