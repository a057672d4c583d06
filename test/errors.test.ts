import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BadRequestError,
  ModelUnavailableError,
  NotFoundError,
  PayloadTooLargeError,
  StorageUnavailableError,
  toErrorResponse,
} from '../src/errors.ts';

describe('toErrorResponse', () => {
  const known: [Error, number, string][] = [
    [new BadRequestError("input 'x': expected FP32, got INT64"), 400, 'BadRequest'],
    [new NotFoundError("model 'y' not found"), 404, 'NotFound'],
    [new PayloadTooLargeError('too big'), 413, 'PayloadTooLarge'],
    [new ModelUnavailableError('cannot load'), 422, 'ModelUnavailable'],
    [new StorageUnavailableError('S3 unreachable'), 503, 'StorageUnavailable'],
  ];
  for (const [error, status, kind] of known) {
    it(`${error.name} → ${status} with its message`, () => {
      const response = toErrorResponse(error);

      assert.equal(response.status, status);
      assert.equal(response.kind, kind);
      assert.deepEqual(response.body, { error: error.message });
      assert.equal(response.unexpected, false);
    });
  }

  it('adds a retry hint to 503', () => {
    assert.equal(
      toErrorResponse(new StorageUnavailableError('down', { retryAfterSeconds: 3 })).headers['retry-after'],
      '3',
    );
  });

  it('turns anything unknown into a generic 500 that reveals nothing', () => {
    for (const thrown of [
      new Error('/var/task/secret.js: boom'),
      new TypeError('x is undefined'),
      'a string',
      undefined,
    ]) {
      const response = toErrorResponse(thrown);

      assert.equal(response.status, 500);
      assert.deepEqual(response.body, { error: 'internal error' });
      assert.equal(response.unexpected, true);
    }
  });

  it('keeps the cause and sets the name of subclasses', () => {
    const cause = new Error('socket hang up');
    const error = new StorageUnavailableError('S3 unreachable', { cause });

    assert.equal(error.name, 'StorageUnavailableError');
    assert.equal(error.cause, cause);
  });
});
