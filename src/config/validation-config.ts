import { DEFAULT_SMOKE_RUNS } from '../validation/validate-model.ts';
import { ConfigError, type Env, readNumber } from './env.ts';
import { readStoreConnection, type StoreConnection } from './store-config.ts';

/** Everything the model validation function reads from its environment. */
export interface ValidationConfig extends StoreConnection {
  /** Timed smoke runs per model, after one warm-up. */
  smokeRuns: number;
  /** `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`: session threads are chosen for its CPU share. */
  functionMemoryMb?: number;
  /** `VALIDATION_DEADLINE_SECONDS` (default 20): a smoke run past it makes the version invalid. */
  deadlineMs: number;
  /** `VALIDATION_MEMORY_MB` (default half the function's memory, else 2048): memory of a smoke run. */
  memoryMb: number;
  /** `EPHEMERAL_DIR`: where large external data is written. */
  ephemeralDir?: string;
}

/**
 * Reads the validation configuration. Variables: `MODEL_BUCKET` (required), `AWS_REGION`,
 * `S3_ENDPOINT`, `S3_FORCE_PATH_STYLE`, `VALIDATION_RUNS` (default 5, at most 100),
 * `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, `VALIDATION_DEADLINE_SECONDS`, `VALIDATION_MEMORY_MB`,
 * `EPHEMERAL_DIR`.
 *
 * @example
 * ```ts
 * const config = readValidationConfig(process.env);
 * ```
 */
export function readValidationConfig(env: Env): ValidationConfig {
  const smokeRuns = readNumber(env, 'VALIDATION_RUNS', DEFAULT_SMOKE_RUNS, { min: 1, max: 100 });
  if (!Number.isInteger(smokeRuns)) {
    throw new ConfigError('VALIDATION_RUNS', 'an integer in [1, 100]', String(env.VALIDATION_RUNS));
  }
  const memory = readNumber(env, 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 0, { min: 0 });
  return {
    ...readStoreConnection(env),
    smokeRuns,
    ...(memory > 0 ? { functionMemoryMb: memory } : {}),
    deadlineMs: readNumber(env, 'VALIDATION_DEADLINE_SECONDS', 20, { min: 0.01, max: 900 }) * 1000,
    memoryMb: readNumber(
      env,
      'VALIDATION_MEMORY_MB',
      memory > 0 ? Math.max(256, Math.floor(memory / 2)) : 2048,
      {
        min: 64,
      },
    ),
    ephemeralDir: env.EPHEMERAL_DIR || undefined,
  };
}
