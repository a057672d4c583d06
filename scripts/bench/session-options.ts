/**
 * Session options under Lambda's CPU share: for each memory size, a child process runs inside a
 * cgroup (v1 `cpu` controller or v2 `cpu.max`) whose CPU quota is the share Lambda gives that size (memory / 1769
 * MB vCPUs), and times the light ResNet-50 with onnxruntime's defaults, with spinning off, with
 * one thread and with the options the product chooses for that size — back to back and with a
 * pause between requests (real traffic: the spinning threads of the previous run eat the quota).
 * Variants run in alternating blocks after a quiet pause, so load on the machine hits them alike.
 *
 * `tsx scripts/bench/session-options.ts [--sizes 512,1024,1769,3008] [--runs 40] [--out file.json]`
 * (root is needed to create cgroups; the sizes need not be Lambda's).
 */
import { fork } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { DEFAULT_SESSION_OPTIONS, WARM_UP_MODEL_BASE64 } from '../../src/runtime/model-loader.ts';
import {
  chooseSessionTuning,
  detectCpuEnvironment,
  MB_PER_VCPU,
  sessionOptionsOf,
} from '../../src/runtime/session-options.ts';
import { cpuQuotaSupport, createCpuQuotaGroup } from './cgroup.ts';
import { progress, RESNET_PATH, randomFloats, summarize } from './common.ts';
import type { Row } from './report.ts';

