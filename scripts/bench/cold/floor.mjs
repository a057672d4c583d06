// Cold start, floor: bare Node + one raw GetObject + raw InferenceSession.create from the bytes + one raw run.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';

const ort = createRequire(import.meta.url)('onnxruntime-node');
const env = process.env;
const client = new S3Client({
  region: env.AWS_REGION,
  endpoint: env.S3_ENDPOINT,
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
const object = await client.send(new GetObjectCommand({ Bucket: env.MODEL_BUCKET, Key: env.BENCH_KEY }));
const bytes = await object.Body.transformToByteArray();
const session = await ort.InferenceSession.create(bytes, {
  graphOptimizationLevel: 'all',
  logSeverityLevel: 3,
});
const request = JSON.parse(JSON.parse(readFileSync(env.BENCH_EVENT_FILE ?? '', 'utf8')).body).inputs[0];
await session.run({
  [request.name]: new ort.Tensor('float32', Float32Array.from(request.data), request.shape),
});
process.send?.({ status: 200, uptimeMs: performance.now() });
process.disconnect?.();
