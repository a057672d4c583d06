/**
 * The fan-out path in the core, against a real S3-compatible server: a file cut into ranges at
 * record boundaries (CSV with quoted line breaks, JSON lines), ranges scored in parallel (one
 * failing once and retried), assembled in order — compared line by line with a whole-file run of
 * the same content under the same key: same outputs, errors, ids, line numbers and captures.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { scoreBatchFile } from '../../src/batch/batch-job.ts';
import {
  assembleFanOut,
  type FanOutFile,
  type FanOutPlan,
  failFanOut,
  planFanOut,
  scoreRange,
} from '../../src/batch/fan-out.ts';
import { BATCH_WORK_PREFIX, batchOutputKeys, parseBatchInputKey } from '../../src/batch/keys.ts';
import type { FanOutRunInput } from '../../src/ports/batch-fan-out.ts';
import { metadataKeyOf } from '../../src/repository/model-key.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import {
  createTestBatch,
  csvField,
  publishTestModel,
  readJson,
  readText,
  seededRandom,
  type TestModel,
  trainTestModel,
} from './helpers.ts';

let s3: TestS3Server;
let iris: TestModel;

before(async () => {
  s3 = await startS3Server({ client: { maxAttempts: 2, requestTimeoutMs: 10_000, socketTimeoutMs: 10_000 } });
  iris = await trainTestModel('iris', { sample_rate: 0.5 });
  await publishTestModel(s3.store, iris);
});

after(async () => {
  await s3?.close();
});

/** CSV of iris rows with ids, a free-text column holding quotes, commas and line breaks, and bad rows. */
function irisCsv(rows: number): string {
  const random = seededRandom(7);
  const lines = [`id,note,${iris.featureNames.join(',')}`];
  for (let i = 0; i < rows; i++) {
    const values = iris.rows[i % iris.rows.length] ?? [];
    const note = i % 7 === 0 ? `line one\nline "two", ${i}` : `n${i}`;
    const id = i % 5 === 0 ? '' : `r-${i}`;
    const features = values.map((value, k) => (i % 97 === 3 && k === 1 ? 'abc' : String(value)));
    lines.push([id, csvField(note), ...features].join(','));
    if (random() < 0.01) lines.push('');
  }
  return `${lines.join('\r\n')}\r\n`;
}

function irisJsonl(rows: number): string {
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const values = iris.rows[i % iris.rows.length] ?? [];
    const row: Record<string, unknown> = i % 3 === 0 ? {} : { id: `j-${i}` };
    iris.featureNames.forEach((name, k) => {
      row[name] = i % 89 === 5 && k === 0 ? 'x' : values[k];
    });
    lines.push(JSON.stringify(row));
  }
  return `${lines.join('\n')}\n`;
}

