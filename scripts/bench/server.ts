/**
 * Section 9: the plain HTTP server off Lambda (scripts/serve.ts), in its own process on the bench
 * bucket. Warm overhead: one request at a time over a keep-alive connection against raw
 * `session.run` of the same input in this process (the rows of section 1, over a real socket);
 * throughput: autocannon against the server, against raw `session.run` in a loop, including a
 * request over Lambda's 6 MB payload limit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { DEFAULT_MAX_BODY_BYTES } from '../../src/http/limits.ts';
import { DEFAULT_SESSION_OPTIONS } from '../../src/runtime/model-loader.ts';
import { type BenchModel, type BenchS3, progress, ROOT, summarize } from './common.ts';
import type { Row } from './report.ts';
import { createCore, inputData, requestBody } from './warm.ts';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  throughput: { average: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;

async function startServer(s3: BenchS3): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'serve.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      ...s3.env,
      PORT: '0',
      HOST: '127.0.0.1',
      MAX_BODY_BYTES: String(64 * 1024 * 1024),
      MODEL_CACHE_MB: '1024',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((done, fail) => {
    let pending = '';
    child.once('exit', (code) => fail(new Error(`server exited with ${code}`)));
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const match = /"message":"server listening".*?"port":(\d+)/.exec(pending);
      if (match) done(Number(match[1]));
      // Keep only the tail: request logs keep coming.
      if (pending.length > 65_536) pending = pending.slice(-4096);
    });
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

function post(agent: Agent, url: string, body: Buffer): Promise<number> {
  return new Promise((done, fail) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'content-length': String(body.length) } },
      (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode ?? 0));
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

export async function serverBench(
  s3: BenchS3,
  models: readonly BenchModel[],
  options: {
    calls: number;
    rounds: number;
    warmup: number;
    batches: { model: string; batch: number }[];
    loads: { model: string; batch: number; connections: number; durationSeconds?: number }[];
    durationSeconds: number;
  },
): Promise<{ rows: Row[]; raw: Record<string, unknown> }> {
  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};
  const { url, child } = await startServer(s3);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  // The same core in this process, without socket or server: what the HTTP adapter adds.
  const core = createCore(s3);
  try {
    for (const { model: name, batch } of options.batches) {
      const model = models.find((m) => m.name === name);
      if (model === undefined) continue;
      progress(`server warm overhead: ${name} batch ${batch}`);
      const session = await ortNode.InferenceSession.create(model.bytes, DEFAULT_SESSION_OPTIONS);
      const { shape, data } = inputData(model, batch);
      const feeds = { [model.input]: new ortNode.Tensor('float32', data, shape) };
      const body = Buffer.from(requestBody(model, shape, data));
      const target = `${url}/v2/models/${name}/infer`;
      const call = async () => {
        const status = await post(agent, target, body);
        if (status !== 200) throw new Error(`server answered ${status}`);
      };
      const path = `/v2/models/${name}/infer`;
      const callCore = async () => {
        const outcome = await core.handle({ method: 'POST', path, body });
        if (outcome.response.status !== 200) throw new Error(`core answered ${outcome.response.status}`);
      };
      for (let i = 0; i < options.warmup; i++) {
        await call();
        await callCore();
        await session.run(feeds);
      }
      const serverTimes: number[] = [];
      const rawTimes: number[] = [];
      const coreTimes: number[] = [];
      for (let round = 0; round < options.rounds; round++) {
        for (let i = 0; i < options.calls; i++) {
          const t = performance.now();
          await call();
          serverTimes.push(performance.now() - t);
        }
        for (let i = 0; i < options.calls; i++) {
          const t = performance.now();
          await session.run(feeds);
          rawTimes.push(performance.now() - t);
        }
        for (let i = 0; i < options.calls; i++) {
          const t = performance.now();
          await callCore();
          coreTimes.push(performance.now() - t);
        }
      }
      await session.release();
      const s = summarize(serverTimes);
      const r = summarize(rawTimes);
      const c = summarize(coreTimes);
      raw[`warm ${name}@${batch}`] = { server: s, raw: r, core: c, bodyBytes: body.byteLength };
      rows.push({
        section: '9 server off Lambda',
        what: `${name}, batch ${batch}, JSON over HTTP (keep-alive)`,
        ours: { summary: s, unit: 'ms' },
        baseline: { summary: r, unit: 'ms' },
        baselineName: 'raw session.run',
        ratioName: 'server/raw',
        ratio: s.median / r.median,
        note: `overhead ${(s.median - r.median).toFixed(3)} ms (client, socket, process hop included); the core in-process ${c.median.toFixed(3)} ms`,
      });
    }

    for (const {
      model: name,
      batch,
      connections,
      durationSeconds = options.durationSeconds,
    } of options.loads) {
      const model = models.find((m) => m.name === name);
      if (model === undefined) continue;
      const { shape, data } = inputData(model, batch);
      const body = requestBody(model, shape, data);
      const bytes = Buffer.byteLength(body);
      progress(
        `server throughput: ${name} batch ${batch}, ${(bytes / 1024 / 1024).toFixed(2)} MB, ${connections} connections`,
      );
      // Raw session.run in a loop on this process, for the same input: what one core can do.
      const session = await ortNode.InferenceSession.create(model.bytes, DEFAULT_SESSION_OPTIONS);
      const feeds = { [model.input]: new ortNode.Tensor('float32', data, shape) };
      await session.run(feeds);
      let runs = 0;
      const rawStart = performance.now();
      while (performance.now() - rawStart < durationSeconds * 1000) {
        await session.run(feeds);
        runs += 1;
      }
      const rawPerSecond = runs / ((performance.now() - rawStart) / 1000);
      await session.release();
      const result = await autocannon({
        url: `${url}/v2/models/${name}/infer`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        connections,
        duration: durationSeconds,
      });
      const perSecond = result.requests.average;
      raw[`load ${name}@${batch}`] = { result, rawPerSecond, bytes };
      const overLambda = bytes > DEFAULT_MAX_BODY_BYTES;
      rows.push({
        section: '9 server off Lambda',
        what: `${name}, batch ${batch}, ${(bytes / 1024 / 1024).toFixed(2)} MB requests, ${connections} connections${
          overLambda ? ' (over Lambda’s 6 MB: refused there)' : ''
        }`,
        ours: { summary: summarize([perSecond]), unit: 'req/s' },
        baseline: { summary: summarize([rawPerSecond]), unit: 'runs/s' },
        baselineName: 'raw session.run loop',
        ratioName: 'server/raw',
        ratio: perSecond > 0 ? perSecond / rawPerSecond : undefined,
        note: `${perSecond > 0 ? '' : 'no request completed in the time; '}p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${(result.throughput.average / 1024 / 1024).toFixed(1)} MB/s out; non-2xx ${result.non2xx}, errors ${result.errors}`,
      });
    }
  } finally {
    agent.destroy();
    child.kill('SIGTERM');
    await new Promise((done) => child.once('exit', done));
  }
  return { rows, raw };
}
