import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import fc from 'fast-check';
import {
  createSequencer,
  notificationsOfS3rverEvent,
  type ObjectNotification,
  toS3Event,
} from '../../scripts/local/s3-event.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalS3 } from '../../scripts/local/s3-server.ts';
import { objectsOfS3Event } from '../../src/adapters/aws/s3-event.ts';
import { createS3Client } from '../../src/adapters/aws/s3-store.ts';

const KEY = 'batch/input/iris/my file+1 été.csv';
const options = { region: 'eu-west-1', configurationId: 'batch-s3-1', sequencer: '0055AED6DCD90281E5' };

describe('local S3 events: the event Lambda receives', () => {
  it('has the shape S3 sends, with the key URL-encoded as S3 encodes it', () => {
    const notification: ObjectNotification = {
      eventName: 'ObjectCreated:Put',
      bucket: 'onnx-serve-local',
      key: KEY,
      size: 42,
      eTag: 'd41d8cd98f00b204e9800998ecf8427e',
    };

    const event = toS3Event(notification, { ...options, now: new Date('2026-11-24T10:00:00Z') });

    const [record] = event.Records;
    assert.equal(event.Records.length, 1);
    assert.ok(record);
    assert.equal(record.eventVersion, '2.1');
    assert.equal(record.eventSource, 'aws:s3');
    assert.equal(record.awsRegion, 'eu-west-1');
    assert.equal(record.eventTime, '2026-11-24T10:00:00.000Z');
    assert.equal(record.eventName, 'ObjectCreated:Put');
    assert.equal(record.s3.s3SchemaVersion, '1.0');
    assert.equal(record.s3.configurationId, 'batch-s3-1');
    assert.deepEqual(
      { name: record.s3.bucket.name, arn: record.s3.bucket.arn },
      { name: 'onnx-serve-local', arn: 'arn:aws:s3:::onnx-serve-local' },
    );
    assert.deepEqual(record.s3.object, {
      key: 'batch/input/iris/my+file%2B1+%C3%A9t%C3%A9.csv',
      size: 42,
      eTag: 'd41d8cd98f00b204e9800998ecf8427e',
      sequencer: '0055AED6DCD90281E5',
    });
    assert.equal(typeof record.responseElements['x-amz-request-id'], 'string');
  });

  it('carries any key so that the handlers decode it back exactly', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), (key) => {
        const event = toS3Event(
          { eventName: 'ObjectCreated:Put', bucket: 'b', key, size: 1, eTag: 'e' },
          options,
        );

        assert.equal(objectsOfS3Event(event)[0]?.key, key);
      }),
    );
  });

  it('numbers changes with sequencers that sort in order, also within one millisecond', () => {
    const sequencer = createSequencer(() => 1_700_000_000_000);

    const values = Array.from({ length: 5 }, () => sequencer());

    assert.deepEqual([...values].sort(), values);
    assert.equal(new Set(values).size, 5);
    assert.ok(values.every((value) => /^[0-9A-F]{18}$/.test(value)));
  });
});

describe("local S3 events: the local S3 server's notifications", () => {
  it('reports puts, multipart uploads, copies and deletes with keys as stored', async () => {
    const directory = await mkdtemp(join(tmpdir(), 's3rver-events-'));
    const s3 = await startLocalS3({ port: 0, directory, buckets: ['local'] });
    const client = createS3Client({
      region: LOCAL_REGION,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: LOCAL_CREDENTIALS,
    });
    const seen: ObjectNotification[] = [];
    s3.server.on('event', (event: unknown) => seen.push(...notificationsOfS3rverEvent(event)));
    try {
      await client.send(new PutObjectCommand({ Bucket: 'local', Key: KEY, Body: 'a,b\n1,2\n' }));
      const { UploadId } = await client.send(
        new CreateMultipartUploadCommand({ Bucket: 'local', Key: 'big.csv' }),
      );
      const part = await client.send(
        new UploadPartCommand({
          Bucket: 'local',
          Key: 'big.csv',
          UploadId,
          PartNumber: 1,
          Body: 'x'.repeat(10),
        }),
      );
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'local',
          Key: 'big.csv',
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      );
      await client.send(
        new CopyObjectCommand({ Bucket: 'local', Key: 'copy.csv', CopySource: 'local/big.csv' }),
      );
      await client.send(new DeleteObjectCommand({ Bucket: 'local', Key: 'copy.csv' }));

      assert.deepEqual(
        seen.map(({ eventName, bucket, key }) => ({ eventName, bucket, key })),
        [
          { eventName: 'ObjectCreated:Put', bucket: 'local', key: KEY },
          { eventName: 'ObjectCreated:Post', bucket: 'local', key: 'big.csv' },
          { eventName: 'ObjectCreated:Copy', bucket: 'local', key: 'copy.csv' },
          { eventName: 'ObjectRemoved:Delete', bucket: 'local', key: 'copy.csv' },
        ],
      );
      assert.equal(seen[0]?.size, 8);
      assert.match(seen[0]?.eTag ?? '', /^[0-9a-f]{32}$/);
      assert.equal(seen[2]?.eTag, undefined, 's3rver reports no ETag for copies');
    } finally {
      client.destroy();
      await s3.close();
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('skips anything that is not a notification', () => {
    for (const event of [
      undefined,
      null,
      'x',
      {},
      { Records: 'x' },
      { Records: [{}] },
      { Records: [null] },
    ]) {
      assert.deepEqual(notificationsOfS3rverEvent(event), []);
    }
  });
});
