/**
 * Prediction capture and outcome feedback end to end, over HTTP against each target of
 * `E2E_TARGETS`: the local stack (`npm start`'s code, built bundles, serverless.yml routes), where
 * predictions become capture log lines of the http function, which the local capture pipeline
 * files under captures/ as Firehose would; and the plain server off Lambda, which writes the
 * capture files itself. Outcomes are in S3 before their 200.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startLocalS3 } from '../../scripts/local/s3-server.ts';
import { openLocalStore } from '../../scripts/local/stack-settings.ts';
import { captureOfStoredLine } from '../../src/capture/log-line.ts';
import type { CaptureRecord } from '../../src/capture/record.ts';
import type { ObjectStore } from '../../src/ports/object-store.ts';
import { publishModel } from '../../src/repository/publish.ts';
import { inferBinary } from '../helpers/binary-tensors.ts';
import { requestJson } from '../helpers/http.ts';
import { jsonLines, startStack, waitForVerdict } from '../helpers/local-stack.ts';
import { assertOip } from '../helpers/oip-schema.ts';
import { conformanceDir } from '../helpers/paths.ts';
import { type RunningTarget, startTarget, type TargetKind, targetKinds } from '../helpers/targets.ts';

/** Capture objects: `api-local-…` from the local stack's pipeline, `api-{host}-…` from the server. */
const CAPTURE_KEY: Record<TargetKind, RegExp> = {
  stack: /^captures\/([^/]+)\/(\d{4})\/(\d\d)\/(\d\d)\/(\d\d)\/api-local-[\w-]+\.jsonl$/,
  server: /^captures\/([^/]+)\/(\d{4})\/(\d\d)\/(\d\d)\/(\d\d)\/api-[\w.-]+\.jsonl$/,
};
const OUTCOME_KEY = /^outcomes\/iris\/\d{4}\/\d\d\/\d\d\/\d\d\/[0-9a-f-]{36}\.jsonl$/;

for (const kind of targetKinds()) {
  describe(`target: ${kind}`, () => {
    suite(kind);
  });
}

