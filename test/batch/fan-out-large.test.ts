/**
 * A batch file of any size through the local state machine. The file is generated while it is
 * uploaded (never whole in memory) and its output read back as a stream, so the size is only a
 * matter of time and disk: `FAN_OUT_TEST_MB` (default 24; docs/batch.md states the largest size
 * run) sets it. Two ranges fail once each — one after writing its parts, one before starting — and
 * the upload is redelivered during and after the run: every row must appear exactly once, in input
 * order, with the model's own outputs for its values.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Context, S3Event } from 'aws-lambda';
import * as ort from 'onnxruntime-node';
import { type BatchHandlerDeps, createBatchHandler } from '../../handlers/functions/batch.ts';
import { buildMlp } from '../../scripts/bench/common.ts';
import { localFanOut } from '../../scripts/local/step-functions.ts';
import { s3StoresOf } from '../../src/adapters/aws/s3-store.ts';
import { createBatchScoring } from '../../src/batch/batch-scoring.ts';
import { batchOutputKeys, parseBatchInputKey } from '../../src/batch/keys.ts';
import { readBatchConfig } from '../../src/config/batch-config.ts';
import { publishModel } from '../../src/repository/publish.ts';
import { LineSplitter } from '../../src/text/lines.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { readJson, s3Event } from './helpers.ts';

const SIZE_MB = Number(process.env.FAN_OUT_TEST_MB ?? 24);
const WIDTH = 256;
const CLASSES = 4;
/** Distinct rows of values; row n of the file holds pool row `n % POOL` (with its own id). */
const POOL = 1021;
const FEATURES = Array.from({ length: WIDTH }, (_, i) => `f${i}`);

let s3: TestS3Server;
const model = buildMlp([WIDTH, 16, CLASSES], 3);

before(async () => {
  s3 = await startS3Server({
    client: { maxAttempts: 3, requestTimeoutMs: 120_000, socketTimeoutMs: 120_000 },
  });
  await publishModel(s3.store, {
    name: 'wide',
    version: 1,
    model: model.bytes,
    // Captures of 256 features per row would be as large as the input: a sample is enough here.
    config: { feature_names: FEATURES, capture: { sample_rate: 0.001 } },
    overwrite: true,
  });
});

after(async () => {
  await s3?.close();
});

const context = {
  functionName: 'batch',
  awsRequestId: 'local',
  getRemainingTimeInMillis: () => 900_000,
} as unknown as Context;

/** The pool's values: three decimals, as an export writes them. */
function poolValues(): string[][] {
  let state = 12345;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  return Array.from({ length: POOL }, () =>
    Array.from({ length: WIDTH }, () => (Math.round((next() * 8 - 4) * 1000) / 1000).toString()),
  );
}

/** Writes `rows` rows (`id,note,f0…`, a quoted line break in `note` every 997 rows) as a streamed upload. */
async function uploadCsv(
  key: string,
  bytesWanted: number,
  pool: string[][],
): Promise<{ rows: number; etag: string; size: number }> {
  const writer = s3.store.createWriter(key);
  let chunk = `id,note,${FEATURES.join(',')}\n`;
  let rows = 0;
  const texts = pool.map((values) => values.join(','));
  while (writer.bytesWritten + chunk.length < bytesWanted) {
    const note = rows % 997 === 0 ? `"line\nbreak, ""${rows}"""` : 'x';
    chunk += `r-${rows},${note},${texts[rows % POOL]}\n`;
    rows += 1;
    if (chunk.length >= 4 * 1024 * 1024) {
      await writer.write(chunk);
      chunk = '';
    }
  }
  await writer.write(chunk);
  const { etag, bytes } = await writer.complete();
  assert.ok(etag);
  return { rows, etag, size: bytes };
}

/** The model's probabilities for each pool row, from onnxruntime directly. */
async function expectedOutputs(pool: string[][]): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(model.bytes);
  try {
    const data = Float32Array.from(pool.flat(), Number);
    const { probabilities } = await session.run({ input: new ort.Tensor('float32', data, [POOL, WIDTH]) });
    const values = probabilities?.data as Float32Array;
    return Array.from({ length: POOL }, (_, r) => values.subarray(r * CLASSES, (r + 1) * CLASSES));
  } finally {
    await session.release();
  }
}

