import type { S3Client } from '@aws-sdk/client-s3';
import type { BatchConfig } from '../config/batch-config.ts';
import { createServing } from '../serving.ts';
import { createS3Client, S3ObjectStore } from '../store/s3-store.ts';
import { type BatchFileOutcome, type BatchJobDeps, type BatchLog, scoreBatchFile } from './batch-job.ts';

/** Timeouts of the batch function's S3 client: a part upload or a paused read takes longer than an API call. */
export const BATCH_S3_TIMEOUTS = { requestTimeoutMs: 120_000, socketTimeoutMs: 120_000 } as const;

/** An object named by an S3 notification. */
export interface BatchObjectRef {
  bucket: string;
  key: string;
  etag?: string;
}

/**
 * Wires batch scoring from configuration: the serving core (model repository, loader, protocol
 * service) for the models in `MODEL_BUCKET`, and a streaming store for each bucket that input
 * files arrive in (outputs are written beside their input). Called once per process.
 *
 * @example
 * ```ts
 * const batch = createBatchScoring(readBatchConfig(process.env));
 * const outcome = await batch.scoreObject({ bucket, key, etag }, { deadline });
 * ```
 */
export function createBatchScoring(config: BatchConfig, clients: { s3?: S3Client } = {}) {
  const s3 =
    clients.s3 ??
    createS3Client({
      region: config.region,
      endpoint: config.s3Endpoint,
      forcePathStyle: config.s3ForcePathStyle,
      ...BATCH_S3_TIMEOUTS,
    });
  const serving = createServing(config, { s3 });
  const stores = new Map<string, S3ObjectStore>();
  const storeFor = (bucket: string): S3ObjectStore => {
    let store = stores.get(bucket);
    if (store === undefined) {
      store = new S3ObjectStore({ client: s3, bucket, partBytes: config.partBytes });
      stores.set(bucket, store);
    }
    return store;
  };
  const settings: BatchJobDeps['settings'] = {
    batchSize: config.batchSize,
    progressIntervalMs: config.progressIntervalMs,
    maxLineChars: config.maxLineChars,
    maxRecordChars: config.maxRecordChars,
  };

  /** Scores one input object; never throws for a file problem (see `scoreBatchFile`). */
  function scoreObject(
    ref: BatchObjectRef,
    options: { deadline?: number; log?: BatchLog } = {},
  ): Promise<BatchFileOutcome> {
    return scoreBatchFile(
      { key: ref.key, etag: ref.etag, deadline: options.deadline },
      {
        store: storeFor(ref.bucket),
        repository: serving.repository,
        loader: serving.loader,
        service: serving.service,
        settings,
        log: options.log,
      },
    );
  }

  return { scoreObject, serving, settings };
}
