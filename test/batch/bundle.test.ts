/**
 * The built batch handler (`dist/batch/index.mjs`, from `npm run build`) in its own process, as
 * Lambda runs it: a large input scored with bounded memory, and a process killed in the middle of
 * a file. Both against a real S3-compatible server on loopback.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { S3Event } from 'aws-lambda';
import { ROOT } from '../helpers/paths.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import {
  createTestBatch,
  publishTestModel,
  readJson,
  s3Event,
  seededRandom,
  type TestModel,
  trainTestModel,
} from './helpers.ts';

const BUNDLE = join(ROOT, 'dist', 'batch', 'index.mjs');
const RUNNER = join(ROOT, 'test', 'batch', 'fixtures', 'invoke-batch-bundle.mjs');
const LARGE_ROWS = Number(process.env.LARGE_ROWS ?? 200_000);
const MIB = 1024 * 1024;

let s3: TestS3Server;
let cancer: TestModel;
let workDir: string;

before(async () => {
  assert.ok(existsSync(BUNDLE), `${BUNDLE} is missing: run npm run build first`);
  s3 = await startS3Server({ client: { maxAttempts: 2, requestTimeoutMs: 30_000, socketTimeoutMs: 30_000 } });
  // A 1 % capture sample keeps the capture object small; it is still written and counted.
  cancer = await trainTestModel('breast-cancer', { sample_rate: 0.01 });
  await publishTestModel(s3.store, cancer);
  workDir = await mkdtemp(join(tmpdir(), 'batch-bundle-'));
});

after(async () => {
  await s3?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

interface RunnerResult {
  result?: { files: { key: string; status: string }[] };
  error?: string;
  baseline: NodeJS.MemoryUsage;
  peak: { heapUsed: number; heapTotal: number; rss: number; external: number };
  maxRss: number;
}

/** Environment of the function, as the local stack or Lambda would set it. */
function functionEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    MODEL_BUCKET: s3.bucket,
    REQUIRE_VALIDATION: 'false',
    AWS_REGION: s3.region,
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    AWS_LAMBDA_FUNCTION_NAME: 'batch',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '3008',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    ...extra,
  };
}

function startBundle(event: S3Event, eventFile: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--expose-gc', RUNNER, eventFile], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  const result = exited.then(({ code }) => {
    const lines = stdout.split('\n');
    const line = lines.find((text) => text.startsWith('@@RESULT '));
    if (line === undefined) throw new Error(`the bundle exited with ${code} without a result:\n${stderr}`);
    const parsed = JSON.parse(line.slice('@@RESULT '.length)) as RunnerResult;
    return { ...parsed, metrics: emfDocuments(lines) };
  });
  // A killed run has no result; that is only an error for whoever awaits it.
  result.catch(() => {});
  return { child, exited, result, event };
}

/** The EMF documents among the process's output lines (Powertools writes one JSON object per flush). */
function emfDocuments(lines: string[]): Record<string, unknown>[] {
  const documents: Record<string, unknown>[] = [];
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    const value = JSON.parse(line) as Record<string, unknown>;
    if (typeof value._aws === 'object') documents.push(value);
  }
  return documents;
}

/** The metric document holding `name`, with its dimension sets. */
function metricDocument(documents: Record<string, unknown>[], name: string) {
  const document = documents.find((candidate) => name in candidate);
  assert.ok(document, `no EMF document with ${name}`);
  const aws = document._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
  return {
    document,
    dimensions: aws.CloudWatchMetrics[0]?.Dimensions,
    namespace: aws.CloudWatchMetrics[0]?.Namespace,
  };
}

async function writeEvent(event: S3Event, name: string): Promise<string> {
  const file = join(workDir, name);
  await writeFile(file, JSON.stringify(event));
  return file;
}

