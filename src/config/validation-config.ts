import { DEFAULT_SMOKE_RUNS } from '../validation/validate-model.ts';
import { ConfigError, type Env, readNumber } from './env.ts';
import { readStoreConnection, type StoreConnection } from './store-config.ts';

/** Everything the model validation function reads from its environment. */
export interface ValidationConfig extends StoreConnection {
  /** Timed smoke runs per model, after one warm-up. */
  smokeRuns: number;
  /** `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`: session threads are chosen for its CPU share. */
  functionMemoryMb?: number;
}

/**
 * Reads the validation configuration. Variables: `MODEL_BUCKET` (required), `AWS_REGION`,
 * `S3_ENDPOINT`, `S3_FORCE_PATH_STYLE`, `VALIDATION_RUNS` (default 5, at most 100),
 * `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
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
  };
}
