/**
 * `npm run bench [-- --quick] [--out <results.json>] [--markdown <table.md>] [--only <sections>]
 *   [--lambda-memory 512,1024,1769]`
 *
 * Runs the benchmark suite on this machine and writes a JSON result file and a markdown table
 * (default `.local/bench/results.json` and `.local/bench/results.md`); the table is also printed.
 * Every comparison is measured side by side in the same run. Progress goes to stderr.
 * Sections: warm, rollout, payload, cold, runtime, batch, fan-out, drift, footprint, server; with `--lambda-memory`,
 * also warm, cold and batch as Lambda runs them for each memory size (section 10: CPU quota equal to
 * Lambda's share, S3 latency injected, cost per million predictions, power tuning) and the session
 * options the product chooses against onnxruntime's defaults (section 1b). Needs root and cgroup v1
 * or v2 for those; elsewhere they are listed as not measured, with the reason.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { arch, cpus, freemem, platform, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createS3Client, S3ObjectStore } from '../../src/adapters/aws/s3-store.ts';
import { buildHandlers } from '../build.ts';
import { parseCli, runCli, UsageError } from '../lib/cli.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/s3-server.ts';
import { batchFanOutScoring, batchScoring } from './batch.ts';
import { coldStart } from './cold.ts';
import {
  type BenchModel,
  benchModels,
  buildMlp,
  PRICE_GB_SECOND_ARM64,
  progress,
  publish,
  ROOT,
  startBenchS3,
  summarize,
} from './common.ts';
import { driftCheck } from './drift.ts';
import { DEFAULT_LATENCY_GOALS_MS, lambdaSizes } from './lambda-sizes.ts';
import { partedReadRows } from './parted-read.ts';
import { markdownTable, type Row } from './report.ts';
import { rolloutCost } from './rollout.ts';
import { S3_LATENCY_PROFILE, type S3LatencyProxy, startS3LatencyProxy } from './s3-latency-proxy.ts';
import { serverBench } from './server.ts';
import { sessionOptionsRows } from './session-options.ts';
import {
  createCore,
  createInProcessCore,
  loadHttpHandler,
  payloadSpeed,
  runtimeChoice,
  warmOverhead,
} from './warm.ts';

const SECTIONS = [
  'warm',
  'rollout',
  'payload',
  'cold',
  'runtime',
  'batch',
  'fan-out',
  'drift',
  'footprint',
  'server',
] as const;

/** Lambda arm64 price (us-east-1) per request (per GB-second: `PRICE_GB_SECOND_ARM64`). */
const PRICE_PER_MILLION_REQUESTS = 0.2;
/** Memory of the http function in serverless.yml (`httpMemory`). */
const DEFAULT_HTTP_MEMORY_MB = 1769;

export interface BenchResult {
  schema: 'onnx-serve-bench/1';
  mode: 'quick' | 'full';
  startedAt: string;
  durationMs: number;
  machine: { cpu: string; cores: number; memoryGb: number; os: string; node: string; arch: string };
  rows: Row[];
  missing: string[];
  details: Record<string, unknown>;
}

const USAGE = `usage:
  npm run bench [-- --quick] [--out <results.json>] [--markdown <table.md>] [--only <section,section>]
                [--lambda-memory <MB,MB,…>] [--latency-goal model=ms,…]
                [--s3-first-byte-ms <ms>] [--s3-stream-mbps <MB/s>]
  --lambda-memory: per memory size, under a CPU quota equal to Lambda's share (root; cgroup v1 or v2)
    and with S3 latency injected: warm p50/p90/p99, cold start, batch rows/s, cost per million
    predictions and the power-tuning table (section 10, with any of warm, cold, batch); and the
    session options against onnxruntime's defaults (section 1b, with payload).
  --latency-goal: warm p99 goals (ms) for the power-tuning table.
  --s3-first-byte-ms (20), --s3-stream-mbps (90): the S3 latency the proxy injects.
sections: ${SECTIONS.join(', ')} (default: all)
The bench runs the handlers in its own process against its own S3 server: nothing it sends reaches
the local stack's captures.`;

