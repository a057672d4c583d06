/**
 * Section 5: batch scoring rows/s, S3 input → S3 output through the batch core, vs raw
 * `session.run` over the same rows at the same micro-batch size.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { s3StoresOf } from '../../src/adapters/aws/s3-store.ts';
import { createBatchScoring } from '../../src/batch/batch-scoring.ts';
import { assembleFanOut, type FanOutFile, type FanOutRange, planFanOut } from '../../src/batch/fan-out.ts';
import { type BatchSummary, SUMMARY_SCHEMA_VERSION } from '../../src/batch/summary.ts';
import { readBatchConfig } from '../../src/config/batch-config.ts';
import {
  BENCH_SESSION_OPTIONS,
  type BenchModel,
  type BenchS3,
  progress,
  ROOT,
  random,
  summarize,
} from './common.ts';
import type { Row } from './report.ts';

/**
 * The batch core as the batch function wires it (its client's streaming timeouts included),
 * against the bench's S3 server, capture on.
 */
function benchBatch(s3: BenchS3, batchSize: number) {
  const config = readBatchConfig({ ...s3.env, BATCH_SIZE: String(batchSize), CAPTURE_ENABLED: 'true' });
  return createBatchScoring(config, {
    storeFor: s3StoresOf(s3.streamingClient, { partBytes: config.partBytes }),
  });
}

/** The bench models named in `rows` that have feature names (tabular), with their row counts. */
function* tabularModels(models: readonly BenchModel[], rows: Record<string, number>) {
  for (const [name, count] of Object.entries(rows)) {
    const model = models.find((m) => m.name === name);
    const features = model?.config?.feature_names;
    if (model === undefined || !Array.isArray(features)) continue;
    yield { name, count, model, features: features as string[] };
  }
}

/**
 * A CSV of `count` rows over `features` (header first), values with three decimals as a CSV export
 * writes them (`-1.234`), from a fixed seed; `decimals` holds the same values row by row.
 */
export function syntheticCsv(
  features: readonly string[],
  count: number,
): { csv: string; decimals: Float64Array } {
  const width = features.length;
  const next = random(99);
  const decimals = new Float64Array(count * width);
  for (let i = 0; i < decimals.length; i++) decimals[i] = Math.round((next() * 20 - 5) * 1000) / 1000;
  const lines = [features.join(',')];
  for (let r = 0; r < count; r++) lines.push(decimals.subarray(r * width, (r + 1) * width).join(','));
  return { csv: `${lines.join('\n')}\n`, decimals };
}

export async function batchScoring(
  s3: BenchS3,
  models: readonly BenchModel[],
  options: { rows: Record<string, number>; batchSize: number; repeats: number },
): Promise<{ rows: Row[]; raw: Record<string, unknown> }> {
  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};
  const batch = benchBatch(s3, options.batchSize);
  for (const { name, count, model, features } of tabularModels(models, options.rows)) {
    progress(`batch scoring: ${name}, ${count} rows`);
    const width = features.length;
    const { csv, decimals } = syntheticCsv(features, count);
    // The raw baseline gets the same values as float32, which is what the batch scorer feeds the model.
    const values = Float32Array.from(decimals);

    const ours: number[] = [];
    const base: number[] = [];
    const session = await ortNode.InferenceSession.create(model.bytes, BENCH_SESSION_OPTIONS);
    for (let rep = 0; rep < options.repeats; rep++) {
      const key = `batch/input/${name}/bench-${rep}.csv`;
      await s3.store.put(key, csv);
      const started = performance.now();
      const outcome = await batch.scoreObject({ bucket: s3.bucket, key });
      const ms = performance.now() - started;
      if (outcome.status !== 'succeeded') throw new Error(`batch ${key}: ${outcome.status}`);
      ours.push(count / (ms / 1000));

      const t = performance.now();
      for (let r = 0; r < count; r += options.batchSize) {
        const n = Math.min(options.batchSize, count - r);
        const tensor = new ortNode.Tensor('float32', values.subarray(r * width, (r + n) * width), [n, width]);
        await session.run({ [model.input]: tensor });
      }
      base.push(count / ((performance.now() - t) / 1000));
    }
    await session.release();
    const o = summarize(ours);
    const b = summarize(base);
    raw[name] = { rows: count, csvBytes: csv.length, ours: o, raw: b };
    const ratio = o.median / b.median;
    rows.push({
      section: '5 batch scoring',
      what: `${name}, ${count} rows, micro-batch ${options.batchSize}`,
      ours: { summary: o, unit: 'rows/s' },
      baseline: { summary: b, unit: 'rows/s' },
      baselineName: 'raw session.run',
      ratioName: 'ours/raw',
      ratio,
      target: name.startsWith('mlp-3m') ? '≥ 0.7' : undefined,
      met: name.startsWith('mlp-3m') ? ratio >= 0.7 : undefined,
    });
  }
  return { rows, raw };
}

