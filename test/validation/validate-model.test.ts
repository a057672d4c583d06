import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { buildDemoModels } from '../../scripts/demo-models.ts';
import { buildOnnxModel } from '../../scripts/lib/onnx/graph-builder.ts';
import { StorageUnavailableError } from '../../src/errors.ts';
import { type ModelMetadata, VALIDATOR_VERSION } from '../../src/repository/metadata.ts';
import { type ValidationResult, validateModel } from '../../src/validation/validate-model.ts';
import { conformanceDir, ROOT } from '../helpers/paths.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';

let s3: TestS3Server;
let demoDir: string;
let counter = 0;

before(async () => {
  s3 = await startS3Server();
  demoDir = await mkdtemp(join(tmpdir(), 'validation-demo-'));
});

after(async () => {
  await s3?.close();
  if (demoDir) await rm(demoDir, { recursive: true, force: true });
});

beforeEach(async () => {
  await s3.setFault(null);
});

function backendModel(name: string): Promise<Buffer> {
  return readFile(join(conformanceDir(), 'onnx-backend', 'simple', name, 'model.onnx'));
}

/** Uploads `bytes` as version 1 of a model no other test uses; returns its key. */
async function upload(base: string, bytes: Uint8Array | string): Promise<{ name: string; key: string }> {
  counter += 1;
  const name = `${base}-${counter}`;
  const key = `models/${name}/1/model.onnx`;
  await s3.store.put(key, bytes);
  return { name, key };
}

function metadataOf(result: ValidationResult): ModelMetadata {
  assert.notEqual(result.outcome, 'ignored', JSON.stringify(result));
  if (result.outcome === 'ignored') throw new Error('unreachable');
  return result.metadata;
}

async function storedMetadata(name: string): Promise<ModelMetadata> {
  const stored = await s3.store.get(`models/${name}/1/metadata.json`);
  assert.ok(stored, 'metadata.json written');
  return JSON.parse(new TextDecoder().decode(stored.body)) as ModelMetadata;
}

const sequenceInput = () =>
  buildOnnxModel({
    inputs: [{ name: 'items', elemType: 'float32', shape: [2], sequence: true }],
    outputs: [{ name: 'y', elemType: 'float32', shape: [2] }],
    initializers: [{ name: 'position', elemType: 'int64', dims: [], data: [0n] }],
    nodes: [{ opType: 'SequenceAt', inputs: ['items', 'position'], outputs: ['y'] }],
  });

