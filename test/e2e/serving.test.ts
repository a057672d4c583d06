/**
 * The HTTP API end to end, against each target of `E2E_TARGETS` (test/helpers/targets.ts): the
 * local stack (API Gateway events for the Lambda bundles) and the plain HTTP server off Lambda,
 * both on the local S3 server with the demo models. Target-specific parts: the body limit (6 MB
 * on Lambda, `MAX_BODY_BYTES` off it) and the telemetry (EMF documents, Prometheus /metrics).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ObjectStore } from '../../src/ports/object-store.ts';
import { publishModel } from '../../src/repository/publish.ts';
import { requestJson } from '../helpers/http.ts';
import { jsonLines } from '../helpers/local-stack.ts';
import { assertOip } from '../helpers/oip-schema.ts';
import { conformanceDir } from '../helpers/paths.ts';
import { type RunningTarget, startTarget, type TargetKind, targetKinds } from '../helpers/targets.ts';

/** The server's body limit in this suite: above Lambda's 6 MB, small enough to test the 413. */
const SERVER_MAX_BODY_BYTES = 16 * 1024 * 1024;

function readCsv(text: string): { header: string[]; rows: string[][] } {
  const [head = '', ...rest] = text.trim().split('\n');
  return { header: head.split(','), rows: rest.map((line) => line.split(',')) };
}

for (const kind of targetKinds()) {
  describe(`target: ${kind}`, () => {
    suite(kind);
  });
}

