/**
 * A regression model end to end: its reference (score profile, RMSE on labelled rows) and a drift
 * check where the inputs do not move but the outcomes do (concept drift): no data drift, yet the
 * performance rule (RMSE up by more than 10 % by default) raises the alert.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { buildOnnxModel } from '../../scripts/lib/onnx/graph-builder.ts';
import { type CaptureRecord, captureTensor, createCaptureRecord } from '../../src/capture/record.ts';
import { checkModel } from '../../src/drift/check/check.ts';
import { referenceFromData } from '../../src/drift/profiles/reference-from-data.ts';
import type { ReferenceDocument } from '../../src/drift/profiles/reference-types.ts';
import { buildDriftReport } from '../../src/drift/report/report.ts';
import { publishModel } from '../../src/repository/publish.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { assertClose, normalSample } from './helpers.ts';
import { putCaptures, putOutcomes } from './monitoring-fixtures.ts';

const FEATURES = ['rooms', 'age', 'distance'];
const WEIGHTS = [2, -0.5, 1.5];
const BIAS = 10;
const END = new Date('2026-06-02T00:00:00.000Z');
const HOUR = 3_600_000;
const CONFIG = { task: 'regression', feature_names: FEATURES, outputs: { score: 'score' } };

/** y = x·w + b as ONNX: `input` [batch, 3] → Gemm → `score` [batch, 1]. */
const MODEL = buildOnnxModel({
  inputs: [{ name: 'input', elemType: 'float32', shape: ['batch', 3] }],
  outputs: [{ name: 'score', elemType: 'float32', shape: ['batch', 1] }],
  initializers: [
    { name: 'w', elemType: 'float32', dims: [1, 3], data: WEIGHTS },
    { name: 'b', elemType: 'float32', dims: [1], data: [BIAS] },
  ],
  nodes: [
    { opType: 'Gemm', inputs: ['input', 'w', 'b'], outputs: ['score'], attributes: { transB: { int: 1 } } },
  ],
});

/** n rows of the three features, and targets y = x·w + b + N(0, 1) noise. */
function dataset(n: number, seed: number): { rows: number[][]; targets: number[] } {
  const columns = FEATURES.map((_, f) => normalSample(n, 5 + f, 1 + f, seed + f));
  const noise = normalSample(n, 0, 1, seed + 10);
  const rows = Array.from({ length: n }, (_, i) => columns.map((column) => column[i] as number));
  const targets = rows.map(
    (row, i) => row.reduce((sum, x, f) => sum + x * (WEIGHTS[f] as number), BIAS) + (noise[i] as number),
  );
  return { rows, targets };
}

async function scores(rows: number[][]): Promise<number[]> {
  const session = await InferenceSession.create(MODEL);
  try {
    const results = await session.run({
      input: new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 3]),
    });
    return Array.from(results.score?.data as Float32Array);
  } finally {
    await session.release();
  }
}

function rmse(actual: number[], predicted: number[]): number {
  return Math.sqrt(
    actual.reduce((sum, y, i) => sum + (y - (predicted[i] as number)) ** 2, 0) / actual.length,
  );
}

let s3: TestS3Server;
let train: { rows: number[][]; targets: number[] };
let reference: ReferenceDocument;

before(async () => {
  s3 = await startS3Server();
  train = dataset(2000, 1);
  const csv = [
    [...FEATURES, 'target'].join(','),
    ...train.rows.map((row, i) => [...row, train.targets[i]].join(',')),
  ].join('\n');
  reference = await referenceFromData({
    model: 'houses',
    modelBytes: MODEL,
    config: CONFIG,
    text: csv,
    fileName: 'train.csv',
    labelColumn: 'target',
  });
  await publishModel(s3.store, {
    name: 'houses',
    version: 1,
    model: MODEL,
    config: CONFIG,
    versionFiles: [
      { name: 'reference.json', body: JSON.stringify(reference), contentType: 'application/json' },
    ],
  });
});

after(async () => {
  await s3?.close();
});

describe('drift check of a regression model', () => {
  it('profiles the score and measures RMSE on the labelled reference rows', async () => {
    // Prepare
    const predicted = await scores(train.rows);

    // Assess
    assert.equal(reference.task, 'regression');
    assert.equal(reference.prediction?.kind, 'score');
    const profile = reference.prediction?.kind === 'score' ? reference.prediction.profile : undefined;
    assert.equal(profile?.count, 2000);
    assertClose(profile?.mean, predicted.reduce((a, b) => a + b, 0) / predicted.length, 1e-9);
    // 2000 rows: above Evidently's small-reference limit, so the sketch is compressed.
    assert.equal(profile?.sketch.exact, false);
    assertClose(reference.performance?.regression?.rmse, rmse(train.targets, predicted), 1e-9);
  });

  it('raises the alert for degraded RMSE when only the outcomes moved (concept drift)', async () => {
    // Prepare: fresh rows from the same distribution; outcomes 3 units above what the model says.
    const current = dataset(1500, 1234);
    const predicted = await scores(current.rows);
    const records: CaptureRecord[] = current.rows.map((row, i) =>
      createCaptureRecord({
        id: `h-${i}`,
        ts: new Date(END.getTime() - 20 * HOUR + i * 30_000),
        model: 'houses',
        version: '1',
        source: 'batch',
        inputs: Object.fromEntries(FEATURES.map((name, f) => [name, row[f] as number])),
        outputs: [
          captureTensor({ name: 'score', datatype: 'FP32', shape: [1, 1], data: [predicted[i] as number] }),
        ],
        latencyMs: 0.01,
      }),
    );
    await putCaptures(s3.store, records, { format: 'jsonl', name: 'batch-h' });
    const actual = current.targets.map((y) => y + 3);
    await putOutcomes(
      s3.store,
      'houses',
      records.map((record, i) => {
        const time = new Date(Date.parse(record.ts) + HOUR).toISOString();
        return { id: record.id, value: actual[i] as number, ts: time, received_at: time };
      }),
      'o',
    );

    // Act
    const report = buildDriftReport(await checkModel('houses', { store: s3.store, end: END, now: END }), END);

    // Assess: inputs and scores look like the reference (no feature drifts; sampling noise may
    // reach the warning level, half the threshold); the performance does not.
    assert.deepEqual(report.data_drift.drifted_features, []);
    assert.notEqual(report.verdict, 'drift');
    // Reference above 1000 rows: normalised Wasserstein, as Evidently chooses.
    assert.ok(report.data_drift.features.every((feature) => feature.test?.name === 'wasserstein'));
    assert.equal(report.prediction_drift?.kind, 'score');
    assert.notEqual(report.prediction_drift?.verdict, 'drift');
    assertClose(report.performance.metrics.rmse, rmse(actual, predicted), 1e-9);
    assert.equal(report.performance.rule?.metric, 'rmse');
    assert.equal(report.performance.rule?.max_relative_drop, 0.1);
    assert.equal(report.performance.verdict, 'degraded');
    assert.deepEqual(report.alert, { raised: true, reasons: ['performance_degraded'] });
  });
});
