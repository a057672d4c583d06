import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { S3Event } from 'aws-lambda';
import fc from 'fast-check';
import { decodeS3Key, encodeS3Key, objectsOfS3Event } from '../../../src/adapters/aws/s3-event.ts';

// A record as S3 sends it for `batch/input/iris/my file+1 été.csv` (keys are form-encoded).
const event: S3Event = {
  Records: [
    {
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventTime: '2026-11-24T10:00:00.000Z',
      eventName: 'ObjectCreated:Put',
      userIdentity: { principalId: 'AWS:AIDAEXAMPLE' },
      requestParameters: { sourceIPAddress: '203.0.113.7' },
      responseElements: {
        'x-amz-request-id': 'C3D13FE58DE4C810',
        'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD',
      },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'batch-input',
        bucket: {
          name: 'models-bucket',
          ownerIdentity: { principalId: 'A3NL1KOZZKExample' },
          arn: 'arn:aws:s3:::models-bucket',
        },
        object: {
          key: 'batch/input/iris/my+file%2B1+%C3%A9t%C3%A9.csv',
          size: 1024,
          eTag: 'd41d8cd98f00b204e9800998ecf8427e',
          sequencer: '0055AED6DCD90281E5',
        },
      },
    },
  ],
};

describe('S3 event keys', () => {
  it('decodes spaces, plus signs and non-ASCII as S3 encodes them', () => {
    const [ref] = objectsOfS3Event(event);

    assert.equal(ref?.key, 'batch/input/iris/my file+1 été.csv');
    assert.equal(ref?.bucket, 'models-bucket');
    assert.equal(ref?.etag, 'd41d8cd98f00b204e9800998ecf8427e');
    assert.equal(ref?.size, 1024);
  });

  it('leaves a key with a broken escape unchanged instead of throwing', () => {
    assert.equal(decodeS3Key('100%+off'), '100%+off');
  });

  it('encodes and decodes every key back to itself', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), (key) => {
        assert.equal(decodeS3Key(encodeS3Key(key)), key);
      }),
    );
  });

  it('skips records without an object', () => {
    assert.deepEqual(objectsOfS3Event({ Records: [{} as S3Event['Records'][number]] }), []);
  });
});