/** Writes `rows` realistic CSV rows (dataset rows with jitter) to a file, streaming. */
async function writeCsv(file: string, rows: number): Promise<number> {
  const random = seededRandom(7);
  const out = createWriteStream(file);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  await write(`id,${cancer.featureNames.join(',')}\n`);
  let chunk = '';
  for (let r = 0; r < rows; r++) {
    const base = cancer.rows[r % cancer.rows.length] ?? [];
    chunk += `row-${r},${base.map((value) => (value * (0.95 + random() * 0.1)).toPrecision(8)).join(',')}\n`;
    if (chunk.length > 1 << 20) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  await new Promise<void>((done, fail) => out.end((error?: Error | null) => (error ? fail(error) : done())));
  return (await stat(file)).size;
}

/** Uploads a file with the store's streamed writer, as a client's multipart upload would. */
async function upload(file: string, key: string): Promise<string> {
  const writer = s3.store.createWriter(key, { contentType: 'text/csv' });
  for await (const chunk of createReadStream(file, { highWaterMark: MIB }))
    await writer.write(chunk as Buffer);
  const { etag } = await writer.complete();
  assert.ok(etag);
  return etag;
}

/** Counts the lines of an object and checks their ids, reading it as a stream. */
async function countLines(key: string): Promise<{ lines: number; firstId?: string; lastId?: string }> {
  const object = await s3.store.getStream(key);
  assert.ok(object, `no object at ${key}`);
  let lines = 0;
  let carry = '';
  let firstId: string | undefined;
  let lastLine = '';
  const decoder = new TextDecoder();
  for await (const chunk of object.body) {
    const parts = (carry + decoder.decode(chunk, { stream: true })).split('\n');
    carry = parts.pop() ?? '';
    for (const line of parts) {
      if (firstId === undefined) firstId = (JSON.parse(line) as { id: string }).id;
      lastLine = line;
      lines += 1;
    }
  }
  return { lines, firstId, lastId: (JSON.parse(lastLine) as { id: string }).id };
}

describe('batch handler bundle', () => {
  it(`a large input (${LARGE_ROWS} rows) is scored with memory far below its size`, async (t) => {
    const file = join(workDir, 'large.csv');
    const bytes = await writeCsv(file, LARGE_ROWS);
    const key = 'batch/input/breast-cancer/large/200k.csv';
    const etag = await upload(file, key);
    const event = s3Event(s3.bucket, key, etag, bytes);

    const run = startBundle(event, await writeEvent(event, 'large.json'), functionEnv());
    const outcome = await run.result;

    assert.equal(outcome.error, undefined);
    assert.deepEqual(outcome.result?.files, [{ key, status: 'succeeded' }]);
    const summary = await readJson(s3.store, 'batch/output/breast-cancer/large/200k.csv.summary.json');
    assert.deepEqual(summary.counts, { total: LARGE_ROWS, ok: LARGE_ROWS, failed: 0 });
    const output = await countLines('batch/output/breast-cancer/large/200k.csv.out.jsonl');
    assert.deepEqual(output, { lines: LARGE_ROWS, firstId: 'row-0', lastId: `row-${LARGE_ROWS - 1}` });
    const heapGrowth = outcome.peak.heapUsed - outcome.baseline.heapUsed;
    const rssGrowth = outcome.peak.rss - outcome.baseline.rss;
    const report = [
      `input ${(bytes / MIB).toFixed(1)} MiB, ${LARGE_ROWS} rows, output ${(Number((summary.output as { bytes: number }).bytes) / MIB).toFixed(1)} MiB`,
      `${summary.rows_per_second} rows/s, ${summary.duration_ms} ms`,
      `heap: baseline ${(outcome.baseline.heapUsed / MIB).toFixed(1)} MiB, peak ${(outcome.peak.heapUsed / MIB).toFixed(1)} MiB, growth ${(heapGrowth / MIB).toFixed(1)} MiB (peak committed ${(outcome.peak.heapTotal / MIB).toFixed(1)} MiB)`,
      `external + array buffers: peak ${(outcome.peak.external / MIB).toFixed(1)} MiB`,
      `rss: baseline ${(outcome.baseline.rss / MIB).toFixed(1)} MiB, peak ${(outcome.peak.rss / MIB).toFixed(1)} MiB, growth ${(rssGrowth / MIB).toFixed(1)} MiB (process max RSS ${(outcome.maxRss / MIB).toFixed(1)} MiB)`,
    ];
    for (const line of report) t.diagnostic(line);
    console.log(`batch memory report: ${report.join('; ')}`);
    assert.ok(heapGrowth < bytes, `heap grew by ${heapGrowth} bytes for a ${bytes}-byte input`);
    const { document, dimensions, namespace } = metricDocument(outcome.metrics, 'BatchRows');
    assert.equal(namespace, 'OnnxServe');
    assert.deepEqual(dimensions, [['service'], ['service', 'model', 'version']]);
    assert.equal(document.model, 'breast-cancer');
    assert.equal(document.version, '1');
    assert.equal(document.BatchRows, LARGE_ROWS);
    assert.equal(document.BatchRowErrors, 0);
    assert.equal(document.BatchFiles, 1);
    assert.equal(document.BatchFileFailures, 0);
    assert.ok(Number(document.BatchDuration) > 0 && Number(document.BatchRowsPerSecond) > 0);
  });

  it('a file that is wrong for its model gets its failed summary and metric once, and is not retried', async () => {
    const key = 'batch/input/breast-cancer/wrong-columns.csv';
    const { etag } = await s3.store.put(key, 'radius,texture\n1,2\n');
    const event = s3Event(s3.bucket, key, etag);

    const outcome = await startBundle(event, await writeEvent(event, 'failing.json'), functionEnv()).result;

    // Retrying cannot fix a header: the invocation succeeds, so Lambda does not retry it.
    assert.equal(outcome.error, undefined);
    assert.deepEqual(outcome.result, { files: [{ key, status: 'failed' }] });
    const summary = await readJson(s3.store, 'batch/output/breast-cancer/wrong-columns.csv.summary.json');
    assert.equal(summary.status, 'failed');
    assert.match(JSON.stringify(summary.error), /CSV header lacks features.*"retryable":false/);
    const { document } = metricDocument(outcome.metrics, 'BatchFileFailures');
    assert.equal(document.BatchFileFailures, 1);
    assert.equal(document.model, 'breast-cancer');
  });

  it('a file S3 fails to serve fails the invocation, so that Lambda retries it', async () => {
    const key = 'batch/input/breast-cancer/outage.csv';
    const { etag } = await s3.store.put(key, 'radius,texture\n1,2\n');
    const event = s3Event(s3.bucket, key, etag);
    await s3.setFault('status503', (request) => request.key === key);
    let outcome: Awaited<ReturnType<typeof startBundle>['result']>;
    try {
      outcome = await startBundle(event, await writeEvent(event, 'outage.json'), functionEnv()).result;
    } finally {
      await s3.setFault(null);
    }

    assert.match(
      outcome.error ?? '',
      /batch scoring failed for 1 of 1 file\(s\): batch\/input\/breast-cancer\/outage\.csv/,
    );
  });

  it('a process killed in the middle of a file leaves no output; the redelivery writes every row once', async () => {
    const rows = 60_000;
    const file = join(workDir, 'killed.csv');
    const bytes = await writeCsv(file, rows);
    const key = 'batch/input/breast-cancer/killed.csv';
    const outputKey = 'batch/output/breast-cancer/killed.csv.out.jsonl';
    const etag = await upload(file, key);
    const event = s3Event(s3.bucket, key, etag, bytes);
    // The second part of the output never gets an answer: the process is surely mid-file when killed.
    const secondPart = (r: { key: string; query: string }) =>
      r.key === outputKey && /(^|&)partNumber=2(&|$)/.test(r.query);
    await s3.setFault('hang', secondPart);
    let run: ReturnType<typeof startBundle> | undefined;
    try {
      run = startBundle(
        event,
        await writeEvent(event, 'killed.json'),
        functionEnv({ BATCH_PART_MB: '5', BATCH_PROGRESS_SECONDS: '0' }),
      );
      await waitFor(() => s3.requests.some(secondPart), run.child);
      run.child.kill('SIGKILL');
      const { signal } = await run.exited;
      assert.equal(signal, 'SIGKILL');
    } finally {
      if (run?.child.exitCode === null) run.child.kill('SIGKILL');
      await s3.setFault(null);
    }

    assert.equal(await s3.store.head(outputKey), undefined, 'no partial output');
    const left = await readJson(s3.store, 'batch/output/breast-cancer/killed.csv.summary.json');
    assert.equal(left.status, 'running');
    assert.ok((left.counts as { total: number }).total > 0, 'progress was recorded');

    const [redelivered] = await createTestBatch(s3).deliver(event);

    assert.equal(redelivered?.status, 'succeeded');
    const output = await countLines(outputKey);
    assert.deepEqual(output, { lines: rows, firstId: 'row-0', lastId: `row-${rows - 1}` });
  });
});

/** Resolves once `condition` holds; fails if the process exits first or after a generous bound. */
async function waitFor(condition: () => boolean, child: ChildProcess): Promise<void> {
  const giveUp = Date.now() + 60_000;
  while (!condition()) {
    if (child.exitCode !== null)
      throw new Error(`the process exited (${child.exitCode}) before the condition held`);
    if (Date.now() > giveUp) throw new Error('the condition did not hold within 60 s');
    await new Promise((done) => setTimeout(done, 10));
  }
}
