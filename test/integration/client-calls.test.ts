/**
 * The calls a Triton or KServe client makes beyond plain inference, through the serving core
 * wired as in Lambda (createServing over a real S3-compatible server, real onnxruntime): error
 * order, model configuration, statistics, repository load/unload, compression, classification
 * and the v1 protocol. Shapes follow Triton's protocol extension documents.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deflateSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import { buildOnnxModel } from '../../scripts/lib/onnx/graph-builder.ts';
import { readServingConfig } from '../../src/config/serving-config.ts';
import type { HttpRequest } from '../../src/http/app.ts';
import { createServing } from '../../src/serving.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { publishValidated } from '../helpers/validated.ts';

const LABELS = ['setosa', 'versicolor', 'virginica'];
const FEATURES = ['a', 'b', 'c'];

/**
 * `input` [batch, 3] → scores = input·Wᵀ → `probabilities` = Softmax(scores) [batch, 3] and
 * `label` = ArgMax(scores) [batch] (int64). W is the identity: the largest feature wins.
 */
const CLASSIFIER = buildOnnxModel({
  inputs: [{ name: 'input', elemType: 'float32', shape: ['batch', 3] }],
  outputs: [
    { name: 'label', elemType: 'int64', shape: ['batch'] },
    { name: 'probabilities', elemType: 'float32', shape: ['batch', 3] },
  ],
  initializers: [{ name: 'w', elemType: 'float32', dims: [3, 3], data: [1, 0, 0, 0, 1, 0, 0, 0, 1] }],
  nodes: [
    { opType: 'MatMul', inputs: ['input', 'w'], outputs: ['scores'] },
    { opType: 'Softmax', inputs: ['scores'], outputs: ['probabilities'], attributes: { axis: { int: 1 } } },
    {
      opType: 'ArgMax',
      inputs: ['scores'],
      outputs: ['label'],
      attributes: { axis: { int: 1 }, keepdims: { int: 0 } },
    },
  ],
});

/** `x` [2] → `y` = x (no batch dimension). */
const FIXED = buildOnnxModel({
  inputs: [{ name: 'x', elemType: 'float32', shape: [2] }],
  outputs: [{ name: 'y', elemType: 'float32', shape: [2] }],
  nodes: [{ opType: 'Identity', inputs: ['x'], outputs: ['y'] }],
});

/** Two inputs `a`, `b` [batch, 2] → `sum` = a + b. */
const ADDER = buildOnnxModel({
  inputs: [
    { name: 'a', elemType: 'float32', shape: ['batch', 2] },
    { name: 'b', elemType: 'float32', shape: ['batch', 2] },
  ],
  outputs: [{ name: 'sum', elemType: 'float32', shape: ['batch', 2] }],
  nodes: [{ opType: 'Add', inputs: ['a', 'b'], outputs: ['sum'] }],
});

let s3: TestS3Server;
let serving: ReturnType<typeof createServing>;

const encoder = new TextEncoder();
const json = (value: unknown) => encoder.encode(JSON.stringify(value));

function inferBody(rows: number[][], outputs?: unknown[]) {
  return {
    inputs: [{ name: 'input', shape: [rows.length, 3], datatype: 'FP32', data: rows.flat() }],
    ...(outputs === undefined ? {} : { outputs }),
  };
}

async function call(method: string, path: string, body?: unknown, headers?: HttpRequest['headers']) {
  const outcome = await serving.handle({
    method,
    path,
    headers,
    body: body === undefined ? undefined : body instanceof Uint8Array ? body : json(body),
  });
  const { response } = outcome;
  const text = response.compressed === undefined ? response.body : '';
  return {
    outcome,
    status: response.status,
    headers: response.headers,
    json: text === '' ? undefined : JSON.parse(text),
  };
}

before(async () => {
  s3 = await startS3Server();
  await publishValidated(s3.store, {
    name: 'clf',
    version: 1,
    model: CLASSIFIER,
    config: { task: 'classification', labels: LABELS, feature_names: FEATURES },
  });
  await publishValidated(s3.store, { name: 'clf', version: 2, model: CLASSIFIER });
  await publishValidated(s3.store, { name: 'fixed', version: 1, model: FIXED });
  await publishValidated(s3.store, { name: 'adder', version: 1, model: ADDER });
  await publishValidated(s3.store, { name: 'counted', version: 1, model: ADDER });
  serving = createServing(readServingConfig({ MODEL_BUCKET: s3.bucket, MAX_INFLATED_BYTES: '100000' }), {
    store: s3.store,
  });
});

