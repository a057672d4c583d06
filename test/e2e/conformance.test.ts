/**
 * Every ONNX backend case of the conformance data, published into the target's model repository
 * and run through the HTTP inference API, once as JSON and once with every input and output as
 * binary tensor data; outputs compared with the expected tensors, every JSON response validated
 * against the protocol's schemas; then every route of serverless.yml. Run against each target of
 * `E2E_TARGETS`: the local stack (Lambda bundles) and the plain HTTP server off Lambda.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { buildOnnxModel } from '../../scripts/lib/onnx/graph-builder.ts';
import { decodeTensorProto } from '../../scripts/lib/onnx/tensor-proto.ts';
import { matchDeclaredRoute, readHttpRoutes } from '../../scripts/local/serverless-routes.ts';
import type { ObjectStore } from '../../src/ports/object-store.ts';
import { publishModel } from '../../src/repository/publish.ts';
import type { TensorElement } from '../../src/types.ts';
import { inferBinary } from '../helpers/binary-tensors.ts';
import { requestJson } from '../helpers/http.ts';
import { assertOip } from '../helpers/oip-schema.ts';
import { assertOpenApiResponse, openApi } from '../helpers/openapi.ts';
import { conformanceDir, ROOT } from '../helpers/paths.ts';
import { type RunningTarget, startTarget, type TargetKind, targetKinds } from '../helpers/targets.ts';

const RTOL = 1e-3;
const ATOL = 1e-5;

/** Cases whose inputs no generated smoke input satisfies: refused by validation (fail closed). */
const REFUSED_BY_SMOKE_RUN = new Set(['test_sequence_model8']);

for (const kind of targetKinds()) {
  describe(`target: ${kind}`, async () => {
    await suite(kind);
  });
}

