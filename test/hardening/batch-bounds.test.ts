/**
 * Batch files are bounded: a gzip bomb fails its file with a clear summary, quickly, and the
 * handler does not ask Lambda to retry it; a file past its time budget stops in the middle of a
 * model run with a failed summary counting the rows done; a CSV with 100k extra columns gets a
 * short warning.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { BatchFileOutcome } from '../../src/batch/batch-job.ts';
import { retryMayFix } from '../../src/batch/summary.ts';
import { publishModel } from '../../src/repository/publish.ts';
import { MAX_COMPRESSION_RATIO } from '../../src/text/text-input.ts';
import {
  createTestBatch,
  dropInput,
  publishTestModel,
  readJson,
  type TestModel,
  trainTestModel,
} from '../batch/helpers.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { inputLoop } from './hostile-models.ts';

let s3: TestS3Server;
let iris: TestModel;

before(async () => {
  s3 = await startS3Server();
  iris = await trainTestModel('iris');
  await publishTestModel(s3.store, iris);
});

after(async () => {
  await s3?.close();
});

function summaryOf(outcome: BatchFileOutcome | undefined) {
  assert.ok(outcome && outcome.status !== 'ignored', `outcome ${outcome?.status}`);
  return outcome.summary;
}

describe('batch: bounded inputs', () => {
  it('fails a gzip decompression bomb with a 400-kind summary naming the ratio, not retryable', async () => {
    // 64 MiB of blank lines after one header: about 64 KB of gzip (≈ 1000:1).
    const header = `id,${iris.featureNames.join(',')}\n`;
    const bomb = gzipSync(Buffer.concat([Buffer.from(header), Buffer.alloc(64 * 1024 * 1024, 0x0a)]), {
      level: 9,
    });
    const event = await dropInput(s3.store, s3.bucket, 'batch/input/iris/bomb.csv.gz', bomb);
    const [outcome] = await createTestBatch(s3).deliver(event);
    assert.equal(outcome?.status, 'failed');
    const summary = summaryOf(outcome);
    assert.equal(summary.error?.kind, 'BadRequest');
    assert.equal(summary.error?.retryable, false);
    assert.match(
      summary.error?.message ?? '',
      new RegExp(`over the ${MAX_COMPRESSION_RATIO}:1 a data file can reach`),
    );
  });

  it('stops a file past its time budget in the middle of a model run: failed summary with the rows done, not retried', async () => {
    await publishModel(s3.store, { name: 'loop', version: 1, model: inputLoop(), overwrite: true });
    const row = (trips: number | string) =>
      `{"inputs":[{"name":"n","shape":[1],"datatype":"INT64","data":[${trips}]}]}`;
    const batch = createTestBatch(s3, {
      BATCH_SIZE: '1',
      BATCH_FILE_BUDGET_SECONDS: '2',
      INFERENCE_DEADLINE_SECONDS: '5',
    });
    // A first file loads the model, so that the budget of the next one is spent on its rows only.
    const warm = await dropInput(s3.store, s3.bucket, 'batch/input/loop/quick.jsonl', row(1));
    assert.equal((await batch.deliver(warm))[0]?.status, 'succeeded');
    // Three quick rows, then one asking for 10¹² trips: it would run until the inference deadline
    // (and end as an InferenceTimeout) if the budget did not stop the run in the middle of it.
    const lines = [row(1), row(2), row(3), row('1000000000000'), row(4)].join('\n');
    const event = await dropInput(s3.store, s3.bucket, 'batch/input/loop/slow.jsonl', lines);
    const [outcome] = await batch.deliver(event);
    assert.equal(outcome?.status, 'failed');
    const summary = summaryOf(outcome);
    assert.equal(summary.error?.kind, 'DeadlineExceeded');
    assert.equal(summary.error?.retryable, false);
    assert.equal(retryMayFix(summary.error), false, 'the handler does not fail the invocation for it');
    assert.match(
      summary.error?.message ?? '',
      /ran out of time after 3 rows \(3 scored, 0 failed\): it reached the file's time budget of 2 s \(BATCH_FILE_BUDGET_SECONDS\); split the input/,
    );
    assert.deepEqual(summary.counts, { total: 3, ok: 3, failed: 0 });
    assert.equal(summary.output, null);
    assert.equal(await s3.store.head('batch/output/loop/slow.jsonl.out.jsonl'), undefined);
    const stored = await readJson(s3.store, 'batch/output/loop/slow.jsonl.summary.json');
    assert.equal(stored.status, 'failed');
    batch.serving.loader.clear();
  });

  it('caps the list of ignored columns in the summary', async () => {
    const extra = Array.from({ length: 100_000 }, (_, i) => `extra_column_${i}`);
    const row = iris.rows[0] ?? [];
    const csv = `id,${[...iris.featureNames, ...extra].join(',')}\n1,${[...row, ...extra.map(() => '0')].join(',')}\n`;
    const event = await dropInput(s3.store, s3.bucket, 'batch/input/iris/wide.csv', csv);
    const [outcome] = await createTestBatch(s3, { BATCH_MAX_RECORD_MB: '8' }).deliver(event);
    const summary = summaryOf(outcome);
    assert.equal(summary.counts.ok, 1);
    const warnings = summary.warnings.join('\n');
    assert.ok(warnings.length < 2000, `warnings are ${warnings.length} characters`);
    assert.match(warnings, /… and 99980 more \(100000 in all\)/);
  });
});
