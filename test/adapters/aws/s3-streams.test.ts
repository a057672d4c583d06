/** `S3ObjectStore.getStream` and `createWriter` against a local S3 server, with faults injected. */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { S3ObjectStore } from '../../../src/adapters/aws/s3-store.ts';
import { StorageUnavailableError } from '../../../src/errors.ts';
import { MIN_PART_BYTES } from '../../../src/ports/object-store.ts';
import { startS3Server, type TestS3Server } from '../../helpers/s3-server.ts';

let s3: TestS3Server;
let store: S3ObjectStore;

before(async () => {
  s3 = await startS3Server({ client: { maxAttempts: 1, requestTimeoutMs: 10_000, socketTimeoutMs: 10_000 } });
  store = new S3ObjectStore({ client: s3.client, bucket: s3.bucket, partBytes: MIN_PART_BYTES });
});

after(async () => {
  await s3?.close();
});

beforeEach(async () => {
  await s3.setFault(null);
  s3.resetRequests();
});

const bytesOf = (size: number, seed = 1) => new Uint8Array(size).map((_, i) => (i * 31 + seed) % 251);

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function rejectsWithStorageError(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StorageUnavailableError, `got ${String(error)}`);
    return true;
  });
}

describe('S3ObjectStore.getStream', () => {
  it('streams an object in chunks, with its ETag and metadata; a missing one is undefined', async () => {
    const bytes = bytesOf(3 * 1024 * 1024);
    const { etag } = await store.put('streams/in.bin', bytes, { metadata: { 'model-version': '2' } });

    const object = await store.getStream('streams/in.bin');
    const body = object && (await collect(object.body));

    assert.deepEqual(body, Buffer.from(bytes));
    assert.equal(object?.etag, etag);
    assert.equal(object?.size, bytes.length);
    assert.deepEqual(object?.metadata, { 'model-version': '2' });
    assert.equal(await store.getStream('streams/missing.bin'), undefined);
  });

  it('a body cut off half way fails the iteration with StorageUnavailableError', async () => {
    await store.put('streams/cut.bin', bytesOf(2 * 1024 * 1024));
    await s3.setFault('truncate', (r) => r.key === 'streams/cut.bin');

    const object = await store.getStream('streams/cut.bin');
    assert.ok(object);

    await rejectsWithStorageError(collect(object.body));
  });
});

describe('S3ObjectStore.createWriter', () => {
  it('a small object: one PutObject on complete, nothing visible before', async () => {
    const writer = store.createWriter('streams/small.txt', { contentType: 'text/plain' });
    await writer.write('hello ');
    await writer.write(new TextEncoder().encode('world'));

    const before = await store.head('streams/small.txt');
    const { etag, bytes } = await writer.complete();

    assert.equal(before, undefined);
    assert.equal(bytes, 11);
    assert.equal(s3.count('PutObject', 'streams/small.txt'), 1);
    const stored = await store.get('streams/small.txt');
    assert.equal(new TextDecoder().decode(stored?.body), 'hello world');
    assert.equal(stored?.etag, etag);
  });

  it('a large object: a multipart upload, byte for byte, visible only once complete', async () => {
    const bytes = bytesOf(3 * MIN_PART_BYTES + 12345, 7);
    const writer = store.createWriter('streams/large.bin');
    for (let at = 0; at < bytes.length; at += 700_000) await writer.write(bytes.subarray(at, at + 700_000));

    const before = await store.head('streams/large.bin');
    await writer.complete();

    assert.equal(before, undefined);
    assert.ok(
      s3.requests.some((r) => r.method === 'POST' && r.query.startsWith('uploads')),
      'multipart',
    );
    assert.equal(
      s3.requests.filter((r) => r.key === 'streams/large.bin' && r.query.includes('partNumber')).length,
      4,
    );
    assert.deepEqual(Buffer.from((await store.get('streams/large.bin'))?.body ?? []), Buffer.from(bytes));
  });

  it('abort leaves nothing, and aborts the multipart upload it started', async () => {
    const writer = store.createWriter('streams/aborted.bin');
    await writer.write(bytesOf(2 * MIN_PART_BYTES + 1));

    await writer.abort();

    assert.equal(await store.head('streams/aborted.bin'), undefined);
    assert.ok(
      s3.requests.some(
        (r) => r.method === 'DELETE' && r.key === 'streams/aborted.bin' && r.query.includes('uploadId'),
      ),
    );
    await assert.rejects(writer.write('more'), /after the writer was aborted/);
  });

  it('a failed part fails the writer at once, and nothing becomes visible', async () => {
    await s3.setFault('status503', (r) => r.key === 'streams/failing.bin' && r.query.includes('partNumber'));
    const writer = store.createWriter('streams/failing.bin');
    const chunk = bytesOf(1024 * 1024);

    // The upload stops reading after its part fails, so the writes soon stop being accepted.
    let written = 0;
    await rejectsWithStorageError(
      (async () => {
        while (written < 100 * MIN_PART_BYTES) {
          await writer.write(chunk);
          written += chunk.length;
        }
      })(),
    );
    await rejectsWithStorageError(writer.complete());

    assert.ok(written < 5 * MIN_PART_BYTES, `${written} bytes accepted after the failure`);
    assert.equal(await store.head('streams/failing.bin'), undefined);
  });
});