/** Runs a fanned-out run's steps as the state machine would, with `failOnce` ranges failing their first attempt. */
async function runSteps(
  batch: ReturnType<typeof createTestBatch>,
  run: FanOutRunInput,
  options: { rangeBytes: number; failOnce?: Set<number> },
) {
  const deps = batch.stepDeps(s3.bucket);
  const plan = (await planFanOut(run, deps, {
    rangeBytes: options.rangeBytes,
    maxRanges: 1000,
  })) as FanOutPlan;
  assert.ok('ranges' in plan, 'planned');
  const attempts = new Map<number, number>();
  const scoreWithRetry = async (range: FanOutPlan['ranges'][number]) => {
    for (let attempt = 1; ; attempt++) {
      attempts.set(range.i, attempt);
      try {
        if (attempt === 1 && options.failOnce?.has(range.i)) {
          // Fails after writing some output: the retry must not duplicate it.
          await scoreRange(plan.file, range, deps);
          throw new Error('injected range failure');
        }
        return await scoreRange(plan.file, range, deps);
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  };
  // Two at a time, as a bounded map would.
  const queue = [...plan.ranges];
  await Promise.all(
    [0, 1].map(async () => {
      for (let range = queue.shift(); range !== undefined; range = queue.shift()) await scoreWithRetry(range);
    }),
  );
  const summary = await assembleFanOut(plan.file as FanOutFile, deps);
  return { plan, summary, attempts };
}

async function claim(batch: ReturnType<typeof createTestBatch>, key: string, body: string) {
  const { etag } = await s3.store.put(key, body);
  assert.ok(etag);
  let started: FanOutRunInput | undefined;
  const fanning = createTestBatch(s3, {});
  const outcome = await (await import('../../src/batch/batch-job.ts')).scoreBatchFile(
    { key, etag, bucket: s3.bucket },
    {
      ...fanning.stepDeps(s3.bucket),
      fanOut: {
        minBytes: 1,
        start: async (input) => {
          started = input;
          return { execution: `local:${input.run}` };
        },
      },
    },
  );
  void batch;
  return { outcome, started, etag };
}

async function singleRun(batch: ReturnType<typeof createTestBatch>, key: string) {
  const head = await s3.store.head(key);
  await s3.store.delete(batchOutputKeys(parseBatchInputKey(key) ?? assert.fail()).summary);
  const [outcome] = await batch.deliver({
    Records: [
      {
        s3: { bucket: { name: s3.bucket }, object: { key, eTag: head?.etag ?? '' } },
        eventName: 'ObjectCreated:Put',
      },
    ],
  } as never);
  assert.ok(
    outcome && outcome.status !== 'ignored' && outcome.status !== 'failed',
    `single run: ${outcome?.status}`,
  );
  const keys = batchOutputKeys(parseBatchInputKey(key) ?? assert.fail());
  const captureKey = outcome.summary.captures?.key;
  return {
    summary: outcome.summary,
    output: await readText(s3.store, keys.output),
    errors: await readText(s3.store, keys.errors),
    captures: captureKey === undefined ? undefined : await readText(s3.store, captureKey),
    captureKey,
  };
}

function withoutTimes(text: string | undefined): string[] {
  return (text ?? '')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      delete record.ts;
      delete record.latency_ms;
      return JSON.stringify(record);
    });
}

