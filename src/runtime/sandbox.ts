/**
 * Runs a model in its own child process, so that no model and no request can hold, exhaust or
 * crash the process that serves everything else.
 *
 * Why a process: onnxruntime-node runs `session.run` synchronously on the calling thread (the
 * event loop is blocked for the whole run), its `RunOptions.terminate` is not implemented in the
 * Node.js binding, and a worker thread cannot be stopped while it is inside native code
 * (measured: `worker.terminate()` waits for a 10⁸-trip `Loop` to finish). A child process can be
 * killed at its deadline, its address space can be capped (`ulimit -v`, so that an allocation
 * past the cap fails inside onnxruntime instead of growing the function until it is killed), and
 * its outputs are measured before they cross to the parent. Cost on a quiet 2-core machine: about
 * 0.16 ms a run for the IPC round trip (structured clone of the tensors), about 0.4 ms a request
 * through the serving path (docs/benchmarks.md, "Isolation"). Loading costs more than in-process
 * when the model's bytes cross the IPC channel: 100 MB took about 0.29 s beyond the session's
 * creation (serialisation, the pipe, the process's reassembly), so model files of 8 MiB or more are
 * handed over as a file in ephemeral storage instead (`model-file.ts`: about 0.07 s to write 100 MB,
 * while the download runs), which the process reads and loads as bytes (docs/benchmarks.md, "The
 * cold path on S3's latency").
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type InferenceSession, Tensor } from 'onnxruntime-node';
import {
  InferenceLimitError,
  InferenceTimeoutError,
  ModelProcessStoppedError,
  ModelUnavailableError,
} from '../errors.ts';
import type { ChildMessage, ParentMessage, WireTensor } from './sandbox-protocol.ts';

/** What callers of a loaded model use; the sandbox implements it. */
export interface ModelSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly InferenceSession.ValueMetadata[];
  run(
    feeds: Record<string, Tensor>,
    fetchesOrOptions?: readonly string[] | InferenceSession.RunOptions,
    options?: InferenceSession.RunOptions,
  ): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

/** The limits every run of a sandboxed model is held to. */
export interface SandboxLimits {
  /** A run still going after this many milliseconds is stopped (its process is killed). */
  deadlineMs: number;
  /** Outputs of one run larger than this in total are refused before they leave the process. */
  maxOutputBytes: number;
  /**
   * Address space the process may take beyond its own baseline, in MiB: the session's memory
   * plus what one run allocates. `undefined`: no cap.
   */
  memoryMb?: number;
  /** Loading the model (session creation) is stopped after this many milliseconds. */
  loadTimeoutMs: number;
}

/** Defaults: 20 s (below API Gateway's 29 s), 6 MB (Lambda's response limit), 2 GiB, 120 s. */
export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  deadlineMs: 20_000,
  maxOutputBytes: 6 * 1024 * 1024,
  memoryMb: 2048,
  loadTimeoutMs: 120_000,
};

/**
 * Virtual address space of an idle model process (Node.js, V8 reservations, onnxruntime and its
 * thread stacks): about 0.93 GB measured on a 2-core machine; more cores mean more thread stacks.
 */
export const PROCESS_BASELINE_MB = 1536;

/**
 * What a sandbox loads: model bytes sent over IPC (with external data files in memory); a model
 * file the process reads into memory and loads as bytes (`modelFile`: a hand-off of a large model,
 * loaded exactly as bytes are, with the same messages); or a model loaded by its path (`path`:
 * inside a private copy of its version folder, so that onnxruntime finds its external data).
 */
export type SandboxSource =
  | { model: Uint8Array; externalData?: { path: string; data: Uint8Array }[] }
  | { modelFile: string }
  | { path: string };

export interface SandboxOptions {
  /** How the model is named in messages, e.g. `model 'iris' version 3`. */
  label: string;
  limits: SandboxLimits;
  sessionOptions: InferenceSession.SessionOptions;
  /** Called once when the process is gone (killed at a deadline, crashed or released). */
  onExit?: (reason: string) => void;
}

