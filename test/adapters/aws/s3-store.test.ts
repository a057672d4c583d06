import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client, S3ObjectStore } from '../../../src/adapters/aws/s3-store.ts';
import { StorageUnavailableError } from '../../../src/errors.ts';
import { startS3Server, type TestS3Server } from '../../helpers/s3-server.ts';

let s3: TestS3Server;

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

async function storageFailure(promise: Promise<unknown>): Promise<StorageUnavailableError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(
      error instanceof StorageUnavailableError,
      `expected StorageUnavailableError, got ${String(error)}`,
    );
    assert.ok(error.cause !== undefined, 'the SDK error is kept as cause');
    return error;
  }
  assert.fail('expected a StorageUnavailableError');
}

describe('S3ObjectStore against a local S3 server', () => {
  it('writes and reads whole objects, bytes and text, with metadata and an unquoted ETag', async () => {
    const bytes = new Uint8Array(300_000).map((_, index) => index % 251);

    const written = await s3.store.put('store/blob.bin', bytes, {
      contentType: 'application/octet-stream',
      metadata: { origin: 'test' },
    });
    await s3.store.put('store/text.json', '{"a":1}');
    const read = await s3.store.get('store/blob.bin');
    const text = await s3.store.get('store/text.json');

    assert.deepEqual(read?.body, bytes);
    assert.equal(read?.size, bytes.length);
    assert.deepEqual(read?.metadata, { origin: 'test' });
    assert.match(written.etag ?? '', /^[0-9a-f]{32}$/);
    assert.equal(read?.etag, written.etag);
    assert.equal(new TextDecoder().decode(text?.body), '{"a":1}');
  });

  it('stores what was written, byte for byte (no aws-chunked framing)', async () => {
    const body = new TextEncoder().encode('exact bytes\n');

    await s3.store.put('store/exact.txt', body);
    const head = await s3.store.head('store/exact.txt');

    assert.equal(head?.size, body.length);
  });

  it('answers undefined for a missing object, from get and head', async () => {
    assert.equal(await s3.store.get('store/missing'), undefined);
    assert.equal(await s3.store.head('store/missing'), undefined);
  });

  it('round-trips keys with spaces, plus signs and non-ASCII characters', async () => {
    const key = 'store/odd keys/a+b ü 東京.txt';

    await s3.store.put(key, 'x');
    const listing = await s3.store.list('store/odd keys/');

    assert.equal((await s3.store.get(key))?.size, 1);
    assert.deepEqual(
      listing.objects.map((object) => object.key),
      [key],
    );
    assert.deepEqual(s3.requests.at(0), {
      method: 'PUT',
      operation: 'PutObject',
      bucket: s3.bucket,
      key,
      query: 'x-id=PutObject',
    });
  });

  it('lists keys under a prefix, and common prefixes with a delimiter', async () => {
    await Promise.all(['list/a.txt', 'list/b/c.txt', 'list/b/d.txt'].map((key) => s3.store.put(key, key)));

    const all = await s3.store.list('list/');
    const shallow = await s3.store.list('list/', { delimiter: '/' });

    assert.deepEqual(all.objects.map((object) => object.key).sort(), [
      'list/a.txt',
      'list/b/c.txt',
      'list/b/d.txt',
    ]);
    assert.equal(all.objects.find((object) => object.key === 'list/a.txt')?.size, 'list/a.txt'.length);
    assert.deepEqual(
      shallow.objects.map((object) => object.key),
      ['list/a.txt'],
    );
    assert.deepEqual(shallow.prefixes, ['list/b/']);
  });

  it('deletes objects, and deleting a missing one is fine', async () => {
    await s3.store.put('store/doomed', 'x');

    await s3.store.delete('store/doomed');
    await s3.store.delete('store/doomed');

    assert.equal(await s3.store.head('store/doomed'), undefined);
  });

  it('keeps its key prefix out of sight', async () => {
    const scoped = new S3ObjectStore({ client: s3.client, bucket: s3.bucket, prefix: 'tenant-a/' });

    await scoped.put('models/x/1/model.onnx', 'm');
    const listing = await scoped.list('models/');

    assert.deepEqual(
      listing.objects.map((object) => object.key),
      ['models/x/1/model.onnx'],
    );
    assert.equal((await s3.store.head('tenant-a/models/x/1/model.onnx'))?.size, 1);
    assert.equal((await scoped.get('models/x/1/model.onnx'))?.key, 'models/x/1/model.onnx');
  });

  it('reports a missing bucket as a misconfiguration, without naming the bucket', async () => {
    const wrong = new S3ObjectStore({ client: s3.client, bucket: 'no-such-bucket-here' });

    const onGet = await storageFailure(wrong.get('models/x/1/model.onnx'));
    const onList = await storageFailure(wrong.list('models/'));

    assert.equal(
      onGet.message,
      "object store misconfigured: the configured bucket does not exist (GetObject 'models/x/1/model.onnx')",
    );
    assert.match(onList.message, /bucket does not exist \(ListObjectsV2 'models\/'\)/);
    assert.ok(!onGet.message.includes('no-such-bucket-here'));
  });

  it('reports rejected credentials as access denied, without the keys', async () => {
    const client = createS3Client({
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      // s3rver does not verify SigV4 signatures, but it does know its access keys.
      credentials: { accessKeyId: 'UNKNOWNKEY', secretAccessKey: 'wrong-secret-value' },
      maxAttempts: 1,
    });
    const store = new S3ObjectStore({ client, bucket: s3.bucket });

    const error = await storageFailure(store.get('store/blob.bin'));

    assert.match(error.message, /^object store denied access during GetObject 'store\/blob.bin'/);
    assert.ok(!error.message.includes('UNKNOWNKEY') && !error.message.includes('wrong-secret-value'));
    client.destroy();
  });
});