after(async () => {
  await s3?.close();
});

describe('errors in the order clients expect', () => {
  it('an unknown version is 404 whatever the body', async () => {
    const { status, json: body } = await call('POST', '/v2/models/clf/versions/999/infer', { inputs: [] });

    assert.equal(status, 404);
    assert.match(body.error, /version 999/);
  });

  it('an unknown model is 404 even without a body or with malformed JSON', async () => {
    const empty = await call('POST', '/v2/models/nope/infer');
    const malformed = await call('POST', '/v2/models/clf/versions/7/infer', encoder.encode('{"inputs": ['));

    assert.equal(empty.status, 404);
    assert.equal(malformed.status, 404);
  });

  it('a known model with a bad body is 400 about the body', async () => {
    const { status, json: body } = await call('POST', '/v2/models/clf/infer', { inputs: [] });

    assert.equal(status, 400);
    assert.match(body.error, /inputs/);
  });

  it('an unknown route under /v2/models/{name}/ names the routes there are', async () => {
    const { status, json: body } = await call('GET', '/v2/models/clf/metadata');

    assert.equal(status, 404);
    assert.match(
      body.error,
      /no route for GET \/v2\/models\/clf\/metadata; the routes under \/v2\/models\/\{name\}\/ are .*config.*stats/,
    );
  });
});

describe('model configuration (Triton JSON)', () => {
  it('describes a batchable classifier with its config.json settings', async () => {
    const { status, json: config } = await call('GET', '/v2/models/clf/versions/1/config');

    assert.equal(status, 200);
    assert.equal(config.name, 'clf');
    assert.equal(config.platform, 'onnxruntime_onnx');
    assert.equal(config.backend, 'onnxruntime');
    assert.ok(config.max_batch_size > 0);
    assert.deepEqual(config.version_policy, { all: {} });
    assert.deepEqual(
      config.input.map((input: { name: string; data_type: string; dims: number[] }) => [
        input.name,
        input.data_type,
        input.dims,
      ]),
      [['input', 'TYPE_FP32', [3]]],
    );
    assert.deepEqual(
      config.output.map((output: { name: string; data_type: string; dims: number[] }) => [
        output.name,
        output.data_type,
        output.dims,
      ]),
      [
        ['label', 'TYPE_INT64', []],
        ['probabilities', 'TYPE_FP32', [3]],
      ],
    );
    assert.deepEqual(JSON.parse(config.parameters.labels.string_value), LABELS);
    assert.equal(config.parameters.task.string_value, 'classification');
  });

  it('a model without a free first dimension has max_batch_size 0 and its full dims', async () => {
    const { json: config } = await call('GET', '/v2/models/fixed/config');

    assert.equal(config.max_batch_size, 0);
    assert.deepEqual(config.input[0].dims, [2]);
  });

  it('an unknown model is 404', async () => {
    assert.equal((await call('GET', '/v2/models/nope/config')).status, 404);
  });
});

