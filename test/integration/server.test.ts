/**
 * The plain HTTP server off Lambda (scripts/serve.ts) against the local S3 server: readiness
 * gated on the preloaded models, graceful SIGTERM (in-flight requests answered, captures
 * flushed), captures written as files, the bucket-notification webhook, and the batch and drift
 * commands.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { publishDemoModels } from '../../scripts/local/demo-publisher.ts';
import { main, runBatchCommand, startServer } from '../../scripts/serve.ts';
import { encodeS3Key } from '../../src/adapters/aws/s3-event.ts';
import { createJsonLogger } from '../../src/adapters/node/json-log.ts';
import type { CaptureRecord } from '../../src/capture/record.ts';
import { validateModel } from '../../src/validation/validate-model.ts';
import { conformanceDir } from '../helpers/paths.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { serverEnv, startServerProcess } from '../helpers/server.ts';
import { publishValidated } from '../helpers/validated.ts';

const relu = () =>
  readFile(join(conformanceDir(), 'onnx-backend', 'simple', 'test_single_relu_model', 'model.onnx'));
const reluRequest = (id: string) =>
  JSON.stringify({ id, inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [-1, 2] }] });

let s3: TestS3Server;
const logLines: string[] = [];
const log = createJsonLogger({ service: 'test', write: (line) => logLines.push(line) });

before(async () => {
  s3 = await startS3Server({ bucket: 'server-test' });
});

after(async () => {
  await s3?.close();
});

/** Every capture record stored under `captures/{model}/`. */
async function storedCaptures(model: string): Promise<CaptureRecord[]> {
  const records: CaptureRecord[] = [];
  for (const object of (await s3.store.list(`captures/${model}/`)).objects) {
    const stored = await s3.store.get(object.key);
    const text = new TextDecoder().decode(stored?.body);
    for (const line of text.split('\n'))
      if (line.trim() !== '') records.push(JSON.parse(line) as CaptureRecord);
  }
  return records;
}