describe('S3ObjectStore when the store fails', () => {
  const key = 'faults/object.bin';
  let oneShot: S3Client;
  let store: S3ObjectStore;

  before(async () => {
    await s3.store.put(key, new Uint8Array(64_000).fill(7));
    oneShot = s3.createClient({ maxAttempts: 1, requestTimeoutMs: 300, socketTimeoutMs: 300 });
    store = new S3ObjectStore({ client: oneShot, bucket: s3.bucket });
  });

  after(() => oneShot.destroy());

  const faults = [
    ['status503', /^object store failed with HTTP 503 during GetObject 'faults\/object.bin'$/],
    ['throttle', /^object store is throttling requests \(GetObject 'faults\/object.bin'\)$/],
    ['reset', /^object store unreachable during GetObject/],
    ['refuse', /^object store unreachable during GetObject/],
    ['hang', /^object store timed out during GetObject/],
    ['truncate', /^object store unreachable during GetObject/],
  ] as const;
  for (const [fault, message] of faults) {
    it(`maps '${fault}' to a 503 with a precise message`, async () => {
      await s3.setFault(fault);

      const error = await storageFailure(store.get(key));

      assert.match(error.message, message);
      assert.equal(error.status, 503);
    });
  }

  it('retries a transient failure within maxAttempts', async () => {
    let failures = 1;
    await s3.setFault('status503', () => failures-- > 0);

    const object = await s3.store.get(key);

    assert.equal(object?.size, 64_000);
    assert.equal(s3.count('GetObject', key), 2);
  });

  it('gives up after maxAttempts', async () => {
    await s3.setFault('status503');

    await storageFailure(s3.store.get(key));

    assert.equal(s3.count('GetObject', key), 2);
  });
});

describe('createS3Client', () => {
  it('always computes and validates checksums only when required', async () => {
    const client = createS3Client({ region: 'us-east-1' });

    assert.equal(await client.config.requestChecksumCalculation(), 'WHEN_REQUIRED');
    assert.equal(await client.config.responseChecksumValidation(), 'WHEN_REQUIRED');
    assert.equal(await client.config.maxAttempts(), 3);
    client.destroy();
  });

  it('rejects nonsensical limits', () => {
    assert.throws(
      () => createS3Client({ region: 'us-east-1', maxAttempts: 0 }),
      /maxAttempts must be a positive integer/,
    );
    assert.throws(() => createS3Client({ region: 'us-east-1', requestTimeoutMs: -5 }), /requestTimeoutMs/);
  });
});

describe('S3ObjectStore.list pagination', () => {
  it('follows continuation tokens until the listing is complete', async () => {
    const pages = [
      { Contents: [{ Key: 'p/1', Size: 1, ETag: '"e1"' }], IsTruncated: true, NextContinuationToken: 't1' },
      {
        Contents: [{ Key: 'p/2', Size: 2 }],
        CommonPrefixes: [{ Prefix: 'p/d/' }],
        IsTruncated: true,
        NextContinuationToken: 't2',
      },
      { Contents: [{ Key: 'p/3', Size: 3 }], IsTruncated: false },
    ];
    const tokens: (string | undefined)[] = [];
    const client = {
      send: async (command: ListObjectsV2Command) => {
        assert.ok(command instanceof ListObjectsV2Command);
        tokens.push(command.input.ContinuationToken);
        return pages[tokens.length - 1];
      },
    } as unknown as S3Client;

    const listing = await new S3ObjectStore({ client, bucket: 'b' }).list('p/');

    assert.deepEqual(tokens, [undefined, 't1', 't2']);
    assert.deepEqual(
      listing.objects.map((object) => [object.key, object.size, object.etag]),
      [
        ['p/1', 1, 'e1'],
        ['p/2', 2, undefined],
        ['p/3', 3, undefined],
      ],
    );
    assert.deepEqual(listing.prefixes, ['p/d/']);
  });
});