describe('fan-out of a batch file', () => {
  for (const [format, makeBody, rangeBytes] of [
    ['csv', () => irisCsv(3000), 16 * 1024],
    ['jsonl', () => irisJsonl(2000), 20 * 1024],
  ] as const) {
    it(`scores a ${format} file in ranges exactly as one run does, with a range retried`, async () => {
      const batch = createTestBatch(s3);
      const key = `batch/input/iris/fan/rows.${format}`;
      const body = makeBody();
      const { outcome, started, etag } = await claim(batch, key, body);
      assert.equal(outcome.status, 'fanned-out');
      assert.ok(started);
      assert.equal(started.etag, etag);
      const keys = batchOutputKeys(parseBatchInputKey(key) ?? assert.fail());
      const running = await readJson(s3.store, keys.summary);
      assert.equal(running.status, 'running');
      assert.equal((running.fan_out as { run: string }).run, started.run);

      // A redelivery of the same content while the run is under way does nothing.
      const again = await claim(batch, key, body);
      assert.equal(again.outcome.status, 'skipped');
      assert.equal(again.started, undefined);

      const { plan, summary, attempts } = await runSteps(batch, started, {
        rangeBytes,
        failOnce: new Set([1, 3]),
      });
      assert.ok(plan.ranges.length >= 4, `${plan.ranges.length} ranges`);
      assert.equal(attempts.get(1), 2);
      assert.ok('status' in summary, JSON.stringify(summary) + (await readText(s3.store, keys.summary)));
      assert.equal((await s3.store.list(`${BATCH_WORK_PREFIX}iris/fan/`)).objects.length, 0, 'parts removed');

      const fanned = {
        output: await readText(s3.store, keys.output),
        errors: await readText(s3.store, keys.errors),
        captures: summary.captures === null ? undefined : await readText(s3.store, summary.captures.key),
      };
      const single = await singleRun(batch, key);
      assert.ok(single.summary.counts.failed > 0, 'some rows fail');
      assert.deepEqual(summary.counts, single.summary.counts);
      assert.equal(summary.status, single.summary.status);
      assert.deepEqual(summary.fan_out?.ranges, { total: plan.ranges.length, done: plan.ranges.length });
      assert.equal(fanned.output, single.output, 'output identical, line for line');
      assert.equal(fanned.errors, single.errors, 'errors identical (line numbers too)');
      assert.equal(summary.captures?.key, single.captureKey);
      assert.deepEqual(withoutTimes(fanned.captures), withoutTimes(single.captures), 'same rows captured');

      // Same content again after it finished: nothing to do.
      const done = await claim(batch, key, body);
      assert.equal(done.outcome.status, 'skipped');
    });
  }

  it('a newer upload supersedes a run: the older one writes nothing', async () => {
    const batch = createTestBatch(s3);
    const key = 'batch/input/iris/fan/replaced.csv';
    const { started } = await claim(batch, key, irisCsv(400));
    assert.ok(started);
    const deps = batch.stepDeps(s3.bucket);
    const plan = (await planFanOut(started, deps, { rangeBytes: 4096, maxRanges: 1000 })) as FanOutPlan;
    for (const range of plan.ranges.slice(0, 2)) await scoreRange(plan.file, range, deps);
    await s3.store.put(key, irisCsv(10));
    const keys = batchOutputKeys(parseBatchInputKey(key) ?? assert.fail());
    const before = await readText(s3.store, keys.summary);
    assert.deepEqual(await scoreRange(plan.file, plan.ranges[2] ?? assert.fail(), deps), {
      superseded: true,
    });
    assert.deepEqual(await assembleFanOut(plan.file, deps), { superseded: true });
    assert.equal(
      await failFanOut(started, { kind: 'Internal', message: 'x', retryable: false }, deps),
      undefined,
    );
    assert.equal(await readText(s3.store, keys.output), undefined);
    assert.equal(await readText(s3.store, keys.summary), before);
    assert.equal((await s3.store.list(`${BATCH_WORK_PREFIX}iris/fan/replaced.csv/`)).objects.length, 0);
  });

  it('a header lacking features fails the run in planning, with a failed summary', async () => {
    const batch = createTestBatch(s3);
    const key = 'batch/input/iris/fan/bad-header.csv';
    const { started } = await claim(batch, key, 'id,a,b\n1,2,3\n');
    assert.ok(started);
    await assert.rejects(
      planFanOut(started, batch.stepDeps(s3.bucket), { rangeBytes: 4096, maxRanges: 1000 }),
      { name: 'BatchFileFailed', message: /CSV header lacks features/ },
    );
    const summary = await readJson(
      s3.store,
      batchOutputKeys(parseBatchInputKey(key) ?? assert.fail()).summary,
    );
    assert.equal(summary.status, 'failed');
    assert.equal((summary.error as { kind: string }).kind, 'BadRequest');
  });
});

describe('a range that cannot finish in time', () => {
  it('fails the file at once, with a DeadlineExceeded summary, rather than being retried', async () => {
    const batch = createTestBatch(s3);
    const key = 'batch/input/iris/fan/slow.csv';
    const { started } = await claim(batch, key, irisCsv(600));
    assert.ok(started);
    const deps = batch.stepDeps(s3.bucket);
    const plan = (await planFanOut(started, deps, { rangeBytes: 4096, maxRanges: 1000 })) as FanOutPlan;
    const range = plan.ranges[0] ?? assert.fail();
    await assert.rejects(scoreRange(plan.file, range, deps, { deadline: Date.now() - 1 }), {
      name: 'BatchFileFailed',
    });
    const summary = await readJson(
      s3.store,
      batchOutputKeys(parseBatchInputKey(key) ?? assert.fail()).summary,
    );
    assert.equal(summary.status, 'failed');
    assert.equal((summary.error as { kind: string }).kind, 'DeadlineExceeded');
    assert.equal((await s3.store.list('batch/work/iris/fan/slow.csv/')).objects.length, 0);
  });
});