function suite(kind: TargetKind) {
  let stack: RunningTarget;
  let store: ObjectStore;
  let irisFeatures: string[];

  before(async () => {
    stack = await startTarget(kind, { env: { CAPTURE_FLUSH_SECONDS: '0.5' } });
    store = stack.store;
    const demo = join(stack.stateDir, 'demo-models', 'iris');
    const config = JSON.parse(await readFile(join(demo, 'config.json'), 'utf8')) as {
      feature_names: string[];
    };
    irisFeatures = config.feature_names;
    // The iris model again, with capture sampled at 0.
    await publishModel(store, {
      name: 'iris-unsampled',
      version: 1,
      model: await readFile(join(demo, '1', 'model.onnx')),
      config: { ...config, capture: { sample_rate: 0 } },
    });
    await stack.validated('iris-unsampled', 1);
  });

  after(async () => {
    await stack?.stop();
  });

  /** Every capture record in the bucket under `captures/{model}/`, with the key of its object. */
  async function capturesOf(model: string): Promise<{ key: string; record: CaptureRecord }[]> {
    const found: { key: string; record: CaptureRecord }[] = [];
    for (const { key } of (await store.list(`captures/${model}/`)).objects) {
      const object = await store.get(key);
      for (const line of new TextDecoder().decode(object?.body).split('\n')) {
        const record = captureOfStoredLine(line);
        if (record !== undefined) found.push({ key, record });
      }
    }
    return found;
  }

  /** Polls the bucket until `ids` are all captured (at most `limitMs`); returns their records. */
  async function waitForCaptures(
    model: string,
    ids: readonly string[],
    limitMs = 30_000,
  ): Promise<{ key: string; record: CaptureRecord }[]> {
    const deadline = Date.now() + limitMs;
    const wanted = new Set(ids);
    while (true) {
      const found = (await capturesOf(model)).filter(({ record }) => wanted.has(record.id));
      if (new Set(found.map(({ record }) => record.id)).size === wanted.size) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `${wanted.size - found.length} of ${wanted.size} captures missing after ${limitMs} ms`,
        );
      }
      await new Promise((done) => setTimeout(done, 100));
    }
  }

  async function infer(model: string, rows: number[][], id?: string) {
    const response = await requestJson(`${stack.apiUrl}/v2/models/${model}/infer`, {
      body: {
        ...(id === undefined ? {} : { id }),
        inputs: [{ name: 'input', shape: [rows.length, 4], datatype: 'FP32', data: rows }],
      },
    });
    assert.equal(response.status, 200, response.text);
    return response.body as {
      id: string;
      parameters?: { prediction_ids?: string[] };
      outputs: { name: string; data: number[] }[];
    };
  }

  const ROWS = [
    [5.1, 3.5, 1.4, 0.2],
    [6.3, 3.3, 6.0, 2.5],
    [5.9, 3.0, 4.2, 1.5],
  ];

  describe(`${kind}: capture of API predictions`, () => {
    it('a request of N rows: N prediction ids in the response, N capture records with features by name', async () => {
      const id = `rows-${randomUUID()}`;

      const body = await infer('iris', ROWS, id);

      assertOip('inference_response', body);
      const ids = [`${id}:0`, `${id}:1`, `${id}:2`];
      assert.deepEqual(body.parameters?.prediction_ids, ids);
      const found = await waitForCaptures('iris', ids);
      const labels = body.outputs.find((output) => output.name === 'label')?.data ?? [];
      for (const [row, predictionId] of ids.entries()) {
        const { key, record } =
          found.find((entry) => entry.record.id === predictionId) ?? assert.fail(predictionId);
        const [, model, yyyy, MM, dd, HH] =
          CAPTURE_KEY[kind].exec(key) ?? assert.fail(`${key} is not in the layout`);
        assert.equal(model, 'iris');
        assert.equal(`${yyyy}-${MM}-${dd}T${HH}`, record.ts.slice(0, 13), 'filed under the hour of its ts');
        assert.equal(record.source, 'api');
        assert.equal(record.version, '1');
        assert.deepEqual(
          record.inputs,
          Object.fromEntries(irisFeatures.map((name, i) => [name, ROWS[row]?.[i]])),
        );
        assert.deepEqual(
          record.outputs.map((output) => [output.name, output.shape]),
          [
            ['label', [1]],
            ['probabilities', [1, 3]],
          ],
        );
        assert.deepEqual(record.outputs[0]?.data, [labels[row]]);
        assert.equal(found.filter((entry) => entry.record.id === predictionId).length, 1, 'captured once');
      }
    });

    it('a request with binary tensor data is captured with the same features and outputs as JSON', async () => {
      const id = `binary-${randomUUID()}`;
      const quarter = ROWS.map((row) => row.map((value) => Math.fround(value)));

      const response = await inferBinary(
        `${stack.apiUrl}/v2/models/iris/infer`,
        [{ name: 'input', shape: [3, 4], datatype: 'FP32', data: quarter.flat() }],
        { id },
      );

      assert.equal(response.status, 200, response.text);
      const ids = [`${id}:0`, `${id}:1`, `${id}:2`];
      assert.deepEqual((response.json.parameters as { prediction_ids?: string[] }).prediction_ids, ids);
      const labels = response.outputs.find((output) => output.name === 'label')?.data ?? [];
      assert.equal(labels.length, 3);
      const found = await waitForCaptures('iris', ids);
      for (const [row, predictionId] of ids.entries()) {
        const { record } =
          found.find((entry) => entry.record.id === predictionId) ?? assert.fail(predictionId);
        assert.deepEqual(
          record.inputs,
          Object.fromEntries(irisFeatures.map((name, i) => [name, quarter[row]?.[i]])),
        );
        assert.deepEqual(record.outputs[0]?.data, [Number(labels[row])]);
      }
    });

    it('a one-row request without id: the generated response id is the prediction id', async () => {
      const body = await infer('iris', [ROWS[1] ?? []]);

      assert.equal(body.parameters, undefined);
      const [{ record } = assert.fail('no capture')] = await waitForCaptures('iris', [body.id]);
      assert.equal(
        record.inputs && !Array.isArray(record.inputs) ? record.inputs.petal_length_cm : undefined,
        6,
      );
    });

    it('a burst of concurrent requests: as many captures as predictions, each once', async () => {
      const burst = randomUUID();
      const sizes = Array.from({ length: 30 }, (_, i) => 1 + (i % 3));

      const bodies = await Promise.all(
        sizes.map((size, i) => infer('iris', ROWS.slice(0, size), `burst-${burst}-${i}`)),
      );

      const ids = bodies.flatMap((body) => body.parameters?.prediction_ids ?? [body.id]);
      assert.equal(
        ids.length,
        sizes.reduce((sum, size) => sum + size, 0),
      );
      await waitForCaptures('iris', ids);
      const captured = (await capturesOf('iris'))
        .map(({ record }) => record.id)
        .filter((id) => id.startsWith(`burst-${burst}-`));
      assert.equal(captured.length, ids.length, 'no prediction captured twice');
      assert.deepEqual([...captured].sort(), [...ids].sort());
    });

    it('a model sampled at 0 captures nothing', async () => {
      const unsampled = await Promise.all(
        Array.from({ length: 5 }, (_, i) => infer('iris-unsampled', ROWS, `unsampled-${i}`)),
      );
      // A prediction of another model, made after them: once its capture is filed, theirs would be too.
      const sentinel = await infer('iris', [ROWS[0] ?? []], `sentinel-${randomUUID()}`);
      await waitForCaptures('iris', [sentinel.id]);

      assert.equal(unsampled.length, 5);
      assert.deepEqual(await capturesOf('iris-unsampled'), []);
      if (kind === 'server') {
        // The server's metrics: five requests of the model, no capture record.
        const text = await (await fetch(`${stack.apiUrl}/metrics`)).text();
        assert.match(
          text,
          /onnx_serve_inference_duration_seconds_count\{model="iris-unsampled",version="1"\} 5\n/,
        );
        assert.match(text, /onnx_serve_captured_predictions_total\{model="iris-unsampled",version="1"\} 0\n/);
        return;
      }
      const lines = jsonLines(stack.lines);
      assert.equal(
        lines.some(
          (line) => line.message === 'capture' && (line.capture as CaptureRecord).model === 'iris-unsampled',
        ),
        false,
        'no capture line was logged',
      );
      const metrics = lines.filter(
        (line) => line.model === 'iris-unsampled' && 'CapturedPredictions' in line,
      );
      assert.equal(metrics.length, 5);
      assert.ok(metrics.every((line) => line.CapturedPredictions === 0));
    });
  });

  describe(`${kind}: synthetic traffic`, () => {
    it('a request marked synthetic is answered as usual and never captured; a bad marker is a 400', async () => {
      const id = `synthetic-${randomUUID()}`;
      const body = {
        id,
        inputs: [{ name: 'input', shape: [ROWS.length, 4], datatype: 'FP32', data: ROWS }],
      };
      const synthetic = await requestJson(`${stack.apiUrl}/v2/models/iris/infer`, {
        body,
        headers: { 'x-onnx-serve-synthetic': '1' },
      });
      const ordinary = await infer('iris', ROWS, `ordinary-${randomUUID()}`);
      const bad = await requestJson(`${stack.apiUrl}/v2/models/iris/infer`, {
        body: { ...body, id: `${id}-bad` },
        headers: { 'x-onnx-serve-synthetic': 'yes' },
      });

      assert.equal(synthetic.status, 200, synthetic.text);
      const answer = synthetic.body as typeof ordinary;
      assert.deepEqual(
        answer.outputs.map((output) => output.data),
        ordinary.outputs.map((output) => output.data),
        'the same answer as ordinary traffic',
      );
      assert.equal(bad.status, 400);
      assert.match(bad.text, /x-onnx-serve-synthetic: expected 1, true, 0 or false, got 'yes'/);
      // The ordinary request came after: once its rows are filed, the synthetic ones would be too.
      await waitForCaptures('iris', ordinary.parameters?.prediction_ids ?? []);
      const captured = (await capturesOf('iris')).filter(({ record }) => record.id.startsWith(id));
      assert.deepEqual(captured, [], 'no synthetic prediction captured');
      const logged = jsonLines(stack.lines).filter(
        (line) => line.message === 'request' && line.synthetic === true,
      );
      assert.equal(logged.length, 1, 'the request log says it was synthetic');
    });
  });

  describe(`${kind}: outcomes`, () => {
    async function outcomeKeys(): Promise<string[]> {
      return (await store.list('outcomes/iris/')).objects.map((object) => object.key);
    }

    it('outcomes are in S3 when the 200 arrives, joinable with the captured ids', async () => {
      const id = `joined-${randomUUID()}`;
      const body = await infer('iris', ROWS.slice(0, 2), id);
      const ids = body.parameters?.prediction_ids ?? [];
      const before = await outcomeKeys();

      const response = await requestJson(`${stack.apiUrl}/v2/models/iris/outcomes`, {
        body: {
          outcomes: [
            { id: ids[0], value: 0, ts: new Date().toISOString() },
            { id: ids[1], value: 'virginica' },
          ],
        },
      });
      const added = (await outcomeKeys()).filter((key) => !before.includes(key));

      assert.equal(response.status, 200, response.text);
      assert.deepEqual(response.body, { accepted: 2 });
      assert.equal(added.length, 1);
      assert.match(added[0] ?? '', OUTCOME_KEY);
      const stored = new TextDecoder()
        .decode((await store.get(added[0] ?? ''))?.body)
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as { id: string; value: unknown; ts: string; received_at: string });
      assert.deepEqual(
        stored.map((outcome) => [outcome.id, outcome.value]),
        [
          [`${id}:0`, 0],
          [`${id}:1`, 'virginica'],
        ],
      );
      assert.ok(stored.every((outcome) => !Number.isNaN(Date.parse(outcome.ts)) && outcome.received_at));
      const captured = await waitForCaptures('iris', ids);
      assert.deepEqual(captured.map(({ record }) => record.id).sort(), [...ids].sort());
    });

    it('invalid outcome bodies are 400 with a specific message, and nothing is written', async () => {
      const before = await outcomeKeys();
      const cases: [unknown, RegExp][] = [
        [{ outcomes: [] }, /at least one outcome/],
        [
          { outcomes: [{ id: 'a', value: { nested: 1 } }] },
          /outcomes\[0\]\.value must be a number, a string or a boolean/,
        ],
        [
          { outcomes: [{ id: 'a', value: 1, ts: 'tomorrow' }] },
          /outcomes\[0\]\.ts must be an ISO 8601 date-time/,
        ],
        [
          {
            outcomes: [
              { id: 'a', value: 1 },
              { id: 'a', value: 2 },
            ],
          },
          /outcomes\[1\]\.id: 'a' repeats outcomes\[0\]/,
        ],
      ];

      for (const [body, message] of cases) {
        const response = await requestJson(`${stack.apiUrl}/v2/models/iris/outcomes`, { body });
        assert.equal(response.status, 400, response.text);
        assertOip('inference_error_response', response.body);
        assert.match((response.body as { error: string }).error, message);
      }
      assert.deepEqual(await outcomeKeys(), before);
    });

    it('outcomes for an unknown model are 404; server metadata lists the extension', async () => {
      const response = await requestJson(`${stack.apiUrl}/v2/models/no-such-model/outcomes`, {
        body: { outcomes: [{ id: 'a', value: 1 }] },
      });
      const metadata = await requestJson(`${stack.apiUrl}/v2`);

      assert.equal(response.status, 404, response.text);
      assert.match((response.body as { error: string }).error, /no-such-model/);
      assert.deepEqual((await store.list('outcomes/no-such-model/')).objects, []);
      assert.ok((metadata.body as { extensions: string[] }).extensions.includes('outcomes'));
    });
  });
}

