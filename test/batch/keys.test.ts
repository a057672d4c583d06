import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchCaptureKey, batchOutputKeys, parseBatchInputKey } from '../../src/batch/keys.ts';
import { formatOfKey } from '../../src/batch/rows.ts';

describe('batch keys', () => {
  it('takes an input key apart: model, relative name, version folder', () => {
    assert.deepEqual(parseBatchInputKey('batch/input/iris/v2/2026/june.csv'), {
      key: 'batch/input/iris/v2/2026/june.csv',
      model: 'iris',
      relative: 'v2/2026/june.csv',
      pathVersion: 2,
    });
    assert.deepEqual(parseBatchInputKey('batch/input/iris/june.csv'), {
      key: 'batch/input/iris/june.csv',
      model: 'iris',
      relative: 'june.csv',
    });
    // A file called v2 is a file, not a version folder; v02 is not a version.
    assert.equal(parseBatchInputKey('batch/input/iris/v2')?.pathVersion, undefined);
    assert.equal(parseBatchInputKey('batch/input/iris/v02/a.csv')?.pathVersion, undefined);
  });

  it('is not an input: outside the prefix, no model folder, no file, a folder marker', () => {
    for (const key of [
      'batch/output/iris/a.csv',
      'batch/input/a.csv',
      'batch/input/iris/',
      'batch/input//a.csv',
    ]) {
      assert.equal(parseBatchInputKey(key), undefined, key);
    }
  });

  it('outputs mirror the whole relative name under batch/output/{model}/', () => {
    const input = parseBatchInputKey('batch/input/iris/v2/my file+1.csv.gz');
    assert.ok(input);

    assert.deepEqual(batchOutputKeys(input), {
      output: 'batch/output/iris/v2/my file+1.csv.gz.out.jsonl',
      summary: 'batch/output/iris/v2/my file+1.csv.gz.summary.json',
      errors: 'batch/output/iris/v2/my file+1.csv.gz.errors.jsonl',
    });
  });

  it('the capture key depends on the input key, its ETag and the hour it was written, nothing else', () => {
    const written = new Date('2026-06-01T10:20:30Z');

    const key = batchCaptureKey('iris', 'batch/input/iris/a.csv', 'etag-1', written);

    assert.match(key, /^captures\/iris\/2026\/06\/01\/10\/batch-[0-9a-f]{20}\.jsonl$/);
    assert.equal(batchCaptureKey('iris', 'batch/input/iris/a.csv', 'etag-1', written), key);
    assert.notEqual(batchCaptureKey('iris', 'batch/input/iris/a.csv', 'etag-2', written), key);
  });

  it('formats by extension, gzip or not', () => {
    assert.equal(formatOfKey('a.CSV'), 'csv');
    assert.equal(formatOfKey('a.csv.gz'), 'csv');
    assert.equal(formatOfKey('a.jsonl.gz'), 'jsonl');
    assert.equal(formatOfKey('a.ndjson'), 'jsonl');
    assert.equal(formatOfKey('a.txt'), undefined);
  });
});
