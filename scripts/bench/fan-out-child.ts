/**
 * One "function instance" of the fan-out bench: a process of its own that scores the ranges it is
 * sent over IPC with `scoreRange`, as the batch function does for the state machine's ScoreRange
 * Task, and answers with its result. Configuration from the environment (the bench's S3 server).
 */
import { createS3Client, S3ObjectStore } from '../../src/adapters/aws/s3-store.ts';
import { createBatchScoring } from '../../src/batch/batch-scoring.ts';
import { type FanOutFile, type FanOutRange, scoreRange } from '../../src/batch/fan-out.ts';
import { readBatchConfig } from '../../src/config/batch-config.ts';

const config = readBatchConfig(process.env);
const client = createS3Client({
  region: config.region,
  endpoint: process.env.S3_ENDPOINT,
  forcePathStyle: true,
  requestTimeoutMs: 120_000,
  socketTimeoutMs: 120_000,
});
const batch = createBatchScoring(config, {
  storeFor: (bucket) => new S3ObjectStore({ client, bucket, partBytes: config.partBytes }),
});

process.on('message', (message: { file: FanOutFile; range: FanOutRange }) => {
  scoreRange(message.file, message.range, batch.stepDeps(message.file.bucket)).then(
    (result) => process.send?.({ result }),
    (error: unknown) => process.send?.({ error: error instanceof Error ? error.message : String(error) }),
  );
});
process.send?.({ ready: true });