describe('local stack: capture pipeline on shutdown', () => {
  it('captures still buffered when SIGTERM arrives are written before the stack exits', async () => {
    const other = await startStack({ DEMO_MODELS: 'false', CAPTURE_FLUSH_SECONDS: '3600' });
    let code: number | null = null;
    try {
      const relu = await readFile(
        join(conformanceDir(), 'onnx-backend', 'simple', 'test_single_relu_model', 'model.onnx'),
      );
      await publishModel(other.store, { name: 'relu', version: 1, model: relu });
      await waitForVerdict(other.store, 'relu', 1);
      const id = `shutdown-${randomUUID()}`;
      const response = await requestJson(`${other.apiUrl}/v2/models/relu/infer`, {
        body: { id, inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [-1, 2] }] },
      });
      assert.equal(response.status, 200, response.text);
      const beforeStop = await other.store.list('captures/relu/');

      code = await other.stop({ keepState: true });

      // The stack's S3 data, served again from its folder.
      const s3 = await startLocalS3({
        port: 0,
        directory: join(other.stateDir, 's3'),
        buckets: [other.s3.bucket],
      });
      try {
        const reopened = openLocalStore({ ...other.s3, endpoint: s3.endpoint });
        const { objects } = await reopened.list('captures/relu/');
        const text = new TextDecoder().decode((await reopened.get(objects[0]?.key ?? ''))?.body);
        assert.equal(code, 0);
        assert.deepEqual(beforeStop.objects, [], 'nothing was written before the stop');
        assert.equal(objects.length, 1);
        assert.equal(captureOfStoredLine(text.trim())?.id, id);
      } finally {
        await s3.close();
      }
    } finally {
      if (code === null) await other.stop();
      await rm(other.stateDir, { recursive: true, force: true });
    }
  });
});