/**
 * Section 5b: the fan-out path. One CSV per model is scored (a) as one whole-file run in this
 * process and (b) planned here, cut into N ranges each scored by its own process (N = 1, 2, 4:
 * the function instances of the Distributed Map), and assembled here, as the state machine's
 * steps do. Reported: rows/s of the whole path (plan + ranges + assembly; the processes started
 * and warmed on a first slice beforehand, as warm function instances) against N = 1 and against
 * the whole-file run. The processes and the S3 server share this machine's cores.
 */
export async function batchFanOutScoring(
  s3: BenchS3,
  models: readonly BenchModel[],
  options: { rows: Record<string, number>; parallel: readonly number[]; batchSize: number },
): Promise<{ rows: Row[]; raw: Record<string, unknown> }> {
  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};
  const batch = benchBatch(s3, options.batchSize);
  for (const { name, count, features } of tabularModels(models, options.rows)) {
    progress(`batch fan-out: ${name}, ${count} rows`);
    const key = `batch/input/${name}/fan-out-bench.csv`;
    const summaryKey = `batch/output/${name}/fan-out-bench.csv.summary.json`;
    // Streamed as it is generated: the larger files exceed what one JavaScript string can hold.
    const { etag, size } = await uploadSyntheticCsv(s3, key, features, count);

    await s3.store.delete(summaryKey);
    let started = performance.now();
    const outcome = await batch.scoreObject({ bucket: s3.bucket, key, etag });
    if (outcome.status !== 'succeeded') throw new Error(`batch ${key}: ${outcome.status}`);
    const single = count / ((performance.now() - started) / 1000);

    const rates = new Map<number, number>();
    /** Per N: seconds of planning, of the ranges, of the assembly. */
    const phases = new Map<number, { plan: number; ranges: number; assemble: number }>();
    for (const n of options.parallel) {
      const instances = await Promise.all(
        Array.from({ length: n }, () => rangeInstance({ ...s3.env, BATCH_SIZE: String(options.batchSize) })),
      );
      try {
        const deps = batch.stepDeps(s3.bucket);
        // Warm instances, as a busy function's are: each scores a first slice once, untimed.
        const warm = await planFanOut({ bucket: s3.bucket, key, etag, run: `warm-${n}` }, deps, {
          rangeBytes: Math.ceil(size / 10),
          maxRanges: 1000,
        });
        if ('superseded' in warm) throw new Error('superseded');
        const [first] = warm.ranges;
        if (first !== undefined)
          await Promise.all(instances.map((instance) => instance.score(warm.file, first)));
        const run = { bucket: s3.bucket, key, etag, run: `bench-${n}` };
        // Claimed as the batch function claims it, so that the steps own the summary.
        await s3.store.put(summaryKey, JSON.stringify(claimedSummary(name, key, etag, run.run)));
        started = performance.now();
        const plan = await planFanOut(run, deps, { rangeBytes: Math.ceil(size / n), maxRanges: 1000 });
        if ('superseded' in plan) throw new Error('superseded');
        const planned = performance.now();
        await Promise.all(plan.ranges.map((range, i) => instances[i % n]?.score(plan.file, range)));
        const scored = performance.now();
        const summary = await assembleFanOut(plan.file, deps);
        if ('superseded' in summary || summary.counts.total !== count)
          throw new Error('fan-out bench: wrong count');
        const ended = performance.now();
        rates.set(n, count / ((ended - started) / 1000));
        phases.set(n, {
          plan: (planned - started) / 1000,
          ranges: (scored - planned) / 1000,
          assemble: (ended - scored) / 1000,
        });
      } finally {
        for (const instance of instances) instance.close();
      }
    }
    raw[name] = {
      rows: count,
      csvBytes: size,
      single,
      parallel: Object.fromEntries(rates),
      phasesSeconds: Object.fromEntries(phases),
    };
    const one = rates.get(1) ?? single;
    for (const [n, rate] of rates) {
      const phase = phases.get(n);
      const split =
        phase === undefined
          ? ''
          : `; plan ${phase.plan.toFixed(1)} s, ranges ${phase.ranges.toFixed(1)} s (${Math.round(count / phase.ranges)} rows/s), assembly ${phase.assemble.toFixed(1)} s`;
      rows.push({
        section: '5 batch fan-out',
        what: `${name}, ${count} rows, ${n} range${n === 1 ? '' : 's'} in ${n} process${n === 1 ? '' : 'es'} <br><sub>vs N = 1: ${(rate / one).toFixed(2)}×${split}</sub>`,
        ours: { summary: summarize([rate]), unit: 'rows/s' },
        baseline: { summary: summarize([single]), unit: 'rows/s' },
        baselineName: 'whole-file run',
        ratioName: 'fan-out/whole',
        ratio: rate / single,
      });
    }
  }
  return { rows, raw };
}

