/**
 * Done-when of the fan-out path: a file of a few MB is scored through the local state machine
 * (the same definition as on AWS, run by aws-local-stepfunctions, its Task states bound to the
 * batch function's handler), with a range failing once and retried, and redeliveries of the same
 * upload; every row appears exactly once, in order, as a whole-file run writes it.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Context, S3Event } from 'aws-lambda';
import { type BatchHandlerDeps, createBatchHandler } from '../../handlers/functions/batch.ts';
import { localFanOut } from '../../scripts/local/step-functions.ts';
import { s3StoresOf } from '../../src/adapters/aws/s3-store.ts';
import { createBatchScoring } from '../../src/batch/batch-scoring.ts';
import { batchOutputKeys, parseBatchInputKey } from '../../src/batch/keys.ts';
import { readBatchConfig } from '../../src/config/batch-config.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import {
  createTestBatch,
  dropInput,
  publishTestModel,
  readJson,
  readText,
  type TestModel,
  trainTestModel,
} from './helpers.ts';

let s3: TestS3Server;
let iris: TestModel;

before(async () => {
  s3 = await startS3Server({ client: { maxAttempts: 2, requestTimeoutMs: 10_000, socketTimeoutMs: 10_000 } });
  iris = await trainTestModel('iris', { sample_rate: 0.25 });
  await publishTestModel(s3.store, iris);
});

after(async () => {
  await s3?.close();
});

const context = {
  functionName: 'batch',
  awsRequestId: 'local',
  getRemainingTimeInMillis: () => 900_000,
} as unknown as Context;

/** Rows of iris with ids `r-{n}`, a quoted note with a line break every 50 rows: 3.9 MB at 150,000 rows. */
function largeCsv(rows: number): string {
  const lines = [`id,note,${iris.featureNames.join(',')}`];
  for (let i = 0; i < rows; i++) {
    const values = iris.rows[i % iris.rows.length] ?? [];
    lines.push([`r-${i}`, i % 50 === 0 ? `"a\nb ""${i}"""` : 'x', ...values.map(String)].join(','));
  }
  return `${lines.join('\n')}\n`;
}

it('a large file fans out on the local state machine: rows exactly once, in order, under a retried range and redeliveries', async () => {
  const config = readBatchConfig({
    MODEL_BUCKET: s3.bucket,
    REQUIRE_VALIDATION: 'false',
    MODEL_REFRESH_SECONDS: '0',
    BATCH_FAN_OUT_MB: '1',
    BATCH_RANGE_MB: '0.5',
  });
  let failures = 0;
  let handler: ReturnType<typeof createBatchHandler> | undefined;
  const fanOut = localFanOut({
    minBytes: config.fanOut.minBytes,
    retryIntervalMs: 5,
    handler: async (input, state) => {
      assert.ok(handler);
      const result = await handler(input as never, context);
      // Range 2 fails after it wrote its parts, once: the retry must not duplicate its rows.
      if (state === 'ScoreRange' && (input as { range: { i: number } }).range.i === 2 && failures++ === 0) {
        throw Object.assign(new Error('injected failure'), { name: 'InjectedFailure' });
      }
      return result;
    },
  });
  const batch = createBatchScoring(config, {
    storeFor: s3StoresOf(s3.client, { partBytes: config.partBytes }),
    fanOut,
  });
  const deps: BatchHandlerDeps = { batch, deadlineMarginMs: 30_000, fanOut: config.fanOut };
  handler = createBatchHandler(deps);

  const rows = 150_000;
  const key = 'batch/input/iris/large/rows.csv';
  const body = largeCsv(rows);
  assert.ok(body.length > 3 * 1024 * 1024, `${body.length} bytes`);
  const event: S3Event = await dropInput(s3.store, s3.bucket, key, body);

  const first = (await handler(event, context)) as { files: { status: string }[] };
  assert.deepEqual(first.files, [{ key, status: 'fanned-out' }]);
  // Redelivered while the run is under way: nothing new starts.
  const during = (await handler(event, context)) as { files: { status: string }[] };
  assert.deepEqual(during.files, [{ key, status: 'skipped' }]);
  assert.equal(fanOut.executions.length, 1);
  await Promise.all(fanOut.executions);
  assert.equal(failures, 2, 'range 2 failed once and was retried');

  const keys = batchOutputKeys(parseBatchInputKey(key) ?? assert.fail());
  const summary = await readJson(s3.store, keys.summary);
  assert.equal(summary.status, 'succeeded');
  assert.deepEqual(summary.counts, { total: rows, ok: rows, failed: 0 });
  const ranges = (summary.fan_out as { ranges: { total: number; done: number } }).ranges;
  assert.ok(ranges.total >= 6, `${ranges.total} ranges`);
  assert.equal(ranges.done, ranges.total);
  const output = (await readText(s3.store, keys.output)) ?? '';
  const ids = output
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { id: string }).id);
  assert.equal(ids.length, rows);
  ids.forEach((id, n) => {
    if (id !== `r-${n}`) assert.fail(`line ${n + 1} of the output is ${id}, expected r-${n}`);
  });

  // Redelivered after it finished: skipped, output untouched.
  const later = (await handler(event, context)) as { files: { status: string }[] };
  assert.deepEqual(later.files, [{ key, status: 'skipped' }]);
  assert.equal(fanOut.executions.length, 1);

  // The whole-file path writes the same bytes.
  await s3.store.delete(keys.summary);
  const single = createTestBatch(s3);
  const [outcome] = await single.deliver(event);
  assert.equal(outcome?.status, 'succeeded');
  assert.equal(await readText(s3.store, keys.output), output);
});
