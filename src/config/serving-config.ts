import { DEFAULT_MAX_INFLATED_BYTES } from '../http/compression.ts';
import { DEFAULT_MAX_BODY_BYTES } from '../http/limits.ts';
import { ConfigError, type Env, readBoolean, readList, readNumber } from './env.ts';
import { readStoreConnection, type StoreConnection } from './store-config.ts';

/** Everything the serving functions read from their environment. */
export interface ServingConfig extends StoreConnection {
  /** How long a model listing or config.json is trusted before S3 is asked again. */
  refreshIntervalMs: number;
  /** Byte budget of loaded sessions; undefined means derived from the function's memory. */
  cacheBytes?: number;
  functionMemoryMb?: number;
  /** `name` or `name:version` entries loaded during init. */
  preload: string[];
  maxBodyBytes: number;
  /** Ceiling on a request body once inflated (`Content-Encoding: gzip|deflate`). */
  maxInflatedBytes: number;
  /** Capture API predictions as log lines (`CAPTURE_ENABLED`, default true). */
  captureEnabled: boolean;
  /** Serve only versions validation found valid (`REQUIRE_VALIDATION`, default true). */
  requireValidation: boolean;
  /** Limits of every inference; each model runs in its own process (see `runtime/sandbox.ts`). */
  inference: {
    /** `INFERENCE_DEADLINE_SECONDS` (default 20, below API Gateway's 29 s). */
    deadlineMs: number;
    /** `MAX_OUTPUT_BYTES` (default 6 MiB: Lambda's response limit). */
    maxOutputBytes: number;
    /** `INFERENCE_MEMORY_MB` (default half the function's memory, else 2048). */
    memoryMb: number;
    /** `INFERENCE_ISOLATION`: `process` (default) or `none` (trusted models only, unbounded). */
    isolation: 'process' | 'none';
  };
  /** `EPHEMERAL_DIR`: where large external data is written (default the OS temporary directory). */
  ephemeralDir?: string;
  /** `EXTERNAL_DATA_MEMORY_BYTES`: external data kept in memory up to this size (default 256 MiB). */
  externalDataMemoryBytes?: number;
  /**
   * Longest wait for shadow runs after the answer is made, before the function returns
   * (`SHADOW_BUDGET_MS`, default 200): a shadow still running then is counted as timed out.
   */
  shadowBudgetMs: number;
}

/** Default of `SHADOW_BUDGET_MS`. */
export const DEFAULT_SHADOW_BUDGET_MS = 200;

/**
 * Reads the serving configuration. Variables:
 * `MODEL_BUCKET` (required), `AWS_REGION`, `S3_ENDPOINT`, `S3_FORCE_PATH_STYLE`,
 * `MODEL_REFRESH_SECONDS` (default 30), `MODEL_CACHE_MB`, `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`,
 * `PRELOAD_MODELS`, `MAX_BODY_BYTES`, `MAX_INFLATED_BYTES` (default 64 MiB), `CAPTURE_ENABLED`
 * (default true), `SHADOW_BUDGET_MS` (default 200).
 *
 * `MAX_BODY_BYTES` is at most `limits.maxBodyBytes`: Lambda's 6 MB payload limit by default, more
 * where the platform allows it (the plain HTTP server).
 */
export function readServingConfig(env: Env, limits: { maxBodyBytes?: number } = {}): ServingConfig {
  const cacheMb = readNumber(env, 'MODEL_CACHE_MB', 0, { min: 0 });
  const memory = readNumber(env, 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 0, { min: 0 });
  return {
    ...readStoreConnection(env),
    refreshIntervalMs: readNumber(env, 'MODEL_REFRESH_SECONDS', 30, { min: 0, max: 86_400 }) * 1000,
    cacheBytes: cacheMb > 0 ? cacheMb * 1024 * 1024 : undefined,
    functionMemoryMb: memory > 0 ? memory : undefined,
    preload: readList(env, 'PRELOAD_MODELS'),
    maxBodyBytes: readNumber(env, 'MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, {
      min: 1,
      max: limits.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    }),
    maxInflatedBytes: readNumber(env, 'MAX_INFLATED_BYTES', DEFAULT_MAX_INFLATED_BYTES, {
      min: 1,
      max: 1024 ** 3,
    }),
    captureEnabled: readBoolean(env, 'CAPTURE_ENABLED', true),
    shadowBudgetMs: readNumber(env, 'SHADOW_BUDGET_MS', DEFAULT_SHADOW_BUDGET_MS, { min: 0, max: 30_000 }),
    requireValidation: readBoolean(env, 'REQUIRE_VALIDATION', true),
    inference: readInferenceLimits(env, memory > 0 ? memory : undefined),
    ephemeralDir: env.EPHEMERAL_DIR || undefined,
    externalDataMemoryBytes:
      env.EXTERNAL_DATA_MEMORY_BYTES === undefined
        ? undefined
        : readNumber(env, 'EXTERNAL_DATA_MEMORY_BYTES', 0, { min: 0 }),
  };
}

/**
 * The limits of every inference (serving and batch): `INFERENCE_DEADLINE_SECONDS` (default 20),
 * `MAX_OUTPUT_BYTES` (default 6 MiB), `INFERENCE_MEMORY_MB` (default half the function's memory,
 * 2048 without one) and `INFERENCE_ISOLATION` (`process` or `none`).
 */
export function readInferenceLimits(env: Env, functionMemoryMb?: number): ServingConfig['inference'] {
  const isolation = env.INFERENCE_ISOLATION ?? 'process';
  if (isolation !== 'process' && isolation !== 'none') {
    throw new ConfigError('INFERENCE_ISOLATION', "'process' or 'none'", isolation);
  }
  return {
    deadlineMs: readNumber(env, 'INFERENCE_DEADLINE_SECONDS', 20, { min: 0.01, max: 900 }) * 1000,
    maxOutputBytes: readNumber(env, 'MAX_OUTPUT_BYTES', 6 * 1024 * 1024, { min: 1 }),
    memoryMb: readNumber(
      env,
      'INFERENCE_MEMORY_MB',
      functionMemoryMb === undefined ? 2048 : Math.max(256, Math.floor(functionMemoryMb / 2)),
      { min: 64 },
    ),
    isolation,
  };
}