it(`a ${SIZE_MB} MB file fans out on the local state machine: every row once, in order, with its model outputs`, async () => {
  const rangeMb = Math.max(0.25, SIZE_MB / 10);
  const config = readBatchConfig({
    MODEL_BUCKET: s3.bucket,
    REQUIRE_VALIDATION: 'false',
    MODEL_REFRESH_SECONDS: '0',
    BATCH_FAN_OUT_MB: '1',
    BATCH_RANGE_MB: String(rangeMb),
  });
  const injected = { afterWriting: 0, beforeStarting: 0 };
  let handler: ReturnType<typeof createBatchHandler> | undefined;
  const fanOut = localFanOut({
    minBytes: config.fanOut.minBytes,
    retryIntervalMs: 5,
    handler: async (input, state) => {
      assert.ok(handler);
      const range = state === 'ScoreRange' ? (input as { range: { i: number } }).range.i : -1;
      // Range 3 fails before it starts, once; range 1 fails after it wrote its parts, once.
      if (range === 3 && injected.beforeStarting++ === 0)
        throw Object.assign(new Error('injected'), { name: 'Injected' });
      const result = await handler(input as never, context);
      if (range === 1 && injected.afterWriting++ === 0)
        throw Object.assign(new Error('injected'), { name: 'Injected' });
      return result;
    },
  });
  const batch = createBatchScoring(config, {
    storeFor: s3StoresOf(s3.client, { partBytes: config.partBytes }),
    fanOut,
  });
  const deps: BatchHandlerDeps = { batch, deadlineMarginMs: 30_000, fanOut: config.fanOut };
  handler = createBatchHandler(deps);

  const pool = poolValues();
  const key = 'batch/input/wide/large/rows.csv';
  const started = performance.now();
  const { rows, etag, size } = await uploadCsv(key, SIZE_MB * 1024 * 1024, pool);
  const uploadedAt = performance.now();
  const event: S3Event = s3Event(s3.bucket, key, etag, size);

  const first = (await handler(event, context)) as { files: { status: string }[] };
  assert.deepEqual(first.files, [{ key, status: 'fanned-out' }]);
  const during = (await handler(event, context)) as { files: { status: string }[] };
  assert.deepEqual(during.files, [{ key, status: 'skipped' }]);
  await Promise.all(fanOut.executions);
  const scoredAt = performance.now();
  assert.deepEqual(
    injected,
    { afterWriting: 2, beforeStarting: 2 },
    'ranges 1 and 3 failed once and were retried',
  );

  const keys = batchOutputKeys(parseBatchInputKey(key) ?? assert.fail());
  const summary = await readJson(s3.store, keys.summary);
  assert.equal(summary.status, 'succeeded', JSON.stringify(summary));
  assert.deepEqual(summary.counts, { total: rows, ok: rows, failed: 0 });
  const ranges = (summary.fan_out as { ranges: { total: number; done: number } }).ranges;
  assert.ok(ranges.total >= 8, `${ranges.total} ranges`);
  assert.equal(ranges.done, ranges.total);

  // The output, read as a stream: row n is `r-{n}` with the probabilities of its pool row.
  const expected = await expectedOutputs(pool);
  const output = await s3.store.getStream(keys.output);
  assert.ok(output);
  const splitter = new LineSplitter({ maxLineChars: 1024 * 1024 });
  const decoder = new TextDecoder();
  let n = 0;
  const check = (lines: ReturnType<LineSplitter['push']>) => {
    for (const { text } of lines) {
      if (text === '') continue;
      const line = JSON.parse(text) as { id: string; outputs: { name: string; data: number[] }[] };
      if (line.id !== `r-${n}`) assert.fail(`line ${n + 1} of the output is ${line.id}, expected r-${n}`);
      const probabilities = line.outputs.find((o) => o.name === 'probabilities')?.data ?? [];
      const want = expected[n % POOL] as Float32Array;
      for (let c = 0; c < CLASSES; c++) {
        if (Math.abs((probabilities[c] ?? Number.NaN) - (want[c] ?? 0)) > 1e-6) {
          assert.fail(
            `row r-${n}: probabilities ${probabilities.join(', ')}, expected ${[...want].join(', ')}`,
          );
        }
      }
      n += 1;
    }
  };
  for await (const chunk of output.body) check(splitter.push(decoder.decode(chunk, { stream: true })));
  check(splitter.end());
  assert.equal(n, rows);

  // Redelivered after it finished: skipped, nothing started.
  const later = (await handler(event, context)) as { files: { status: string }[] };
  assert.deepEqual(later.files, [{ key, status: 'skipped' }]);
  assert.equal(fanOut.executions.length, 1);
  const seconds = (ms: number) => (ms / 1000).toFixed(1);
  console.log(
    `# ${(size / 1024 / 1024).toFixed(0)} MiB, ${rows} rows, ${ranges.total} ranges: upload ${seconds(uploadedAt - started)} s, ` +
      `fan-out ${seconds(scoredAt - uploadedAt)} s (${Math.round(rows / ((scoredAt - uploadedAt) / 1000))} rows/s), ` +
      `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
  );
});
