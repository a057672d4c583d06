import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './paths.ts';
import { TEST_CREDENTIALS, type TestS3Server } from './s3-server.ts';

export interface RunningServerProcess {
  url: string;
  port: number;
  process: ChildProcess;
  /** Every line the server printed on stdout so far (JSON log lines). */
  lines: string[];
  /** Resolves when a line matching `predicate` was printed (checked on every new line). */
  waitForLine(predicate: (line: string) => boolean): Promise<string>;
  /** Sends SIGTERM (unless told another signal) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The environment that points the server at a test S3 server, with the server on a free port. */
export function serverEnv(s3: Pick<TestS3Server, 'endpoint' | 'bucket' | 'region'>): Record<string, string> {
  return {
    MODEL_BUCKET: s3.bucket,
    AWS_REGION: s3.region,
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    PORT: '0',
    HOST: '127.0.0.1',
  };
}

/**
 * Starts the server as `npm run serve` does (or from `entry`, e.g. a bundled `index.mjs`), in its
 * own process, and waits for its `server listening` log line. `ready` also waits for
 * `server ready` (preloaded models loaded).
 */
export async function startServerProcess(
  env: Record<string, string>,
  options: { entry?: string; cwd?: string; args?: string[]; ready?: boolean } = {},
): Promise<RunningServerProcess> {
  const entry = options.entry ?? join(ROOT, 'scripts', 'serve.ts');
  const execArgs = entry.endsWith('.ts') ? ['--import', 'tsx', entry] : [entry];
  const child = spawn(process.execPath, [...execArgs, ...(options.args ?? [])], {
    cwd: options.cwd ?? ROOT,
    // Only what the server is given: no AWS settings of this machine leak in.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { predicate: (line: string) => boolean; done: (line: string) => void }[] = [];
  let stderr = '';
  let pending = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.done(line);
        }
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));

  function waitForLine(predicate: (line: string) => boolean): Promise<string> {
    const seen = lines.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((done, fail) => {
      waiters.push({ predicate, done });
      void exited.then((code) =>
        fail(new Error(`server exited with ${code}:\n${stderr}\n${lines.join('\n')}`)),
      );
    });
  }

  const listening = JSON.parse(await waitForLine((line) => line.includes('"server listening"'))) as {
    port: number;
  };
  if (options.ready) await waitForLine((line) => line.includes('"server ready"'));
  return {
    url: `http://127.0.0.1:${listening.port}`,
    port: listening.port,
    process: child,
    lines,
    waitForLine,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
