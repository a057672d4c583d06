/**
 * Batch scoring under injected crashes and hostile files, against the real local S3 server: a
 * failure at any point of a run followed by a redelivery leaves exactly one complete output with
 * every row once; bad lines are recorded and good rows kept; the line-length bound holds for a
 * 2 GiB line streamed through the splitter without ever being allocated.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import type { BatchFileOutcome } from '../../src/batch/batch-job.ts';
import { LineSplitter, type TextLine } from '../../src/text/lines.ts';
import {
  createTestBatch,
  dropInput,
  publishTestModel,
  readJsonLines,
  readText,
  type TestModel,
  trainTestModel,
} from '../batch/helpers.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { settledHeap } from './helpers.ts';

let s3: TestS3Server;
let iris: TestModel;

before(async () => {
  s3 = await startS3Server({ client: { maxAttempts: 1, requestTimeoutMs: 5_000, socketTimeoutMs: 5_000 } });
  iris = await trainTestModel('iris');
  await publishTestModel(s3.store, iris);
});

after(async () => {
  await s3?.close();
});

beforeEach(async () => {
  await s3.setFault(null);
  s3.resetRequests();
});

function summaryOf(outcome: BatchFileOutcome | undefined) {
  assert.ok(outcome && outcome.status !== 'ignored', `outcome ${outcome?.status}`);
  return outcome.summary;
}

const irisCsv = (count: number) => {
  const rows = Array.from(
    { length: count },
    (_, r) => `${r},${(iris.rows[r % iris.rows.length] ?? []).join(',')}`,
  );
  return `id,${iris.featureNames.join(',')}\n${rows.join('\n')}\n`;
};

describe('batch: a crash at a random point, then redelivery', () => {
  it('12 seeded crash points (S3 reset / 503 / client crash at request k): exactly one complete output, every row once', async () => {
    const count = 300;
    const batch = createTestBatch({ bucket: s3.bucket, client: s3.createClient({ maxAttempts: 1 }) });
    // How many S3 requests a clean run makes, so that crash points cover the whole run.
    const probeEvent = await dropInput(s3.store, s3.bucket, 'batch/input/iris/probe.csv', irisCsv(count));
    s3.resetRequests();
    assert.equal((await batch.deliver(probeEvent))[0]?.status, 'succeeded');
    const requestsPerRun = s3.requests.length;
    assert.ok(requestsPerRun >= 4, `a run made ${requestsPerRun} requests`);

    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: requestsPerRun }),
        fc.constantFrom('reset', 'status503', 'crash'),
        async (crashAt, how) => {
          run += 1;
          const key = `batch/input/iris/crash-${run}.csv`;
          const outputKey = `batch/output/iris/crash-${run}.csv.out.jsonl`;
          const event = await dropInput(s3.store, s3.bucket, key, irisCsv(count));
          s3.resetRequests();
          let seen = 0;
          const atCrashPoint = () => {
            seen += 1;
            return seen === crashAt;
          };
          const client = s3.createClient({ maxAttempts: 1 });
          if (how === 'crash') {
            // An unexpected exception thrown inside the run at the k-th S3 call, as a bug would.
            client.middlewareStack.add(
              (next) => async (args) => {
                if (atCrashPoint()) throw new Error('injected crash');
                return next(args);
              },
              { step: 'initialize', name: 'injectCrash' },
            );
          } else {
            await s3.setFault(how, atCrashPoint);
          }
          const crashing = createTestBatch({ bucket: s3.bucket, client });
          let first: BatchFileOutcome | undefined;
          try {
            [first] = await crashing.deliver(event);
          } catch {
            // A delivery that throws is what Lambda retries: the redelivery below.
          } finally {
            await s3.setFault(null);
          }
          if (first?.status === 'succeeded') {
            const text = await readText(s3.store, outputKey);
            assert.ok(text !== undefined, 'a succeeded run has its output');
          }

          const [second] = await batch.deliver(event);
          const [third] = await batch.deliver(event);

          assert.ok(
            second?.status === 'succeeded' || second?.status === 'skipped',
            `redelivery: ${second?.status}`,
          );
          assert.equal(third?.status, 'skipped', 'a later redelivery writes nothing');
          const output = await readJsonLines(s3.store, outputKey);
          assert.equal(output.length, count, `crash at ${crashAt} (${how}): ${output.length} rows`);
          assert.ok(
            output.every((line, r) => line.id === String(r) && line.error === undefined),
            'every row once, in order, scored',
          );
        },
      ),
      { seed: 42, numRuns: 12 },
    );
  });
});

describe('batch: hostile files', () => {
  it('JSON lines with a truncated last line and a broken line: errors recorded, good rows kept', async () => {
    const [row] = iris.rows;
    const good = (id: string) =>
      JSON.stringify({ id, ...Object.fromEntries(iris.featureNames.map((n, f) => [n, row?.[f]])) });
    const body = [
      good('a'),
      '{"id": "cut", "sepal_length_cm": 1',
      good('b'),
      good('truncated').slice(0, 25),
    ].join('\n');
    const event = await dropInput(s3.store, s3.bucket, 'batch/input/iris/hostile.jsonl', body);

    const [outcome] = await createTestBatch(s3).deliver(event);

    const summary = summaryOf(outcome);
    assert.deepEqual(summary.counts, { total: 4, ok: 2, failed: 2 });
    const output = await readJsonLines(s3.store, 'batch/output/iris/hostile.jsonl.out.jsonl');
    assert.deepEqual(
      output.filter((line) => line.error === undefined).map((line) => line.id),
      ['a', 'b'],
    );
    const errors = await readJsonLines(s3.store, 'batch/output/iris/hostile.jsonl.errors.jsonl');
    assert.deepEqual(
      errors.map((error) => error.line),
      [2, 4],
    );
    assert.match(String(errors[1]?.error), /malformed JSON/);
  });

  it('invalid UTF-8: the lines holding the bad bytes are errors, every other row is scored', async () => {
    const [row] = iris.rows;
    const good = (id: string) =>
      JSON.stringify({ id, ...Object.fromEntries(iris.featureNames.map((n, f) => [n, row?.[f]])) });
    const encoder = new TextEncoder();
    const body = Buffer.concat([
      encoder.encode(`${good('a')}\n{"id": "`),
      new Uint8Array([0xff, 0xfe, 0xc3]),
      encoder.encode(`"}\n${good('c')}\n`),
    ]);
    const event = await dropInput(s3.store, s3.bucket, 'batch/input/iris/latin1.jsonl', body);

    const [outcome] = await createTestBatch(s3).deliver(event);

    const summary = summaryOf(outcome);
    assert.equal(summary.status, 'partial');
    assert.deepEqual(summary.counts, { total: 3, ok: 2, failed: 1 });
    const errors = await readJsonLines(s3.store, 'batch/output/iris/latin1.jsonl.errors.jsonl');
    assert.deepEqual(
      errors.map((error) => [error.line, error.error]),
      [[2, 'not UTF-8 text: the line holds invalid bytes']],
    );
    const output = await readJsonLines(s3.store, 'batch/output/iris/latin1.jsonl.out.jsonl');
    assert.deepEqual(
      output.filter((line) => !('error' in line)).map((line) => line.id),
      ['a', 'c'],
    );
  });

  it('a CSV with a wrong header: the file is refused with a reason naming the columns, nothing scored', async () => {
    const csv = `id,a,b,c\n1,2,3,4\n`;
    const event = await dropInput(s3.store, s3.bucket, 'batch/input/iris/wrong-header.csv', csv);

    const [outcome] = await createTestBatch(s3).deliver(event);

    const summary = summaryOf(outcome);
    assert.notEqual(summary.status, 'succeeded');
    const text = JSON.stringify(summary);
    assert.match(text, /sepal_length_cm|header|column/i, text);
  });

  it('a line over BATCH_MAX_LINE_MB in a file: that line is an error, the rows around it are kept', async () => {
    const [row] = iris.rows;
    const good = (id: string) =>
      JSON.stringify({ id, ...Object.fromEntries(iris.featureNames.map((n, f) => [n, row?.[f]])) });
    const long = JSON.stringify({ id: 'long', pad: 'x'.repeat(300_000) });
    const body = [good('before'), long, good('after')].join('\n');
    const event = await dropInput(s3.store, s3.bucket, 'batch/input/iris/long.jsonl', body);

    const [outcome] = await createTestBatch(s3, { BATCH_MAX_LINE_MB: '0.1' }).deliver(event);

    assert.deepEqual(summaryOf(outcome).counts, { total: 3, ok: 2, failed: 1 });
    const errors = await readJsonLines(s3.store, 'batch/output/iris/long.jsonl.errors.jsonl');
    assert.equal(errors[0]?.line, 2);
    assert.match(String(errors[0]?.error), /long|limit|characters/i);
    assert.ok(
      !JSON.stringify(errors).includes('x'.repeat(1000)),
      'the long line is not copied into the errors',
    );
  });

  it('a 2 GiB line streamed through the line splitter: reported too long, bounded memory, the next line kept', () => {
    const limit = 1024 * 1024;
    const chunk = 'y'.repeat(4 * 1024 * 1024);
    const chunks = 512; // 512 × 4 MiB = 2 GiB of one line, never held at once.
    const splitter = new LineSplitter({ maxLineChars: limit });
    const heapBefore = settledHeap();
    let peak = 0;
    const lines: TextLine[] = [...splitter.push('{"id":"first"}\n')];

    for (let i = 0; i < chunks; i++) {
      lines.push(...splitter.push(chunk));
      if (i % 64 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - heapBefore);
    }
    lines.push(...splitter.push('\n{"id":"next"}\n'), ...splitter.end());

    assert.deepEqual(lines, [
      { line: 1, text: '{"id":"first"}' },
      { line: 2, text: '', tooLong: true },
      { line: 3, text: '{"id":"next"}' },
    ]);
    // The chunk itself is 4 MiB (8 MiB as UTF-16 at worst) plus at most one limit of carry.
    assert.ok(peak < 64 * 1024 * 1024, `heap grew by ${peak} bytes while streaming 2 GiB`);
  });
});