interface Pending {
  resolve: (outputs: Record<string, Tensor>) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** Which file the child runs: `sandbox-child.mjs` next to this module (the source, or the handler's bundle). */
export function sandboxEntry(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ONNX_SANDBOX_ENTRY) return env.ONNX_SANDBOX_ENTRY;
  const here = dirname(fileURLToPath(import.meta.url));
  const path = join(here, 'sandbox-child.mjs');
  if (existsSync(path)) return path;
  throw new Error(`the model process entry (sandbox-child) was not found next to ${here}`);
}

let emptyDir: string | undefined;
/**
 * The working directory of every model process: an empty directory of its own, so that a path
 * onnxruntime might resolve against the working directory finds nothing to read. Removed when
 * this process exits (it stays empty, so that cannot fail on its contents).
 */
function privateWorkingDirectory(): string {
  if (emptyDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-sandbox-'));
    emptyDir = dir;
    process.once('exit', () => {
      try {
        rmdirSync(dir);
      } catch {
        // Already gone, or a model process wrote into it: left for the OS's temporary-file cleanup.
      }
    });
  }
  return emptyDir;
}

let shellChecked: boolean | undefined;
function haveShell(): boolean {
  shellChecked ??= existsSync('/bin/sh');
  return shellChecked;
}

/**
 * One model in one child process. `open` spawns the process and loads the model; `run` sends the
 * inputs and resolves with the outputs, or rejects with:
 * - `InferenceTimeoutError` (504) when the run passes `deadlineMs`: the process is killed, the
 *   other runs waiting on it get `ModelProcessStoppedError` (503, retry), and the sandbox is dead;
 * - `InferenceLimitError` (422) when the outputs exceed `maxOutputBytes` (named with their sizes)
 *   or the run hit the memory cap; the process stays up;
 * - the runtime's own error (an `Error`) when onnxruntime refuses the inputs.
 *
 * @example
 * ```ts
 * const sandbox = await ModelSandbox.open({ model: bytes }, { label: "model 'iris' version 1", limits, sessionOptions: {} });
 * const outputs = await sandbox.run({ x: new Tensor('float32', data, [1, 4]) });
 * await sandbox.release();
 * ```
 */
export class ModelSandbox implements ModelSession {
  inputNames: string[] = [];
  outputNames: string[] = [];
  inputMetadata: InferenceSession.ValueMetadata[] = [];
  outputMetadata: InferenceSession.ValueMetadata[] = [];
  readonly #child: ChildProcess;
  readonly #options: SandboxOptions;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #dead: string | undefined;
  #loading: { resolve: () => void; reject: (error: Error) => void } | undefined;

