import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { LocalCapturePipeline } from '../../scripts/local/capture-pipeline.ts';
import { formatCaptureLine } from '../../src/capture/log-line.ts';
import { captureTensor, createCaptureRecord } from '../../src/capture/record.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';

let s3: TestS3Server;

before(async () => {
  s3 = await startS3Server();
});

after(async () => {
  await s3?.close();
});

beforeEach(async () => {
  for (const { key } of (await s3.store.list('captures/')).objects) await s3.store.delete(key);
});

function captureLine(id: string, model: string, ts: string): string {
  const record = createCaptureRecord({
    id,
    ts: new Date(ts),
    model,
    version: '1',
    source: 'api',
    inputs: { a: 1 },
    outputs: [captureTensor({ name: 'y', datatype: 'FP32', shape: [1], data: [0.5] })],
    latencyMs: 0.1,
  });
  return formatCaptureLine(record, 'onnx-serve').trimEnd();
}

/** Every object under `captures/`, key → its lines. */
async function captured(): Promise<Map<string, string[]>> {
  const objects = new Map<string, string[]>();
  for (const { key } of (await s3.store.list('captures/')).objects) {
    const object = await s3.store.get(key);
    objects.set(key, new TextDecoder().decode(object?.body).trimEnd().split('\n'));
  }
  return objects;
}

/** Polls `condition` every 20 ms, for at most `limitMs`. */
async function waitFor(condition: () => Promise<boolean>, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((done) => setTimeout(done, 20));
  }
}

describe('LocalCapturePipeline', () => {
  it('files capture lines per model and hour, as Firehose would, and ignores every other line', async () => {
    const pipeline = new LocalCapturePipeline({ store: s3.store, flushIntervalMs: 3_600_000 });
    const lines = [
      captureLine('a', 'iris', '2026-06-01T10:59:59.999Z'),
      '{"level":"INFO","message":"request","model":"iris"}',
      captureLine('b', 'iris', '2026-06-01T11:00:00.000Z'),
      '{"_aws":{"Timestamp":0,"CloudWatchMetrics":[]},"CapturedPredictions":1}',
      captureLine('c', 'wine', '2026-06-01T10:15:00.000Z'),
      captureLine('d', 'iris', '2026-06-01T10:00:00.000Z'),
      'plain text',
    ];

    for (const line of lines) pipeline.push(line);
    await pipeline.flush();

    const objects = await captured();
    const byFolder = new Map(
      [...objects].map(([key, content]) => [key.slice(0, key.lastIndexOf('/') + 1), content]),
    );
    assert.equal(objects.size, 3);
    for (const key of objects.keys()) {
      assert.match(
        key,
        /^captures\/(iris|wine)\/2026\/06\/01\/1[01]\/api-local-\d{4}(-\d\d){5}-[0-9a-f-]{36}\.jsonl$/,
      );
    }
    assert.deepEqual(byFolder.get('captures/iris/2026/06/01/10/'), [lines[0], lines[5]]);
    assert.deepEqual(byFolder.get('captures/iris/2026/06/01/11/'), [lines[2]]);
    assert.deepEqual(byFolder.get('captures/wine/2026/06/01/10/'), [lines[4]]);
    assert.deepEqual(pipeline.stats, { selected: 4, written: 4, objects: 3, failures: 0 });
    await pipeline.close();
  });

  it('writes on its interval without being asked', async () => {
    const pipeline = new LocalCapturePipeline({ store: s3.store, flushIntervalMs: 50 });

    pipeline.push(captureLine('tick', 'iris', '2026-06-01T10:00:00.000Z'));

    try {
      await waitFor(async () => (await captured()).size === 1);
    } finally {
      await pipeline.close();
    }
    assert.equal(pipeline.stats.written, 1);
  });

  it('close writes everything buffered, whatever the interval', async () => {
    const pipeline = new LocalCapturePipeline({ store: s3.store, flushIntervalMs: 3_600_000 });
    for (let i = 0; i < 250; i++) pipeline.push(captureLine(`p-${i}`, 'iris', '2026-06-01T10:00:00.000Z'));

    await pipeline.close();

    const [lines] = [...(await captured()).values()];
    assert.equal(lines?.length, 250);
    assert.deepEqual(
      lines?.map((line) => (JSON.parse(line) as { capture: { id: string } }).capture.id),
      Array.from({ length: 250 }, (_, i) => `p-${i}`),
    );
  });

  it('keeps the lines of a failed write and writes them, once, at the next flush', async () => {
    const logged: string[] = [];
    const pipeline = new LocalCapturePipeline({
      store: s3.store,
      flushIntervalMs: 3_600_000,
      log: (line) => logged.push(line),
    });
    pipeline.push(captureLine('first', 'iris', '2026-06-01T10:00:00.000Z'));
    await s3.setFault('status503', (request) => request.operation === 'PutObject');
    try {
      await pipeline.flush();
    } finally {
      await s3.setFault(null);
    }
    pipeline.push(captureLine('second', 'iris', '2026-06-01T10:00:00.000Z'));

    const afterFailure = await captured();
    await pipeline.close();

    assert.equal(afterFailure.size, 0);
    assert.equal(pipeline.stats.failures, 1);
    assert.match(logged[0] ?? '', /retrying at the next flush/);
    const objects = [...(await captured()).values()];
    assert.equal(objects.length, 1);
    assert.deepEqual(
      objects[0]?.map((line) => (JSON.parse(line) as { capture: { id: string } }).capture.id),
      ['first', 'second'],
    );
  });
});