describe('classification extension', () => {
  it('returns the top-k as BYTES "score:index:label", per row', async () => {
    const { status, json: body } = await call(
      'POST',
      '/v2/models/clf/versions/1/infer',
      inferBody(
        [
          [0, 3, 1],
          [2, 0, 0],
        ],
        [{ name: 'probabilities', parameters: { classification: 2 } }],
      ),
    );

    assert.equal(status, 200, JSON.stringify(body));
    const [output] = body.outputs;
    assert.equal(output.datatype, 'BYTES');
    assert.deepEqual(output.shape, [2, 2]);
    const parsed = output.data.map((text: string) => text.split(':'));
    assert.deepEqual(
      parsed.map((parts: string[]) => parts.slice(1)),
      [
        ['1', 'versicolor'],
        ['2', 'virginica'],
        ['0', 'setosa'],
        ['1', 'versicolor'],
      ],
    );
    // Scores are the softmax values, highest first within a row.
    const scores = parsed.map((parts: string[]) => Number(parts[0]));
    assert.ok(Math.abs(scores[0] - Math.exp(3) / (1 + Math.exp(3) + Math.exp(1))) < 1e-6);
    assert.ok(scores[0] > scores[1] && scores[2] > scores[3]);
  });

  it('no labels without config.json labels; k is capped at the number of classes', async () => {
    const { json: body } = await call('POST', '/v2/models/adder/infer', {
      inputs: [
        { name: 'a', shape: [1, 2], datatype: 'FP32', data: [1, 2] },
        { name: 'b', shape: [1, 2], datatype: 'FP32', data: [10, 20] },
      ],
      outputs: [{ name: 'sum', parameters: { classification: 10 } }],
    });

    assert.deepEqual(body.outputs[0].shape, [1, 2]);
    assert.deepEqual(body.outputs[0].data, ['22:1', '11:0']);
  });

  it('a classified output asked for as binary data comes as BYTES elements (4-byte length, UTF-8)', async () => {
    const { outcome } = await call(
      'POST',
      '/v2/models/clf/versions/1/infer',
      inferBody(
        [[0, 0, 4]],
        [{ name: 'probabilities', parameters: { classification: 1, binary_data: true } }],
      ),
    );
    const { response } = outcome;

    assert.equal(response.status, 200, response.body);
    const head = JSON.parse(response.body);
    assert.equal(head.outputs[0].datatype, 'BYTES');
    const bytes = Buffer.from(response.binary ?? []);
    assert.equal(head.outputs[0].parameters.binary_data_size, bytes.byteLength);
    const length = bytes.readUInt32LE(0);
    assert.match(bytes.subarray(4, 4 + length).toString('utf8'), /^0\.9[0-9]*:2:virginica$/);
  });

  it('rejects a count that is not a positive integer', async () => {
    const { status, json: body } = await call(
      'POST',
      '/v2/models/clf/infer',
      inferBody([[1, 2, 3]], [{ name: 'probabilities', parameters: { classification: 0 } }]),
    );

    assert.equal(status, 400);
    assert.match(body.error, /output 'probabilities': parameters\.classification must be an integer/);
  });

  it('is advertised in server metadata with the other extensions', async () => {
    const { json: body } = await call('GET', '/v2');

    for (const extension of ['model_repository', 'model_configuration', 'statistics', 'classification']) {
      assert.ok(body.extensions.includes(extension), extension);
    }
  });
});

describe('statistics extension (this instance)', () => {
  it('counts successes per batch size and failures, in Triton shape', async () => {
    const before = (await call('GET', '/v2/models/counted/stats')).json;
    const pair = (rows: number) => ({
      inputs: ['a', 'b'].map((name) => ({
        name,
        shape: [rows, 2],
        datatype: 'FP32',
        data: Array(rows * 2).fill(1),
      })),
    });

    assert.equal((await call('POST', '/v2/models/counted/infer', pair(2))).status, 200);
    assert.equal((await call('POST', '/v2/models/counted/infer', pair(1))).status, 200);
    assert.equal((await call('POST', '/v2/models/counted/infer', { inputs: [] })).status, 400);
    const { status, json: after } = await call('GET', '/v2/models/counted/stats');

    assert.equal(status, 200);
    assert.deepEqual(before.model_stats[0].inference_count, 0);
    const [stat] = after.model_stats;
    assert.equal(stat.name, 'counted');
    assert.equal(stat.version, '1');
    assert.equal(stat.inference_count, 3);
    assert.equal(stat.execution_count, 2);
    assert.ok(stat.last_inference > 0);
    const stats = stat.inference_stats;
    assert.equal(stats.success.count, 2);
    assert.equal(stats.fail.count, 1);
    for (const key of ['queue', 'compute_input', 'compute_infer', 'compute_output']) {
      assert.equal(stats[key].count, 2, key);
    }
    assert.ok(stats.success.ns >= stats.compute_infer.ns);
    assert.deepEqual(stats.cache_hit, { count: 0, ns: 0 });
    assert.deepEqual(
      stat.batch_stats.map((batch: { batch_size: number; compute_infer: { count: number } }) => [
        batch.batch_size,
        batch.compute_infer.count,
      ]),
      [
        [1, 1],
        [2, 1],
      ],
    );
    assert.equal(stat.memory_usage[0].type, 'CPU');
  });

  it('lists every version of a model, one version, or every model used here', async () => {
    await call('POST', '/v2/models/clf/versions/1/infer', inferBody([[1, 2, 3]]));

    const model = (await call('GET', '/v2/models/clf/stats')).json;
    const version = (await call('GET', '/v2/models/clf/versions/2/stats')).json;
    const all = (await call('GET', '/v2/models/stats')).json;

    assert.deepEqual(
      model.model_stats.map((stat: { version: string }) => stat.version),
      ['1', '2'],
    );
    assert.deepEqual(
      version.model_stats.map((stat: { version: string }) => stat.version),
      ['2'],
    );
    const names = all.model_stats.map(
      (stat: { name: string; version: string }) => `${stat.name}/${stat.version}`,
    );
    assert.ok(names.includes('clf/1') && names.includes('counted/1'), names.join());
  });

  it('an unknown model or version is 404', async () => {
    assert.equal((await call('GET', '/v2/models/nope/stats')).status, 404);
    assert.equal((await call('GET', '/v2/models/clf/versions/9/stats')).status, 404);
  });
});

