import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLocalStore, type StackSettings } from '../../scripts/local/stack-settings.ts';
import type { ObjectStore } from '../../src/ports/object-store.ts';
import { ROOT } from './paths.ts';

export interface RunningStack extends StackSettings {
  stateDir: string;
  /** The stack's bucket, through a client configured for the local S3 server. */
  store: ObjectStore;
  /** Every line the stack printed on stdout so far (logs and EMF metrics are JSON lines). */
  lines: string[];
  process: ChildProcess;
  /** Sends SIGTERM and resolves with the exit code; the state folder is deleted unless `keepState`. */
  stop(options?: { keepState?: boolean }): Promise<number | null>;
}

/**
 * Starts the local stack exactly as `npm start` does (built bundles, serverless.yml routes), on
 * ephemeral ports with a fresh state folder, and waits for `stack.json`.
 */
export async function startStack(env: Record<string, string> = {}): Promise<RunningStack> {
  const stateDir = await mkdtemp(join(tmpdir(), 'onnx-serve-stack-'));
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'local-stack.ts')], {
    cwd: ROOT,
    // Raw JSON lines on stdout (as Lambda's log stream has them), unless a test asks for the readable console.
    env: { ...process.env, PORT: '0', S3_PORT: '0', LOCAL_STATE_DIR: stateDir, LOCAL_OUTPUT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  let pending = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));

  const settings = await new Promise<StackSettings>((done, fail) => {
    let finished = false;
    child.once('exit', (code) => {
      if (!finished) fail(new Error(`local stack exited with ${code} before it was ready:\n${stderr}`));
    });
    child.stdout?.on('data', async () => {
      if (finished || !lines.some((line) => line.includes('local stack is up'))) return;
      finished = true;
      try {
        done(JSON.parse(await readFile(join(stateDir, 'stack.json'), 'utf8')) as StackSettings);
      } catch (error) {
        fail(error);
      }
    });
  });

  return {
    ...settings,
    stateDir,
    store: openLocalStore(settings.s3),
    lines,
    process: child,
    async stop(options: { keepState?: boolean } = {}) {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      if (!options.keepState) await rm(stateDir, { recursive: true, force: true });
      return code;
    },
  };
}

/** Parsed JSON lines of the stack's output (logs and EMF documents). */
export function jsonLines(lines: string[]): Record<string, unknown>[] {
  const parsed: Record<string, unknown>[] = [];
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      parsed.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // A line that merely starts with a brace is not ours to check.
    }
  }
  return parsed;
}

/**
 * Waits until the stack's validation has written the verdict for the current upload of
 * `models/{name}/{version}/model.onnx` (versions are served only once validated).
 */
export async function waitForVerdict(
  store: {
    head(key: string): Promise<{ etag?: string } | undefined>;
    get(key: string): Promise<{ body: Uint8Array } | undefined>;
  },
  name: string,
  version: number,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const model = await store.head(`models/${name}/${version}/model.onnx`);
    const metadata = await store.get(`models/${name}/${version}/metadata.json`);
    if (model !== undefined && metadata !== undefined) {
      // The verdict may be caught mid-write by the S3 server: read it again on the next round.
      let record: { etag?: string } = {};
      try {
        record = JSON.parse(new TextDecoder().decode(metadata.body)) as { etag?: string };
      } catch {}
      if (record.etag === model.etag) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no validation verdict for ${name} version ${version} within ${timeoutMs} ms`);
}
