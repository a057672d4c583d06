import {
  ConfigError,
  type Env,
  readBoolean,
  readNumber,
  readOptionalString,
  readString,
} from '../config/env.ts';
import { DEFAULT_SMOKE_RUNS } from './validate-model.ts';

/** Everything the model validation function reads from its environment. */
export interface ValidationConfig {
  /** Bucket holding the model repository; events from any other bucket are ignored. */
  bucket: string;
  region: string;
  s3Endpoint?: string;
  s3ForcePathStyle: boolean;
  /** Timed smoke runs per model, after one warm-up. */
  smokeRuns: number;
}

/**
 * Reads the validation configuration. Variables: `MODEL_BUCKET` (required), `AWS_REGION`,
 * `S3_ENDPOINT`, `S3_FORCE_PATH_STYLE`, `VALIDATION_RUNS` (default 5, at most 100).
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
  return {
    bucket: readString(env, 'MODEL_BUCKET'),
    region: readString(env, 'AWS_REGION', 'us-east-1'),
    s3Endpoint: readOptionalString(env, 'S3_ENDPOINT'),
    s3ForcePathStyle: readBoolean(env, 'S3_FORCE_PATH_STYLE', false),
    smokeRuns,
  };
}