async function main(argv: string[]): Promise<void> {
  const { values } = parseCli(argv, USAGE, {
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: join(ROOT, '.local/bench/results.json') },
    markdown: { type: 'string', default: join(ROOT, '.local/bench/results.md') },
    only: { type: 'string' },
    'lambda-memory': { type: 'string' },
    'latency-goal': { type: 'string' },
    's3-first-byte-ms': { type: 'string', default: String(S3_LATENCY_PROFILE.firstByteMs) },
    's3-stream-mbps': { type: 'string', default: String(S3_LATENCY_PROFILE.streamBytesPerSecond / 1e6) },
  });
  const quick = values.quick === true;
  const only = new Set((values.only ?? SECTIONS.join(',')).split(',').map((s) => s.trim()));
  for (const section of only) {
    if (!(SECTIONS as readonly string[]).includes(section))
      throw new UsageError(`--only: unknown section '${section}' (sections: ${SECTIONS.join(', ')})`);
  }
  const sizes = lambdaSizesOf(values['lambda-memory']);
  const goals = { ...DEFAULT_LATENCY_GOALS_MS, ...latencyGoalsOf(values['latency-goal']) };
  let powerTuning = '';
  const latencyProfile = {
    firstByteMs: positive('--s3-first-byte-ms', values['s3-first-byte-ms']),
    streamBytesPerSecond: positive('--s3-stream-mbps', values['s3-stream-mbps']) * 1e6,
  };
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const rows: Row[] = [];
  const missing: string[] = [];
  const details: Record<string, unknown> = {};

  if (!existsSync(join(ROOT, 'dist/http/index.mjs'))) {
    progress('building the handler bundles');
    await buildHandlers();
  }
  progress(`mode ${quick ? 'quick' : 'full'}: building models`);
  const models = await benchModels({ large: !quick && only.has('cold') });
  const s3 = await startBenchS3();
  try {
    for (const model of models) await publish(s3, model);
    const handler = await loadHttpHandler(s3);
    let handlerMs: Record<string, number> = {};

    if (only.has('warm')) {
      const isolated = createCore(s3);
      const inProcess = createInProcessCore(s3);
      const warm = await warmOverhead(
        handler,
        isolated,
        models,
        {
          calls: quick ? 3 : 20,
          rounds: quick ? 1 : 5,
          warmup: quick ? 1 : 5,
          batches: [
            { model: 'breast-cancer', batch: 1 },
            { model: 'mlp-3m', batch: 1 },
            { model: 'mlp-3m', batch: 64 },
            { model: 'resnet50', batch: 1 },
            { model: 'breast-cancer-nocapture', batch: 1 },
            { model: 'mlp-3m-nocapture', batch: 1 },
            { model: 'mlp-3m-nocapture', batch: 64 },
            { model: 'resnet50-nocapture', batch: 1 },
          ],
        },
        inProcess,
      );
      isolated.loader.clear();
      inProcess.loader.clear();
      rows.push(...warm.rows);
      handlerMs = warm.handlerMs;
      details.warm = warm.raw;
    }
    if (only.has('rollout')) {
      const breast = models.find((m) => m.name === 'breast-cancer');
      if (breast) {
        const rollout = await rolloutCost(s3, breast, {
          calls: quick ? 10 : 50,
          rounds: quick ? 2 : 5,
          warmup: quick ? 3 : 10,
        });
        rows.push(...rollout.rows);
        details.rollout = rollout.raw;
      } else missing.push('rollout');
    }
    if (only.has('payload')) {
      const resnet = models.find((m) => m.name === 'resnet50');
      if (resnet) {
        const payload = await payloadSpeed(resnet, quick ? 3 : 15);
        rows.push(...payload.rows);
        details.payload = payload;
        const resnetWarm = (
          details.warm as Record<string, { handler: { median: number }; raw: { median: number } }>
        )?.['resnet50@1'];
        if (resnetWarm) {
          const gap = resnetWarm.handler.median - resnetWarm.raw.median;
          const codec = payload.decodeMs + (payload.encodeMs * 1000) / (3 * 224 * 224);
          details.resnetOverhead = {
            handlerMinusRawMs: gap,
            decodeMs: payload.decodeMs,
            decodeShareOfOverhead: payload.decodeMs / gap,
            codecMsEstimate: codec,
          };
        }
      }
    }
    if (only.has('cold')) {
      const cold = await coldStart(s3, models, {
        runs: quick ? 1 : 5,
        warmupRound: !quick,
        names: quick ? [] : ['mlp-3m', 'mlp-100mb'],
      });
      rows.push(...cold.rows);
      details.cold = cold.raw;
      const proxy = await startS3LatencyProxy(s3.endpoint, latencyProfile);
      try {
        const latency = await coldStart(s3, models, {
          runs: quick ? 1 : 5,
          warmupRound: !quick,
          names: quick ? ['mlp-3m'] : ['mlp-3m', 'mlp-100mb'],
          proxy,
          naiveTargetFromBytes: 100e6,
        });
        rows.push(...latency.rows);
        details.coldWithLatency = latency.raw;
        if (!quick) {
          const files = models
            .filter((m) => m.name === 'mlp-3m' || m.name === 'mlp-100mb')
            .map((m) => ({
              key: `models/${m.name}/1/model.onnx`,
              size: m.bytes.byteLength,
              label: `${m.name} (${(m.bytes.byteLength / 1e6).toFixed(1)} MB)`,
            }));
          const parted = await partedReadRows(s3, proxy, files, { rounds: 5 });
          rows.push(...parted.rows);
          details.partedRead = parted.raw;
          const giant = await coldStartGiant(s3, proxy);
          if ('skipped' in giant) missing.push(`3 cold start, 1 GB model: ${giant.skipped}`);
          else {
            rows.push(...giant.rows);
            details.coldGiant = giant.raw;
          }
        }
      } finally {
        await proxy.close();
      }
    }
    if (only.has('runtime')) {
      rows.push(
        ...(await runtimeChoice(
          models,
          quick
            ? [{ model: 'mlp-3m', batch: 64 }]
            : [
                { model: 'breast-cancer', batch: 1 },
                { model: 'breast-cancer', batch: 64 },
                { model: 'mlp-3m', batch: 1 },
                { model: 'mlp-3m', batch: 64 },
                { model: 'resnet50', batch: 1 },
              ],
          { calls: quick ? 3 : 8, rounds: quick ? 2 : 4, warmup: 2, threads: Math.min(cpus().length, 4) },
        )),
      );
    }
    if (only.has('batch')) {
      const batch = await batchScoring(s3, models, {
        rows: quick
          ? { 'mlp-3m': 512, 'breast-cancer': 2000 }
          : { 'mlp-3m': 5000, 'mlp-3m-nocapture': 5000, 'breast-cancer': 50_000 },
        batchSize: 256,
        repeats: quick ? 1 : 3,
      });
      rows.push(...batch.rows);
      details.batch = batch.raw;
    }
    if (only.has('fan-out')) {
      const fanOut = await batchFanOutScoring(s3, models, {
        rows: quick ? { 'breast-cancer': 20_000 } : { 'breast-cancer': 2_000_000, 'mlp-3m': 200_000 },
        parallel: [1, 2, 4],
        batchSize: 256,
      });
      rows.push(...fanOut.rows);
      details.batchFanOut = fanOut.raw;
    }
    if (only.has('drift')) {
      try {
        const drift = await driftCheck(s3, models, {
          sizes: quick ? [500, 2000] : [10_000, 100_000, 1_000_000],
          incremental: quick ? 2000 : 10_000_000,
        });
        rows.push(...drift.rows);
        details.drift = drift.raw;
      } catch (error) {
        missing.push(`6 drift check: failed (${error instanceof Error ? error.message : String(error)})`);
      }
    }
    if (only.has('server')) {
      const server = await serverBench(s3, models, {
        calls: quick ? 5 : 20,
        rounds: quick ? 1 : 5,
        warmup: quick ? 2 : 5,
        batches: quick
          ? [{ model: 'breast-cancer', batch: 1 }]
          : [
              { model: 'breast-cancer', batch: 1 },
              { model: 'mlp-3m', batch: 1 },
              { model: 'mlp-3m', batch: 64 },
            ],
        // Quick runs leave out the requests over 6 MB: a few seconds may not complete one.
        loads: quick
          ? [{ model: 'breast-cancer', batch: 1, connections: 16 }]
          : [
              { model: 'breast-cancer', batch: 1, connections: 16 },
              { model: 'mlp-3m', batch: 800, connections: 2, durationSeconds: 20 },
            ],
        durationSeconds: quick ? 1 : 5,
      });
      rows.push(...server.rows);
      details.server = server.raw;
    }
    if (only.has('footprint')) {
      const footprint = await footprintRows(handlerMs, quick ? 1 : 7);
      rows.push(...footprint.rows);
      details.footprint = footprint.raw;
    }
    if (sizes !== undefined && (only.has('warm') || only.has('cold') || only.has('batch'))) {
      // Section 10: warm, cold and batch as Lambda runs them, per memory size, S3 latency on.
      const proxy = await startS3LatencyProxy(s3.endpoint, latencyProfile);
      try {
        const lambda = await lambdaSizes(s3, proxy, models, {
          sizes,
          models: ['breast-cancer', 'mlp-3m', 'resnet50'],
          coldRuns: quick ? 1 : 3,
          warmCalls: quick ? 3 : 40,
          gapMs: 100,
          batch: { model: 'mlp-3m', rows: quick ? 256 : 5000 },
          goals,
        });
        if (lambda.skipped !== undefined) missing.push(`10 Lambda sizes: ${lambda.skipped}`);
        rows.push(...lambda.rows);
        details.lambdaSizes = { results: lambda.results, batch: lambda.batch, goals };
        powerTuning = lambda.table;
      } finally {
        await proxy.close();
      }
    }
  } finally {
    await s3.close();
  }
  if (sizes !== undefined && only.has('payload')) {
    // Section 1b: session options under a CPU quota equal to Lambda's share for each size.
    const cpuShare = await sessionOptionsRows(sizes, quick ? 5 : 30);
    if (cpuShare.skipped !== undefined)
      missing.push(`1b session options under a CPU quota: ${cpuShare.skipped}`);
    rows.push(...cpuShare.rows);
    details.sessionOptions = cpuShare.results;
  }

  const cpu = cpus()[0]?.model ?? 'unknown';
  const result: BenchResult = {
    schema: 'onnx-serve-bench/1',
    mode: quick ? 'quick' : 'full',
    startedAt,
    durationMs: performance.now() - started,
    machine: {
      cpu,
      cores: cpus().length,
      memoryGb: Math.round(totalmem() / 1024 ** 3),
      os: `${platform()} ${release()}`,
      node: process.version,
      arch: arch(),
    },
    rows,
    missing,
    details,
  };
  const table = markdownTable(rows);
  const outFile = resolve(values.out ?? '');
  const mdFile = resolve(values.markdown ?? '');
  await mkdir(dirname(outFile), { recursive: true });
  await mkdir(dirname(mdFile), { recursive: true });
  await writeFile(outFile, `${JSON.stringify(result, null, 2)}\n`);
  const machine = `${result.machine.cpu}, ${result.machine.cores} cores, ${result.machine.memoryGb} GB, ${result.machine.os}, Node ${result.machine.node}`;
  const header = `Run ${startedAt} (${result.mode}, ${(result.durationMs / 1000).toFixed(0)} s) on ${machine}.\nMedians with p10–p90 in brackets.\n\n`;
  const tuning = powerTuning === '' ? '' : `\nPower tuning (section 10):\n\n${powerTuning}\n`;
  const tail = `${tuning}${missing.length > 0 ? `\nNot measured:\n\n${missing.map((m) => `- ${m}`).join('\n')}\n` : ''}`;
  await writeFile(mdFile, `${header}${table}${tail}`);
  await new Promise((done) => process.stdout.write(`${header}${table}${tail}`, done));
  progress(`results: ${outFile}, ${mdFile}`);
}

