import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InferenceSession } from 'onnxruntime-node';
import { ServingError } from '../../src/errors.ts';
import { guardSession } from '../../src/runtime/session-guard.ts';

/** A session whose runs finish when the test says so. */
function fakeSession() {
  const pending: (() => void)[] = [];
  let releases = 0;
  const session = {
    inputNames: ['x'],
    outputNames: ['y'],
    run: () => new Promise((resolve) => pending.push(() => resolve({}))),
    release: async () => {
      releases += 1;
    },
  } as unknown as InferenceSession;
  return {
    session,
    finishRuns: () => {
      for (const finish of pending.splice(0)) finish();
    },
    get releases() {
      return releases;
    },
  };
}

describe('guardSession', () => {
  it('behaves like the session it wraps', async () => {
    const fake = fakeSession();
    const guarded = guardSession(fake.session, "'m' version 1");

    const running = guarded.session.run({});
    assert.equal(guarded.activeRuns, 1);
    fake.finishRuns();

    assert.deepEqual(await running, {});
    assert.deepEqual(guarded.session.inputNames, ['x']);
    assert.equal(guarded.activeRuns, 0);
  });

  it('releases at once when retired while idle', () => {
    const fake = fakeSession();
    const guarded = guardSession(fake.session, "'m' version 1");

    guarded.retire();

    assert.equal(fake.releases, 1);
    assert.equal(guarded.released, true);
  });

  it('waits for the runs in flight before releasing', async () => {
    const fake = fakeSession();
    const guarded = guardSession(fake.session, "'m' version 1");
    const first = guarded.session.run({});
    const second = guarded.session.run({});

    guarded.retire();
    assert.equal(fake.releases, 0);
    fake.finishRuns();
    await Promise.all([first, second]);

    assert.equal(fake.releases, 1);
  });

  it('refuses a run after the release with a retryable 503', async () => {
    const fake = fakeSession();
    const guarded = guardSession(fake.session, "'m' version 1");
    guarded.retire();

    await assert.rejects(guarded.session.run({}), (error: unknown) => {
      assert.ok(error instanceof ServingError);
      assert.equal(error.status, 503);
      assert.equal(error.message, "model 'm' version 1 was unloaded to free memory; retry");
      return true;
    });
  });

  it('ignores release() from callers: the cache owns the session', async () => {
    const fake = fakeSession();
    const guarded = guardSession(fake.session, "'m' version 1");

    await guarded.session.release();

    assert.equal(fake.releases, 0);
  });
});
