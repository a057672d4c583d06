import packageJson from '../package.json' with { type: 'json' };
import type { ServingConfig } from './config/serving-config.ts';
import { createHttpApp } from './http/app.ts';
import { OutcomeService } from './outcomes/outcome-service.ts';
import type { StreamingObjectStore } from './ports/object-store.ts';
import { InferenceService, type ServerInfo } from './protocol/service.ts';
import { ModelRepository } from './repository/model-repository.ts';
import { assertModelName, parseVersionSelector } from './repository/names.ts';
import { defaultCacheBytes, ModelLoader } from './runtime/model-loader.ts';
import { chooseSessionTuning, detectCpuEnvironment } from './runtime/session-options.ts';

/** Name and version reported by server metadata. */
export const SERVER_INFO: ServerInfo = { name: 'onnx-serve', version: packageJson.version };

/**
 * Wires the serving core from configuration and the store it is handed: model repository →
 * loader → protocol service (and the outcomes endpoint, on the same bucket) → HTTP app. Called
 * once per process by a composition root (a Lambda handler's module scope, a test, a benchmark),
 * which builds the store adapter (S3, or anything else behind the `ObjectStore` port).
 *
 * @example
 * ```ts
 * const serving = createServing(readServingConfig(process.env), { store: new S3ObjectStore({ client, bucket }) });
 * const outcome = await serving.handle({ method: 'GET', path: '/v2/health/ready' });
 * ```
 */
export function createServing(config: ServingConfig, ports: { store: StreamingObjectStore }) {
  const { store } = ports;
  const repository = new ModelRepository({
    store,
    refreshIntervalMs: config.refreshIntervalMs,
    requireValidation: config.requireValidation,
  });
  // Threads and spinning for the function's CPU share; the notes say why (logged at init).
  const sessionChoice = chooseSessionTuning(detectCpuEnvironment(config.functionMemoryMb));
  const { isolation, ...limits } = config.inference;
  const loader = new ModelLoader({
    store,
    maxCacheBytes: config.cacheBytes ?? defaultCacheBytes(config.functionMemoryMb),
    sessionTuning: sessionChoice.tuning,
    isolation,
    limits,
    ephemeralDir: config.ephemeralDir,
    externalDataMemoryBytes: config.externalDataMemoryBytes,
  });
  const service = new InferenceService({ repository, loader, server: SERVER_INFO });
  const outcomes = new OutcomeService({ store, repository });
  const handle = createHttpApp({
    service,
    maxBodyBytes: config.maxBodyBytes,
    maxInflatedBytes: config.maxInflatedBytes,
    outcomes,
    capture: { enabled: config.captureEnabled },
    shadowBudgetMs: config.shadowBudgetMs,
  });

  /** Loads the listed models (`name` or `name:version`); returns one result per entry, never throws. */
  async function preload(entries: readonly string[]) {
    const results: (
      | { entry: string; ok: true; ms: number }
      | { entry: string; ok: false; error: unknown }
    )[] = [];
    // One at a time: peak memory during init stays at one download and one session creation.
    for (const entry of entries) {
      const [name = '', version] = entry.split(':');
      const started = performance.now();
      try {
        assertModelName(name);
        const ref = await repository.resolve(name, parseVersionSelector(version));
        await loader.get(ref);
        results.push({ entry, ok: true, ms: performance.now() - started });
      } catch (error) {
        results.push({ entry, ok: false, error });
      }
    }
    return results;
  }

  return { store, repository, loader, service, outcomes, handle, preload, sessionChoice };
}

/** The serving core as `createServing` wires it. */
export type Serving = ReturnType<typeof createServing>;
