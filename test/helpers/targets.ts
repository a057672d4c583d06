/**
 * The deployments the end-to-end suites run against: the local stack (`npm start`: API Gateway
 * events for the Lambda bundles) and the plain HTTP server (`npm run serve`) on the local S3
 * server. `E2E_TARGETS=stack,server` (the default) picks them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishDemoModels } from '../../scripts/local/demo-publisher.ts';
import type { ObjectStore } from '../../src/ports/object-store.ts';
import { type RunningStack, startStack } from './local-stack.ts';
import { startS3Server } from './s3-server.ts';
import { serverEnv, startServerProcess } from './server.ts';

export type TargetKind = 'stack' | 'server';

export interface RunningTarget {
  kind: TargetKind;
  apiUrl: string;
  /** The target's bucket. */
  store: ObjectStore;
  /** Holds `demo-models/{name}/` (hold-out rows, config) when the demo models were published. */
  stateDir: string;
  /** Every line printed on stdout so far. */
  lines: string[];
  stop(): Promise<number | null>;
}

/** The targets to run, from `E2E_TARGETS` (default both). */
export function targetKinds(): TargetKind[] {
  const raw = process.env.E2E_TARGETS?.trim() || 'stack,server';
  const kinds = raw.split(',').map((kind) => kind.trim());
  for (const kind of kinds) {
    if (kind !== 'stack' && kind !== 'server') throw new Error(`E2E_TARGETS: unknown target '${kind}'`);
  }
  return kinds as TargetKind[];
}

/** Starts a target with a fresh bucket, and the demo models unless `demoModels` is false. */
export async function startTarget(
  kind: TargetKind,
  options: { demoModels?: boolean; env?: Record<string, string> } = {},
): Promise<RunningTarget> {
  const demoModels = options.demoModels ?? true;
  if (kind === 'stack') {
    const stack: RunningStack = await startStack({
      ...(demoModels ? {} : { DEMO_MODELS: 'false' }),
      ...options.env,
    });
    return {
      kind,
      apiUrl: stack.apiUrl,
      store: stack.store,
      stateDir: stack.stateDir,
      lines: stack.lines,
      stop: () => stack.stop(),
    };
  }
  const stateDir = await mkdtemp(join(tmpdir(), 'onnx-serve-server-'));
  const s3 = await startS3Server({ bucket: 'onnx-serve-server' });
  try {
    if (demoModels) await publishDemoModels(s3.store, join(stateDir, 'demo-models'));
    const server = await startServerProcess({
      ...serverEnv(s3),
      CAPTURE_FLUSH_SECONDS: '1',
      MODEL_REFRESH_SECONDS: '5',
      ...options.env,
    });
    return {
      kind,
      apiUrl: server.url,
      store: s3.store,
      stateDir,
      lines: server.lines,
      async stop() {
        const code = await server.stop();
        await s3.close();
        await rm(stateDir, { recursive: true, force: true });
        return code;
      },
    };
  } catch (error) {
    await s3.close();
    await rm(stateDir, { recursive: true, force: true });
    throw error;
  }
}
