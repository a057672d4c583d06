import { existsSync } from 'node:fs';
import { arch, availableParallelism } from 'node:os';
import type { InferenceSession } from 'onnxruntime-node';

/**
 * Lambda gives a function CPU in proportion to its memory: 1769 MB is one full vCPU (AWS's figure),
 * 512 MB about 0.29 of one, while 2 vCPUs are visible up to 3008 MB. A process sees the CPUs, not
 * its share of them, so thread counts chosen from the visible CPUs oversubscribe the share.
 */
export const MB_PER_VCPU = 1769;

/** The files onnxruntime's CPU detection (cpuinfo) reads on Linux; absent on some Lambda hosts. */
export const CPU_LIST_FILES = [
  '/sys/devices/system/cpu/possible',
  '/sys/devices/system/cpu/present',
] as const;

/** Where the process runs, as far as session options care. */
export interface CpuEnvironment {
  /** `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`; undefined outside Lambda. */
  memoryMb?: number;
  /** CPUs this process may be scheduled on (`os.availableParallelism()`). */
  visibleCpus: number;
  /** Whether the kernel's CPU lists exist: without them onnxruntime cannot count cores itself. */
  cpuListsPresent: boolean;
  /** `os.arch()`. */
  arch: string;
}

/** How onnxruntime runs one session's graph on the CPU: what the options below are built from. */
export interface SessionTuning {
  /** Threads inside one operator (the caller's thread counts as one). */
  intraOpThreads: number;
  /** Threads running independent operators at once; used by `parallel` execution only. */
  interOpThreads: number;
  executionMode: 'sequential' | 'parallel';
  /**
   * Whether idle intra-op threads spin-wait for work after a run instead of sleeping
   * (`session.intra_op.allow_spinning`). Spinning burns the CPU share the next request needs.
   */
  spinning: boolean;
}

/**
 * `config.json`'s `session` field: per-model overrides of the chosen tuning (docs/model-repository.md).
 * Each field is optional; what is absent keeps the value chosen for the function's CPU share.
 */
export interface SessionConfig {
  intra_op_threads?: number;
  inter_op_threads?: number;
  execution_mode?: 'sequential' | 'parallel';
  spinning?: boolean;
}

/** The tuning for a CPU environment and the reasons for it (one line each, for a log line). */
export interface SessionChoice {
  tuning: SessionTuning;
  notes: string[];
}

/** Most threads worth giving one operator: Lambda's largest size has 6 vCPUs. */
export const MAX_SESSION_THREADS = 64;

/**
 * The CPU environment of this process: the function's memory (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`,
 * as the caller read it), visible CPUs from the scheduler affinity, and whether the kernel's CPU
 * lists exist.
 *
 * @example
 * ```ts
 * detectCpuEnvironment(1024); // { memoryMb: 1024, visibleCpus: 2, cpuListsPresent: true, arch: 'arm64' }
 * ```
 */
export function detectCpuEnvironment(
  memoryMb: number | undefined,
  probe: { exists?: (path: string) => boolean; visibleCpus?: () => number; arch?: () => string } = {},
): CpuEnvironment {
  const exists = probe.exists ?? existsSync;
  return {
    memoryMb: memoryMb !== undefined && Number.isFinite(memoryMb) && memoryMb > 0 ? memoryMb : undefined,
    visibleCpus: Math.max(1, Math.floor((probe.visibleCpus ?? availableParallelism)())),
    cpuListsPresent: CPU_LIST_FILES.every((file) => exists(file)),
    arch: (probe.arch ?? arch)(),
  };
}

