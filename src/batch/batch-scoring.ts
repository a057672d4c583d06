import type { BatchConfig } from '../config/batch-config.ts';
import type { BatchFanOut } from '../ports/batch-fan-out.ts';
import type { ObjectNotification, StreamingObjectStore } from '../ports/object-store.ts';
import { createServing } from '../serving.ts';
import { type BatchFileOutcome, type BatchJobDeps, type BatchLog, scoreBatchFile } from './batch-job.ts';

/** The input file to score: an object a notification named (its event name is not needed). */
export type BatchObjectRef = Pick<ObjectNotification, 'bucket' | 'key' | 'etag'>;

/**
 * Wires batch scoring from configuration: the serving core (model repository, loader, protocol
 * service) for the models in `MODEL_BUCKET`, and the store of each bucket that input files arrive
 * in (outputs are written beside their input), from the `storeFor` port a composition root hands
 * in. Called once per process.
 *
 * @example
 * ```ts
 * const batch = createBatchScoring(config, { storeFor: (bucket) => new S3ObjectStore({ client, bucket }) });
 * const outcome = await batch.scoreObject({ bucket, key, etag }, { deadline });
 * ```
 */
export function createBatchScoring(
  config: BatchConfig,
  ports: { storeFor: (bucket: string) => StreamingObjectStore; fanOut?: BatchFanOut },
) {
  const stores = new Map<string, StreamingObjectStore>();
  const storeFor = (bucket: string): StreamingObjectStore => {
    let store = stores.get(bucket);
    if (store === undefined) {
      store = ports.storeFor(bucket);
      stores.set(bucket, store);
    }
    return store;
  };
  const serving = createServing(config, { store: storeFor(config.bucket) });
  const settings: BatchJobDeps['settings'] = {
    batchSize: config.batchSize,
    progressIntervalMs: config.progressIntervalMs,
    maxLineChars: config.maxLineChars,
    maxRecordChars: config.maxRecordChars,
    fileBudgetMs: config.fileBudgetMs,
  };

  /** Scores one input object; never throws for a file problem (see `scoreBatchFile`). */
  function scoreObject(
    ref: BatchObjectRef,
    options: { deadline?: number; log?: BatchLog } = {},
  ): Promise<BatchFileOutcome> {
    return scoreBatchFile(
      { key: ref.key, etag: ref.etag, deadline: options.deadline, bucket: ref.bucket },
      {
        store: storeFor(ref.bucket),
        repository: serving.repository,
        loader: serving.loader,
        service: serving.service,
        settings,
        log: options.log,
        fanOut: ports.fanOut,
      },
    );
  }

  /** The dependencies of the fan-out steps (`fan-out.ts`) for the bucket of an input. */
  function stepDeps(bucket: string, log?: BatchLog) {
    return {
      store: storeFor(bucket),
      repository: serving.repository,
      loader: serving.loader,
      service: serving.service,
      settings,
      log,
    };
  }

  return { scoreObject, stepDeps, serving, settings };
}

/** Batch scoring as `createBatchScoring` wires it. */
export type BatchScoring = ReturnType<typeof createBatchScoring>;
