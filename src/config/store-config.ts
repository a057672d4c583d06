import { type Env, readBoolean, readOptionalString, readString } from './env.ts';

/** Where the bucket is: what every function reads to reach its object store. */
export interface StoreConnection {
  /** Bucket holding the model repository (and, by default, captures, outcomes, batch and reports). */
  bucket: string;
  region: string;
  /** Endpoint override (an S3-compatible server); unset on AWS. */
  s3Endpoint?: string;
  /** Path-style addressing (`host/bucket/key`), which most S3-compatible servers need. */
  s3ForcePathStyle: boolean;
}

/**
 * Reads `MODEL_BUCKET` (required), `AWS_REGION` (default `us-east-1`), `S3_ENDPOINT` and
 * `S3_FORCE_PATH_STYLE` (default false).
 *
 * @example
 * ```ts
 * const { bucket, region } = readStoreConnection(process.env);
 * ```
 */
export function readStoreConnection(env: Env): StoreConnection {
  return {
    bucket: readString(env, 'MODEL_BUCKET'),
    region: readString(env, 'AWS_REGION', 'us-east-1'),
    s3Endpoint: readOptionalString(env, 'S3_ENDPOINT'),
    s3ForcePathStyle: readBoolean(env, 'S3_FORCE_PATH_STYLE', false),
  };
}
