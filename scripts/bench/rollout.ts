/**
 * Rollout section: the per-request cost of a traffic split (routing on the request id) and of a
 * shadow version (a second run of the same inputs, awaited after the answer and captured), through
 * the serving core with capture on, against the same model served plainly, in interleaved rounds.
 */
import { readServingConfig } from '../../src/config/serving-config.ts';
import { createServing } from '../../src/serving.ts';
import { type BenchModel, type BenchS3, progress, randomFloats, summarize } from './common.ts';
import type { Row } from './report.ts';

export interface RolloutBenchOptions {
  calls: number;
  rounds: number;
  warmup: number;
}

/** Publishes the model three ways: plain, split 90/10 over two versions, and with a shadow. */
async function publishVariants(s3: BenchS3, model: BenchModel): Promise<Record<string, string>> {
  const names = { plain: 'rollout-plain', split: 'rollout-split', shadow: 'rollout-shadow' };
  const extra = {
    plain: { default_version: 1 },
    split: { traffic: { '1': 90, '2': 10 } },
    shadow: { default_version: 1, shadow: [2] },
  };
  for (const [kind, name] of Object.entries(names)) {
    await s3.store.put(`models/${name}/1/model.onnx`, model.bytes);
    if (kind !== 'plain') await s3.store.put(`models/${name}/2/model.onnx`, model.bytes);
    await s3.store.put(
      `models/${name}/config.json`,
      JSON.stringify({ ...(model.config ?? {}), ...extra[kind as keyof typeof extra] }),
    );
  }
  return names;
}

/**
 * Median time per request of each variant with a fresh request id per call (so that the split
 * routes every call), and the overhead against the plain model.
 */
export async function rolloutCost(
  s3: BenchS3,
  model: BenchModel,
  options: RolloutBenchOptions,
): Promise<{ rows: Row[]; raw: Record<string, unknown> }> {
  progress('rollout: routing and shadow cost');
  const names = await publishVariants(s3, model);
  const core = createServing(readServingConfig({ ...s3.env, CAPTURE_ENABLED: 'true' }), { store: s3.store });
  const data = Array.from(
    randomFloats(
      model.rowShape.reduce((a, b) => a * b, 1),
      7,
    ),
  );
  let counter = 0;
  const call = async (name: string) => {
    counter += 1;
    const body = JSON.stringify({
      id: `bench-${counter}`,
      inputs: [{ name: model.input, shape: model.rowShape, datatype: 'FP32', data }],
    });
    const outcome = await core.handle({
      method: 'POST',
      path: `/v2/models/${name}/infer`,
      body: Buffer.from(body, 'utf8'),
    });
    if (outcome.response.status !== 200) throw new Error(`${name}: ${outcome.response.body}`);
    if (name === names.shadow && outcome.shadow?.succeeded.length !== 1 && counter > options.warmup * 3) {
      throw new Error(`${name}: the shadow did not run: ${JSON.stringify(outcome.shadow)}`);
    }
  };
  const times: Record<string, number[]> = { plain: [], split: [], shadow: [] };
  for (let i = 0; i < options.warmup; i++) for (const name of Object.values(names)) await call(name);
  for (let round = 0; round < options.rounds; round++) {
    for (const [kind, name] of Object.entries(names)) {
      for (let i = 0; i < options.calls; i++) {
        const t = performance.now();
        await call(name);
        times[kind]?.push(performance.now() - t);
      }
    }
  }
  const plain = summarize(times.plain ?? []);
  const rows: Row[] = [];
  const raw: Record<string, unknown> = { plain };
  for (const kind of ['split', 'shadow'] as const) {
    const summary = summarize(times[kind] ?? []);
    raw[kind] = summary;
    const overhead = summary.median - plain.median;
    rows.push({
      section: '7 rollouts',
      what:
        kind === 'split'
          ? `${model.name}, batch 1, traffic split 90/10 (routing on the id)`
          : `${model.name}, batch 1, shadow version (run + capture, awaited)`,
      ours: { summary, unit: 'ms' },
      baseline: { summary: plain, unit: 'ms' },
      baselineName: 'same model, no rollout (core, capture on)',
      ratioName: `${kind}/plain`,
      ratio: summary.median / plain.median,
      target: kind === 'split' ? 'overhead ≤ 0.05 ms' : undefined,
      met: kind === 'split' ? overhead <= 0.05 : undefined,
      note: `overhead ${overhead.toFixed(3)} ms per request`,
    });
  }
  return { rows, raw };
}
