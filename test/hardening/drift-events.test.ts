/**
 * Drift events carry a deterministic id, and one window's event is claimed once: two concurrent
 * runs (or a retry) of the same window emit one event.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import {
  claimDriftEvent,
  driftEventClaimKey,
  driftEventId,
  type ModelDriftDetectedDetail,
  releaseDriftEvent,
} from '../../src/drift/check/events.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';

let s3: TestS3Server;
before(async () => {
  s3 = await startS3Server();
});
after(async () => {
  await s3?.close();
});

const window = { start: '2026-01-01T00:00:00.000Z', end: '2026-01-02T00:00:00.000Z', hours: 24 };
const detail = (model: string): ModelDriftDetectedDetail =>
  ({ event_id: driftEventId(model, '2', window), model, version: '2', window }) as ModelDriftDetectedDetail;

it('derives the event id from model, version and window only', () => {
  assert.equal(driftEventId('iris', '2', window), driftEventId('iris', '2', { ...window }));
  assert.notEqual(driftEventId('iris', '2', window), driftEventId('iris', '3', window));
  assert.notEqual(
    driftEventId('iris', '2', window),
    driftEventId('iris', '2', { ...window, end: '2026-01-03T00:00:00.000Z' }),
  );
  assert.match(driftEventId('iris', '2', window), /^[0-9a-f]{32}$/);
});

it('lets one of two concurrent runs, and no later run, emit the event of a window', async () => {
  const event = detail('iris');
  const claims = await Promise.all([claimDriftEvent(s3.store, event), claimDriftEvent(s3.store, event)]);
  assert.deepEqual(claims.sort(), [false, true]);
  assert.equal(await claimDriftEvent(s3.store, event), false, 'a retry of the same window');
  assert.ok(await s3.store.head(driftEventClaimKey('iris', event.event_id)));
});

it('gives the claim back when the event could not be delivered, so the retry sends it', async () => {
  const event = detail('wine');
  assert.equal(await claimDriftEvent(s3.store, event), true);
  await releaseDriftEvent(s3.store, event);
  assert.equal(await claimDriftEvent(s3.store, event), true);
});
