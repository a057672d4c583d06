/**
 * Section 10: the functions as Lambda runs them, per memory size. For each size, fresh processes
 * run inside a cgroup whose CPU quota is Lambda's share for that size (memory / 1769 MB vCPUs),
 * with `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` set to it and S3 reached through the latency proxy:
 * - http: the built http bundle answers one inference event cold (time from `fork` to the answer:
 *   Node's start, the bundle's import, listing, model read, session, inference), then, in the last
 *   cold process, warm calls with a pause between them (p50/p90/p99 per call);
 * - batch: the built batch bundle scores a CSV named by an S3 event, cold (rows per second of the
 *   invocation, model load included).
 * Cost per million predictions: the mean billed duration (each call rounded up to the millisecond)
 * at the size's GB-seconds, arm64 and x86-64 prices, plus the request price. The power-tuning
 * table names, per model, the cheapest size whose warm p99 meets a latency goal.
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MB_PER_VCPU } from '../../src/runtime/session-options.ts';
import { syntheticCsv } from './batch.ts';
import { cpuQuotaSupport, createCpuQuotaGroup } from './cgroup.ts';
import {
  type BenchModel,
  type BenchS3,
  progress,
  ROOT,
  randomFloats,
  type Summary,
  summarize,
} from './common.ts';
import type { Row } from './report.ts';
import type { S3LatencyProxy } from './s3-latency-proxy.ts';
import { apiEvent, requestBody } from './warm.ts';

/** Lambda prices, us-east-1, first tier: per GB-second by architecture, and per request. */
export const LAMBDA_PRICES = {
  gbSecond: { arm64: 0.0000133334, x86_64: 0.0000166667 },
  perMillionRequests: 0.2,
} as const;

/** Warm p99 goals (ms) the power-tuning table picks the cheapest size for; `--latency-goal` overrides. */
export const DEFAULT_LATENCY_GOALS_MS: Record<string, number> = {
  'breast-cancer': 10,
  'mlp-3m': 25,
  resnet50: 400,
};

export interface LambdaSizeOptions {
  sizes: readonly number[];
  models: readonly string[];
  coldRuns: number;
  warmCalls: number;
  /** Pause before each warm call (traffic that leaves the function idle between requests). */
  gapMs: number;
  batch: { model: string; rows: number };
  goals: Record<string, number>;
}

export interface SizeModelResult {
  memoryMb: number;
  model: string;
  cold?: Summary;
  warm?: Summary & { p99: number };
  costPerMillion?: { arm64: number; x86_64: number };
  failure?: string;
}

export interface SizeBatchResult {
  memoryMb: number;
  model: string;
  rows: number;
  rowsPerSecond?: number;
  costPerMillionRows?: { arm64: number; x86_64: number };
  failure?: string;
}

interface ChildOutcome {
  coldMs: number;
  callMs: number;
  durations: number[];
  failure?: string;
}

/** The q-quantile of `values` (linear between order statistics). */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = sorted[Math.floor(pos)] ?? Number.NaN;
  const hi = sorted[Math.ceil(pos)] ?? Number.NaN;
  return lo + (hi - lo) * (pos - Math.floor(pos));
}

/** Lambda's cost of a million calls of these durations at `memoryMb`. */
export function costPerMillion(
  durationsMs: readonly number[],
  memoryMb: number,
): { arm64: number; x86_64: number } {
  const billedSeconds = durationsMs.reduce((sum, ms) => sum + Math.ceil(ms), 0) / durationsMs.length / 1000;
  const gbSeconds = 1e6 * billedSeconds * (memoryMb / 1024);
  return {
    arm64: gbSeconds * LAMBDA_PRICES.gbSecond.arm64 + LAMBDA_PRICES.perMillionRequests,
    x86_64: gbSeconds * LAMBDA_PRICES.gbSecond.x86_64 + LAMBDA_PRICES.perMillionRequests,
  };
}

/** One Lambda-shaped process inside `group`: cold answer, then warm calls. */
function runFunction(
  env: Record<string, string>,
  addToGroup: (pid: number) => Promise<void>,
  timeoutMs: number,
): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = fork(join(ROOT, 'scripts/bench/cold/lambda.mjs'), [], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      execArgv: [],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    const outcome: Partial<ChildOutcome> = {};
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('function process timed out'));
    }, timeoutMs);
    addToGroup(child.pid ?? 0).catch((error) => {
      child.kill('SIGKILL');
      reject(error);
    });
    child.on(
      'message',
      (message: { type: string; failure?: string; callMs?: number; durations?: number[] }) => {
        if (message.type === 'cold') {
          outcome.coldMs = performance.now() - started;
          outcome.callMs = message.callMs ?? Number.NaN;
          outcome.failure = message.failure;
        } else if (message.type === 'warm') {
          outcome.durations = message.durations ?? [];
          outcome.failure ??= message.failure;
        }
      },
    );
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (outcome.coldMs === undefined || outcome.durations === undefined) {
        reject(new Error(`function process exited ${code} without answering: ${stderr.trim().slice(-500)}`));
      } else resolve(outcome as ChildOutcome);
    });
  });
}

