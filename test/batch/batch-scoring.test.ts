/**
 * Batch scoring end to end against a real S3-compatible server on loopback, with real-shaped S3
 * events and real onnxruntime sessions, checked row by row against direct inference.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { objectsOfS3Event } from '../../src/adapters/aws/s3-event.ts';
import type { BatchFileOutcome } from '../../src/batch/batch-job.ts';
import type { CaptureRecord } from '../../src/capture/record.ts';
import { publishModel } from '../../src/repository/publish.ts';
import { conformanceDir } from '../helpers/paths.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import {
  createTestBatch,
  csvField,
  type DirectResult,
  directInference,
  dropInput,
  publishTestModel,
  readJson,
  readJsonLines,
  readText,
  s3Event,
  type TestModel,
  trainTestModel,
} from './helpers.ts';

let s3: TestS3Server;
let cancer: TestModel;
let iris: TestModel;
let batch: ReturnType<typeof createTestBatch>;

before(async () => {
  s3 = await startS3Server({ client: { maxAttempts: 2, requestTimeoutMs: 10_000, socketTimeoutMs: 10_000 } });
  cancer = await trainTestModel('breast-cancer');
  iris = await trainTestModel('iris');
  await publishTestModel(s3.store, cancer);
  await publishTestModel(s3.store, iris, 1);
  await publishTestModel(s3.store, iris, 2);
  batch = createTestBatch(s3);
});

after(async () => {
  await s3?.close();
});

beforeEach(async () => {
  await s3.setFault(null);
  s3.resetRequests();
});

function assertMatchesDirect(
  line: Record<string, unknown>,
  expected: DirectResult | undefined,
  where: string,
) {
  assert.ok(expected, `${where}: no expected result`);
  const outputs = line.outputs as { name: string; datatype: string; shape: number[]; data: number[] }[];
  const label = outputs.find((output) => output.name === 'label');
  const probabilities = outputs.find((output) => output.name === 'probabilities');
  assert.deepEqual(label?.shape, [1], where);
  assert.equal(label?.datatype, 'INT64', where);
  assert.equal(label?.data[0], expected.label, `${where}: label`);
  assert.deepEqual(probabilities?.shape, [1, expected.probabilities.length], where);
  probabilities?.data.forEach((value, k) => {
    assert.ok(
      Math.abs(value - (expected.probabilities[k] ?? Number.NaN)) < 1e-6,
      `${where}: probability ${k}`,
    );
  });
}

function summaryOf(outcome: BatchFileOutcome | undefined) {
  assert.ok(outcome && outcome.status !== 'ignored', `outcome ${outcome?.status}`);
  return outcome.summary;
}

describe('batch scoring: formats', () => {
  it('CSV with columns in any order, quoted fields, ids on some rows and an extra column: every row matches direct inference', async () => {
    const rows = cancer.rows;
    const expected = await directInference(cancer, rows);
    const columns = ['label', ...[...cancer.featureNames].reverse(), 'id'];
    const lines = [columns.map(csvField).join(',')];
    rows.forEach((row, r) => {
      const byName = new Map(cancer.featureNames.map((name, f) => [name, String(row[f])]));
      const id = r % 3 === 0 ? `patient "${r}", left` : '';
      // Quote some plain numbers too: a quoted field is the same value.
      const cells = columns.map((column) =>
        column === 'id'
          ? csvField(id)
          : column === 'label'
            ? 'x'
            : r % 5 === 0
              ? `"${byName.get(column)}"`
              : (byName.get(column) ?? ''),
      );
      lines.push(cells.join(','));
    });
    const key = 'batch/input/breast-cancer/2026/holdout.csv';
    const event = await dropInput(s3.store, s3.bucket, key, `${lines.join('\r\n')}\r\n`);

    const [outcome] = await batch.deliver(event);

    const summary = summaryOf(outcome);
    assert.equal(summary.status, 'succeeded', JSON.stringify(summary.error));
    assert.deepEqual(summary.counts, { total: rows.length, ok: rows.length, failed: 0 });
    assert.equal(summary.version, '1');
    assert.equal(summary.version_from, 'default');
    assert.equal(summary.input.format, 'csv');
    assert.equal(summary.input.etag, event.Records[0]?.s3.object.eTag);
    assert.match(summary.warnings.join(' '), /ignored: label/);
    const output = await readJsonLines(s3.store, 'batch/output/breast-cancer/2026/holdout.csv.out.jsonl');
    assert.equal(output.length, rows.length);
    output.forEach((line, r) => {
      assert.equal(
        line.id,
        r % 3 === 0 ? `patient "${r}", left` : String(r + 2),
        `row ${r} id (line number when absent)`,
      );
      assert.equal(line.model_name, 'breast-cancer');
      assert.equal(line.model_version, '1');
      assertMatchesDirect(line, expected[r], `row ${r}`);
    });
    assert.equal(
      await readText(s3.store, 'batch/output/breast-cancer/2026/holdout.csv.errors.jsonl'),
      undefined,
    );
    const stored = await readJson(s3.store, 'batch/output/breast-cancer/2026/holdout.csv.summary.json');
    assert.equal(stored.status, 'succeeded');
  });

  it('gzipped JSON lines mixing row objects and inference requests, version from object metadata', async () => {
    const rows = iris.rows.slice(0, 30);
    const expected = await directInference(iris, rows);
    const lines = rows.map((row, r) => {
      if (r % 2 === 0) {
        return JSON.stringify({
          id: `r${r}`,
          ...Object.fromEntries(iris.featureNames.map((name, f) => [name, row[f]])),
        });
      }
      const request = { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [row] }] };
      return JSON.stringify(r % 4 === 1 ? request : { id: `req-${r}`, ...request });
    });
    const key = 'batch/input/iris/mixed.jsonl.gz';
    const event = await dropInput(s3.store, s3.bucket, key, gzipSync(`${lines.join('\n')}\n\n`), {
      'model-version': '1',
    });

    const [outcome] = await batch.deliver(event);

    const summary = summaryOf(outcome);
    assert.equal(summary.status, 'succeeded', JSON.stringify(summary.error));
    assert.equal(summary.version, '1');
    assert.equal(summary.version_from, 'metadata');
    assert.equal(summary.input.compression, 'gzip');
    assert.equal(summary.input.format, 'jsonl');
    const output = await readJsonLines(s3.store, 'batch/output/iris/mixed.jsonl.gz.out.jsonl');
    assert.equal(output.length, rows.length);
    output.forEach((line, r) => {
      const id = r % 2 === 0 ? `r${r}` : r % 4 === 1 ? String(r + 1) : `req-${r}`;
      assert.equal(line.id, id, `row ${r}`);
      assert.equal(line.model_version, '1');
      assertMatchesDirect(line, expected[r], `row ${r}`);
    });
  });

  it('a v{N} folder in the key picks the version; the output keeps the folder', async () => {
    const body = `${iris.featureNames.join(',')}\n${iris.rows[0]?.join(',')}\n`;
    const event = await dropInput(s3.store, s3.bucket, 'batch/input/iris/v2/one.csv', body);

    const [outcome] = await batch.deliver(event);

    assert.equal(summaryOf(outcome).version, '2');
    assert.equal(summaryOf(outcome).version_from, 'path');
    const [line] = await readJsonLines(s3.store, 'batch/output/iris/v2/one.csv.out.jsonl');
    assert.equal(line?.model_version, '2');
  });

  it('captures scored rows under captures/{model}/{yyyy}/{MM}/{dd}/{HH}/ with features by name', async () => {
    const rows = iris.rows.slice(0, 5);
    const body = `${iris.featureNames.join(',')}\n${rows.map((row) => row.join(',')).join('\n')}\n`;
    const event = await dropInput(s3.store, s3.bucket, 'batch/input/iris/captured.csv', body);
    const written = (await s3.store.head('batch/input/iris/captured.csv'))?.lastModified;

    const [outcome] = await batch.deliver(event);

    const captures = summaryOf(outcome).captures;
    assert.ok(captures && written);
    const hour = written.toISOString().slice(0, 13).replace(/[-T]/g, '/');
    assert.ok(captures.key.startsWith(`captures/iris/${hour}/batch-`), captures.key);
    assert.equal(captures.count, rows.length);
    const records = (await readJsonLines(s3.store, captures.key)) as unknown as CaptureRecord[];
    assert.equal(records.length, rows.length);
    const [first] = records;
    assert.equal(first?.source, 'batch');
    assert.equal(first?.model, 'iris');
    assert.equal(first?.version, '2');
    assert.equal(first?.id, '2');
    assert.deepEqual(first?.origin, { key: 'batch/input/iris/captured.csv', line: 2 });
    assert.deepEqual(
      first?.inputs,
      Object.fromEntries(iris.featureNames.map((name, f) => [name, rows[0]?.[f]])),
    );
    assert.deepEqual(
      first?.outputs.map((output) => output.name),
      ['label', 'probabilities'],
    );
    assert.ok(typeof first?.latency_ms === 'number' && first.latency_ms >= 0);
    assert.ok(!Number.isNaN(Date.parse(first?.ts ?? '')));
  });
});

describe('batch scoring: bad rows and bad files', () => {
  it('bad rows go to the errors object with line numbers and messages; good rows are kept, in order', async () => {
    const [a, b, c] = iris.rows;
    const header = [...iris.featureNames, 'id'].join(',');
    const csv = [
      header,
      `${a?.join(',')},ok-1`,
      `${a?.slice(0, 3).join(',')},abc,bad-number`,
      `${b?.join(',')}`, // one field short
      `${b?.slice(0, 2).join(',')},,${b?.[3]},empty`,
      '',
      `${c?.join(',')},"multi`,
      `line id"`,
      `${c?.join(',')},"ok ""2"""`,
    ].join('\n');
    const expected = await directInference(iris, [a ?? [], c ?? [], c ?? []]);
    const event = await dropInput(s3.store, s3.bucket, 'batch/input/iris/mixed.csv', csv);

    const [outcome] = await batch.deliver(event);

    const summary = summaryOf(outcome);
    assert.equal(summary.status, 'partial');
    assert.deepEqual(summary.counts, { total: 6, ok: 3, failed: 3 });
    const errors = await readJsonLines(s3.store, 'batch/output/iris/mixed.csv.errors.jsonl');
    assert.deepEqual(
      errors.map(({ line, id }) => [line, id]),
      [
        [3, 'bad-number'],
        [4, '4'],
        [5, 'empty'],
      ],
    );
    assert.match(String(errors[0]?.error), /feature 'petal_width_cm': expected a number, got 'abc'/);
    assert.match(String(errors[1]?.error), /expected 5 fields as in the header, got 4/);
    assert.match(String(errors[2]?.error), /feature 'petal_length_cm': value is empty/);
    assert.equal(summary.errors?.count, 3);
    const output = await readJsonLines(s3.store, 'batch/output/iris/mixed.csv.out.jsonl');
    assert.deepEqual(
      output.map((line) => line.id),
      ['ok-1', 'bad-number', '4', 'empty', 'multi\nline id', 'ok "2"'],
    );
    assert.equal(output[1]?.error, errors[0]?.error, 'a failed row keeps its place in the output');
    assertMatchesDirect(output[0] ?? {}, expected[0], 'ok-1');
    assertMatchesDirect(output[4] ?? {}, expected[1], 'multi-line id');
    assertMatchesDirect(output[5] ?? {}, expected[2], 'quoted id');
  });

  it('JSON lines: malformed JSON, missing features, a request that does not fit the model', async () => {
    const [row] = iris.rows;
    const good = Object.fromEntries(iris.featureNames.map((name, f) => [name, row?.[f]]));
    const lines = [
      JSON.stringify({ id: 'good', ...good }),
      '{"id": "broken", ',
      JSON.stringify({ id: 'partial', sepal_length_cm: 5 }),
      JSON.stringify({
        id: 'wrong-input',
        inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: row }],
      }),
      JSON.stringify({
        id: 'wrong-shape',
        inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }],
      }),
      '[1, 2, 3]',
      JSON.stringify({ id: 'string-value', ...good, sepal_width_cm: 'wide' }),
    ];
    const event = await dropInput(s3.store, s3.bucket, 'batch/input/iris/bad.jsonl', lines.join('\n'));

    const [outcome] = await batch.deliver(event);

    const summary = summaryOf(outcome);
    assert.equal(summary.status, 'partial');
    assert.deepEqual(summary.counts, { total: 7, ok: 1, failed: 6 });
    const errors = await readJsonLines(s3.store, 'batch/output/iris/bad.jsonl.errors.jsonl');
    const byLine = new Map(errors.map((error) => [error.line, String(error.error)]));
    assert.deepEqual([...byLine.keys()], [2, 3, 4, 5, 6, 7]);
    assert.match(byLine.get(2) ?? '', /malformed JSON/);
    assert.match(byLine.get(3) ?? '', /feature 'sepal_width_cm' is missing/);
    assert.match(byLine.get(4) ?? '', /unknown input 'x'/);
    assert.match(byLine.get(5) ?? '', /shape \[1,3\] does not match model shape \[-1,4\]/);
    assert.match(byLine.get(6) ?? '', /expected a JSON object, got array/);
    assert.match(byLine.get(7) ?? '', /feature 'sepal_width_cm': expected a number, got 'wide'/);
  });

  it('an unreadable file gets a failed summary, no output, and fails the run', async () => {
    const cases: [key: string, body: string | Uint8Array, message: RegExp][] = [
      ['batch/input/no-such-model/a.csv', 'a,b\n1,2\n', /model 'no-such-model' not found/],
      ['batch/input/iris/latin1.csv', Buffer.from('sepal_length_cm,caf\xe9\n1,2\n', 'latin1'), /not UTF-8/],
      [
        'batch/input/iris/columns.csv',
        'sepal_length_cm,id\n1,a\n',
        /CSV header lacks features 'sepal_width_cm'/,
      ],
      ['batch/input/iris/broken.csv.gz', gzipSync('x').subarray(0, 12), /not a valid gzip stream/],
      ['batch/input/iris/v9/none.csv', 'x\n', /model 'iris' has no version 9/],
    ];
    for (const [key, body, message] of cases) {
      const event = await dropInput(s3.store, s3.bucket, key, body);

      const [outcome] = await batch.deliver(event);

      assert.equal(outcome?.status, 'failed', key);
      const summary = await readJson(
        s3.store,
        `${key.replace('batch/input/', 'batch/output/')}.summary.json`,
      );
      assert.equal(summary.status, 'failed', key);
      assert.match(String((summary.error as { message: string }).message), message, key);
      assert.equal((summary.error as { retryable: boolean }).retryable, false, key);
      assert.equal(
        await readText(s3.store, `${key.replace('batch/input/', 'batch/output/')}.out.jsonl`),
        undefined,
      );
    }
  });

  it('a run about to reach its deadline stops cleanly with a failed summary instead of being killed', async () => {
    const event = await dropInput(
      s3.store,
      s3.bucket,
      'batch/input/iris/late.csv',
      `${iris.featureNames.join(',')}\n${iris.rows[0]?.join(',')}\n`,
    );
    const [ref] = objectsOfS3Event(event);
    assert.ok(ref);

    const outcome = await batch.scoreObject(ref, { deadline: Date.now() - 1 });

    assert.equal(outcome.status, 'failed');
    assert.equal(summaryOf(outcome).error?.kind, 'DeadlineExceeded');
    assert.match(
      summaryOf(outcome).error?.message ?? '',
      /ran out of time after 0 rows \(0 scored, 0 failed\): it reached the function's timeout less BATCH_DEADLINE_MARGIN_SECONDS; split the input/,
    );
    assert.equal(await s3.store.head('batch/output/iris/late.csv.out.jsonl'), undefined);
  });

  it('a [1, 2] model without feature_names: inference requests are scored, its features are f0, f1', async () => {
    const relu = await readFile(
      join(conformanceDir(), 'onnx-backend', 'simple', 'test_single_relu_model', 'model.onnx'),
    );
    await publishModel(s3.store, { name: 'relu', version: 1, model: relu, overwrite: true });
    const request = (data: number[]) =>
      JSON.stringify({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data }] });
    const jsonl = [request([-1, 2]), JSON.stringify({ a: 1 }), request([3, -4])].join('\n');
    const jsonEvent = await dropInput(s3.store, s3.bucket, 'batch/input/relu/requests.jsonl', jsonl);
    const csvEvent = await dropInput(s3.store, s3.bucket, 'batch/input/relu/rows.csv', 'a,b\n1,2\n');

    const [json] = await batch.deliver(jsonEvent);
    const [csv] = await batch.deliver(csvEvent);

    assert.equal(json?.status, 'partial');
    const output = await readJsonLines(s3.store, 'batch/output/relu/requests.jsonl.out.jsonl');
    assert.deepEqual(
      output.map((line) => (line.outputs as { data: number[] }[] | undefined)?.[0]?.data ?? line.error),
      [[0, 2], "feature 'f0' is missing", [3, 0]],
    );
    assert.equal(csv?.status, 'failed');
    assert.match(summaryOf(csv).error?.message ?? '', /CSV header lacks features 'f0', 'f1' of the model/);
  });

  it('keys outside batch/input/{model}/{file} are ignored', async () => {
    const outcomes = await batch.deliver(s3Event(s3.bucket, 'batch/input/iris/', 'x'));

    assert.equal(outcomes[0]?.status, 'ignored');
  });
});

describe('batch scoring: at-least-once delivery', () => {
  it('the same event delivered twice: one output, the second delivery skipped without writing', async () => {
    const body = `${iris.featureNames.join(',')}\n${iris.rows.map((row) => row.join(',')).join('\n')}\n`;
    const key = 'batch/input/iris/twice.csv';
    const event = await dropInput(s3.store, s3.bucket, key, body);
    const [first] = await batch.deliver(event);
    const outputKey = 'batch/output/iris/twice.csv.out.jsonl';
    const firstOutput = await s3.store.head(outputKey);
    s3.resetRequests();

    const [second] = await batch.deliver(event);

    assert.equal(first?.status, 'succeeded');
    assert.equal(second?.status, 'skipped');
    assert.equal(
      s3.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD').length,
      0,
      'nothing written',
    );
    assert.equal(s3.count('GetObject', key), 0, 'the input is not even read');
    assert.equal((await s3.store.head(outputKey))?.etag, firstOutput?.etag);
    assert.equal((await readJsonLines(s3.store, outputKey)).length, iris.rows.length);
  });

  it('S3 failing before the run starts: the delivery fails (retryable) and touches nothing', async () => {
    const key = 'batch/input/iris/outage.csv';
    const event = await dropInput(
      s3.store,
      s3.bucket,
      key,
      `${iris.featureNames.join(',')}\n${iris.rows[0]?.join(',')}\n`,
    );
    const [first] = await batch.deliver(event);
    await s3.setFault('status503', (r) => r.method === 'GET' && r.key.endsWith('outage.csv.summary.json'));

    const [second] = await batch.deliver(event);

    await s3.setFault(null);
    assert.equal(first?.status, 'succeeded');
    assert.equal(second?.status, 'failed');
    assert.equal(summaryOf(second).error?.retryable, true);
    assert.equal((await readJson(s3.store, 'batch/output/iris/outage.csv.summary.json')).status, 'succeeded');
    assert.equal((await readJsonLines(s3.store, 'batch/output/iris/outage.csv.out.jsonl')).length, 1);
  });

  it('the input replaced by new content: the old event is rescored with the new content only once', async () => {
    const key = 'batch/input/iris/replaced.csv';
    const header = iris.featureNames.join(',');
    const oldEvent = await dropInput(s3.store, s3.bucket, key, `${header}\n${iris.rows[0]?.join(',')}\n`);
    const newEvent = await dropInput(
      s3.store,
      s3.bucket,
      key,
      `${header}\n${iris.rows
        .slice(0, 3)
        .map((r) => r.join(','))
        .join('\n')}\n`,
    );

    const [fromOld] = await batch.deliver(oldEvent);
    const [fromNew] = await batch.deliver(newEvent);

    assert.equal(fromOld?.status, 'succeeded');
    assert.equal(summaryOf(fromOld).counts.total, 3, 'the content read is the current one');
    assert.equal(fromNew?.status, 'skipped');
  });

  it("the input replaced while a run scores it: the older run leaves the newer run's output and summary alone", async () => {
    const key = 'batch/input/breast-cancer/overlap.csv';
    const header = `id,${cancer.featureNames.join(',')}`;
    const manyRows = Array.from(
      { length: 30_000 },
      (_, r) => `${r},${cancer.rows[r % cancer.rows.length]?.join(',')}`,
    );
    const oldEvent = await dropInput(s3.store, s3.bucket, key, `${header}\n${manyRows.join('\n')}\n`);

    const older = batch.deliver(oldEvent);
    // Once the older run has claimed the file (its `running` summary), new content arrives and is
    // scored to the end while the older run is still reading.
    const summaryKey = 'batch/output/breast-cancer/overlap.csv.summary.json';
    while ((await s3.store.head(summaryKey)) === undefined) await new Promise((done) => setTimeout(done, 5));
    const newEvent = await dropInput(
      s3.store,
      s3.bucket,
      key,
      `${header}\n${manyRows.slice(0, 3).join('\n')}\n`,
    );
    const [fromNew] = await batch.deliver(newEvent);
    const [fromOld] = await older;

    assert.equal(fromNew?.status, 'succeeded');
    assert.equal(fromOld?.status, 'ignored', JSON.stringify(fromOld).slice(0, 900));
    const summary = await readJson(s3.store, summaryKey);
    assert.equal(summary.status, 'succeeded');
    assert.equal((summary.counts as { total: number }).total, 3);
    assert.equal(
      (await readJsonLines(s3.store, 'batch/output/breast-cancer/overlap.csv.out.jsonl')).length,
      3,
    );
  });

  it('a failed upload half way (S3 refuses a part): nothing visible, the upload aborted; the redelivery writes every row once', async () => {
    // Enough rows for the output to take several 5 MiB parts.
    const count = 40_000;
    const rows = Array.from({ length: count }, (_, r) => cancer.rows[r % cancer.rows.length] as number[]);
    const body = `id,${cancer.featureNames.join(',')}\n${rows.map((row, r) => `${r},${row.join(',')}`).join('\n')}\n`;
    const key = 'batch/input/breast-cancer/crash.csv';
    const outputKey = 'batch/output/breast-cancer/crash.csv.out.jsonl';
    const small = createTestBatch(s3, { BATCH_PART_MB: '5' });
    const event = await dropInput(s3.store, s3.bucket, key, body);
    await s3.setFault('status503', (r) => r.key === outputKey && /(^|&)partNumber=2(&|$)/.test(r.query));

    const [crashed] = await small.deliver(event);

    assert.equal(crashed?.status, 'failed');
    assert.equal(summaryOf(crashed).error?.retryable, true);
    assert.equal(await s3.store.head(outputKey), undefined, 'no partial output');
    assert.ok(
      s3.requests.some((r) => r.method === 'DELETE' && r.key === outputKey && r.query.includes('uploadId')),
      'the multipart upload was aborted',
    );
    await s3.setFault(null);

    const [redelivered] = await small.deliver(event);

    assert.equal(redelivered?.status, 'succeeded');
    const output = await readJsonLines(s3.store, outputKey);
    assert.equal(output.length, count);
    assert.ok(
      output.every((line, r) => line.id === String(r)),
      'every row once, in order',
    );
    assert.ok((summaryOf(redelivered).output?.bytes ?? 0) > 5 * 1024 * 1024, 'more than one part');
  });

  it('a key with spaces, + and non-ASCII, URL-encoded as S3 sends it, is scored', async () => {
    const key = 'batch/input/iris/été 2026/my file+1 ßeta.csv';
    const event = await dropInput(
      s3.store,
      s3.bucket,
      key,
      `${iris.featureNames.join(',')}\n${iris.rows[0]?.join(',')}\n`,
    );
    assert.equal(
      event.Records[0]?.s3.object.key,
      'batch/input/iris/%C3%A9t%C3%A9+2026/my+file%2B1+%C3%9Feta.csv',
    );

    const [outcome] = await batch.deliver(event);

    assert.equal(outcome?.status, 'succeeded');
    const output = await readJsonLines(s3.store, 'batch/output/iris/été 2026/my file+1 ßeta.csv.out.jsonl');
    assert.equal(output.length, 1);
  });
});