describe('fan-out on the estimated duration', () => {
  /** Publishes iris as `name`, with a validation verdict saying one row takes `latencyMs`. */
  async function publishWithLatency(name: string, latencyMs: number) {
    await publishTestModel(s3.store, { ...iris, name } as unknown as TestModel);
    const model = await s3.store.head(`models/${name}/1/model.onnx`);
    await s3.store.put(
      metadataKeyOf(name, 1),
      JSON.stringify({
        status: 'valid',
        reason: null,
        etag: model?.etag,
        latency_ms: { median: latencyMs, p90: latencyMs },
      }),
    );
  }

  async function deliver(key: string, rows: number) {
    const body = irisCsv(rows);
    const { etag } = await s3.store.put(key, body);
    assert.ok(etag);
    let started: FanOutRunInput | undefined;
    // A 10 s budget per file; only files of 1 GiB or more fan out by size.
    const batch = createTestBatch(s3, { BATCH_FILE_BUDGET_SECONDS: '10' });
    const outcome = await scoreBatchFile(
      { key, etag, bucket: s3.bucket },
      {
        ...batch.stepDeps(s3.bucket),
        fanOut: {
          minBytes: 1024 ** 3,
          start: async (input) => {
            started = input;
            return { execution: `local:${input.run}` };
          },
        },
      },
    );
    return { outcome, started, batch, size: Buffer.byteLength(body) };
  }

  it('fans out a small file of a slow model, in ranges that fit the budget, scored exactly once', async () => {
    await publishWithLatency('slow-iris', 40);
    const key = 'batch/input/slow-iris/estimate/rows.csv';
    // 600 rows × 40 ms = 24 s, over half of the 10 s budget.
    const { outcome, started, batch, size } = await deliver(key, 600);
    assert.equal(outcome.status, 'fanned-out');
    assert.ok(started && started.range_bytes !== undefined);
    // 5 s of 40 ms rows is 125 rows a range.
    const rowBytes = size / 600;
    assert.ok(
      started.range_bytes > 100 * rowBytes && started.range_bytes < 150 * rowBytes,
      `range of ${started.range_bytes} bytes, rows of ${rowBytes.toFixed(1)}`,
    );
    const { plan, summary } = await runSteps(batch, started, { rangeBytes: 64 * 1024 * 1024 });
    assert.ok(plan.ranges.length >= 4 && plan.ranges.length <= 7, `${plan.ranges.length} ranges`);
    // Some rows of the file are bad on purpose: 'partial', with every row counted once.
    assert.ok('status' in summary && summary.status === 'partial', JSON.stringify(summary));
    assert.deepEqual(summary.counts.total, 600);
    const keys = batchOutputKeys(parseBatchInputKey(key) ?? assert.fail());
    const lines = (await readText(s3.store, keys.output))?.split('\n').filter((line) => line !== '') ?? [];
    // One output line per row, in input order (row ids are the line numbers or the file's own).
    assert.equal(lines.length, 600);
    const direct = await singleRun(createTestBatch(s3), key);
    assert.deepEqual(withoutTimes(lines.join('\n')), withoutTimes(direct.output));
  });

  it('scores in the function a file whose estimate fits, and one of a model without a measured latency', async () => {
    await publishWithLatency('quick-iris', 40);
    // 50 rows × 40 ms = 2 s: within the budget.
    const few = await deliver('batch/input/quick-iris/estimate/rows.csv', 50);
    assert.equal(few.outcome.status, 'partial');
    assert.equal(few.started, undefined);
    // iris has no verdict with a latency: never fanned out below the size threshold.
    const plain = await deliver('batch/input/iris/estimate/rows.csv', 600);
    assert.equal(plain.outcome.status, 'partial');
    assert.equal(plain.started, undefined);
  });
});