async function until<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not seen within 20 s`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

describe('server: readiness', () => {
  it('is live at once, ready only once the preloaded models are loaded', async () => {
    const server = await startServer({ ...serverEnv(s3), PRELOAD_MODELS: 'late-model' }, { log });
    try {
      const live = await fetch(`${server.url}/v2/health/live`);
      const healthz = await fetch(`${server.url}/healthz`);
      const ready = await fetch(`${server.url}/v2/health/ready`);
      const readyz = await fetch(`${server.url}/readyz`);
      assert.equal(live.status, 200);
      assert.equal(healthz.status, 200);
      assert.equal(ready.status, 503);
      assert.match(((await ready.json()) as { error: string }).error, /loading its models/);
      assert.equal(readyz.status, 503);

      await publishValidated(s3.store, { name: 'late-model', version: 1, model: await relu() });
      await server.preloaded;

      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      assert.equal((await fetch(`${server.url}/v2/health/ready`)).status, 200);
      assert.equal(server.serving.loader.stats().entries, 1);
    } finally {
      await server.stop();
    }
  });
});

describe('server: captures', () => {
  it('writes prediction captures to the bucket as files on its interval', async () => {
    await publishValidated(s3.store, { name: 'relu-captures', version: 1, model: await relu() });
    const server = await startServer({ ...serverEnv(s3), CAPTURE_FLUSH_SECONDS: '0.2' }, { log });
    try {
      const response = await fetch(`${server.url}/v2/models/relu-captures/infer`, {
        method: 'POST',
        body: reluRequest('cap-1'),
      });
      assert.equal(response.status, 200);

      const records = await until(async () => {
        const found = await storedCaptures('relu-captures');
        return found.length > 0 ? found : undefined;
      }, 'a capture object');

      assert.equal(records.length, 1);
      assert.equal(records[0]?.id, 'cap-1');
      assert.equal(records[0]?.source, 'api');
      assert.equal(records[0]?.version, '1');
      const keys = (await s3.store.list('captures/relu-captures/')).objects.map((object) => object.key);
      assert.match(keys[0] ?? '', /^captures\/relu-captures\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/api-[^/]+\.jsonl$/);
    } finally {
      await server.stop();
    }
  });

  it('keeps the captures of a failed write and writes them once the store is back', async () => {
    await publishValidated(s3.store, { name: 'relu-retry', version: 1, model: await relu() });
    const server = await startServer({ ...serverEnv(s3), CAPTURE_FLUSH_SECONDS: '3600' }, { log });
    try {
      for (const id of ['keep-1', 'keep-2']) {
        const response = await fetch(`${server.url}/v2/models/relu-retry/infer`, {
          method: 'POST',
          body: reluRequest(id),
        });
        assert.equal(response.status, 200);
      }
      await s3.setFault('status503', (recorded) => recorded.operation === 'PutObject');
      await server.captures?.flush();
      assert.equal(server.captures?.pending, 2);
      assert.deepEqual(await storedCaptures('relu-retry'), []);

      await s3.setFault(null);
      await server.captures?.flush();

      assert.equal(server.captures?.pending, 0);
      assert.deepEqual((await storedCaptures('relu-retry')).map((record) => record.id).sort(), [
        'keep-1',
        'keep-2',
      ]);
    } finally {
      await s3.setFault(null);
      await server.stop();
    }
  });
});

describe('server: graceful SIGTERM', () => {
  it('answers the request in flight, refuses new connections, flushes the captures and exits 0', async () => {
    await publishValidated(s3.store, { name: 'relu-term', version: 1, model: await relu() });
    // Captures would wait an hour: only the shutdown can write them.
    const server = await startServerProcess({ ...serverEnv(s3), CAPTURE_FLUSH_SECONDS: '3600' });
    const first = await fetch(`${server.url}/v2/models/relu-term/infer`, {
      method: 'POST',
      body: reluRequest('term-1'),
    });
    assert.equal(first.status, 200);

    // A request whose body is still being sent when SIGTERM arrives.
    const body = Buffer.from(reluRequest('term-2'));
    const inflight = new Promise<{ status: number; text: string }>((done, fail) => {
      const req = request(
        `${server.url}/v2/models/relu-term/infer`,
        { method: 'POST', headers: { 'content-length': String(body.length) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => done({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', fail);
      req.write(body.subarray(0, 10));
      setTimeout(() => {
        server.process.kill('SIGTERM');
        void server
          .waitForLine((line) => line.includes('"stopping"'))
          .then(async () => {
            // New connections are refused while the request in flight is still answered.
            await assert.rejects(fetch(`${server.url}/v2/health/live`));
            req.end(body.subarray(10));
          });
      }, 100);
    });

    const answered = await inflight;
    const code = await server.stop();

    assert.equal(answered.status, 200, answered.text);
    assert.equal((JSON.parse(answered.text) as { id: string }).id, 'term-2');
    assert.equal(code, 0);
    assert.deepEqual((await storedCaptures('relu-term')).map((record) => record.id).sort(), [
      'term-1',
      'term-2',
    ]);
    assert.ok(
      server.lines.some(
        (line) => line.includes('"server stopped"') && line.includes('"capturesUnwritten":0'),
      ),
    );
  });
});

describe('server: bucket notifications by webhook', () => {
  const token = 'webhook-secret';
  let server: Awaited<ReturnType<typeof startServer>>;

  before(async () => {
    server = await startServer({ ...serverEnv(s3), WEBHOOK_TOKEN: token, VALIDATION_RUNS: '1' }, { log });
  });

  after(async () => {
    await server?.stop();
  });

  /** The event MinIO posts to a webhook target: S3's `Records`, keys URL-encoded, `s3:` names. */
  function minioEvent(key: string, etag?: string) {
    return {
      EventName: 's3:ObjectCreated:Put',
      Key: `${s3.bucket}/${key}`,
      Records: [
        {
          eventVersion: '2.0',
          eventSource: 'minio:s3',
          eventName: 's3:ObjectCreated:Put',
          s3: { bucket: { name: s3.bucket }, object: { key: encodeS3Key(key), eTag: etag, size: 1 } },
        },
      ],
    };
  }

  async function post(body: string, authorization?: string) {
    const response = await fetch(`${server.url}/webhooks/s3`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('refuses a call without the token, or with another one, and a body that is not an S3 event', async () => {
    const event = JSON.stringify(minioEvent('models/x/1/model.onnx'));
    const none = await post(event);
    const wrong = await post(event, 'Bearer not-it');
    const notJson = await post('{"Records": [', `Bearer ${token}`);
    const noRecords = await post('{"EventName": "s3:ObjectCreated:Put"}', token);

    assert.equal(none.status, 401);
    assert.match(String(none.body.error), /token/);
    assert.equal(wrong.status, 401);
    assert.equal(notJson.status, 400);
    assert.match(String(notJson.body.error), /not valid JSON/);
    assert.equal(noRecords.status, 400);
    assert.match(String(noRecords.body.error), /Records/);
    assert.equal(await s3.store.head('models/x/1/metadata.json'), undefined);
  });

  it('validates an uploaded model and scores a batch input named by the notification', async () => {
    await s3.store.put('models/hooked/1/model.onnx', await relu());
    const validated = await post(JSON.stringify(minioEvent('models/hooked/1/model.onnx')), `Bearer ${token}`);
    assert.equal(validated.status, 200, JSON.stringify(validated.body));
    const metadata = JSON.parse(
      new TextDecoder().decode((await s3.store.get('models/hooked/1/metadata.json'))?.body),
    ) as { status: string };
    assert.equal(metadata.status, 'valid');

    const key = 'batch/input/hooked/my rows+1 été.jsonl';
    const { etag } = await s3.store.put(key, `${reluRequest('row-a')}\n${reluRequest('row-b')}\n`);
    const scored = await post(JSON.stringify(minioEvent(key, etag)), token);

    assert.equal(scored.status, 200, JSON.stringify(scored.body));
    assert.deepEqual(scored.body.objects, [{ key, kind: 'batch', status: 'succeeded' }]);
    const output = new TextDecoder().decode(
      (await s3.store.get('batch/output/hooked/my rows+1 été.jsonl.out.jsonl'))?.body,
    );
    assert.equal(output.trim().split('\n').length, 2);
  });
});

describe('server: commands', () => {
  it('batch --prefix scores every input object under the prefix', async () => {
    await publishValidated(s3.store, { name: 'relu-cmd', version: 1, model: await relu() });
    await s3.store.put('batch/input/relu-cmd/a.jsonl', `${reluRequest('a-1')}\n`);
    await s3.store.put('batch/input/relu-cmd/b.jsonl', `${reluRequest('b-1')}\n${reluRequest('b-2')}\n`);

    const code = await runBatchCommand(['--prefix', 'batch/input/relu-cmd/'], serverEnv(s3), log);

    assert.equal(code, 0);
    for (const [name, rows] of [
      ['a', 1],
      ['b', 2],
    ] as const) {
      const output = await s3.store.get(`batch/output/relu-cmd/${name}.jsonl.out.jsonl`);
      assert.equal(new TextDecoder().decode(output?.body).trim().split('\n').length, rows);
    }
  });

  it('batch --key of a missing object exits 1; a command called wrongly exits 2', async () => {
    assert.equal(await runBatchCommand(['--key', 'batch/input/relu-cmd/none.jsonl'], serverEnv(s3), log), 1);
    assert.equal(await main(['batch'], serverEnv(s3)), 2);
    assert.equal(await main(['batch', '--prefix', 'models/'], serverEnv(s3)), 2);
    assert.equal(await main(['no-such-command'], serverEnv(s3)), 2);
  });
});

describe('server: the HTTP adapter', () => {
  let server: Awaited<ReturnType<typeof startServer>>;

  before(async () => {
    await publishValidated(s3.store, { name: 'relu-adapter', version: 1, model: await relu() });
    server = await startServer({ ...serverEnv(s3), MAX_BODY_BYTES: '4096' }, { log });
  });

  after(async () => {
    await server?.stop();
  });

  /** A POST with a chunked body (no content-length), as streaming clients send it. */
  function postChunked(path: string, chunks: string[]): Promise<{ status: number; text: string }> {
    return new Promise((done, fail) => {
      const req = request(`${server.url}${path}`, { method: 'POST' }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => done({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', fail);
      for (const chunk of chunks) req.write(chunk);
      req.end();
    });
  }

  it('reads a chunked body, and answers 413 once one passes MAX_BODY_BYTES, counted in the metrics', async () => {
    const body = reluRequest('chunked-1');
    const ok = await postChunked('/v2/models/relu-adapter/infer', [body.slice(0, 20), body.slice(20)]);
    const tooLarge = await postChunked('/v2/models/relu-adapter/infer', Array(10).fill(' '.repeat(1000)));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();

    assert.equal(ok.status, 200, ok.text);
    assert.equal((JSON.parse(ok.text) as { id: string }).id, 'chunked-1');
    assert.equal(tooLarge.status, 413);
    assert.match((JSON.parse(tooLarge.text) as { error: string }).error, /limit of 4096 bytes/);
    assert.match(metrics, /onnx_serve_errors_total\{kind="PayloadTooLarge"\} 1/);
  });

  it('passes the query string by, and keeps the protocol errors of the core', async () => {
    const withQuery = await fetch(`${server.url}/v2/models/relu-adapter/ready?verbose=1`);
    const wrongMethod = await fetch(`${server.url}/v2/models/relu-adapter/infer`);

    assert.equal(withQuery.status, 200);
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'POST');
  });
});

describe('server: drift check off Lambda', () => {
  it('the drift command checks the captures the server wrote, against the model’s reference', async () => {
    const demo = await mkdtemp(join(tmpdir(), 'onnx-serve-demo-'));
    try {
      await publishDemoModels(s3.store, demo);
      // Versions are served once validated: what the bucket webhook would trigger.
      await validateModel(s3.store, 'models/iris/1/model.onnx');
      const [header = '', ...rows] = (await readFile(join(demo, 'iris', 'holdout.csv'), 'utf8'))
        .trim()
        .split('\n');
      const label = header.split(',').indexOf('label');
      const features = rows.map((row) =>
        row
          .split(',')
          .filter((_, column) => column !== label)
          .map(Number),
      );
      const server = await startServer({ ...serverEnv(s3), CAPTURE_FLUSH_SECONDS: '3600' }, { log });
      const response = await fetch(`${server.url}/v2/models/iris/infer`, {
        method: 'POST',
        body: JSON.stringify({
          id: 'drift-1',
          inputs: [{ name: 'input', shape: [features.length, 4], datatype: 'FP32', data: features }],
        }),
      });
      assert.equal(response.status, 200);
      await server.stop();

      const code = await main(['drift', '--model', 'iris'], {
        ...serverEnv(s3),
        DRIFT_MIN_PREDICTIONS: '5',
        LOG_LEVEL: 'ERROR',
      });

      assert.equal(code, 0);
      const latest = JSON.parse(
        new TextDecoder().decode((await s3.store.get('reports/iris/latest.json'))?.body),
      ) as { verdict: string; summary: { predictions: number } };
      assert.equal(latest.summary.predictions, features.length);
      assert.ok(!['insufficient_data', 'no_reference'].includes(latest.verdict), latest.verdict);
    } finally {
      await rm(demo, { recursive: true, force: true });
    }
  });
});