/**
 * Chooses the session tuning for a CPU environment (docs/benchmarks.md has the measurements):
 * - on Lambda (memory known), one intra-op thread below half a vCPU, else twice the share in
 *   threads (rounded up, at most the visible CPUs), and no spinning. The quota is counted per
 *   100 ms period, so a run shorter than that can use more threads than the share before it is
 *   throttled: measured with ResNet-50 under Lambda's quotas on an idle 2-core machine, two
 *   threads beat one from 0.58 vCPU (1024 MB) up with requests 150 ms apart (47 against 62 ms at
 *   1024 MB, 36 against 63 ms at 1769 MB) and from 1769 MB back to back too (37 against 60 ms at
 *   3008 MB), and lost at 0.29 vCPU (512 MB: 297 against 205 ms back to back). A spinning thread
 *   spends the share the next request needs; without spinning, two threads stayed within the
 *   run-to-run noise of onnxruntime's defaults (×0.81–1.05 of their median);
 * - outside Lambda, one thread per visible CPU with spinning (onnxruntime's own default);
 * - always sequential execution with one inter-op thread (parallel execution only pays on
 *   branchy graphs with idle cores), and the thread count always explicit: where the kernel's CPU
 *   lists are absent, onnxruntime's own count fails and it silently falls back to one thread.
 *
 * @example
 * ```ts
 * chooseSessionTuning({ memoryMb: 512, visibleCpus: 2, cpuListsPresent: true, arch: 'arm64' }).tuning;
 * // { intraOpThreads: 1, interOpThreads: 1, executionMode: 'sequential', spinning: false }
 * ```
 */
export function chooseSessionTuning(cpu: CpuEnvironment): SessionChoice {
  const notes: string[] = [];
  let tuning: SessionTuning;
  if (cpu.memoryMb !== undefined) {
    const share = cpu.memoryMb / MB_PER_VCPU;
    const threads = Math.min(cpu.visibleCpus, threadsForShare(share), MAX_SESSION_THREADS);
    tuning = { intraOpThreads: threads, interOpThreads: 1, executionMode: 'sequential', spinning: false };
    notes.push(
      `${cpu.memoryMb} MB is ${share.toFixed(2)} vCPU of ${cpu.visibleCpus} visible: ${threads} intra-op thread${threads === 1 ? '' : 's'}, no spinning`,
    );
  } else {
    const threads = Math.min(cpu.visibleCpus, MAX_SESSION_THREADS);
    tuning = { intraOpThreads: threads, interOpThreads: 1, executionMode: 'sequential', spinning: true };
    notes.push(`no Lambda memory size: ${threads} intra-op thread${threads === 1 ? '' : 's'} (visible CPUs)`);
  }
  if (!cpu.cpuListsPresent) {
    notes.push(
      `${CPU_LIST_FILES.join(' and ')} absent: onnxruntime cannot count the cores itself (it would log cpuinfo_initialize failed and use one thread); ${tuning.intraOpThreads} set explicitly`,
    );
  }
  return { tuning, notes };
}

/**
 * Intra-op threads for a CPU share (vCPUs): one below half a vCPU, else twice the share, rounded
 * up (the visible CPUs cap it).
 *
 * @example
 * ```ts
 * threadsForShare(512 / 1769); // 1
 * threadsForShare(1024 / 1769); // 2
 * ```
 */
export function threadsForShare(share: number): number {
  return share < 0.5 ? 1 : Math.ceil(2 * share);
}

/**
 * `tuning` with a model's `config.json` `session` overrides applied.
 *
 * @example
 * ```ts
 * withOverrides(tuning, { intra_op_threads: 2 }).intraOpThreads; // 2
 * ```
 */
export function withOverrides(tuning: SessionTuning, config: SessionConfig | undefined): SessionTuning {
  if (config === undefined) return tuning;
  return {
    intraOpThreads: config.intra_op_threads ?? tuning.intraOpThreads,
    interOpThreads: config.inter_op_threads ?? tuning.interOpThreads,
    executionMode: config.execution_mode ?? tuning.executionMode,
    spinning: config.spinning ?? tuning.spinning,
  };
}

/**
 * onnxruntime session options for a tuning (merged over the loader's defaults by the caller).
 *
 * @example
 * ```ts
 * sessionOptionsOf({ intraOpThreads: 1, interOpThreads: 1, executionMode: 'sequential', spinning: false });
 * // { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
 * //   extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }
 * ```
 */
export function sessionOptionsOf(tuning: SessionTuning): InferenceSession.SessionOptions {
  const spinning = tuning.spinning ? '1' : '0';
  return {
    intraOpNumThreads: tuning.intraOpThreads,
    interOpNumThreads: tuning.interOpThreads,
    executionMode: tuning.executionMode,
    extra: { session: { intra_op: { allow_spinning: spinning }, inter_op: { allow_spinning: spinning } } },
  };
}