function suite(kind: TargetKind) {
  let target: RunningTarget;
  let store: ObjectStore;

  before(async () => {
    target = await startTarget(kind, {
      env: kind === 'server' ? { MAX_BODY_BYTES: String(SERVER_MAX_BODY_BYTES) } : {},
    });
    store = target.store;
  });

  after(async () => {
    await target?.stop();
  });

  describe(`${kind}: server endpoints`, () => {
    it('answers liveness, readiness and server metadata per the protocol', async () => {
      const live = await requestJson(`${target.apiUrl}/v2/health/live`);
      const ready = await requestJson(`${target.apiUrl}/v2/health/ready`);
      const metadata = await requestJson(`${target.apiUrl}/v2`);

      assert.equal(live.status, 200);
      assert.equal(ready.status, 200);
      assert.equal(metadata.status, 200);
      assertOip('metadata_server_response', metadata.body);
      assert.ok((metadata.body as { extensions: string[] }).extensions.includes('model_repository'));
    });

    it('lists the published demo models in the repository index', async () => {
      const index = await requestJson(`${target.apiUrl}/v2/repository/index`, { method: 'POST', body: {} });

      assert.equal(index.status, 200);
      const names = (index.body as { name: string }[]).map((entry) => entry.name);
      for (const name of ['breast-cancer', 'iris', 'wine'])
        assert.ok(names.includes(name), `${name} in ${names}`);
    });
  });

  describe(`${kind}: demo models`, () => {
    for (const name of ['breast-cancer', 'iris', 'wine']) {
      it(`${name}: metadata fits the protocol and hold-out rows get sensible labels`, async () => {
        const metadata = await requestJson(`${target.apiUrl}/v2/models/${name}`);
        assert.equal(metadata.status, 200, metadata.text);
        assertOip('metadata_model_response', metadata.body);
        const { inputs, platform } = metadata.body as {
          inputs: { name: string; shape: number[] }[];
          platform: string;
        };
        assert.equal(platform, 'onnx_onnxv1');
        assert.deepEqual(inputs[0]?.shape[0], -1);

        const holdout = readCsv(
          await readFile(join(target.stateDir, 'demo-models', name, 'holdout.csv'), 'utf8'),
        );
        const labelColumn = holdout.header.indexOf('label');
        const features = holdout.rows.map((row) => row.filter((_, i) => i !== labelColumn).map(Number));
        const config = JSON.parse(
          await readFile(join(target.stateDir, 'demo-models', name, 'config.json'), 'utf8'),
        ) as { labels: string[] };
        const width = features[0]?.length ?? 0;

        const response = await requestJson(`${target.apiUrl}/v2/models/${name}/infer`, {
          body: {
            id: `holdout-${name}`,
            inputs: [
              { name: inputs[0]?.name, shape: [features.length, width], datatype: 'FP32', data: features },
            ],
          },
        });

        assert.equal(response.status, 200, response.text);
        assertOip('inference_response', response.body);
        const body = response.body as {
          id: string;
          model_version: string;
          outputs: { name: string; data: number[] }[];
        };
        assert.equal(body.id, `holdout-${name}`);
        assert.equal(body.model_version, '1');
        const labels = body.outputs.find((output) => output.name === 'label')?.data ?? [];
        const truth = holdout.rows.map((row) => Number(row[labelColumn]));
        const correct = labels.filter((label, i) => label === truth[i]).length;
        assert.equal(labels.length, truth.length);
        assert.ok(correct / truth.length >= 0.85, `accuracy ${correct}/${truth.length}`);
        assert.ok(labels.every((label) => label >= 0 && label < config.labels.length));
      });
    }

    it('generates an id when the request has none, and honours the outputs filter', async () => {
      const response = await requestJson(`${target.apiUrl}/v2/models/iris/infer`, {
        body: {
          inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [6.3, 3.3, 6.0, 2.5] }],
          outputs: [{ name: 'probabilities' }],
        },
      });

      assert.equal(response.status, 200, response.text);
      const body = response.body as {
        id: string;
        outputs: { name: string; shape: number[]; data: number[] }[];
      };
      assert.match(body.id, /^[0-9a-f-]{36}$/);
      assert.deepEqual(
        body.outputs.map((output) => [output.name, output.shape]),
        [['probabilities', [1, 3]]],
      );
      const sum = body.outputs[0]?.data.reduce((a, b) => a + b, 0) ?? 0;
      assert.ok(Math.abs(sum - 1) < 1e-5);
    });

    it('decodes base64-encoded bodies (binary content types arrive that way from API Gateway)', async () => {
      const response = await requestJson(`${target.apiUrl}/v2/models/iris/infer`, {
        rawBody: JSON.stringify({
          inputs: [{ name: 'input', shape: [4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
        }),
        headers: { 'content-type': 'application/octet-stream' },
      });

      // Rank 1 against the model's [-1, 4]: the error proves the body was decoded and read.
      assert.equal(response.status, 400);
      assert.match((response.body as { error: string }).error, /input 'input'/);
    });
  });

  describe(`${kind}: errors`, () => {
    const cases: {
      title: string;
      path: string;
      method?: string;
      body?: unknown;
      rawBody?: string;
      status: number;
      match: RegExp;
    }[] = [
      {
        title: 'unknown model',
        path: '/v2/models/no-such-model/infer',
        body: { inputs: [{ name: 'input', shape: [1], datatype: 'FP32', data: [1] }] },
        status: 404,
        match: /no-such-model/,
      },
      {
        title: 'unknown version',
        path: '/v2/models/iris/versions/99/infer',
        body: { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] },
        status: 404,
        match: /99/,
      },
      {
        title: 'bad model name',
        path: '/v2/models/..%2Fsecrets/infer',
        body: { inputs: [{ name: 'input', shape: [1], datatype: 'FP32', data: [1] }] },
        status: 400,
        match: /model name/,
      },
      {
        title: 'malformed JSON',
        path: '/v2/models/iris/infer',
        rawBody: '{"inputs": [',
        status: 400,
        match: /JSON/,
      },
      {
        title: 'wrong datatype',
        path: '/v2/models/iris/infer',
        body: { inputs: [{ name: 'input', shape: [1, 4], datatype: 'INT64', data: [1, 2, 3, 4] }] },
        status: 400,
        match: /FP32/,
      },
      {
        title: 'wrong element count',
        path: '/v2/models/iris/infer',
        body: { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3] }] },
        status: 400,
        match: /4/,
      },
      {
        title: 'wrong fixed dimension',
        path: '/v2/models/iris/infer',
        body: { inputs: [{ name: 'input', shape: [1, 5], datatype: 'FP32', data: [1, 2, 3, 4, 5] }] },
        status: 400,
        match: /expected 4/,
      },
      { title: 'unknown route', path: '/v2/nothing-here', status: 404, match: /route/ },
      { title: 'wrong method', path: '/v2/models/iris/infer', method: 'GET', status: 405, match: /POST/ },
    ];

    for (const testCase of cases) {
      it(`${testCase.title} → ${testCase.status} with a specific message`, async () => {
        const response = await requestJson(`${target.apiUrl}${testCase.path}`, {
          method: testCase.method,
          body: testCase.body,
          rawBody: testCase.rawBody,
        });

        assert.equal(response.status, testCase.status, response.text);
        assertOip('inference_error_response', response.body);
        assert.match((response.body as { error: string }).error, testCase.match);
        assert.doesNotMatch(response.text, /at .*\.(ts|js|mjs):\d+/);
      });
    }

    if (kind === 'stack') {
      it('a body over 6 MB → 413', async () => {
        const response = await requestJson(`${target.apiUrl}/v2/models/iris/infer`, {
          rawBody: `{"inputs": [${' '.repeat(6 * 1024 * 1024)}]}`,
        });

        assert.equal(response.status, 413);
        assert.match((response.body as { error: string }).error, /bytes/);
      });
    }
  });

  describe(`${kind}: model repository`, () => {
    it('serves a model uploaded to the bucket, and a new version as soon as it is asked for', async () => {
      const relu = await readFile(
        join(conformanceDir(), 'onnx-backend', 'simple', 'test_single_relu_model', 'model.onnx'),
      );
      const sign = await readFile(
        join(conformanceDir(), 'onnx-backend', 'simple', 'test_sign_model', 'model.onnx'),
      );
      await publishModel(store, { name: 'uploaded', version: 1, model: relu });
      await target.validated('uploaded', 1);

      const first = await requestJson(`${target.apiUrl}/v2/models/uploaded/infer`, {
        body: { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [-1, 2] }] },
      });
      await publishModel(store, { name: 'uploaded', version: 2, model: sign });
      await target.validated('uploaded', 2);
      const second = await requestJson(`${target.apiUrl}/v2/models/uploaded/versions/2/infer`, {
        body: { inputs: [{ name: 'x', shape: [7], datatype: 'FP32', data: [-3, -2, -1, 0, 1, 2, 3] }] },
      });

      assert.equal(first.status, 200, first.text);
      assert.deepEqual((first.body as { outputs: { data: number[] }[] }).outputs[0]?.data, [0, 2]);
      assert.equal(second.status, 200, second.text);
      assert.deepEqual(
        (second.body as { outputs: { data: number[] }[] }).outputs[0]?.data,
        [-1, -1, -1, 0, 1, 1, 1],
      );
    });

    it('answers 422 for a file that is not a loadable model, and 503-free afterwards', async () => {
      await store.put('models/broken/1/model.onnx', new TextEncoder().encode('not an onnx model'));
      await target.validated('broken', 1);

      const response = await requestJson(`${target.apiUrl}/v2/models/broken/infer`, {
        body: { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] },
      });
      const ready = await requestJson(`${target.apiUrl}/v2/models/broken/ready`);

      assert.equal(response.status, 422, response.text);
      assert.match((response.body as { error: string }).error, /broken/);
      assert.equal(ready.status, 422);
    });
  });

  if (kind === 'stack') {
    describe('stack: telemetry', () => {
      it('prints EMF metrics with model and version dimensions, and request logs with a request id', async () => {
        await requestJson(`${target.apiUrl}/v2/models/wine/infer`, {
          body: { inputs: [{ name: 'input', shape: [1, 13], datatype: 'FP32', data: Array(13).fill(1) }] },
        });

        const documents = jsonLines(target.lines);
        const emf = documents.filter((doc) => typeof doc._aws === 'object');
        const perModel = emf.find(
          (doc) =>
            doc.model === 'wine' &&
            JSON.stringify(doc._aws).includes('InferenceTime') &&
            JSON.stringify(doc._aws).includes('["service"],["service","model","version"]'),
        );
        assert.ok(perModel, 'an EMF document with InferenceTime per model and version');
        for (const metric of ['Requests', 'RequestTime', 'RequestBytes', 'ResponseBytes', 'InferenceTime']) {
          assert.equal(typeof perModel[metric], 'number', metric);
        }
        assert.ok(
          emf.some((doc) => 'ColdStart' in doc),
          'a cold start metric',
        );
        assert.ok(
          emf.some((doc) => 'ModelLoadTime' in doc && doc.model === 'wine'),
          'the model load time',
        );
        const requestLog = documents.find((doc) => doc.message === 'request' && doc.model === 'wine');
        assert.ok(requestLog, 'a structured request log line');
        assert.equal(typeof requestLog.function_request_id, 'string');
        assert.equal(typeof requestLog.correlation_id, 'string');
      });
    });
  }

  if (kind === 'server') {
    describe('server: payload limit and telemetry', () => {
      it('answers a 7 MB request that Lambda would refuse', async () => {
        const rows = 300_000;
        const data = Array.from({ length: rows }, (_, row) => [5.1 + (row % 7) / 10, 3.5, 1.4, 0.2]);
        const text = JSON.stringify({
          id: 'big-1',
          inputs: [{ name: 'input', shape: [rows, 4], datatype: 'FP32', data }],
        });
        assert.ok(Buffer.byteLength(text) > 6 * 1024 * 1024, `${Buffer.byteLength(text)} bytes`);

        const response = await requestJson(`${target.apiUrl}/v2/models/iris/infer`, { rawBody: text });

        assert.equal(response.status, 200, response.text.slice(0, 300));
        const label = (response.body as { outputs: { name: string; shape: number[] }[] }).outputs.find(
          (output) => output.name === 'label',
        );
        assert.deepEqual(label?.shape, [rows]);
      });

      it('a body over MAX_BODY_BYTES → 413 naming the limit, and the server goes on', async () => {
        const response = await requestJson(`${target.apiUrl}/v2/models/iris/infer`, {
          rawBody: `{"inputs": [${' '.repeat(SERVER_MAX_BODY_BYTES)}]}`,
        });
        const live = await requestJson(`${target.apiUrl}/v2/health/live`);

        assert.equal(response.status, 413);
        assert.match(
          (response.body as { error: string }).error,
          new RegExp(`limit is ${SERVER_MAX_BODY_BYTES} bytes`),
        );
        assert.equal(live.status, 200);
      });

      it('exposes the request metrics in the Prometheus text format and logs each request as JSON', async () => {
        await requestJson(`${target.apiUrl}/v2/models/wine/infer`, {
          body: { inputs: [{ name: 'input', shape: [1, 13], datatype: 'FP32', data: Array(13).fill(1) }] },
        });

        const response = await fetch(`${target.apiUrl}/metrics`);
        const text = await response.text();
        assert.equal(response.status, 200);
        assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
        assert.match(text, /onnx_serve_requests_total\{operation="infer",status="200"\} [1-9]/);
        assert.match(text, /onnx_serve_inference_duration_seconds_count\{model="wine",version="1"\} [1-9]/);
        assert.match(text, /onnx_serve_model_load_duration_seconds_count\{model="wine",version="1"\} 1/);
        assert.match(text, /onnx_serve_captured_predictions_total\{model="wine",version="1"\} [1-9]/);
        assert.match(text, /process_resident_memory_bytes/);
        const requestLog = jsonLines(target.lines).find(
          (doc) => doc.message === 'request' && doc.model === 'wine' && doc.operation === 'infer',
        );
        assert.ok(requestLog, 'a structured request log line');
        assert.equal(requestLog.level, 'INFO');
        assert.equal(typeof requestLog.inferMs, 'number');
      });
    });
  }

  describe(`${kind}: lifecycle`, () => {
    it('stops cleanly on SIGTERM', async () => {
      const other = await startTarget(kind, { demoModels: false });

      const code = await other.stop();

      assert.equal(code, 0);
    });
  });
}
