/**
 * The deployments the end-to-end suites run against: the local stack (`npm start`: API Gateway
 * events for the Lambda bundles) and the plain HTTP server (`npm run serve`) on the local S3
 * server. `E2E_TARGETS=stack,server` (the default) picks them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_MODEL_NAMES } from '../../scripts/demo-models.ts';
import { publishDemoModels } from '../../scripts/local/demo-publisher.ts';
import type { ObjectStore } from '../../src/ports/object-store.ts';
import { validateModel } from '../../src/validation/validate-model.ts';
import { type RunningStack, startStack, waitForVerdict } from './local-stack.ts';
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
  /**
   * Resolves once a published version has its validation verdict, so that it is served (versions
   * are served only when validated): the stack's modelEvents function validates on upload; for the
   * server, the version is validated here, as its bucket webhook would.
   */
  validated(name: string, version: number): Promise<void>;
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
      validated: (name, version) => waitForVerdict(stack.store, name, version),
      stop: () => stack.stop(),
    };
  }
  const stateDir = await mkdtemp(join(tmpdir(), 'onnx-serve-server-'));
  const s3 = await startS3Server({ bucket: 'onnx-serve-server' });
  try {
    const validated = async (name: string, version: number) => {
      await validateModel(s3.store, `models/${name}/${version}/model.onnx`);
    };
    if (demoModels) {
      await publishDemoModels(s3.store, join(stateDir, 'demo-models'));
      for (const name of DEMO_MODEL_NAMES) await validated(name, 1);
    }
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
      validated,
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
