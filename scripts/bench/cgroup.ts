/**
 * CPU quotas for benchmark children: a cgroup whose CPU bandwidth is a number of vCPUs (Lambda's
 * share for a memory size), on cgroup v1 (`cpu` controller, `cpu.cfs_quota_us`) or v2 (`cpu.max`).
 * Needs root; `cpuQuotaSupport` says why not otherwise. Every group made is removed by `remove()`.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { progress } from './common.ts';

const V1_CPU = '/sys/fs/cgroup/cpu';
const V2_ROOTS = ['/sys/fs/cgroup', '/sys/fs/cgroup/unified'];
const PERIOD_US = 100_000;

type Hierarchy = { version: 1; base: string } | { version: 2; base: string };

export interface CpuQuotaGroup {
  path: string;
  version: 1 | 2;
  /** Moves a process (all its threads) into the group. */
  add(pid: number): Promise<void>;
  /** Waits for the group to empty, then removes it; reports (never throws) when it cannot. */
  remove(): Promise<void>;
}

let found: Promise<{ ok: true; hierarchy: Hierarchy } | { ok: false; reason: string }> | undefined;

/** Where CPU quotas can be made on this machine, or why they cannot (checked once). */
export function cpuQuotaSupport(): Promise<
  { ok: true; hierarchy: Hierarchy } | { ok: false; reason: string }
> {
  found ??= probe();
  return found;
}

async function probe(): Promise<{ ok: true; hierarchy: Hierarchy } | { ok: false; reason: string }> {
  const reasons: string[] = [];
  if (existsSync(join(V1_CPU, 'cpu.cfs_quota_us'))) {
    const reason = await tryCreate(V1_CPU);
    if (reason === undefined) return { ok: true, hierarchy: { version: 1, base: V1_CPU } };
    reasons.push(`cgroup v1: ${reason}`);
  } else reasons.push(`cgroup v1: no cpu controller at ${V1_CPU}`);
  for (const root of V2_ROOTS) {
    const controllers = await readFile(join(root, 'cgroup.controllers'), 'utf8').catch(() => undefined);
    if (controllers === undefined) continue;
    if (!controllers.split(/\s+/).includes('cpu')) {
      reasons.push(
        `cgroup v2 at ${root}: the cpu controller is not available (controllers: ${controllers.trim() || 'none'})`,
      );
      continue;
    }
    try {
      // Children of the root may use the cpu controller once the root delegates it.
      await writeFile(join(root, 'cgroup.subtree_control'), '+cpu');
    } catch (error) {
      reasons.push(`cgroup v2 at ${root}: cannot enable the cpu controller (${(error as Error).message})`);
      continue;
    }
    const reason = await tryCreate(root);
    if (reason === undefined) return { ok: true, hierarchy: { version: 2, base: root } };
    reasons.push(`cgroup v2 at ${root}: ${reason}`);
  }
  if (reasons.length === 1) reasons.push('cgroup v2: not mounted');
  return { ok: false, reason: `no CPU quota can be set on this machine (needs root): ${reasons.join('; ')}` };
}

async function tryCreate(base: string): Promise<string | undefined> {
  const probePath = join(base, `onnx-serve-probe-${process.pid}`);
  try {
    await mkdir(probePath);
    await rmdir(probePath);
    return undefined;
  } catch (error) {
    return `cannot create a cgroup under ${base}: ${(error as Error).message}`;
  }
}

/**
 * Creates a group limited to `vcpus` CPUs (quota per 100 ms period).
 *
 * @example
 * ```ts
 * const group = await createCpuQuotaGroup('bench-512', 512 / 1769);
 * try { await group.add(child.pid); … } finally { await group.remove(); }
 * ```
 */
export async function createCpuQuotaGroup(name: string, vcpus: number): Promise<CpuQuotaGroup> {
  const support = await cpuQuotaSupport();
  if (!support.ok) throw new Error(support.reason);
  const { version, base } = support.hierarchy;
  const path = join(base, `onnx-serve-${name}-${process.pid}`);
  await mkdir(path);
  const quota = Math.max(1000, Math.round(PERIOD_US * vcpus));
  const group: CpuQuotaGroup = {
    path,
    version,
    add: (pid) => writeFile(join(path, 'cgroup.procs'), String(pid)),
    async remove() {
      // A group can be removed once empty; a child may take a moment to leave it.
      for (let attempt = 0; attempt < 50; attempt++) {
        const procs = await readFile(join(path, 'cgroup.procs'), 'utf8').catch(() => '');
        if (procs.trim() === '') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await rmdir(path).catch((error) => progress(`could not remove ${path}: ${(error as Error).message}`));
    },
  };
  try {
    if (version === 1) {
      await writeFile(join(path, 'cpu.cfs_period_us'), String(PERIOD_US));
      await writeFile(join(path, 'cpu.cfs_quota_us'), String(quota));
    } else {
      await writeFile(join(path, 'cpu.max'), `${quota} ${PERIOD_US}`);
    }
  } catch (error) {
    await group.remove();
    throw error;
  }
  return group;
}
