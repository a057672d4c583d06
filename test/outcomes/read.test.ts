import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { serializeOutcomes } from '../../src/outcomes/outcome-service.ts';
import {
  newOutcomeReadReport,
  outcomeFormatOfKey,
  type ReadOutcome,
  readOutcomeObject,
  readOutcomes,
} from '../../src/outcomes/read.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';

const NOW = new Date('2026-06-01T10:00:00.000Z');

/** The text in chunks of `size` characters, to cross line boundaries anywhere. */
async function* chunks(text: string, size = 7): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function readAll(
  text: string,
  options: Parameters<typeof readOutcomes>[2] = {},
): Promise<{ outcomes: ReadOutcome[]; report: ReturnType<typeof newOutcomeReadReport> }> {
  const report = newOutcomeReadReport();
  const outcomes: ReadOutcome[] = [];
  for await (const outcome of readOutcomes(chunks(text), report, { now: NOW, ...options }))
    outcomes.push(outcome);
  return { outcomes, report };
}

describe('readOutcomes: JSON lines', () => {
  it('reads what the endpoint writes', async () => {
    const text = serializeOutcomes([
      { id: 'a', value: 'setosa', ts: '2026-06-01T09:00:00.000Z', received_at: '2026-06-01T09:30:00.000Z' },
      { id: 'b:1', value: 0.25, ts: '2026-06-01T09:10:00.000Z', received_at: '2026-06-01T09:30:00.000Z' },
    ]);

    const { outcomes, report } = await readAll(text);

    assert.deepEqual(outcomes, [
      {
        id: 'a',
        value: 'setosa',
        ts: '2026-06-01T09:00:00.000Z',
        received_at: '2026-06-01T09:30:00.000Z',
        line: 1,
      },
      {
        id: 'b:1',
        value: 0.25,
        ts: '2026-06-01T09:10:00.000Z',
        received_at: '2026-06-01T09:30:00.000Z',
        line: 2,
      },
    ]);
    assert.deepEqual(report, { format: 'jsonl', outcomes: 2, errors: 0, samples: [] });
  });

  it('counts bad lines with their line numbers and goes on; blank lines are not errors', async () => {
    const text = [
      '{"id":"a","value":1}',
      '',
      '{"id":"b","value":1',
      '[1,2]',
      '{"id":"","value":1}',
      '{"id":"c","value":null}',
      '{"id":"d","value":1,"ts":"2030-01-01T00:00:00Z"}',
      '{"id":"e","value":false,"ts":"2026-05-01T00:00:00Z","extra":"ignored"}',
    ].join('\r\n');

    const { outcomes, report } = await readAll(text, { defaultTs: '2026-05-31T00:00:00.000Z' });

    assert.deepEqual(
      outcomes.map((outcome) => [outcome.id, outcome.value, outcome.ts, outcome.line]),
      [
        ['a', 1, '2026-05-31T00:00:00.000Z', 1],
        ['e', false, '2026-05-01T00:00:00.000Z', 8],
      ],
    );
    assert.equal(report.errors, 5);
    assert.deepEqual(
      report.samples.map((sample) => sample.line),
      [3, 4, 5, 6, 7],
    );
    assert.match(report.samples[0]?.reason ?? '', /not valid JSON/);
    assert.match(report.samples[3]?.reason ?? '', /^value must be a number, a string or a boolean; got null/);
    assert.match(report.samples[4]?.reason ?? '', /^ts is in the future/);
  });

  it('keeps only a few samples however many lines are bad', async () => {
    const text = Array.from({ length: 50 }, () => 'nope').join('\n');

    const { report } = await readAll(text, { format: 'jsonl', maxErrorSamples: 3 });

    assert.equal(report.errors, 50);
    assert.equal(report.samples.length, 3);
  });
});

