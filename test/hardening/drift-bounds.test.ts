/**
 * A drift check's memory does not grow with what callers post: outcomes that match no prediction
 * are joined up to the cap (`maxOutcomes`), the rest counted as dropped, and the outcome ledgers
 * kept between checks hold at most that many lines too (objects past it are read again next time).
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { loadOutcomes } from '../../src/drift/check/outcome-index.ts';
import { outcomeFolder } from '../../src/outcomes/outcome.ts';
import { serializeOutcomes } from '../../src/outcomes/outcome-service.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';

let s3: TestS3Server;
before(async () => {
  s3 = await startS3Server();
});
after(async () => {
  await s3?.close();
});

const received = new Date('2026-06-02T10:20:00Z');
const range = { from: new Date('2026-06-02T10:00:00Z'), to: new Date('2026-06-02T11:00:00Z') };

/** Posts `objects` outcome objects of `perObject` ids each that no prediction ever had. */
async function postUnmatched(model: string, objects: number, perObject: number): Promise<void> {
  for (let o = 0; o < objects; o++) {
    const records = Array.from({ length: perObject }, (_, i) => ({
      id: `nobody-${o}-${i}`,
      value: 'x',
      ts: received.toISOString(),
      received_at: received.toISOString(),
    }));
    const key = `${outcomeFolder(model, received)}${String(o).padStart(4, '0')}.jsonl`;
    await s3.store.put(key, serializeOutcomes(records));
  }
}

/** Outcome lines the stored ledgers of `model` hold. */
async function ledgerLines(model: string): Promise<number> {
  let lines = 0;
  for (const { key } of (await s3.store.list(`reports/${model}/_summaries/outcomes/`)).objects) {
    const stored = await s3.store.get(key);
    const doc = JSON.parse(new TextDecoder().decode(stored?.body)) as { objects: { ids: string[] }[] };
    for (const entry of doc.objects) lines += entry.ids.length;
  }
  return lines;
}

it('joins at most the cap, and keeps at most the cap of outcome lines in its ledgers, run after run', async () => {
  await postUnmatched('flood', 6, 40);
  const options = { ledger: true, maxOutcomes: 100, concurrency: 2, now: new Date('2026-06-02T11:00:00Z') };

  for (const run of [1, 2]) {
    const index = await loadOutcomes(s3.store, 'flood', range, options);
    assert.equal(index.stats.records, 240, `run ${run}`);
    assert.equal(index.values.length, 100, `run ${run}`);
    assert.equal(index.ids.size, 100, `run ${run}`);
    assert.equal(index.stats.dropped, 140, `run ${run}`);
    assert.ok(index.stats.uncached >= 3, `run ${run}: ${index.stats.uncached} objects not kept`);
    const kept = await ledgerLines('flood');
    assert.ok(kept <= 100, `run ${run}: the ledgers hold ${kept} lines, over the cap of 100`);
    assert.ok(kept >= 80, `run ${run}: the ledgers still cache what fits (${kept} lines)`);
  }
});

it('an outcome posted again for a joined id still updates it past the cap', async () => {
  await postUnmatched('again', 3, 40);
  const later = new Date('2026-06-02T10:40:00Z');
  const again = serializeOutcomes([
    { id: 'nobody-0-0', value: 'updated', ts: later.toISOString(), received_at: later.toISOString() },
  ]);
  await s3.store.put(`${outcomeFolder('again', received)}9999.jsonl`, again);

  const index = await loadOutcomes(s3.store, 'again', range, { ledger: true, maxOutcomes: 50 });

  const row = index.ids.get('nobody-0-0');
  assert.ok(row !== undefined);
  assert.equal(index.values[row], 'updated');
  assert.equal(index.stats.duplicates, 1);
  assert.equal(index.stats.dropped, 70);
});