/** Free memory the 1 GB cold start needs: the model built here, then a child's copy and its session. */
const GIANT_FREE_BYTES = 10 * 1024 ** 3;

/**
 * Cold start of a model of about 1 GB (512 → 5 × 8192 → 10, 272 M parameters), generated now,
 * with S3 latency on; skipped with the reason when this machine's free memory is short. The
 * functions are told they have 10 240 MB, as a function serving such a model would.
 */
async function coldStartGiant(
  s3: Awaited<ReturnType<typeof startBenchS3>>,
  proxy: S3LatencyProxy,
): Promise<{ rows: Row[]; raw: Record<string, unknown> } | { skipped: string }> {
  const free = freemem();
  if (free < GIANT_FREE_BYTES) {
    return {
      skipped: `${(free / 1024 ** 3).toFixed(1)} GB of memory free, ${GIANT_FREE_BYTES / 1024 ** 3} GB needed`,
    };
  }
  progress('building the 1 GB model');
  const mlp = buildMlp([512, 8192, 8192, 8192, 8192, 8192, 10], 13);
  const model: BenchModel = {
    name: 'mlp-1gb',
    bytes: mlp.bytes,
    parameters: mlp.parameters,
    input: 'input',
    rowShape: [1, 512],
  };
  const key = 'models/mlp-1gb/1/model.onnx';
  try {
    // One PUT with a long timeout (s3rver fails to assemble a 1 GB multipart upload).
    const client = createS3Client({
      region: LOCAL_REGION,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { ...LOCAL_CREDENTIALS },
      requestTimeoutMs: 600_000,
      socketTimeoutMs: 600_000,
    });
    try {
      await new S3ObjectStore({ client, bucket: s3.bucket }).put(key, model.bytes);
    } finally {
      client.destroy();
    }
    return await coldStart(
      { ...s3, env: { ...s3.env, AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '10240', INFERENCE_MEMORY_MB: '8192' } },
      [model],
      { runs: 2, warmupRound: true, names: ['mlp-1gb'], proxy, naiveTargetFromBytes: 100e6 },
    );
  } catch (error) {
    return { skipped: `failed: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    await s3.store.delete(key).catch(() => undefined);
  }
}

function positive(option: string, text: string | undefined): number {
  const value = Number(text);
  if (!(Number.isFinite(value) && value > 0))
    throw new UsageError(`${option} takes a positive number, got '${text}'`);
  return value;
}

function lambdaSizesOf(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const sizes = text.split(',').map((size) => Number(size.trim()));
  if (sizes.some((size) => !(Number.isInteger(size) && size >= 128 && size <= 10_240))) {
    throw new UsageError(
      `--lambda-memory takes memory sizes in MB from 128 to 10240, e.g. 512,1024,1769; got '${text}'`,
    );
  }
  return sizes;
}

/** `--latency-goal resnet50=300,mlp-3m=20`: warm p99 goals in ms per model. */
function latencyGoalsOf(text: string | undefined): Record<string, number> {
  const goals: Record<string, number> = {};
  if (text === undefined) return goals;
  for (const part of text.split(',')) {
    const [model = '', value = ''] = part.split('=').map((s) => s.trim());
    const ms = Number(value);
    if (model === '' || !(Number.isFinite(ms) && ms > 0)) {
      throw new UsageError(`--latency-goal takes model=ms pairs, e.g. resnet50=300,mlp-3m=20; got '${part}'`);
    }
    goals[model] = ms;
  }
  return goals;
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

function importTime(bundle: string | undefined, env: Record<string, string>): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = fork(join(ROOT, 'scripts/bench/cold/import.mjs'), [], {
      env: { PATH: process.env.PATH ?? '', ...env, ...(bundle ? { BENCH_BUNDLE: bundle } : {}) },
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      execArgv: [],
    });
    child.on('message', () => resolvePromise(performance.now() - started));
    child.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`import child exited ${code}`))));
  });
}

async function footprintRows(
  handlerMs: Record<string, number>,
  runs: number,
): Promise<{ rows: Row[]; raw: Record<string, unknown> }> {
  progress('footprint');
  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};
  const one = (value: number) => summarize([value]);
  const dist = join(ROOT, 'dist');
  const env = { MODEL_BUCKET: 'bench', AWS_REGION: 'us-east-1' };
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) bare.push(await importTime(undefined, env));
  for (const name of (await readdir(dist)).sort()) {
    const file = join(dist, name, 'index.mjs');
    if (!existsSync(file)) continue;
    const bytes = (await stat(file)).size;
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await importTime(pathToFileURL(file).href, env));
    const t = summarize(times);
    const b = summarize(bare);
    raw[name] = { bytes, importMs: t, bareNodeMs: b };
    rows.push({
      section: '7 footprint',
      what: `${name} bundle: ${(bytes / 1024).toFixed(0)} KiB; fresh process + import`,
      ours: { summary: t, unit: 'ms' },
      baseline: { summary: b, unit: 'ms' },
      baselineName: 'bare node',
      note: `import ≈ ${(t.median - b.median).toFixed(0)} ms`,
    });
  }
  for (const archName of ['arm64', 'x86_64']) {
    const dir = join(ROOT, 'layers/onnxruntime', archName);
    if (!existsSync(dir)) continue;
    const bytes = await dirBytes(dir);
    raw[`layer-${archName}`] = bytes;
    rows.push({
      section: '7 footprint',
      what: `onnxruntime layer ${archName}, unzipped`,
      ours: { summary: one(bytes / 1e6), unit: 'MB' },
    });
  }
  const gb = DEFAULT_HTTP_MEMORY_MB / 1024;
  for (const [key, ms] of Object.entries(handlerMs)) {
    const billedSeconds = Math.ceil(ms) / 1000;
    const cost = 1e6 * billedSeconds * gb * PRICE_GB_SECOND_ARM64 + PRICE_PER_MILLION_REQUESTS;
    raw[`cost-${key}`] = { ms, cost };
    rows.push({
      section: '7 footprint',
      what: `Lambda cost per 1 M predictions, ${key.replace('@', ' batch ')} (${DEFAULT_HTTP_MEMORY_MB} MB arm64, ${Math.ceil(ms)} ms billed)`,
      ours: { summary: one(cost), unit: 'USD' },
      note: 'from the measured warm handler median; per request (a batch-64 request is 64 rows)',
    });
  }
  return { rows, raw };
}

runCli(import.meta.url, USAGE, async (argv) => {
  await main(argv);
  // onnxruntime-web's worker threads and open sockets would keep the process alive.
  process.exit(0);
});