describe('repository load and unload (this instance)', () => {
  it('unload releases the model and readiness says so; load makes it ready again', async () => {
    assert.equal((await call('GET', '/v2/models/fixed/ready')).status, 200);
    const loadedBefore = serving.loader.isLoaded('models/fixed/1/model.onnx');

    const unload = await call('POST', '/v2/repository/models/fixed/unload');
    const notReady = await call('GET', '/v2/models/fixed/ready');
    const loadedAfterUnload = serving.loader.isLoaded('models/fixed/1/model.onnx');
    const load = await call('POST', '/v2/repository/models/fixed/load', {});
    const ready = await call('GET', '/v2/models/fixed/ready');

    assert.equal(loadedBefore, true);
    assert.equal(unload.status, 200);
    assert.equal(notReady.status, 503);
    assert.match(notReady.json.error, /unloaded in this instance/);
    assert.equal(loadedAfterUnload, false);
    assert.equal(load.status, 200);
    assert.equal(ready.status, 200);
    assert.equal(serving.loader.isLoaded('models/fixed/1/model.onnx'), true);
  });

  it('the index with {"ready": true} lists the versions loaded here, READY', async () => {
    await call('POST', '/v2/repository/models/fixed/load');
    await call('POST', '/v2/repository/models/adder/unload');

    const ready = await call('POST', '/v2/repository/index', { ready: true });
    const all = await call('POST', '/v2/repository/index');
    const bad = await call('POST', '/v2/repository/index', { ready: 'yes' });

    const entries = ready.json.map((entry: { name: string; version: string; state: string }) =>
      [entry.name, entry.version, entry.state].join('/'),
    );
    assert.ok(entries.includes('fixed/1/READY'), entries.join());
    assert.ok(!entries.some((entry: string) => entry.startsWith('adder/')), entries.join());
    assert.ok(
      all.json.some(
        (entry: { name: string; state: string }) => entry.name === 'adder' && entry.state === 'AVAILABLE',
      ),
    );
    assert.equal(bad.status, 400);
  });

  it('an inference after an unload loads the model again', async () => {
    await call('POST', '/v2/repository/models/fixed/unload', { parameters: { unload_dependents: false } });

    const inferred = await call('POST', '/v2/models/fixed/infer', {
      inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [1, 2] }],
    });

    assert.equal(inferred.status, 200);
    assert.equal((await call('GET', '/v2/models/fixed/ready')).status, 200);
  });

  it('errors: unknown model 404, bad name 400, model files in the request 400, bad body 400', async () => {
    const unknownLoad = await call('POST', '/v2/repository/models/nope/load');
    const unknownUnload = await call('POST', '/v2/repository/models/nope/unload');
    const badName = await call('POST', '/v2/repository/models/..bad/load');
    const override = await call('POST', '/v2/repository/models/clf/load', {
      parameters: { config: '{}', 'file:1/model.onnx': 'AAAA' },
    });
    const notObject = await call('POST', '/v2/repository/models/clf/load', [1]);
    const getLoad = await call('GET', '/v2/repository/models/clf/load');

    assert.equal(unknownLoad.status, 404);
    assert.equal(unknownUnload.status, 404);
    assert.equal(badName.status, 400);
    assert.equal(override.status, 400);
    assert.match(override.json.error, /load parameter 'config' is not supported/);
    assert.equal(notObject.status, 400);
    assert.equal(getLoad.status, 405);
  });
});

