import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BenchResult } from '../../scripts/bench/run.ts';
import { buildOnnxModel } from '../../scripts/lib/onnx/graph-builder.ts';
import { formatReport, runLoadTest, syntheticRequest } from '../../scripts/loadtest.ts';
import { readServingConfig } from '../../src/config/serving-config.ts';
import { createServing } from '../../src/serving.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

describe('npm run bench -- --quick', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs every section and writes a well-formed result file and table (no timing assertions)', async () => {
    const out = join(dir, 'results.json');
    const markdown = join(dir, 'results.md');
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'scripts/bench/run.ts', '--quick', '--out', out, '--markdown', markdown],
      { cwd: ROOT, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
    );
    const result = JSON.parse(await readFile(out, 'utf8')) as BenchResult;
    assert.equal(result.schema, 'onnx-serve-bench/1');
    assert.equal(result.mode, 'quick');
    assert.ok(result.machine.cores > 0);
    const sections = new Set(result.rows.map((row) => row.section));
    for (const section of [
      '1 warm overhead',
      '2 payload',
      '3 cold start',
      '4 runtime',
      '5 batch scoring',
      '7 footprint',
      '9 server off Lambda',
    ]) {
      assert.ok(sections.has(section), `section ${section} missing`);
    }
    for (const row of result.rows) {
      assert.equal(typeof row.what, 'string');
      for (const figure of [row.ours, row.baseline]) {
        if (figure === undefined) continue;
        // Times, rates and sizes are non-negative; a growth exponent over two tiny sizes may not be.
        const signed = row.what.startsWith('growth exponent');
        assert.ok(
          Number.isFinite(figure.summary.median) && (signed || figure.summary.median >= 0),
          `${row.what}: median ${figure.summary.median}`,
        );
        assert.ok(figure.summary.n >= 1);
        assert.ok(figure.summary.p10 <= figure.summary.p90);
      }
      if (row.ratio !== undefined)
        assert.ok(Number.isFinite(row.ratio) && row.ratio > 0, `${row.what}: ratio`);
      if (row.target !== undefined && row.ratio !== undefined) assert.equal(typeof row.met, 'boolean');
    }
    const table = await readFile(markdown, 'utf8');
    assert.match(table, /\| section \| what \| ours \| baseline \| ratio \| target \| met \|/);
    assert.equal(table.split('\n').filter((line) => line.startsWith('| ')).length, result.rows.length + 2); // header and separator
    assert.ok(stdout.includes('| section |'));
  });
});

describe('npm run loadtest', () => {
  let s3: TestS3Server;
  let server: ReturnType<typeof createServer>;
  let url = '';
  let binaryAnswers = 0;

  before(async () => {
    s3 = await startS3Server();
    const model = buildOnnxModel({
      inputs: [{ name: 'x', elemType: 'float32', shape: ['batch', 3] }],
      outputs: [{ name: 'y', elemType: 'float32', shape: ['batch', 3] }],
      nodes: [{ opType: 'Relu', inputs: ['x'], outputs: ['y'] }],
    });
    await s3.store.put('models/relu/1/model.onnx', model);
    await s3.store.put('models/relu/config.json', JSON.stringify({ feature_names: ['a', 'b', 'c'] }));
    const serving = createServing(
      readServingConfig({ MODEL_BUCKET: s3.bucket, REQUIRE_VALIDATION: 'false', CAPTURE_ENABLED: 'false' }),
      {
        store: s3.store,
      },
    );
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        serving
          .handle({
            method: req.method ?? 'GET',
            path: req.url ?? '/',
            headers: req.headers as Record<string, string>,
            body: chunks.length ? Buffer.concat(chunks) : undefined,
          })
          .then((outcome) => {
            const { status, headers, body, binary } = outcome.response;
            if (binary !== undefined) binaryAnswers += 1;
            res.writeHead(status, headers);
            res.end(binary === undefined ? body : Buffer.concat([Buffer.from(body), binary]));
          })
          .catch(() => {
            res.writeHead(500);
            res.end();
          });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await s3.close();
  });

  it('drives valid synthetic requests against a loopback server and reports the run', async () => {
    const report = await runLoadTest({ url, model: 'relu', connections: 2, durationSeconds: 1, amount: 200 });
    assert.ok(report.requests > 0 && report.requests <= 200);
    assert.equal(report.non2xx, 0);
    assert.equal(report.errors, 0);
    assert.deepEqual(Object.keys(report.statusCodes), ['200']);
    assert.equal(report.inputSource, 'metadata');
    for (const key of ['p50', 'p90', 'p99', 'max'] as const) assert.ok(report.latencyMs[key] >= 0);
    assert.match(formatReport(report), /latency p50 \/ p90 \/ p99 \/ max/);
  });

  it('--binary: inputs and outputs as binary tensor data, all answered 200', async () => {
    binaryAnswers = 0;
    const report = await runLoadTest({
      url,
      model: 'relu',
      connections: 2,
      durationSeconds: 1,
      amount: 100,
      binary: true,
    });
    assert.ok(report.requests > 0);
    assert.equal(report.non2xx, 0);
    assert.equal(report.errors, 0);
    assert.equal(report.bodyFormat, 'binary');
    // Requests still in flight when the run ends are answered but not counted by the tool.
    assert.ok(binaryAnswers >= report.requests, 'every answer carried binary outputs');
    assert.match(formatReport(report), /tensors as\s+binary tensor data/);
  });

  it('draws tabular inputs from a reference profile', () => {
    const reference = {
      features: ['a', 'b', 'c'].map((name) => ({
        name,
        profile: { kind: 'numeric', min: 10, max: 20, sketch: { exact: true, values: [10, 15, 20] } },
      })),
    };
    const metadata = {
      name: 'relu',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 3] }],
    };
    const { body, source } = syntheticRequest(metadata, { batch: 4, seed: 1, reference });
    assert.equal(source, 'reference');
    const request = JSON.parse(body) as { inputs: { shape: number[]; data: number[] }[] };
    assert.deepEqual(request.inputs[0]?.shape, [4, 3]);
    assert.equal(request.inputs[0]?.data.length, 12);
    for (const value of request.inputs[0]?.data ?? []) assert.ok([10, 15, 20].includes(value));
  });

  it('refuses an unknown model and out-of-bounds settings', async () => {
    await assert.rejects(runLoadTest({ url, model: 'nope', durationSeconds: 1 }), /404/);
    await assert.rejects(runLoadTest({ url, model: 'relu', connections: 0 }), /connections/);
  });
});