describe('validateModel: valid models', () => {
  it('writes metadata.json for a valid model: status, signature, hashes, timings', async () => {
    const bytes = await backendModel('test_single_relu_model');
    const { name, key } = await upload('relu', bytes);
    const etag = (await s3.store.head(key))?.etag;

    const result = await validateModel(s3.store, key, { now: () => new Date('2026-11-24T10:00:00Z') });

    assert.equal(result.outcome, 'validated');
    const metadata = metadataOf(result);
    assert.deepEqual(await storedMetadata(name), metadata);
    assert.equal(metadata.status, 'valid');
    assert.equal(metadata.reason, null);
    assert.equal(metadata.name, name);
    assert.equal(metadata.version, 1);
    assert.equal(metadata.size, bytes.byteLength);
    assert.equal(metadata.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(metadata.etag, etag);
    assert.deepEqual(metadata.inputs, [{ name: 'x', datatype: 'FP32', shape: [1, 2] }]);
    assert.deepEqual(metadata.outputs, [{ name: 'y', datatype: 'FP32', shape: [1, 2] }]);
    assert.deepEqual(metadata.opsets, [{ domain: 'ai.onnx', version: 9 }]);
    assert.deepEqual(metadata.producer, { name: 'backend-test', version: '' });
    assert.equal(metadata.validated_at, '2026-11-24T10:00:00.000Z');
    assert.equal(metadata.validator_version, VALIDATOR_VERSION);
    assert.equal(typeof metadata.runtime, 'string');
    assert.ok(typeof metadata.load_ms === 'number' && metadata.load_ms >= 0);
    assert.ok(metadata.latency_ms && metadata.latency_ms.median >= 0);
    assert.ok(metadata.latency_ms.p90 >= metadata.latency_ms.median);
    assert.deepEqual(metadata.smoke, {
      fill: 'small',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2] }],
      runs: 5,
    });
  });

  it('has every documented field, null when validation did not get that far', async () => {
    const valid = await upload('shape-valid', await backendModel('test_single_relu_model'));
    const invalid = await upload('shape-invalid', 'not a model');

    const fields = [
      'status',
      'reason',
      'name',
      'version',
      'size',
      'sha256',
      'etag',
      'ir_version',
      'opsets',
      'producer',
      'metadata_props',
      'inputs',
      'outputs',
      'rewrites',
      'inferred',
      'load_ms',
      'latency_ms',
      'smoke',
      'runtime',
      'validated_at',
      'validator_version',
    ].sort();
    const good = metadataOf(await validateModel(s3.store, valid.key));
    const bad = metadataOf(await validateModel(s3.store, invalid.key));

    assert.deepEqual(Object.keys(good).sort(), fields);
    assert.deepEqual(Object.keys(bad).sort(), fields);
    for (const field of [
      'inputs',
      'outputs',
      'rewrites',
      'opsets',
      'load_ms',
      'latency_ms',
      'smoke',
    ] as const) {
      assert.equal(bad[field], null, field);
    }
  });

  it('a scikit-learn ZipMap output: valid, served as FP32 [N, C], the rewrite and the inferred classifier recorded', async () => {
    const stored = await readFile(
      join(ROOT, 'test', 'fixtures', 'real-models', 'sklearn-logreg-zipmap', 'model.onnx'),
    );
    const { key } = await upload('zipmap', stored);

    const metadata = metadataOf(await validateModel(s3.store, key));

    assert.equal(metadata.status, 'valid', metadata.reason ?? '');
    assert.deepEqual(metadata.outputs, [
      { name: 'output_label', datatype: 'INT64', shape: [-1] },
      { name: 'output_probability', datatype: 'FP32', shape: [-1, 2] },
    ]);
    assert.deepEqual(metadata.rewrites, [
      {
        kind: 'zipmap',
        output: 'output_probability',
        source: 'probabilities',
        labels: ['0', '1'],
        label_type: 'int64',
      },
    ]);
    assert.deepEqual(metadata.inferred, {
      task: 'classification',
      labels: ['0', '1'],
      outputs: { probabilities: 'output_probability', label: 'output_label' },
    });
    // The stored file is untouched.
    assert.deepEqual(new Uint8Array((await s3.store.get(key))?.body ?? []), new Uint8Array(stored));
    assert.equal(metadata.sha256, createHash('sha256').update(stored).digest('hex'));
  });

  it('runs a BYTES model on generated strings', async () => {
    const { key } = await upload(
      'strnorm',
      await backendModel('test_strnorm_model_nostopwords_nochangecase'),
    );

    const metadata = metadataOf(await validateModel(s3.store, key));

    assert.equal(metadata.status, 'valid', metadata.reason ?? '');
    assert.deepEqual(metadata.inputs, [{ name: 'x', datatype: 'BYTES', shape: [2] }]);
  });

  it('validates a demo model built by the project, with its metadata_props and free batch dimension', async () => {
    const [summary] = await buildDemoModels(demoDir);
    assert.ok(summary);
    const { key } = await upload('demo', await readFile(summary.modelPath));

    const metadata = metadataOf(await validateModel(s3.store, key, { runs: 3 }));

    assert.equal(metadata.status, 'valid', metadata.reason ?? '');
    assert.deepEqual(metadata.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, summary.features] }]);
    assert.deepEqual(
      metadata.outputs?.map((output) => [output.name, output.datatype]),
      [
        ['label', 'INT64'],
        ['probabilities', 'FP32'],
      ],
    );
    assert.equal(metadata.metadata_props?.task, 'classification');
    assert.deepEqual(metadata.smoke?.inputs, [
      { name: 'input', datatype: 'FP32', shape: [1, summary.features] },
    ]);
    assert.equal(metadata.smoke?.runs, 3);
  });

  it('falls back to zeros when the small values are out of range for an index input', async () => {
    const gather = buildOnnxModel({
      inputs: [
        { name: 'table', elemType: 'float32', shape: [1, 3] },
        { name: 'index', elemType: 'int64', shape: [1] },
      ],
      outputs: [{ name: 'row', elemType: 'float32', shape: [1, 3] }],
      nodes: [{ opType: 'Gather', inputs: ['table', 'index'], outputs: ['row'] }],
    });
    const { key } = await upload('gather', gather);

    const metadata = metadataOf(await validateModel(s3.store, key));

    assert.equal(metadata.status, 'valid', metadata.reason ?? '');
    assert.equal(metadata.smoke?.fill, 'zeros');
  });
});

