import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { classifyS3Error, type S3Failure, storageError } from '../../../src/adapters/aws/s3-errors.ts';
import { readBody } from '../../../src/adapters/aws/s3-store.ts';
import { StorageUnavailableError } from '../../../src/errors.ts';

function sdkError(name: string, status?: number, code?: string): Error {
  return Object.assign(new Error(`${name} happened`), {
    name,
    code,
    $metadata: status === undefined ? {} : { httpStatusCode: status },
  });
}

describe('classifyS3Error', () => {
  const cases: [string, unknown, S3Failure][] = [
    ['NoSuchKey', sdkError('NoSuchKey', 404), 'not-found'],
    ['HEAD 404', sdkError('NotFound', 404), 'not-found'],
    ['a bare 404', sdkError('Unknown', 404), 'not-found'],
    ['NoSuchBucket, although a 404', sdkError('NoSuchBucket', 404), 'no-such-bucket'],
    ['AccessDenied', sdkError('AccessDenied', 403), 'access-denied'],
    ['a bad signature', sdkError('SignatureDoesNotMatch', 403), 'access-denied'],
    ['SlowDown', sdkError('SlowDown', 503), 'throttled'],
    ['429', sdkError('Unknown', 429), 'throttled'],
    ['InternalError', sdkError('InternalError', 500), 'server-error'],
    ['a bare 503', sdkError('ServiceUnavailable', 503), 'server-error'],
    ['a request timeout', sdkError('TimeoutError', undefined, 'ETIMEDOUT'), 'timeout'],
    ['a socket timeout', sdkError('TimeoutError'), 'timeout'],
    ['a refused connection', sdkError('Error', undefined, 'ECONNREFUSED'), 'unreachable'],
    [
      'a reset renamed TimeoutError by the SDK',
      sdkError('TimeoutError', undefined, 'ECONNRESET'),
      'unreachable',
    ],
    ['an unknown host', sdkError('Error', undefined, 'ENOTFOUND'), 'unreachable'],
    ['anything else', new TypeError('x'), 'failed'],
    ['not an error', 'boom', 'failed'],
  ];
  for (const [label, error, failure] of cases) {
    it(`${label} → ${failure}`, () => {
      assert.equal(classifyS3Error(error), failure);
    });
  }
});

describe('storageError', () => {
  it('names the operation and key, keeps the cause, and says nothing of bucket or credentials', () => {
    const cause = sdkError('NoSuchBucket', 404);

    const error = storageError('ListObjectsV2', 'models/', cause);

    assert.ok(error instanceof StorageUnavailableError);
    assert.equal(error.status, 503);
    assert.equal(
      error.message,
      "object store misconfigured: the configured bucket does not exist (ListObjectsV2 'models/')",
    );
    assert.equal(error.cause, cause);
    assert.equal(error.headers['retry-after'], '60');
  });

  it('asks for a quick retry after a transient failure', () => {
    const error = storageError('GetObject', 'k', sdkError('Error', undefined, 'ECONNRESET'));

    assert.equal(error.message, "object store unreachable during GetObject 'k'");
    assert.equal(error.headers['retry-after'], '1');
  });
});

describe('readBody', () => {
  const chunks = () => Readable.from([Buffer.from('abc'), Buffer.from('defg')]);

  it('fills a buffer sized by Content-Length', async () => {
    const body = await readBody(chunks(), 7);

    assert.deepEqual(body, new TextEncoder().encode('abcdefg'));
    assert.equal(body.buffer.byteLength, 7);
  });

  it('joins the chunks when the length is unknown', async () => {
    assert.deepEqual(await readBody(chunks(), undefined), new TextEncoder().encode('abcdefg'));
  });

  it('refuses a body shorter than its Content-Length', async () => {
    await assert.rejects(readBody(chunks(), 10), {
      name: 'BodyLengthError',
      message: 'body ended after 7 of 10 bytes',
    });
  });

  it('refuses a body longer than its Content-Length', async () => {
    await assert.rejects(readBody(chunks(), 5), {
      name: 'BodyLengthError',
      message: 'body is longer than its Content-Length of 5 bytes',
    });
  });

  it('reads an absent body as empty', async () => {
    assert.deepEqual(await readBody(undefined, 0), new Uint8Array(0));
  });
});