async function suite(kind: TargetKind) {
  let stack: RunningTarget;
  let store: ObjectStore;

  before(async () => {
    stack = await startTarget(kind, { demoModels: false });
    store = stack.store;
  });

  after(async () => {
    await stack?.stop();
  });

  interface Tensor {
    name?: string;
    shape: number[];
    datatype: string;
    data: TensorElement[];
  }

  interface ModelMetadata {
    inputs: { name: string; datatype: string; shape: number[] }[];
    outputs: { name: string; datatype: string; shape: number[] }[];
  }

  /** JSON has no bigint: safe integers as numbers, the rest as decimal strings. */
  function jsonData(data: TensorElement[]): (number | string | boolean)[] {
    return data.map((value) =>
      typeof value === 'bigint'
        ? Number.isSafeInteger(Number(value))
          ? Number(value)
          : value.toString()
        : value,
    );
  }

  async function publishAndDescribe(name: string, modelFile: string): Promise<ModelMetadata> {
    await publishModel(store, { name, version: 1, model: await readFile(modelFile) });
    await stack.validated(name, 1);
    const metadata = await requestJson(`${stack.apiUrl}/v2/models/${name}`);
    assert.equal(metadata.status, 200, metadata.text);
    assertOip('metadata_model_response', metadata.body);
    return metadata.body as ModelMetadata;
  }

  async function inferAndCompare(
    name: string,
    inputs: Tensor[],
    expected: Tensor[],
    metadata: ModelMetadata,
  ) {
    const response = await requestJson(`${stack.apiUrl}/v2/models/${name}/infer`, {
      body: {
        id: `conformance-${name}`,
        inputs: inputs.map((input) => ({ ...input, data: jsonData(input.data) })),
      },
    });
    assert.equal(response.status, 200, response.text.slice(0, 500));
    assertOip('inference_response', response.body);
    compareOutputs((response.body as { outputs: Tensor[] }).outputs, expected, metadata, 'json');

    // The same inference with every input and output as binary tensor data.
    const binary = await inferBinary(
      `${stack.apiUrl}/v2/models/${name}/infer`,
      inputs.map((input, index) => ({ ...input, name: input.name ?? metadata.inputs[index]?.name ?? '' })),
    );
    assert.equal(binary.status, 200, binary.text.slice(0, 500));
    assert.equal(binary.headers.get('content-type'), 'application/octet-stream');
    for (const output of binary.json.outputs as { data?: unknown; parameters?: Record<string, unknown> }[]) {
      assert.equal(output.data, undefined);
      assert.equal(typeof output.parameters?.binary_data_size, 'number');
    }
    compareOutputs(binary.outputs as Tensor[], expected, metadata, 'binary');
  }

  function compareOutputs(
    outputs: Tensor[],
    expected: Tensor[],
    metadata: ModelMetadata,
    path: 'json' | 'binary',
  ) {
    expected.forEach((want, index) => {
      const outputName = metadata.outputs[index]?.name;
      const got = outputs.find((output) => output.name === outputName);
      assert.ok(got, `output ${outputName} is in the response`);
      assert.equal(got.datatype, want.datatype, `${outputName} datatype`);
      assert.deepEqual(got.shape, want.shape, `${outputName} shape`);
      assert.equal(got.data.length, want.data.length, `${outputName} element count`);
      for (let i = 0; i < want.data.length; i++) {
        const wanted = want.data[i];
        const actual: TensorElement | undefined = got.data[i];
        if (typeof wanted === 'number' && !Number.isFinite(wanted)) {
          // JSON has no NaN or Infinity: the API writes them as the strings "NaN", "Infinity", "-Infinity".
          if (path === 'json') assert.equal(actual, String(wanted), `${outputName}[${i}]`);
          else assert.equal(String(actual), String(wanted), `${outputName}[${i}]`);
        } else if (typeof wanted === 'number' && want.datatype.startsWith('FP')) {
          assert.equal(typeof actual, 'number', `${outputName}[${i}] is a number`);
          const difference = Math.abs((actual as number) - wanted);
          assert.ok(
            difference <= ATOL + RTOL * Math.abs(wanted),
            `${outputName}[${i}]: got ${actual}, expected ${wanted}`,
          );
        } else {
          assert.equal(String(actual), String(wanted), `${outputName}[${i}]`);
        }
      }
    });
  }

  for (const group of ['simple', 'pytorch-operator']) {
    describe(`conformance: onnx-backend/${group}`, async () => {
      const base = join(conformanceDir(), 'onnx-backend', group);
      for (const caseName of (await readdir(base)).sort()) {
        it(caseName, async () => {
          const dir = join(base, caseName);
          const dataDir = join(dir, 'test_data_set_0');
          const files = await readdir(dataDir);
          const inputFiles = files.filter((file) => /^input_\d+\.pb$/.test(file)).sort(byIndex);
          const outputFiles = files.filter((file) => /^output_\d+\.pb$/.test(file)).sort(byIndex);
          const name = `conf-${caseName}`;
          if (REFUSED_BY_SMOKE_RUN.has(caseName)) {
            await publishModel(store, { name, version: 1, model: await readFile(join(dir, 'model.onnx')) });
            await stack.validated(name, 1);
            // Its inputs are coupled (split sizes must add up to the input's length): the generated
            // smoke inputs cannot satisfy that, validation refuses it, and a version is served only
            // when validated. The refusal names the reason.
            const response = await requestJson(`${stack.apiUrl}/v2/models/${name}/ready`);
            assert.equal(response.status, 422, response.text);
            assert.match(response.text, /failed validation: smoke run failed/);
            return;
          }
          const metadata = await publishAndDescribe(name, join(dir, 'model.onnx'));

          const inputs = await Promise.all(
            inputFiles.map(async (file, index) => {
              const tensor = decodeTensorProto(await readFile(join(dataDir, file)));
              return {
                name: metadata.inputs[index]?.name ?? '',
                shape: tensor.dims,
                datatype: tensor.datatype,
                data: tensor.data,
              };
            }),
          );
          const expected = await Promise.all(
            outputFiles.map(async (file) => {
              const tensor = decodeTensorProto(await readFile(join(dataDir, file)));
              return { shape: tensor.dims, datatype: tensor.datatype, data: tensor.data };
            }),
          );

          await inferAndCompare(name, inputs, expected, metadata);
        });
      }
    });
  }

  describe('conformance: onnx-backend/light (full CNN graphs)', async () => {
    const base = join(conformanceDir(), 'onnx-backend', 'light');
    const models = (await readdir(base)).filter((file) => file.endsWith('.onnx')).sort();
    for (const file of models) {
      const caseName = file.replace(/\.onnx$/, '');
      it(caseName, async () => {
        const name = `conf-${caseName.replace(/_/g, '-')}`;
        const metadata = await publishAndDescribe(name, join(base, file));
        const input = metadata.inputs[0];
        assert.ok(input);
        const shape = input.shape.map((dim) => (dim === -1 ? 1 : dim));
        const count = shape.reduce((a, b) => a * b, 1);
        const data = Array.from({ length: count }, (_, i) => Math.fround(i / count));
        const expected = decodeTensorProto(await readFile(join(base, `${caseName}_output_0.pb`)));

        await inferAndCompare(
          name,
          [{ name: input.name, shape, datatype: input.datatype, data }],
          [{ shape: expected.dims, datatype: expected.datatype, data: expected.data }],
          metadata,
        );
      });
    }
  });

  /**
   * Every route of serverless.yml over real HTTP through the local stack (API Gateway events, the
   * built handler bundle), each answer checked against docs/openapi.yaml (and the protocol's own
   * schemas where it has one), plus the wire details Triton's client relies on.
   */
  describe('conformance: every route', () => {
    const covered = new Set<string>();
    const LABELS = ['a', 'b', 'c'];
    // `input` [batch, 3] → `probabilities` = Softmax(input) [batch, 3], `label` = ArgMax [batch].
    const MODEL = buildOnnxModel({
      inputs: [{ name: 'input', elemType: 'float32', shape: ['batch', 3] }],
      outputs: [
        { name: 'label', elemType: 'int64', shape: ['batch'] },
        { name: 'probabilities', elemType: 'float32', shape: ['batch', 3] },
      ],
      nodes: [
        {
          opType: 'Softmax',
          inputs: ['input'],
          outputs: ['probabilities'],
          attributes: { axis: { int: 1 } },
        },
        {
          opType: 'ArgMax',
          inputs: ['input'],
          outputs: ['label'],
          attributes: { axis: { int: 1 }, keepdims: { int: 0 } },
        },
      ],
    });

    async function call(
      method: string,
      path: string,
      options: { body?: unknown; rawBody?: Uint8Array; headers?: Record<string, string> } = {},
    ) {
      const routes = await readHttpRoutes(join(ROOT, 'serverless.yml'));
      const routeKey = matchDeclaredRoute(routes, method, path)?.routeKey;
      const response = await requestJson(`${stack.apiUrl}${path}`, { method, ...options });
      if (routeKey !== undefined && routeKey !== '$default' && response.status === 200) covered.add(routeKey);
      if (response.body !== undefined) assertOpenApiResponse(method, path, response.status, response.body);
      return response;
    }

    before(async () => {
      await publishModel(store, {
        name: 'routes',
        version: 1,
        model: MODEL,
        config: { labels: LABELS, feature_names: ['x', 'y', 'z'] },
      });
      await stack.validated('routes', 1);
    });

    it('health, metadata, readiness and configuration', async () => {
      const live = await call('GET', '/v2/health/live');
      const ready = await call('GET', '/v2/health/ready');
      const server = await call('GET', '/v2');
      const model = await call('GET', '/v2/models/routes');
      const version = await call('GET', '/v2/models/routes/versions/1');
      const modelReady = await call('GET', '/v2/models/routes/ready');
      const versionReady = await call('GET', '/v2/models/routes/versions/1/ready');
      const config = await call('GET', '/v2/models/routes/config');
      const versionConfig = await call('GET', '/v2/models/routes/versions/1/config');

      for (const response of [
        live,
        ready,
        server,
        model,
        version,
        modelReady,
        versionReady,
        config,
        versionConfig,
      ]) {
        assert.equal(response.status, 200, response.text);
      }
      assertOip('metadata_server_response', server.body);
      assertOip('metadata_model_response', version.body);
      assert.deepEqual(config.body, versionConfig.body);
      assert.equal((config.body as { max_batch_size: number }).max_batch_size > 0, true);
    });

    it('inference: JSON, classification, gzip request and response, binary without Content-Type', async () => {
      const body = {
        id: 'routes-1',
        inputs: [{ name: 'input', shape: [2, 3], datatype: 'FP32', data: [1, 5, 2, 9, 0, 0] }],
        outputs: [{ name: 'label' }, { name: 'probabilities', parameters: { classification: 1 } }],
      };
      const json = await call('POST', '/v2/models/routes/infer', { body });
      const gzipped = await call('POST', '/v2/models/routes/versions/1/infer', {
        rawBody: gzipSync(JSON.stringify(body)),
        headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' },
      });

      assert.equal(json.status, 200, json.text);
      assertOip('inference_response', json.body);
      const outputs = (json.body as { outputs: { data: unknown[] }[] }).outputs;
      assert.deepEqual(outputs[0]?.data, [1, 0]);
      assert.match(String(outputs[1]?.data[0]), /^0\.9[0-9]*:1:b$/);
      assert.equal(gzipped.status, 200, gzipped.text);
      assert.deepEqual(gzipped.body, json.body);

      // Triton's client: binary tensors, no Content-Type, gzip'd, asking for a gzip'd answer.
      const header = Buffer.from(
        JSON.stringify({
          inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 12 } }],
          outputs: [{ name: 'label', parameters: { binary_data: true } }],
        }),
      );
      const raw = await fetch(`${stack.apiUrl}/v2/models/routes/infer`, {
        method: 'POST',
        headers: {
          'inference-header-content-length': String(header.byteLength),
          'content-encoding': 'gzip',
          'accept-encoding': 'gzip',
        },
        body: gzipSync(Buffer.concat([header, Buffer.from(new Float32Array([0, 0, 7]).buffer)])),
      });
      const wire = Buffer.from(await raw.arrayBuffer());
      assert.equal(raw.status, 200, wire.toString());
      const jsonLength = Number(raw.headers.get('inference-header-content-length'));
      const labels = new BigInt64Array(new Uint8Array(wire.subarray(jsonLength)).buffer);
      assert.deepEqual([...labels], [2n]);

      // A large answer comes back gzip'd (fetch inflates it; the header stays).
      const many = await fetch(`${stack.apiUrl}/v2/models/routes/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip' },
        body: JSON.stringify({
          inputs: [{ name: 'input', shape: [300, 3], datatype: 'FP32', data: Array(900).fill(0.5) }],
        }),
      });
      assert.equal(many.headers.get('content-encoding'), 'gzip');
      assert.equal(((await many.json()) as { outputs: unknown[] }).outputs.length, 2);
    });

    it('statistics, repository index, load and unload', async () => {
      const index = await call('POST', '/v2/repository/index', { body: {} });
      const unload = await call('POST', '/v2/repository/models/routes/unload', { body: {} });
      const notReady = await call('GET', '/v2/models/routes/ready');
      const load = await call('POST', '/v2/repository/models/routes/load');
      const all = await call('GET', '/v2/models/stats');
      const model = await call('GET', '/v2/models/routes/stats');
      const version = await call('GET', '/v2/models/routes/versions/1/stats');

      assert.equal(index.status, 200);
      assert.equal(unload.status, 200, unload.text);
      assert.equal(notReady.status, 503);
      assert.equal(load.status, 200, load.text);
      for (const response of [all, model, version]) assert.equal(response.status, 200, response.text);
      const stat = (version.body as { model_stats: { inference_count: number }[] }).model_stats[0];
      assert.ok((stat?.inference_count ?? 0) >= 3);
    });

    it('outcomes and the v1 protocol', async () => {
      const outcomes = await call('POST', '/v2/models/routes/outcomes', {
        body: { outcomes: [{ id: 'routes-1:0', value: 1 }] },
      });
      const models = await call('GET', '/v1/models');
      const ready = await call('GET', '/v1/models/routes');
      const rows = await call('POST', '/v1/models/routes:predict', {
        body: { instances: [{ x: 0, y: 0, z: 3 }] },
      });
      const columns = await call('POST', '/v1/models/routes/versions/1:predict', {
        body: { inputs: [[3, 0, 0]] },
      });

      assert.equal(outcomes.status, 200, outcomes.text);
      assert.ok((models.body as { models: string[] }).models.includes('routes'));
      assert.deepEqual(ready.body, { name: 'routes', ready: true });
      assert.equal(rows.status, 200, rows.text);
      assert.equal((rows.body as { predictions: { label: number }[] }).predictions[0]?.label, 2);
      assert.ok(rows.headers.get('x-prediction-id'));
      assert.deepEqual((columns.body as { outputs: { label: number[] } }).outputs.label, [0]);
    });

    // The document is served by the local stack's front, not by the core.
    if (kind === 'stack')
      it('the local stack serves the OpenAPI document', async () => {
        const json = await requestJson(`${stack.apiUrl}/openapi.json`);
        const yaml = await fetch(`${stack.apiUrl}/openapi.yaml`);

        assert.deepEqual(json.body, openApi().document);
        assert.match(await yaml.text(), /^openapi: 3\.1\.0/);
      });

    it('covered every route of serverless.yml with a successful call', async () => {
      const routes = await readHttpRoutes(join(ROOT, 'serverless.yml'));
      const declared = routes
        .filter((route) => route.functionName === 'http' && route.path !== '*')
        .map((route) => `${route.method} ${route.path}`);

      assert.deepEqual([...covered].sort(), [...new Set(declared)].sort());
    });
  });
}

function byIndex(a: string, b: string): number {
  return Number(/\d+/.exec(a)?.[0]) - Number(/\d+/.exec(b)?.[0]);
}