function s3Event(bucket: string, key: string, size: number) {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: new Date().toISOString(),
        eventName: 'ObjectCreated:Put',
        s3: {
          s3SchemaVersion: '1.0',
          bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
          object: { key, size },
        },
      },
    ],
  };
}

/**
 * Runs section 10. Returns no rows and the reason when this machine cannot set a CPU quota.
 */
export async function lambdaSizes(
  s3: BenchS3,
  proxy: S3LatencyProxy,
  models: readonly BenchModel[],
  options: LambdaSizeOptions,
): Promise<{
  rows: Row[];
  results: SizeModelResult[];
  batch: SizeBatchResult[];
  table: string;
  skipped?: string;
}> {
  const support = await cpuQuotaSupport();
  if (!support.ok) return { rows: [], results: [], batch: [], table: '', skipped: support.reason };
  const dir = await mkdtemp(join(tmpdir(), 'bench-lambda-'));
  const results: SizeModelResult[] = [];
  const batch: SizeBatchResult[] = [];
  try {
    const events = new Map<string, string>();
    for (const name of options.models) {
      const model = models.find((m) => m.name === name);
      if (model === undefined) continue;
      const count = model.rowShape.reduce((a, b) => a * b, 1);
      const file = join(dir, `${name}.json`);
      await writeFile(
        file,
        JSON.stringify(
          apiEvent(`/v2/models/${name}/infer`, requestBody(model, model.rowShape, randomFloats(count, 5))),
        ),
      );
      events.set(name, file);
    }
    const batchModel = models.find((m) => m.name === options.batch.model);
    const features = batchModel?.config?.feature_names;
    const csv = Array.isArray(features)
      ? syntheticCsv(features as string[], options.batch.rows).csv
      : undefined;
    for (const memoryMb of options.sizes) {
      const vcpu = memoryMb / MB_PER_VCPU;
      progress(`Lambda sizes: ${memoryMb} MB, CPU quota ${vcpu.toFixed(2)} vCPU`);
      const group = await createCpuQuotaGroup(`lambda-${memoryMb}`, vcpu);
      try {
        const base = {
          ...s3.env,
          S3_ENDPOINT: proxy.endpoint,
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
          BENCH_GAP_MS: String(options.gapMs),
        };
        for (const [name, eventFile] of events) {
          const cold: number[] = [];
          let warm: number[] = [];
          let failure: string | undefined;
          for (let run = 0; run < options.coldRuns && failure === undefined; run++) {
            const last = run === options.coldRuns - 1;
            try {
              const outcome = await runFunction(
                {
                  ...base,
                  BENCH_BUNDLE: pathToFileURL(join(ROOT, 'dist/http/index.mjs')).href,
                  BENCH_EVENT_FILE: eventFile,
                  BENCH_WARM_CALLS: String(last ? options.warmCalls : 0),
                },
                group.add,
                600_000,
              );
              failure = outcome.failure;
              cold.push(outcome.coldMs);
              if (last) warm = outcome.durations;
            } catch (error) {
              failure = error instanceof Error ? error.message : String(error);
            }
          }
          const result: SizeModelResult = { memoryMb, model: name };
          if (failure !== undefined) result.failure = failure;
          if (cold.length > 0) result.cold = summarize(cold);
          if (warm.length > 0) {
            result.warm = { ...summarize(warm), p99: quantile(warm, 0.99) };
            result.costPerMillion = costPerMillion(warm, memoryMb);
          }
          results.push(result);
          progress(
            `  ${name}: cold ${result.cold?.median.toFixed(0) ?? '–'} ms, warm p50 ${result.warm?.median.toFixed(1) ?? '–'} ms${failure ? `, failed: ${failure}` : ''}`,
          );
        }
        if (csv !== undefined) {
          const key = `batch/input/${options.batch.model}/lambda-${memoryMb}.csv`;
          await s3.store.put(key, csv);
          const eventFile = join(dir, `batch-${memoryMb}.json`);
          await writeFile(eventFile, JSON.stringify(s3Event(s3.bucket, key, csv.length)));
          const result: SizeBatchResult = { memoryMb, model: options.batch.model, rows: options.batch.rows };
          try {
            const outcome = await runFunction(
              {
                ...base,
                BENCH_BUNDLE: pathToFileURL(join(ROOT, 'dist/batch/index.mjs')).href,
                BENCH_EVENT_FILE: eventFile,
                BENCH_WARM_CALLS: '0',
              },
              group.add,
              900_000,
            );
            if (outcome.failure !== undefined) result.failure = outcome.failure;
            else {
              result.rowsPerSecond = options.batch.rows / (outcome.callMs / 1000);
              // One invocation scores every row: a million rows cost a million / rows invocations.
              const perFile = costPerMillion([outcome.callMs], memoryMb);
              const files = 1e6 / options.batch.rows;
              result.costPerMillionRows = {
                arm64: (perFile.arm64 * files) / 1e6,
                x86_64: (perFile.x86_64 * files) / 1e6,
              };
            }
          } catch (error) {
            result.failure = error instanceof Error ? error.message : String(error);
          }
          batch.push(result);
          progress(`  batch ${options.batch.model}: ${result.rowsPerSecond?.toFixed(0) ?? '–'} rows/s`);
        }
      } finally {
        await group.remove();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return {
    rows: rowsOf(results, batch),
    results,
    batch,
    table: powerTuningTable(results, batch, options.goals),
  };
}

function rowsOf(results: readonly SizeModelResult[], batch: readonly SizeBatchResult[]): Row[] {
  const rows: Row[] = [];
  for (const r of results) {
    const vcpu = (r.memoryMb / MB_PER_VCPU).toFixed(2);
    rows.push({
      section: '10 Lambda sizes',
      what: `${r.model} at ${r.memoryMb} MB (${vcpu} vCPU), S3 latency on: warm call`,
      ...(r.warm ? { ours: { summary: r.warm, unit: 'ms' } } : {}),
      ...(r.cold ? { baseline: { summary: r.cold, unit: 'ms' }, baselineName: 'cold start' } : {}),
      note: r.failure
        ? `failed: ${r.failure}`
        : `p99 ${r.warm?.p99.toFixed(1)} ms; per 1 M predictions $${r.costPerMillion?.arm64.toFixed(2)} arm64, $${r.costPerMillion?.x86_64.toFixed(2)} x86-64`,
    });
  }
  for (const b of batch) {
    rows.push({
      section: '10 Lambda sizes',
      what: `batch ${b.model}, ${b.rows} rows at ${b.memoryMb} MB (${(b.memoryMb / MB_PER_VCPU).toFixed(2)} vCPU), cold invocation`,
      ...(b.rowsPerSecond === undefined
        ? {}
        : { ours: { summary: summarize([b.rowsPerSecond]), unit: 'rows/s' } }),
      note: b.failure
        ? `failed: ${b.failure}`
        : `per 1 M rows $${b.costPerMillionRows?.arm64.toFixed(3)} arm64, $${b.costPerMillionRows?.x86_64.toFixed(3)} x86-64`,
    });
  }
  return rows;
}

const ms = (value: number | undefined) =>
  value === undefined ? '–' : value >= 100 ? value.toFixed(0) : value.toFixed(1);
const usd = (value: number | undefined) => (value === undefined ? '–' : `$${value.toFixed(2)}`);

/** The power-tuning table (markdown): per model and size, then the cheapest size meeting each goal. */
export function powerTuningTable(
  results: readonly SizeModelResult[],
  batch: readonly SizeBatchResult[],
  goals: Record<string, number>,
): string {
  const lines = [
    '| model | memory | vCPU | cold start, median | warm p50 / p90 / p99 ms | per 1 M predictions, arm64 | x86-64 |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    const warm = r.warm
      ? `${ms(r.warm.median)} / ${ms(r.warm.p90)} / ${ms(r.warm.p99)}`
      : `failed: ${r.failure}`;
    lines.push(
      `| ${r.model} | ${r.memoryMb} MB | ${(r.memoryMb / MB_PER_VCPU).toFixed(2)} | ${r.cold ? `${ms(r.cold.median)} ms` : '–'} | ${warm} | ${usd(r.costPerMillion?.arm64)} | ${usd(r.costPerMillion?.x86_64)} |`,
    );
  }
  lines.push('', '| model | warm p99 goal | cheapest size meeting it (arm64 price) |', '| --- | --- | --- |');
  const models = [...new Set(results.map((r) => r.model))];
  for (const model of models) {
    const goal = goals[model];
    if (goal === undefined) continue;
    const meeting = results
      .filter((r) => r.model === model && r.warm !== undefined && r.warm.p99 <= goal && r.costPerMillion)
      .sort((a, b) => (a.costPerMillion?.arm64 ?? 0) - (b.costPerMillion?.arm64 ?? 0));
    const best = meeting[0];
    lines.push(
      `| ${model} | ≤ ${goal} ms | ${best ? `${best.memoryMb} MB: p99 ${ms(best.warm?.p99)} ms, ${usd(best.costPerMillion?.arm64)} per 1 M` : 'none of the sizes measured'} |`,
    );
  }
  if (batch.length > 0) {
    lines.push(
      '',
      '| batch | memory | rows/s (cold invocation) | per 1 M rows, arm64 | x86-64 |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const b of batch) {
      lines.push(
        `| ${b.model}, ${b.rows} rows | ${b.memoryMb} MB | ${b.rowsPerSecond === undefined ? `failed: ${b.failure}` : b.rowsPerSecond.toFixed(0)} | ${b.costPerMillionRows ? `$${b.costPerMillionRows.arm64.toFixed(3)}` : '–'} | ${b.costPerMillionRows ? `$${b.costPerMillionRows.x86_64.toFixed(3)}` : '–'} |`,
      );
    }
  }
  return lines.join('\n');
}
