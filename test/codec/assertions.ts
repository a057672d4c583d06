import assert from 'node:assert/strict';
import { BadRequestError } from '../../src/errors.ts';

/**
 * Asserts that `act` throws a 400 `BadRequestError` whose message equals `message` (a string) or
 * matches it (a RegExp).
 */
export function assertBadRequest(act: () => unknown, message: string | RegExp): void {
  assert.throws(act, (error: unknown) => {
    assert.ok(error instanceof BadRequestError, `expected a BadRequestError, got ${String(error)}`);
    assert.equal(error.status, 400);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

/** The message of the `BadRequestError` that `act` throws; fails when it throws anything else. */
export function badRequestMessage(act: () => unknown): string {
  try {
    act();
  } catch (error) {
    assert.ok(error instanceof BadRequestError, `expected a BadRequestError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected a BadRequestError, nothing was thrown');
}
