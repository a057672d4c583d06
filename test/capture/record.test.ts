import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  captureFolder,
  captureTensor,
  createCaptureRecord,
  isSampled,
  serializeCaptureRecord,
} from '../../src/capture/record.ts';

describe('capture record', () => {
  it('copies small tensors and summarises large ones, marking the record truncated', () => {
    const small = captureTensor({ name: 'label', datatype: 'INT64', shape: [1], data: [2] });
    const large = captureTensor(
      { name: 'image', datatype: 'FP32', shape: [1, 100], data: Array.from({ length: 100 }, (_, i) => i) },
      64,
    );

    const record = createCaptureRecord({
      id: 'p-1',
      ts: new Date('2026-01-02T03:04:05.678Z'),
      model: 'm',
      version: '3',
      source: 'api',
      inputs: [large],
      outputs: [small],
      latencyMs: 1.23456,
    });

    assert.deepEqual(small, { name: 'label', datatype: 'INT64', shape: [1], data: [2] });
    assert.deepEqual(large, {
      name: 'image',
      datatype: 'FP32',
      shape: [1, 100],
      truncated: true,
      summary: { count: 100, min: 0, max: 99, mean: 49.5 },
    });
    assert.deepEqual(record, {
      schema: 1,
      id: 'p-1',
      ts: '2026-01-02T03:04:05.678Z',
      model: 'm',
      version: '3',
      source: 'api',
      inputs: [large],
      outputs: [small],
      latency_ms: 1.235,
      truncated: true,
    });
  });

  it('one JSON line, int64 beyond 2^53 exact', () => {
    const record = createCaptureRecord({
      id: 'x',
      ts: new Date(0),
      model: 'm',
      version: '1',
      source: 'batch',
      inputs: { a: 1, b: 'two' },
      outputs: [{ name: 'big', datatype: 'INT64', shape: [1], data: [9007199254740993n] }],
      latencyMs: 0,
      origin: { key: 'batch/input/m/a.csv', line: 7 },
    });

    const line = serializeCaptureRecord(record);

    assert.ok(line.endsWith('}\n') && !line.slice(0, -1).includes('\n'));
    assert.match(line, /"data":\[9007199254740993\]/);
    assert.match(line, /"inputs":\{"a":1,"b":"two"\}/);
  });

  it('the hour folder is in UTC', () => {
    assert.equal(
      captureFolder('iris', new Date('2026-12-31T23:59:59-02:00')),
      'captures/iris/2027/01/01/01/',
    );
  });

  it('sampling is deterministic and close to the rate', () => {
    const kept = Array.from({ length: 20_000 }, (_, i) => isSampled(0.1, 'seed', i));

    assert.deepEqual(
      kept,
      Array.from({ length: 20_000 }, (_, i) => isSampled(0.1, 'seed', i)),
    );
    const share = kept.filter(Boolean).length / kept.length;
    assert.ok(share > 0.09 && share < 0.11, `kept ${share}`);
    assert.equal(isSampled(1, 'seed', 5), true);
    assert.equal(isSampled(0, 'seed', 5), false);
  });
});