/** The variants compared, each a function of the memory size. */
const VARIANTS: Record<string, (memoryMb: number) => InferenceSession.SessionOptions> = {
  defaults: () => ({}),
  'spinning off': () => ({ extra: { session: { intra_op: { allow_spinning: '0' } } } }),
  '1 thread, sequential': () => ({ intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' }),
  chosen: (memoryMb) => sessionOptionsOf(chooseSessionTuning(detectCpuEnvironment(memoryMb)).tuning),
};

export interface VariantResult {
  variant: string;
  createMs: number;
  backToBack: ReturnType<typeof summarize>;
  paced: ReturnType<typeof summarize>;
}

export interface SizeResult {
  memoryMb: number;
  quotaVcpu: number;
  variants: VariantResult[];
}

/** Whether this machine lets us create a CPU quota (cgroup v1 or v2); the reason when not. */
export async function cgroupSupport(): Promise<{ ok: true } | { ok: false; reason: string }> {
  const support = await cpuQuotaSupport();
  return support.ok ? { ok: true } : support;
}

/** Runs the child for one memory size inside its own cgroup; removes the cgroup afterwards. */
async function measureSize(memoryMb: number, runs: number): Promise<SizeResult> {
  const quotaVcpu = memoryMb / MB_PER_VCPU;
  const group = await createCpuQuotaGroup(`session-options-${memoryMb}`, quotaVcpu);
  try {
    const child = fork(fileURLToPath(import.meta.url), ['--child', String(memoryMb), String(runs)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const result = new Promise<VariantResult[]>((resolve, reject) => {
      child.on('message', (message: { variants?: VariantResult[] }) => {
        if (message.variants) resolve(message.variants);
      });
      child.on('exit', (code) => reject(new Error(`child for ${memoryMb} MB exited with ${code}`)));
    });
    // In the cgroup before it creates any onnxruntime thread (the whole process moves).
    await group.add(child.pid ?? 0);
    child.send({ go: true });
    const variants = await result;
    child.kill();
    return { memoryMb, quotaVcpu, variants };
  } finally {
    await group.remove();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Child: times each variant in blocks, alternating, after a quiet pause. */
async function child(memoryMb: number, runs: number): Promise<void> {
  await new Promise((resolve) => process.once('message', resolve));
  const model = new Uint8Array(await readFile(RESNET_PATH));
  const input = new Tensor('float32', randomFloats(3 * 224 * 224, 11), [1, 3, 224, 224]);
  const sessions: { variant: string; session: InferenceSession; createMs: number }[] = [];
  // onnxruntime's one-time set-up goes first, so no variant's creation time includes it.
  await (await InferenceSession.create(Buffer.from(WARM_UP_MODEL_BASE64, 'base64'))).release();
  for (const [variant, options] of Object.entries(VARIANTS)) {
    const started = performance.now();
    const session = await InferenceSession.create(model, {
      ...DEFAULT_SESSION_OPTIONS,
      ...options(memoryMb),
    });
    const createMs = performance.now() - started;
    const feeds = { [session.inputNames[0] ?? '']: input };
    for (let i = 0; i < 3; i++) await session.run(feeds);
    sessions.push({ variant, session, createMs });
  }
  const backToBack = new Map<string, number[]>(sessions.map((s) => [s.variant, []]));
  const paced = new Map<string, number[]>(sessions.map((s) => [s.variant, []]));
  const block = 5;
  for (let round = 0; round < Math.ceil(runs / block); round++) {
    for (const { variant, session } of sessions) {
      const feeds = { [session.inputNames[0] ?? '']: input };
      await sleep(300);
      for (let i = 0; i < block; i++) {
        const started = performance.now();
        await session.run(feeds);
        backToBack.get(variant)?.push(performance.now() - started);
      }
      await sleep(300);
      for (let i = 0; i < block; i++) {
        await sleep(150);
        const started = performance.now();
        await session.run(feeds);
        paced.get(variant)?.push(performance.now() - started);
      }
    }
  }
  const variants: VariantResult[] = sessions.map(({ variant, createMs }) => ({
    variant,
    createMs,
    backToBack: summarize(backToBack.get(variant) ?? []),
    paced: summarize(paced.get(variant) ?? []),
  }));
  process.send?.({ variants });
  for (const { session } of sessions) await session.release();
}

/** The markdown table of a run: median / p90 ms per variant and size, and ratios to the defaults. */
export function sessionOptionsTable(results: readonly SizeResult[]): string {
  const sizes = results.map((r) => `${r.memoryMb} MB (${r.quotaVcpu.toFixed(2)} vCPU)`);
  const lines = [
    `| ResNet-50 (light), median / p90 ms | ${sizes.join(' | ')} |`,
    `| --- | ${sizes.map(() => '---').join(' | ')} |`,
  ];
  const names = results[0]?.variants.map((v) => v.variant) ?? [];
  const cell = (s: ReturnType<typeof summarize>) => `${s.median.toFixed(1)} / ${s.p90.toFixed(1)}`;
  for (const mode of ['backToBack', 'paced'] as const) {
    for (const name of names) {
      const cells = results.map((r) => {
        const v = r.variants.find((x) => x.variant === name);
        const d = r.variants.find((x) => x.variant === 'defaults');
        if (!v || !d) return '';
        const ratio = v[mode].median / d[mode].median;
        return name === 'defaults' ? cell(v[mode]) : `${cell(v[mode])} (×${ratio.toFixed(2)})`;
      });
      lines.push(
        `| ${name}, ${mode === 'paced' ? '150 ms between requests' : 'back to back'} | ${cells.join(' | ')} |`,
      );
    }
  }
  const creates = results.map((r) =>
    r.variants.map((v) => `${v.variant} ${v.createMs.toFixed(0)}`).join(', '),
  );
  lines.push(`| session creation ms | ${creates.join(' | ')} |`);
  return lines.join('\n');
}

/**
 * The comparison as benchmark rows (`npm run bench -- --lambda-memory 512,1024`): per memory size
 * and variant, back to back and paced, against onnxruntime's defaults measured in the same child.
 * Returns no rows and the reason when this machine cannot create a CPU quota.
 */
export async function sessionOptionsRows(
  sizes: readonly number[],
  runs: number,
): Promise<{ rows: Row[]; results: SizeResult[]; skipped?: string }> {
  const support = await cgroupSupport();
  if (!support.ok) return { rows: [], results: [], skipped: support.reason };
  const results: SizeResult[] = [];
  const rows: Row[] = [];
  for (const memoryMb of sizes) {
    progress(`session options: ${memoryMb} MB, quota ${(memoryMb / MB_PER_VCPU).toFixed(2)} vCPU`);
    const result = await measureSize(memoryMb, runs);
    results.push(result);
    const defaults = result.variants.find((v) => v.variant === 'defaults');
    if (defaults === undefined) continue;
    for (const mode of ['backToBack', 'paced'] as const) {
      for (const variant of result.variants) {
        if (variant === defaults) continue;
        rows.push({
          section: '1b session options',
          what: `resnet50 at ${memoryMb} MB (${result.quotaVcpu.toFixed(2)} vCPU quota), ${variant.variant}, ${mode === 'paced' ? '150 ms between requests' : 'back to back'}`,
          ours: { summary: variant[mode], unit: 'ms' },
          baseline: { summary: defaults[mode], unit: 'ms' },
          baselineName: 'onnxruntime defaults',
          ratioName: 'ours/defaults',
          ratio: variant[mode].median / defaults[mode].median,
          target: variant.variant === 'chosen' ? '< 1 (expected)' : undefined,
          met: variant.variant === 'chosen' ? variant[mode].median < defaults[mode].median : undefined,
          note: `session creation ${variant.createMs.toFixed(0)} ms vs ${defaults.createMs.toFixed(0)} ms`,
        });
      }
    }
  }
  return { rows, results };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '512,1024,1769,3008' },
      runs: { type: 'string', default: '40' },
      out: { type: 'string' },
    },
  });
  const support = await cgroupSupport();
  if (!support.ok) {
    progress(`session options under a CPU quota skipped: ${support.reason}`);
    return;
  }
  const sizes = (values.sizes ?? '').split(',').map(Number);
  const runs = Number(values.runs);
  const results: SizeResult[] = [];
  progress(`${availableParallelism()} CPUs visible; ${runs} runs per variant and mode`);
  for (const memoryMb of sizes) {
    progress(`${memoryMb} MB: quota ${(memoryMb / MB_PER_VCPU).toFixed(2)} vCPU`);
    results.push(await measureSize(memoryMb, runs));
  }
  const table = sessionOptionsTable(results);
  console.log(table);
  if (values.out) await writeFile(values.out, `${JSON.stringify(results, null, 2)}\n`);
}

if (process.argv[2] === '--child') {
  await child(Number(process.argv[3]), Number(process.argv[4]));
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
