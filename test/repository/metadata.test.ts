import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readValidationRecord, summarizeLatency } from '../../src/repository/metadata.ts';
import { metadataKeyOf, parseModelKey } from '../../src/repository/model-key.ts';

describe('model keys', () => {
  it('reads name and version of models/{name}/{version}/model.onnx', () => {
    assert.deepEqual(parseModelKey('models/iris/3/model.onnx'), { name: 'iris', version: 3 });
    assert.deepEqual(parseModelKey('models/my_model.v2-x/12/model.onnx'), {
      name: 'my_model.v2-x',
      version: 12,
    });
    assert.equal(metadataKeyOf('iris', 3), 'models/iris/3/metadata.json');
  });

  it('ignores keys outside the layout, with a reason', () => {
    const cases: [string, RegExp][] = [
      ['models/iris/3/metadata.json', /not a model file/],
      ['models/iris/model.onnx', /not a model file/],
      ['models/iris/3/sub/model.onnx', /not a model file/],
      ['batch/input/iris/3/model.onnx', /not a model file/],
      ['models/iris/03/model.onnx', /'03' is not a version folder/],
      ['models/iris/0/model.onnx', /'0' is not a version folder/],
      ['models/iris/latest/model.onnx', /'latest' is not a version folder/],
      ['models/bad name/1/model.onnx', /'bad name' is not a valid model name/],
      ['models/a..b/1/model.onnx', /not a valid model name/],
    ];
    for (const [key, reason] of cases) {
      const parsed = parseModelKey(key);
      assert.ok('reason' in parsed, key);
      assert.match(parsed.reason, reason, key);
    }
  });
});

describe('validation records', () => {
  it('reads status, reason and ETag from a metadata.json', () => {
    assert.deepEqual(readValidationRecord({ status: 'invalid', reason: 'smoke run failed: x', etag: 'e1' }), {
      status: 'invalid',
      reason: 'smoke run failed: x',
      etag: 'e1',
    });
    assert.deepEqual(readValidationRecord({ status: 'valid', reason: null, etag: 'e2' }), {
      status: 'valid',
      etag: 'e2',
    });
    assert.deepEqual(
      readValidationRecord({ status: 'valid', etag: 'e3', latency_ms: { median: 0.125, p90: 0.2 } }),
      { status: 'valid', etag: 'e3', latencyMs: 0.125 },
    );
    for (const latency_ms of [null, {}, { median: -1 }, { median: '3' }, { median: Number.NaN }]) {
      assert.deepEqual(readValidationRecord({ status: 'valid', latency_ms }), { status: 'valid' });
    }
    assert.deepEqual(readValidationRecord({ status: 'invalid' }), {
      status: 'invalid',
      reason: 'no reason recorded',
    });
  });

  it('treats anything that is not a validation record as "not validated"', () => {
    for (const json of [null, 'invalid', [], {}, { status: 'broken' }, { status: true }]) {
      assert.equal(readValidationRecord(json), undefined, JSON.stringify(json));
    }
  });
});

describe('latency summary', () => {
  it('gives the median and the nearest-rank 90th percentile', () => {
    assert.deepEqual(summarizeLatency([5, 1, 3, 2, 4]), { median: 3, p90: 5 });
    assert.deepEqual(summarizeLatency([4, 1, 3, 2]), { median: 2.5, p90: 4 });
    assert.deepEqual(summarizeLatency(Array.from({ length: 20 }, (_, i) => i + 1)), {
      median: 10.5,
      p90: 18,
    });
    assert.deepEqual(summarizeLatency([0.12345678]), { median: 0.123, p90: 0.123 });
    assert.throws(() => summarizeLatency([]), RangeError);
  });
});
