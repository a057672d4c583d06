import { ConfigError, type Env, readBoolean, readOptionalString, readString } from './env.ts';

/** When the S3 client adds (or checks) checksums: the SDK's two modes. */
export type ChecksumMode = 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';

/** Where the bucket is: what every function reads to reach its object store. */
export interface StoreConnection {
  /** Bucket holding the model repository (and, by default, captures, outcomes, batch and reports). */
  bucket: string;
  region: string;
  /** Endpoint override (an S3-compatible server); unset on AWS. */
  s3Endpoint?: string;
  /** Path-style addressing (`host/bucket/key`), which most S3-compatible servers need. */
  s3ForcePathStyle: boolean;
  /**
   * Request checksums (`S3_REQUEST_CHECKSUM_CALCULATION`, default `WHEN_REQUIRED`): most
   * S3-compatible stores do not understand the SDK's default streaming checksums.
   */
  s3RequestChecksum?: ChecksumMode;
  /** Response checksum validation (`S3_RESPONSE_CHECKSUM_VALIDATION`, default `WHEN_REQUIRED`). */
  s3ResponseChecksum?: ChecksumMode;
}

/**
 * Reads `MODEL_BUCKET` (required), `AWS_REGION` (default `us-east-1`), `S3_ENDPOINT`,
 * `S3_FORCE_PATH_STYLE` (default false), `S3_REQUEST_CHECKSUM_CALCULATION` and
 * `S3_RESPONSE_CHECKSUM_VALIDATION` (`WHEN_REQUIRED`, the default, or `WHEN_SUPPORTED`).
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
    s3RequestChecksum: readChecksumMode(env, 'S3_REQUEST_CHECKSUM_CALCULATION'),
    s3ResponseChecksum: readChecksumMode(env, 'S3_RESPONSE_CHECKSUM_VALIDATION'),
  };
}

function readChecksumMode(env: Env, name: string): ChecksumMode {
  const raw = readOptionalString(env, name);
  if (raw === undefined) return 'WHEN_REQUIRED';
  const value = raw.toUpperCase();
  if (value === 'WHEN_REQUIRED' || value === 'WHEN_SUPPORTED') return value;
  throw new ConfigError(name, 'WHEN_REQUIRED or WHEN_SUPPORTED', raw);
}