describe('validateModel: invalid models', () => {
  const reshapeMismatch = buildOnnxModel({
    inputs: [{ name: 'x', elemType: 'float32', shape: ['batch', 3] }],
    outputs: [{ name: 'y', elemType: 'float32' }],
    initializers: [{ name: 'target', elemType: 'int64', dims: [1], data: [5n] }],
    nodes: [{ opType: 'Reshape', inputs: ['x', 'target'], outputs: ['y'] }],
  });
  const unknownOp = buildOnnxModel({
    inputs: [{ name: 'x', elemType: 'float32', shape: ['batch', 3] }],
    outputs: [{ name: 'y', elemType: 'float32', shape: ['batch', 3] }],
    nodes: [{ opType: 'NoSuchOp', inputs: ['x'], outputs: ['y'] }],
  });
  const bfloat16Output = buildOnnxModel({
    inputs: [{ name: 'x', elemType: 'float32', shape: [2] }],
    outputs: [{ name: 'y', elemType: 16, shape: [2] }],
    nodes: [{ opType: 'Cast', inputs: ['x'], outputs: ['y'], attributes: { to: { int: 16 } } }],
  });

  const cases: { title: string; bytes: () => Promise<Uint8Array> | Uint8Array; reason: RegExp }[] = [
    {
      title: 'bytes that are not a model',
      bytes: () => new TextEncoder().encode('definitely not protobuf'),
      reason: /^not an ONNX model: protobuf: /,
    },
    {
      title: 'an empty file',
      bytes: () => new Uint8Array(0),
      reason: /^not an ONNX model: the file is empty$/,
    },
    {
      title: 'a truncated model',
      bytes: async () => {
        const bytes = await backendModel('test_single_relu_model');
        return bytes.subarray(0, Math.floor(bytes.byteLength / 2));
      },
      reason: /^not an ONNX model: protobuf: field 7 at byte \d+ declares \d+ bytes but only \d+ remain$/,
    },
    {
      title: 'an operator onnxruntime does not know',
      bytes: () => unknownOp,
      reason: /^session creation failed: .*No Op registered for NoSuchOp/,
    },
    {
      title: 'a sequence input',
      bytes: sequenceInput,
      reason:
        /^unsupported input type: 'items' \(it is a sequence, not a tensor\); the protocol sends tensors only: re-export the model with tensor inputs$/,
    },
    {
      title: 'a bfloat16 output',
      bytes: () => bfloat16Output,
      reason:
        /^unsupported output type: 'y' \(its element type BFLOAT16 \(16\) has no Open Inference Protocol datatype\); cast it in the graph, or re-export with an element type the protocol has/,
    },
    {
      title: 'a graph that fails on any input',
      bytes: () => reshapeMismatch,
      reason: /^smoke run failed: .*cannot be reshaped to the requested shape.* \(inputs 'x' \[1, 3\]\)$/,
    },
  ];

  for (const testCase of cases) {
    it(`${testCase.title} → invalid, with a specific reason`, async () => {
      const bytes = await testCase.bytes();
      const { name, key } = await upload('invalid', bytes);

      const result = await validateModel(s3.store, key);

      assert.equal(result.outcome, 'validated');
      const metadata = metadataOf(result);
      assert.equal(metadata.status, 'invalid');
      assert.match(metadata.reason ?? '', testCase.reason);
      assert.doesNotMatch(metadata.reason ?? '', /onnxruntime_src|\.cc:\d+/);
      assert.equal(metadata.size, bytes.byteLength);
      assert.equal(metadata.sha256, createHash('sha256').update(bytes).digest('hex'));
      assert.deepEqual(await storedMetadata(name), metadata);
    });
  }
});