describe('compression', () => {
  const rows = Array.from({ length: 200 }, (_, i) => [i % 3, (i + 1) % 3, (i + 2) % 3]);

  it('reads gzip and deflate request bodies', async () => {
    for (const [coding, compress] of [
      ['gzip', gzipSync],
      ['deflate', deflateSync],
    ] as const) {
      const body = compress(json(inferBody([[1, 2, 3]])));
      const { status, json: answer } = await call('POST', '/v2/models/clf/infer', body, {
        'content-encoding': coding,
      });

      assert.equal(status, 200, `${coding}: ${JSON.stringify(answer)}`);
      assert.deepEqual(answer.outputs[0].data, [2]);
    }
  });

  it('a compressed binary request: the header gives the length of the uncompressed JSON part', async () => {
    const header = json({
      inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 12 } }],
      outputs: [{ name: 'label' }],
    });
    const tensor = new Uint8Array(new Float32Array([0, 0, 9]).buffer);
    const body = gzipSync(Buffer.concat([header, tensor]));

    const { status, json: answer } = await call('POST', '/v2/models/clf/infer', body, {
      'content-encoding': 'gzip',
      'inference-header-content-length': String(header.byteLength),
    });

    assert.equal(status, 200, JSON.stringify(answer));
    assert.deepEqual(answer.outputs[0].data, [2]);
  });

  it('stops inflating at the ceiling: 413', async () => {
    const bomb = gzipSync(Buffer.alloc(1_000_000, 32));

    const { status, json: answer } = await call('POST', '/v2/models/clf/infer', bomb, {
      'content-encoding': 'gzip',
    });

    assert.ok(bomb.byteLength < 100_000);
    assert.equal(status, 413);
    assert.match(answer.error, /inflates to more than 100000 bytes/);
  });

  it('a corrupt stream is 400 and an unknown coding 415', async () => {
    const corrupt = await call('POST', '/v2/models/clf/infer', json(inferBody([[1, 2, 3]])), {
      'content-encoding': 'gzip',
    });
    const unknown = await call('POST', '/v2/models/clf/infer', json(inferBody([[1, 2, 3]])), {
      'content-encoding': 'br',
    });

    assert.equal(corrupt.status, 400);
    assert.match(corrupt.json.error, /not valid gzip data/);
    assert.equal(unknown.status, 415);
  });

  it('compresses a large response for a client that accepts gzip or deflate', async () => {
    const plain = await call('POST', '/v2/models/clf/infer', inferBody(rows));
    for (const [coding, decompress] of [
      ['gzip', gunzipSync],
      ['deflate', inflateSync],
    ] as const) {
      const { outcome } = await call('POST', '/v2/models/clf/infer', inferBody(rows), {
        'accept-encoding': coding,
      });
      const { response } = outcome;

      assert.equal(response.headers['content-encoding'], coding);
      assert.equal(response.headers.vary, 'accept-encoding');
      const compressed = response.compressed ?? new Uint8Array();
      assert.ok(compressed.byteLength < Buffer.byteLength(response.body) / 2);
      const answer = JSON.parse(decompress(compressed).toString('utf8'));
      assert.deepEqual(
        answer.outputs.map((output: { data: unknown }) => output.data),
        plain.json.outputs.map((output: { data: unknown }) => output.data),
      );
    }
  });

  it('leaves small responses and clients that refuse compression alone', async () => {
    const small = await call('GET', '/v2/models/clf', undefined, { 'accept-encoding': 'gzip' });
    const refused = await call('POST', '/v2/models/clf/infer', inferBody(rows), {
      'accept-encoding': 'gzip;q=0',
    });

    assert.equal(small.headers['content-encoding'], undefined);
    assert.equal(small.outcome.response.compressed, undefined);
    assert.equal(refused.headers['content-encoding'], undefined);
  });
});

