/**
 * Section 3: cold start. Each run is a fresh `node` process, timed by the parent from spawn to the
 * child's first answer (IPC message), model fetched from the local S3 server every time.
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BenchModel, type BenchS3, progress, ROOT, randomFloats, summarize } from './common.ts';
import type { Row } from './report.ts';
import type { S3LatencyProxy } from './s3-latency-proxy.ts';
import { apiEvent, requestBody } from './warm.ts';

const VARIANTS = ['floor', 'ours', 'naive'] as const;
type Variant = (typeof VARIANTS)[number];

function runChild(script: string, env: Record<string, string>, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = fork(script, [], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      execArgv: [],
    });
    let stderr = '';
    let answered = false;
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} timed out`));
    }, timeoutMs);
    child.on('message', (message: { status?: number }) => {
      const elapsed = performance.now() - started;
      answered = true;
      clearTimeout(timer);
      if (message.status !== 200) reject(new Error(`${script} answered ${message.status}`));
      else resolve(elapsed);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!answered) reject(new Error(`${script} exited ${code} without answering: ${stderr}`));
    });
  });
}

export async function coldStart(
  s3: BenchS3,
  models: readonly BenchModel[],
  options: {
    runs: number;
    names: string[];
    warmupRound?: boolean;
    /** Children reach S3 through this proxy (first-byte latency, per-stream bandwidth). */
    proxy?: S3LatencyProxy;
    /** Row targets: naive/ours ≥ 1.3 is expected only for models of at least this size. */
    naiveTargetFromBytes?: number;
  },
): Promise<{ rows: Row[]; raw: Record<string, unknown> }> {
  const proxy = options.proxy;
  const latency =
    proxy === undefined
      ? ''
      : `, S3 latency on (${proxy.profile.firstByteMs} ms, ${(proxy.profile.streamBytesPerSecond / 1e6).toFixed(0)} MB/s per stream)`;
  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};
  const dir = await mkdtemp(join(tmpdir(), 'bench-cold-'));
  try {
    for (const name of options.names) {
      const model = models.find((m) => m.name === name);
      if (model === undefined) continue;
      const shape = model.rowShape;
      const data = randomFloats(
        shape.reduce((a, b) => a * b, 1),
        5,
      );
      const eventFile = join(dir, `${name}.event.json`);
      await writeFile(
        eventFile,
        JSON.stringify(apiEvent(`/v2/models/${name}/infer`, requestBody(model, shape, data))),
      );
      const env = {
        ...s3.env,
        ...(proxy === undefined ? {} : { S3_ENDPOINT: proxy.endpoint }),
        BENCH_BUNDLE: pathToFileURL(join(ROOT, 'dist/http/index.mjs')).href,
        BENCH_EVENT_FILE: eventFile,
        BENCH_KEY: `models/${name}/1/model.onnx`,
        BENCH_TMP: dir,
      };
      const times: Record<Variant, number[]> = { floor: [], ours: [], naive: [] };
      // One unmeasured round (skipped in quick mode) warms the OS file cache for node, the SDK and onnxruntime alike.
      for (let run = options.warmupRound === false ? 0 : -1; run < options.runs; run++) {
        for (const variant of VARIANTS) {
          const ms = await runChild(join(ROOT, 'scripts/bench/cold', `${variant}.mjs`), env, 600_000);
          if (run >= 0) times[variant].push(ms);
        }
        progress(`cold start ${name}${latency}: run ${run + 1}/${options.runs}`);
      }
      const floor = summarize(times.floor);
      const ours = summarize(times.ours);
      const naive = summarize(times.naive);
      const mb = (model.bytes.byteLength / 1e6).toFixed(1);
      raw[`${name}${proxy === undefined ? '' : '@latency'}`] = {
        modelBytes: model.bytes.byteLength,
        floor,
        ours,
        naive,
        samples: times,
      };
      rows.push({
        section: '3 cold start',
        what: `${name} (${mb} MB)${latency}: ours vs floor`,
        ours: { summary: ours, unit: 'ms' },
        baseline: { summary: floor, unit: 'ms' },
        baselineName: 'floor',
        ratioName: 'ours/floor',
        ratio: ours.median / floor.median,
        target: '≤ 1.2',
        met: ours.median / floor.median <= 1.2,
      });
      rows.push({
        section: '3 cold start',
        what: `${name} (${mb} MB)${latency}: naive vs ours`,
        ours: { summary: ours, unit: 'ms' },
        baseline: { summary: naive, unit: 'ms' },
        baselineName: 'naive',
        ratioName: 'naive/ours',
        ratio: naive.median / ours.median,
        ...(model.bytes.byteLength >= (options.naiveTargetFromBytes ?? 0)
          ? { target: '≥ 1.3', met: naive.median / ours.median >= 1.3 }
          : {}),
      });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { rows, raw };
}