describe('readOutcomes: CSV', () => {
  it('reads id, value and ts by the header, in any order, with values typed by their spelling', async () => {
    const text = [
      'value,extra,ID,ts',
      'setosa,x,a,2026-06-01T09:00:00Z',
      '2,x,b,',
      '-0.5e1,x,c,',
      'TRUE,x,d,',
      '"virginica, maybe",x,e,',
      ',x,f,',
      '1,x,,',
    ].join('\n');

    const { outcomes, report } = await readAll(text, { format: 'csv' });

    assert.deepEqual(
      outcomes.map((outcome) => [outcome.id, outcome.value, outcome.ts]),
      [
        ['a', 'setosa', '2026-06-01T09:00:00.000Z'],
        ['b', 2, undefined],
        ['c', -5, undefined],
        ['d', true, undefined],
        ['e', 'virginica, maybe', undefined],
      ],
    );
    assert.equal(report.format, 'csv');
    assert.equal(report.errors, 2);
    assert.deepEqual(report.samples, [
      { line: 7, reason: 'value must not be an empty string' },
      { line: 8, reason: 'id must be a non-empty string' },
    ]);
  });

  it('a header without id and value makes the file unreadable, reported, not thrown', async () => {
    const { outcomes, report } = await readAll('prediction,label\na,1\n');

    assert.deepEqual(outcomes, []);
    assert.equal(report.format, 'csv');
    assert.match(report.fatal ?? '', /CSV header must name the columns id and value/);
  });

  it('detects the format from the content when the key says nothing', async () => {
    assert.equal((await readAll('  \n{"id":"a","value":1}\n')).report.format, 'jsonl');
    assert.equal((await readAll('id,value\na,1\n')).report.format, 'csv');
    assert.equal(outcomeFormatOfKey('outcomes/iris/2026/labels.csv.gz'), 'csv');
    assert.equal(outcomeFormatOfKey('outcomes/iris/x.ndjson'), 'jsonl');
    assert.equal(outcomeFormatOfKey('outcomes/iris/x.txt'), undefined);
  });
});

describe('readOutcomeObject', () => {
  let s3: TestS3Server;

  before(async () => {
    s3 = await startS3Server();
  });

  after(async () => {
    await s3?.close();
  });

  it('streams a gzipped CSV object from S3; outcomes without ts get the upload time', async () => {
    const csv = `id,value\n${Array.from({ length: 500 }, (_, i) => `p-${i},${i % 3}`).join('\n')}\n`;
    await s3.store.put('outcomes/iris/labels.csv.gz', gzipSync(csv));
    const info = await s3.store.head('outcomes/iris/labels.csv.gz');
    const report = newOutcomeReadReport();

    const stream = await readOutcomeObject(s3.store, 'outcomes/iris/labels.csv.gz', report);
    const outcomes: ReadOutcome[] = [];
    for await (const outcome of stream ?? []) outcomes.push(outcome);

    assert.equal(outcomes.length, 500);
    assert.deepEqual(outcomes[499], {
      id: 'p-499',
      value: 1,
      ts: info?.lastModified?.toISOString(),
      line: 501,
    });
    assert.deepEqual(report, { format: 'csv', outcomes: 500, errors: 0, samples: [] });
  });

  it('is undefined for a missing object, and reports a broken gzip as fatal', async () => {
    await s3.store.put('outcomes/iris/broken.jsonl.gz', new Uint8Array([0x1f, 0x8b, 1, 2, 3, 4]));
    const report = newOutcomeReadReport();

    const missing = await readOutcomeObject(s3.store, 'outcomes/iris/none.jsonl');
    const broken = await readOutcomeObject(s3.store, 'outcomes/iris/broken.jsonl.gz', report);
    const outcomes: ReadOutcome[] = [];
    for await (const outcome of broken ?? []) outcomes.push(outcome);

    assert.equal(missing, undefined);
    assert.deepEqual(outcomes, []);
    assert.match(report.fatal ?? '', /gzip/);
  });
});