describe('v1 protocol', () => {
  it('lists models and reports readiness', async () => {
    const models = await call('GET', '/v1/models');
    const ready = await call('GET', '/v1/models/clf');
    const unknown = await call('GET', '/v1/models/nope');

    assert.ok(models.json.models.includes('clf'));
    assert.deepEqual(ready.json, { name: 'clf', ready: true });
    assert.equal(unknown.status, 404);
  });

  it('row format: instances as lists or as feature objects → predictions per instance', async () => {
    const lists = await call('POST', '/v1/models/clf:predict', {
      instances: [
        [5, 0, 0],
        [0, 0, 5],
      ],
    });
    const objects = await call('POST', '/v1/models/clf/versions/1:predict', {
      instances: [{ a: 0, b: 5, c: 1 }],
    });

    assert.equal(lists.status, 200, JSON.stringify(lists.json));
    assert.deepEqual(
      lists.json.predictions.map((prediction: { label: number }) => prediction.label),
      [0, 2],
    );
    assert.equal(lists.json.predictions[0].probabilities.length, 3);
    assert.equal(objects.status, 200, JSON.stringify(objects.json));
    assert.equal(objects.json.predictions[0].label, 1);
  });

  it('columnar format: inputs → outputs, also as feature columns', async () => {
    const tensor = await call('POST', '/v1/models/clf:predict', { inputs: [[1, 9, 0]] });
    const columns = await call('POST', '/v1/models/clf/versions/1:predict', {
      inputs: { a: [9, 0], b: [0, 0], c: [0, 9] },
    });
    const multi = await call('POST', '/v1/models/adder:predict', {
      instances: [{ a: [1, 2], b: [10, 20] }],
    });

    assert.deepEqual(tensor.json.outputs.label, [1]);
    assert.deepEqual(columns.json.outputs.label, [0, 2]);
    assert.deepEqual(multi.json, { predictions: [[11, 22]] });
  });

  it('is captured like v2, with the prediction id in a header', async () => {
    const v1Serving = createServing(readServingConfig({ MODEL_BUCKET: s3.bucket }), { store: s3.store });

    const outcome = await v1Serving.handle({
      method: 'POST',
      path: '/v1/models/clf/versions/1:predict',
      body: json({ instances: [{ a: 1, b: 0, c: 0 }] }),
    });

    assert.equal(outcome.response.status, 200, outcome.response.body);
    assert.equal(outcome.captures?.length, 1);
    assert.equal(outcome.captures?.[0]?.id, outcome.response.headers['x-prediction-id']);
    assert.equal(outcome.captures?.[0]?.model, 'clf');
  });

  it('errors: unknown model before the body, bad bodies 400, other verbs 404', async () => {
    const unknown = await call('POST', '/v1/models/nope:predict', { nothing: 1 });
    const neither = await call('POST', '/v1/models/clf:predict', { rows: [] });
    const both = await call('POST', '/v1/models/clf:predict', {
      instances: [[1, 2, 3]],
      inputs: [[1, 2, 3]],
    });
    const ragged = await call('POST', '/v1/models/clf:predict', {
      instances: [
        [1, 2, 3],
        [1, 2],
      ],
    });
    const feature = await call('POST', '/v1/models/clf/versions/1:predict', {
      instances: [{ a: 1, b: 2, z: 3 }],
    });
    const explain = await call('POST', '/v1/models/clf:explain', { instances: [[1, 2, 3]] });

    assert.equal(unknown.status, 404);
    assert.equal(neither.status, 400);
    assert.match(neither.json.error, /'instances' \(row format\) or 'inputs'/);
    assert.equal(both.status, 400);
    assert.equal(ragged.status, 400);
    assert.match(ragged.json.error, /ragged/);
    assert.equal(feature.status, 400);
    assert.match(feature.json.error, /unknown feature 'z'/);
    assert.equal(explain.status, 404);
    assert.match(explain.json.error, /:predict/);
  });
});