  private constructor(child: ChildProcess, options: SandboxOptions) {
    this.#child = child;
    this.#options = options;
    child.on('message', (message: ChildMessage) => this.#receive(message));
    child.on('exit', (code, signal) => {
      const why = signal === null ? `exit code ${code}` : `signal ${signal}`;
      this.#die(`the model's process stopped (${why})`);
    });
    child.on('error', (error) => this.#die(`the model's process failed: ${error.message}`));
  }

  /** Spawns the process and loads the model; throws `ModelUnavailableError` when it cannot. */
  static async open(source: SandboxSource, options: SandboxOptions): Promise<ModelSandbox> {
    const sandbox = ModelSandbox.spawn(options);
    await sandbox.load(source);
    return sandbox;
  }

  /**
   * Starts the process without a model (it sets onnxruntime up meanwhile), so that its start-up
   * overlaps the model's download; `load` then hands it the model.
   */
  static spawn(options: SandboxOptions): ModelSandbox {
    const { memoryMb } = options.limits;
    const args = ['--max-old-space-size=256', sandboxEntry()];
    const stdio: ('ignore' | 'inherit' | 'ipc')[] = ['ignore', 'inherit', 'inherit', 'ipc'];
    const child =
      memoryMb !== undefined && haveShell()
        ? spawn(
            '/bin/sh',
            [
              '-c',
              'ulimit -v "$1" && shift && exec "$@"',
              'sh',
              String(Math.ceil((PROCESS_BASELINE_MB + memoryMb) * 1024)),
              process.execPath,
              ...args,
            ],
            { stdio, serialization: 'advanced', cwd: privateWorkingDirectory() },
          )
        : spawn(process.execPath, args, { stdio, serialization: 'advanced', cwd: privateWorkingDirectory() });
    return new ModelSandbox(child, options);
  }

  /** Loads the model into the process; on failure the process is stopped and this throws. */
  async load(source: SandboxSource): Promise<void> {
    try {
      await this.#load(source);
    } catch (error) {
      this.#kill('load failed');
      throw error;
    }
    this.#idle();
  }

  /** Why the sandbox can no longer run anything, or `undefined` while it can. */
  get dead(): string | undefined {
    return this.#dead;
  }

  async run(
    feeds: Record<string, Tensor>,
    fetchesOrOptions?: readonly string[] | InferenceSession.RunOptions,
    options?: InferenceSession.RunOptions,
  ): Promise<Record<string, Tensor>> {
    if (this.#dead !== undefined) {
      throw new ModelProcessStoppedError(`${this.#options.label} is not running (${this.#dead}); retry`);
    }
    const fetches = Array.isArray(fetchesOrOptions) ? [...fetchesOrOptions] : undefined;
    const runOptions = Array.isArray(fetchesOrOptions)
      ? options
      : (fetchesOrOptions as InferenceSession.RunOptions | undefined);
    const wireFeeds: Record<string, WireTensor> = {};
    for (const [name, tensor] of Object.entries(feeds)) wireFeeds[name] = toWire(tensor);
    const id = this.#nextId++;
    const { deadlineMs, maxOutputBytes } = this.#options.limits;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#overran(id), deadlineMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#busy();
      const message: ParentMessage = {
        type: 'run',
        id,
        feeds: wireFeeds,
        fetches,
        runOptions: { logSeverityLevel: 4, ...runOptions },
        maxOutputBytes,
      };
      this.#child.send(message, (error) => {
        if (error !== null && error !== undefined)
          this.#die(`the model's process cannot be reached: ${error.message}`);
      });
    });
  }

  /** Stops the process; runs still waiting get `ModelProcessStoppedError`. */
  async release(): Promise<void> {
    this.#kill('released');
  }

  async #load(source: SandboxSource): Promise<void> {
    const { label, limits, sessionOptions } = this.#options;
    const message: ParentMessage =
      'model' in source
        ? { type: 'load', model: source.model, externalData: source.externalData, options: sessionOptions }
        : { type: 'load', ...source, options: sessionOptions };
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.#loading = { resolve, reject };
        timer = setTimeout(() => {
          reject(
            new ModelUnavailableError(
              `${label} could not be loaded: loading took longer than ${limits.loadTimeoutMs / 1000} s`,
            ),
          );
        }, limits.loadTimeoutMs);
        this.#child.send(message, (error) => {
          if (error !== null && error !== undefined)
            reject(new ModelUnavailableError(`${label} could not be loaded: ${error.message}`));
        });
      });
    } finally {
      clearTimeout(timer);
      this.#loading = undefined;
    }
  }

  #receive(message: ChildMessage): void {
    const { label, limits } = this.#options;
    if (message.type === 'loaded') {
      this.inputNames = message.inputNames;
      this.outputNames = message.outputNames;
      this.inputMetadata = message.inputMetadata;
      this.outputMetadata = message.outputMetadata;
      this.#loading?.resolve();
      return;
    }
    if (message.type === 'load-error') {
      const memory = /Failed to allocate memory|bad_alloc/.test(message.message);
      const why = memory
        ? `it needs more memory than the ${limits.memoryMb} MiB limit of a model`
        : message.message;
      this.#loading?.reject(
        new ModelUnavailableError(`${label} could not be loaded: ${why}`, {
          cause: new Error(message.message),
        }),
      );
      return;
    }
    const pending = this.#settle(message.id);
    if (pending === undefined) return;
    if (message.type === 'result') {
      const outputs: Record<string, Tensor> = {};
      for (const [name, wire] of Object.entries(message.outputs)) {
        outputs[name] = new Tensor(wire.type, wire.data as never, wire.dims);
      }
      pending.resolve(outputs);
    } else if (message.type === 'too-large') {
      const list = message.outputs
        .map((output) => `'${output.name}' [${output.dims.join(', ')}] ${formatBytes(output.bytes)}`)
        .join(', ');
      pending.reject(
        new InferenceLimitError(
          'OutputTooLarge',
          `${label}: the outputs are ${formatBytes(message.total)} (${list}), over the ${formatBytes(limits.maxOutputBytes)} a response can carry; ask for fewer rows or fewer outputs`,
        ),
      );
    } else if (message.kind === 'memory') {
      pending.reject(
        new InferenceLimitError(
          'MemoryLimit',
          `${label} needed more memory than the ${limits.memoryMb} MiB a run may take (the inputs ask for too large a result)`,
        ),
      );
    } else {
      pending.reject(new Error(message.message));
    }
  }

  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    if (pending === undefined) return undefined;
    clearTimeout(pending.timer);
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#idle();
    return pending;
  }

  #overran(id: number): void {
    const pending = this.#settle(id);
    if (pending === undefined) return;
    const seconds = this.#options.limits.deadlineMs / 1000;
    pending.reject(
      new InferenceTimeoutError(
        `${this.#options.label} ran past the ${seconds} s deadline of an inference and was stopped`,
      ),
    );
    this.#kill(`another inference ran past the ${seconds} s deadline`);
  }

  #kill(reason: string): void {
    if (this.#dead === undefined) this.#die(reason);
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }

  #die(reason: string): void {
    if (this.#dead !== undefined) return;
    this.#dead = reason;
    this.#loading?.reject(new ModelUnavailableError(`${this.#options.label} could not be loaded: ${reason}`));
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      this.#pending.delete(id);
      pending.reject(
        new ModelProcessStoppedError(`${this.#options.label}: ${reason} during this inference; retry`),
      );
    }
    this.#idle();
    this.#options.onExit?.(reason);
  }

  /** While nothing waits on the child, it does not keep the parent's event loop alive. */
  #idle(): void {
    this.#child.unref();
    this.#child.channel?.unref();
  }

  #busy(): void {
    this.#child.ref();
    this.#child.channel?.ref();
  }
}

function toWire(tensor: Tensor): WireTensor {
  let data = tensor.data;
  // A view into a larger buffer (e.g. the request body) would be cloned whole: copy the view.
  if (ArrayBuffer.isView(data) && data.byteLength !== data.buffer.byteLength) {
    data = (data as unknown as { slice(): Tensor.DataType }).slice();
  }
  return { type: tensor.type, data, dims: tensor.dims };
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}