describe('validateModel: idempotence and events that are not models', () => {
  it('reports the same object delivered twice as unchanged, without downloading it again', async () => {
    const { key } = await upload('twice', await backendModel('test_single_relu_model'));
    const first = await validateModel(s3.store, key);
    s3.resetRequests();

    const second = await validateModel(s3.store, key);

    assert.equal(first.outcome, 'validated');
    assert.equal(second.outcome, 'unchanged');
    assert.deepEqual(metadataOf(second), metadataOf(first));
    assert.equal(s3.count('GetObject', key), 0);
    assert.equal(s3.count('PutObject'), 0);
  });

  it('validates again when the model file was replaced by other bytes', async () => {
    const { key } = await upload('replaced', 'garbage');
    const first = metadataOf(await validateModel(s3.store, key));
    await s3.store.put(key, await backendModel('test_single_relu_model'));

    const second = await validateModel(s3.store, key);

    assert.equal(first.status, 'invalid');
    assert.equal(second.outcome, 'validated');
    assert.equal(metadataOf(second).status, 'valid');
  });

  it('keeps the verdict for the same bytes under another ETag, naming the new ETag', async () => {
    const { name, key } = await upload('same-bytes', await backendModel('test_single_relu_model'));
    const first = metadataOf(await validateModel(s3.store, key));
    await s3.store.put(`models/${name}/1/metadata.json`, JSON.stringify({ ...first, etag: 'an-older-etag' }));

    const second = await validateModel(s3.store, key);

    assert.equal(second.outcome, 'unchanged');
    assert.deepEqual(await storedMetadata(name), first);
  });

  it('validates again over metadata.json written by another validator version', async () => {
    const { name, key } = await upload('older-validator', await backendModel('test_single_relu_model'));
    const first = metadataOf(await validateModel(s3.store, key));
    await s3.store.put(
      `models/${name}/1/metadata.json`,
      JSON.stringify({ ...first, validator_version: '0' }),
    );

    const second = await validateModel(s3.store, key);

    assert.equal(second.outcome, 'validated');
    assert.equal((await storedMetadata(name)).validator_version, VALIDATOR_VERSION);
  });

  it('ignores keys that are not model files, and objects gone by the time the event arrives', async () => {
    s3.resetRequests();
    const notModel = await validateModel(s3.store, 'models/iris/1/metadata.json');
    const badVersion = await validateModel(s3.store, 'models/iris/01/model.onnx');
    const requestsForBadKeys = s3.requests.length;
    const gone = await validateModel(s3.store, 'models/never-uploaded/1/model.onnx');

    assert.deepEqual(notModel, {
      outcome: 'ignored',
      key: 'models/iris/1/metadata.json',
      reason: 'not a model file: expected models/{name}/{version}/model.onnx',
    });
    assert.equal(badVersion.outcome, 'ignored');
    assert.equal(requestsForBadKeys, 0, 'keys outside the layout never reach the store');
    assert.deepEqual(gone, {
      outcome: 'ignored',
      key: 'models/never-uploaded/1/model.onnx',
      reason: 'the object no longer exists',
    });
  });

  it('throws StorageUnavailableError when the store fails, writing nothing', async () => {
    const { name, key } = await upload('store-down', await backendModel('test_single_relu_model'));
    await s3.setFault('status503', (request) => request.method === 'GET' && request.key === key);

    await assert.rejects(validateModel(s3.store, key), StorageUnavailableError);
    await s3.setFault(null);
    assert.equal(await s3.store.head(`models/${name}/1/metadata.json`), undefined);
  });
});
