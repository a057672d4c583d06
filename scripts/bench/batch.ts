/**
 * Section 5: batch scoring rows/s, S3 input → S3 output through the batch core, vs raw
 * `session.run` over the same rows at the same micro-batch size.
 */
import * as ortNode from 'onnxruntime-node';
import { s3StoresOf } from '../../src/adapters/aws/s3-store.ts';
import { createBatchScoring } from '../../src/batch/batch-scoring.ts';
import { readBatchConfig } from '../../src/config/batch-config.ts';
import {
  BENCH_SESSION_OPTIONS,
  type BenchModel,
  type BenchS3,
  progress,
  random,
  summarize,
} from './common.ts';
import type { Row } from './report.ts';

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
  const config = readBatchConfig({
    ...s3.env,
    BATCH_SIZE: String(options.batchSize),
    CAPTURE_ENABLED: 'true',
  });
  const batch = createBatchScoring(config, {
    storeFor: s3StoresOf(s3.client, { partBytes: config.partBytes }),
  });
  for (const [name, count] of Object.entries(options.rows)) {
    const model = models.find((m) => m.name === name);
    const features = model?.config?.feature_names;
    if (model === undefined || !Array.isArray(features)) continue;
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
