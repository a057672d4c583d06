/**
 * The AWS clients of the Lambda functions, built from their environment: the composition root's
 * one place for S3 client settings per function.
 */
import { S3ObjectStore, s3ClientFor } from '../../src/adapters/aws/s3-store.ts';
import type { StoreConnection } from '../../src/config/store-config.ts';

/** Timeouts of clients that stream whole objects (batch files, capture folders): longer than an API call's. */
export const STREAMING_TIMEOUTS = { requestTimeoutMs: 120_000, socketTimeoutMs: 120_000 } as const;

/** The store of the function's bucket, with the API's timeouts unless told otherwise. */
export function bucketStore(
  connection: StoreConnection,
  timeouts: { requestTimeoutMs?: number; socketTimeoutMs?: number } = {},
): S3ObjectStore {
  return new S3ObjectStore({ client: s3ClientFor(connection, timeouts), bucket: connection.bucket });
}
