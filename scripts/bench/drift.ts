/**
 * Section 6: drift check time and peak RSS at growing capture counts (30 features, breast-cancer
 * model and reference, one outcome per capture), and the growth exponent of time with size.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { referenceFromData } from '../../src/drift/profiles/reference-from-data.ts';
import { trainDemoModel } from '../demo-models.ts';
import { type BenchModel, type BenchS3, progress, ROOT, random, summarize } from './common.ts';
import type { Row } from './report.ts';

const PER_OBJECT = 50_000;
const HOUR_MS = 3_600_000;

interface CheckReport {
  ms: number;
  maxRssMb: number;
  rssBeforeMb: number;
  predictions: number;
  joined: number;
}

function childCheck(env: Record<string, string>): Promise<CheckReport> {
  return new Promise((resolve, reject) => {
    const child = fork(join(ROOT, 'scripts/bench/drift-child.ts'), [], {
      env: { PATH: process.env.PATH ?? '', ...env },
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    let answered = false;
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    child.on('message', (message: CheckReport) => {
      answered = true;
      resolve(message);
    });
    child.on('exit', (code) => {
      if (!answered) reject(new Error(`drift check child exited ${code}: ${stderr}`));
    });
  });
}

async function writeData(
  s3: BenchS3,
  model: string,
  count: number,
  features: string[],
  rows: number[][],
  end: Date,
) {
  const next = random(count);
  const day = (d: Date) => d.toISOString().slice(0, 13).replace(/-/g, '/').replace('T', '/');
  for (let start = 0, part = 0; start < count; start += PER_OBJECT, part++) {
    const n = Math.min(PER_OBJECT, count - start);
    const captures: string[] = [];
    const outcomes: string[] = [];
    // Spread the objects over the 24 h window, one hour folder per object.
    const ts = new Date(end.getTime() - ((part % 23) + 1) * HOUR_MS + 60_000);
    const iso = ts.toISOString();
    for (let i = 0; i < n; i++) {
      const row = rows[Math.floor(next() * rows.length)] ?? [];
      const inputs: Record<string, number> = {};
      for (let f = 0; f < features.length; f++) {
        const v = row[f] ?? 0;
        inputs[features[f] ?? ''] = Math.round(v * (0.9 + next() * 0.3) * 1e4) / 1e4;
      }
      const p = Math.round(next() * 1e4) / 1e4;
      const label = p > 0.5 ? 1 : 0;
      const id = `p${start + i}`;
      captures.push(
        JSON.stringify({
          schema: 1,
          id,
          ts: iso,
          model,
          version: '1',
          source: 'batch',
          inputs,
          outputs: [
            { name: 'label', datatype: 'INT64', shape: [1], data: [label] },
            { name: 'probabilities', datatype: 'FP32', shape: [1, 2], data: [1 - p, p] },
          ],
          latency_ms: 0.01,
        }),
      );
      outcomes.push(JSON.stringify({ id, value: next() < 0.9 ? label : 1 - label, ts: iso }));
    }
    await s3.store.put(`captures/${model}/${day(ts)}/bench-${part}.jsonl`, `${captures.join('\n')}\n`);
    await s3.store.put(`outcomes/${model}/${day(ts)}/bench-${part}.jsonl`, `${outcomes.join('\n')}\n`);
  }
}

export async function driftCheck(
  s3: BenchS3,
  models: readonly BenchModel[],
  options: { sizes: number[] },
): Promise<{ rows: Row[]; raw: Record<string, unknown> }> {
  const base = models.find((m) => m.name === 'breast-cancer');
  const features = base?.config?.feature_names;
  if (base === undefined || !Array.isArray(features)) return { rows: [], raw: {} };
  const trained = await trainDemoModel('breast-cancer');
  const names = features as string[];
  const csv = [
    [...names, 'label'].join(','),
    ...trained.trainRows.map((row, i) => [...row, trained.trainLabels[i] ?? 0].join(',')),
  ].join('\n');
  const end = new Date('2026-06-02T00:00:00Z');
  const points: { n: number; ms: number; rss: number }[] = [];
  const raw: Record<string, unknown> = {};
  const rows: Row[] = [];
  for (const size of options.sizes) {
    const model = `drift-${size}`;
    progress(`drift check: writing ${size} captures and outcomes`);
    await s3.store.put(`models/${model}/1/model.onnx`, base.bytes);
    await s3.store.put(`models/${model}/config.json`, JSON.stringify(base.config));
    const reference = await referenceFromData({
      model,
      modelBytes: base.bytes,
      config: base.config,
      text: csv,
      fileName: 'train.csv',
      labelColumn: 'label',
    });
    await s3.store.put(`models/${model}/1/reference.json`, JSON.stringify(reference));
    await writeData(s3, model, size, names, trained.trainRows, end);
    progress(`drift check: ${size} captures`);
    const result = await childCheck({ ...s3.env, BENCH_MODEL: model, BENCH_END: end.toISOString() });
    if (result.predictions !== size)
      throw new Error(`the check saw ${result.predictions} of ${size} captures`);
    points.push({ n: size, ms: result.ms, rss: result.maxRssMb });
    raw[model] = result;
    const limits = size >= 1_000_000;
    rows.push({
      section: '6 drift check',
      what: `${size.toLocaleString('en-US')} captures + outcomes, 30 features: time`,
      ours: { summary: summarize([result.ms / 1000]), unit: 's' },
      target: limits ? '≤ 30 s' : undefined,
      met: limits ? result.ms <= 30_000 : undefined,
      note: `${Math.round((size / result.ms) * 1000).toLocaleString('en-US')} captures/s; ${result.joined.toLocaleString('en-US')} joined with outcomes`,
    });
    rows.push({
      section: '6 drift check',
      what: `${size.toLocaleString('en-US')} captures: peak RSS of the checking process`,
      ours: { summary: summarize([result.maxRssMb]), unit: 'MB' },
      target: limits ? '≤ 1 GB' : undefined,
      met: limits ? result.maxRssMb <= 1000 : undefined,
      note: `RSS at start ${result.rssBeforeMb.toFixed(0)} MB (Node + tsx + modules)`,
    });
  }
  if (points.length >= 2) {
    // Least-squares slope of log(time) on log(n).
    const xs = points.map((p) => Math.log(p.n));
    const ys = points.map((p) => Math.log(p.ms));
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    let num = 0;
    let den = 0;
    for (let i = 0; i < xs.length; i++) {
      num += ((xs[i] ?? 0) - mx) * ((ys[i] ?? 0) - my);
      den += ((xs[i] ?? 0) - mx) ** 2;
    }
    const exponent = num / den;
    raw.exponent = exponent;
    rows.push({
      section: '6 drift check',
      what: `growth exponent of time over ${points.map((p) => p.n.toLocaleString('en-US')).join(' / ')}`,
      ours: { summary: summarize([exponent]), unit: '' },
      target: '≤ 1.1',
      met: exponent <= 1.1,
    });
  }
  return { rows, raw };
}
