import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type CapturedInputs,
  type CapturedTensor,
  type CaptureRecordFields,
  captureFolder,
  captureRecordLine,
  captureTensor,
  createCaptureRecord,
  featureInputsJson,
  featureKeys,
  isSampled,
  serializeCaptureRecord,
  toJsonLine,
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

/** The map a record holds for feature inputs, as `createCaptureRecord`'s callers build it. */
function featureMap(names: readonly string[], values: readonly unknown[]): Record<string, unknown> {
  const map: Record<string, unknown> = Object.create(null);
  for (let index = 0; index < names.length; index++) map[names[index] as string] = values[index];
  return map;
}

/** The reference: the record built as an object, then the generic JSON (bigint-safe). */
const objectPath = (fields: CaptureRecordFields): string => `${toJsonLine(createCaptureRecord(fields))}\n`;

const featureName = fc.oneof(
  fc.string(),
  fc.constantFrom(
    '__proto__',
    'constructor',
    '0',
    '1',
    '10',
    '4294967295',
    '-1',
    'a"b',
    'a\\b',
    '\u2028',
    'é',
    '😀',
    '\ud800',
  ),
);
const featureValue = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(-0, Number.NaN, Number.POSITIVE_INFINITY, 9007199254740993n),
  fc.string(),
  fc.boolean(),
);
const tensor: fc.Arbitrary<CapturedTensor> = fc
  .record({
    name: fc.string(),
    datatype: fc.constantFrom('FP32' as const, 'INT64' as const, 'BYTES' as const, 'BOOL' as const),
    data: fc.array(fc.oneof(fc.double(), fc.bigInt(), fc.string(), fc.boolean()), { maxLength: 80 }),
  })
  .map(({ name, datatype, data }) => captureTensor({ name, datatype, shape: [1, data.length], data }, 64));
const baseFields = fc.record(
  {
    id: fc.string(),
    ts: fc.date({ min: new Date(0), max: new Date('2100-01-01'), noInvalidDate: true }),
    model: fc.string(),
    version: fc.string(),
    source: fc.constantFrom('api' as const, 'batch' as const),
    outputs: fc.array(tensor, { maxLength: 3 }),
    latencyMs: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constant(Number.NaN)),
    origin: fc.record({ key: fc.string(), line: fc.nat() }),
  },
  { requiredKeys: ['id', 'ts', 'model', 'version', 'source', 'outputs', 'latencyMs'] },
);

describe('capture record, written straight to JSON', () => {
  it('property: feature inputs read as the JSON of the map a record holds, whatever the names and values', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(featureName, featureValue), { maxLength: 40 }),
        fc.array(fc.boolean(), { maxLength: 40 }),
        (pairs, copyText) => {
          const names = pairs.map(([name]) => name);
          const values = pairs.map(([, value]) => value);
          const map = featureMap(names, values);
          const keys = featureKeys(names);
          assert.equal(featureInputsJson(keys, values), toJsonLine(map));
          // Known JSON texts are copied: the same text when they are the values' JSON.
          const known = values.map((value, i) =>
            copyText[i] === true && typeof value === 'number' ? toJsonLine(value) : '',
          );
          assert.equal(featureInputsJson(keys, values, 0, known), toJsonLine(map));
          // At an offset, as rows of a flat [N, F] input.
          assert.equal(featureInputsJson(keys, [1, 2, ...values], 2), toJsonLine(map));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: captureRecordLine is the line of the record object, byte for byte', () => {
    const inputs: fc.Arbitrary<CapturedInputs> = fc.oneof(
      fc.array(tensor, { maxLength: 3 }),
      fc.array(fc.tuple(featureName, featureValue), { maxLength: 20 }).map(
        (pairs) =>
          featureMap(
            pairs.map(([n]) => n),
            pairs.map(([, v]) => v),
          ) as CapturedInputs,
      ),
    );
    fc.assert(
      fc.property(baseFields, inputs, (fields, capturedInputs) => {
        const truncated = Array.isArray(capturedInputs) && capturedInputs.some((t) => t.truncated === true);
        const line = captureRecordLine(fields, { json: toJsonLine(capturedInputs), truncated });
        assert.equal(line, objectPath({ ...fields, inputs: capturedInputs }));
      }),
      { numRuns: 500 },
    );
  });

  it('a 512-feature row, as batch scoring writes it', () => {
    const names = Array.from({ length: 512 }, (_, i) => `f${i}`);
    const values = names.map((_, i) => Math.fround(i / 7 - 30));
    const fields = {
      id: '7',
      ts: new Date('2026-01-02T03:04:05.678Z'),
      model: 'mlp',
      version: '1',
      source: 'batch' as const,
      outputs: [captureTensor({ name: 'p', datatype: 'FP32', shape: [1, 2], data: [0.25, 0.75] })],
      latencyMs: 0.0123456,
      origin: { key: 'batch/input/mlp/a.csv', line: 7 },
    };
    const inputs = featureInputsJson(featureKeys(names), values, 0, values.map(String));
    assert.equal(
      captureRecordLine(fields, { json: inputs, truncated: false }),
      objectPath({ ...fields, inputs: featureMap(names, values) as CapturedInputs }),
    );
  });
});