/** Uploads a CSV of `count` rows over `features` (values as `syntheticCsv` makes them), written as it is generated. */
async function uploadSyntheticCsv(
  s3: BenchS3,
  key: string,
  features: readonly string[],
  count: number,
): Promise<{ etag: string; size: number }> {
  const next = random(7);
  const writer = s3.store.createWriter(key);
  let chunk = `${features.join(',')}\n`;
  for (let r = 0; r < count; r++) {
    chunk += `${features.map(() => Math.round((next() * 20 - 5) * 1000) / 1000).join(',')}\n`;
    if (chunk.length >= 4 * 1024 * 1024) {
      await writer.write(chunk);
      chunk = '';
    }
  }
  await writer.write(chunk);
  const { etag, bytes } = await writer.complete();
  if (etag === undefined) throw new Error('no ETag');
  return { etag, size: bytes };
}

/** A process scoring ranges (scripts/bench/fan-out-child.ts), ready once its batch core is wired. */
async function rangeInstance(env: Record<string, string>) {
  const child = fork(join(ROOT, 'scripts/bench/fan-out-child.ts'), [], {
    env: { PATH: process.env.PATH ?? '', ...env },
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise<void>((ready, fail) => {
    child.once('message', () => ready());
    child.once('exit', (code) => fail(new Error(`fan-out bench child exited ${code}`)));
  });
  return {
    score: (file: FanOutFile, range: FanOutRange) =>
      new Promise<void>((done, fail) => {
        child.once('message', (message: { error?: string }) =>
          message.error === undefined ? done() : fail(new Error(message.error)),
        );
        child.send({ file, range });
      }),
    close: () => child.kill(),
  };
}

function claimedSummary(model: string, key: string, etag: string, run: string): BatchSummary {
  const now = new Date().toISOString();
  return {
    schema: SUMMARY_SCHEMA_VERSION,
    status: 'running',
    model,
    version: null,
    version_from: null,
    input: { key, etag, size: null, format: null, compression: null },
    output: null,
    errors: null,
    captures: null,
    counts: { total: 0, ok: 0, failed: 0 },
    started_at: now,
    updated_at: now,
    finished_at: null,
    duration_ms: 0,
    rows_per_second: 0,
    batch_size: 0,
    warnings: [],
    fan_out: { run, execution: null, ranges: { total: null, done: 0 } },
  };
}
