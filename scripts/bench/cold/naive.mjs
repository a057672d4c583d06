// Cold start, naive: written the way common samples do it: the full aggregated SDK client, the
// model downloaded to a temp file, the session created from the path, plain JSON handling.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as AWS from '@aws-sdk/client-s3';

const ort = createRequire(import.meta.url)('onnxruntime-node');
let session;

async function handler(event) {
  if (session === undefined) {
    const s3 = new AWS.S3({
      region: process.env.AWS_REGION,
      endpoint: process.env.S3_ENDPOINT,
      forcePathStyle: true,
    });
    const object = await s3.getObject({ Bucket: process.env.MODEL_BUCKET, Key: process.env.BENCH_KEY });
    const path = join(process.env.BENCH_TMP ?? tmpdir(), 'model.onnx');
    await writeFile(path, await object.Body.transformToByteArray());
    session = await ort.InferenceSession.create(path);
  }
  const body = JSON.parse(event.body);
  const feeds = {};
  for (const input of body.inputs) feeds[input.name] = new ort.Tensor('float32', input.data, input.shape);
  const results = await session.run(feeds);
  const outputs = Object.entries(results).map(([name, t]) => ({
    name,
    shape: t.dims,
    datatype: 'FP32',
    data: Array.from(t.data),
  }));
  return { statusCode: 200, body: JSON.stringify({ outputs }) };
}

const event = JSON.parse(readFileSync(process.env.BENCH_EVENT_FILE ?? '', 'utf8'));
const result = await handler(event);
process.send?.({ status: result.statusCode, uptimeMs: performance.now() });
process.disconnect?.();
