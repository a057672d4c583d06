import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/adapters/aws/s3-store.ts';
import type { ModelMetadata } from '../../src/repository/metadata.ts';
import { requestJson } from '../helpers/http.ts';
import { jsonLines, type RunningStack, startStack } from '../helpers/local-stack.ts';
import { conformanceDir } from '../helpers/paths.ts';

let stack: RunningStack;
let client: S3Client;

before(async () => {
  stack = await startStack({ DEMO_MODELS: 'false' });
  const { endpoint, region, accessKeyId, secretAccessKey } = stack.s3;
  // A plain S3 client, as any tool would use: the stack must notice its uploads by itself.
  client = createS3Client({
    region,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
});

after(async () => {
  client?.destroy();
  await stack?.stop();
});

async function put(key: string, body: Uint8Array | string): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: stack.s3.bucket, Key: key, Body: body }));
}

/** The metadata.json validation writes for a model version, once it is there (polled, bounded). */
async function metadataOf(name: string, version: number): Promise<ModelMetadata> {
  const key = `models/${name}/${version}/metadata.json`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const stored = await stack.store.get(key);
    // s3rver does not write atomically: a read during the write can see part of the file.
    const text = stored === undefined ? '' : new TextDecoder().decode(stored.body);
    if (text.endsWith('}\n')) return JSON.parse(text) as ModelMetadata;
    if (Date.now() > deadline) throw new Error(`${key} did not appear within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Resolves once `check()` holds, polling every 50 ms for at most 30 s. */
async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not seen within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const relu = () =>
  readFile(join(conformanceDir(), 'onnx-backend', 'simple', 'test_single_relu_model', 'model.onnx'));
const reluInput = { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [-1, 2] }] };

describe('local stack: model validation on upload', () => {
  it('validates uploads; /infer refuses the invalid version with the reason and serves the valid one', async () => {
    const name = 'validated';
    await put(`models/${name}/1/model.onnx`, await relu());
    await put(`models/${name}/2/model.onnx`, 'this is not an ONNX model');

    const valid = await metadataOf(name, 1);
    const invalid = await metadataOf(name, 2);
    const explicit = await requestJson(`${stack.apiUrl}/v2/models/${name}/versions/2/infer`, {
      body: reluInput,
    });
    const byDefault = await requestJson(`${stack.apiUrl}/v2/models/${name}/infer`, { body: reluInput });

    assert.equal(valid.status, 'valid');
    assert.deepEqual(valid.inputs, [{ name: 'x', datatype: 'FP32', shape: [1, 2] }]);
    assert.equal(invalid.status, 'invalid');
    assert.match(invalid.reason ?? '', /^not an ONNX model: /);
    assert.equal(explicit.status, 422, explicit.text);
    assert.equal(
      (explicit.body as { error: string }).error,
      `model '${name}' version 2 failed validation: ${invalid.reason}`,
    );
    assert.equal(byDefault.status, 200, byDefault.text);
    assert.equal((byDefault.body as { model_version: string }).model_version, '1');
    assert.deepEqual((byDefault.body as { outputs: { data: number[] }[] }).outputs[0]?.data, [0, 2]);
    const index = await requestJson(`${stack.apiUrl}/v2/repository/index`, { method: 'POST', body: {} });
    assert.deepEqual(
      (index.body as { name: string }[]).filter((entry) => entry.name === name),
      [
        { name, version: '1', state: 'AVAILABLE' },
        { name, version: '2', state: 'UNAVAILABLE', reason: `failed validation: ${invalid.reason}` },
      ],
    );
  });

  it('answers 422 naming the reason when a model has no valid version', async () => {
    const name = 'corrupt-only';
    const model = await relu();
    await put(`models/${name}/1/model.onnx`, model.subarray(0, Math.floor(model.byteLength / 2)));

    const metadata = await metadataOf(name, 1);
    const response = await requestJson(`${stack.apiUrl}/v2/models/${name}/infer`, { body: reluInput });

    assert.equal(metadata.status, 'invalid');
    assert.equal(response.status, 422, response.text);
    assert.match(
      (response.body as { error: string }).error,
      /^model 'corrupt-only' version 1 failed validation: not an ONNX model: protobuf/,
    );
  });

  it('prints validation metrics (EMF, per model and version) and a structured log line per model', async () => {
    const validationDocuments = () =>
      jsonLines(stack.lines).filter(
        (doc) => typeof doc._aws === 'object' && 'ModelValidations' in doc && doc.model === 'validated',
      );
    // The stack prints them after metadata.json is written, once the invocation ends.
    await waitFor(() => validationDocuments().length >= 2, 'EMF documents of both versions');

    const documents = jsonLines(stack.lines);
    const emf = validationDocuments();
    const invalidLog = documents.find((doc) => doc.message === 'model invalid' && doc.model === 'validated');
    const validLog = documents.find((doc) => doc.message === 'model valid' && doc.model === 'validated');

    const byVersion = new Map(emf.map((doc) => [doc.version, doc]));
    assert.equal(byVersion.get('1')?.ModelValid, 1);
    assert.equal(byVersion.get('1')?.ModelInvalid, 0);
    assert.equal(typeof byVersion.get('1')?.ModelValidationLoadTime, 'number');
    assert.equal(typeof byVersion.get('1')?.ModelValidationLatency, 'number');
    assert.equal(byVersion.get('2')?.ModelInvalid, 1);
    assert.ok(
      JSON.stringify(byVersion.get('2')?._aws).includes('["service"],["service","model","version"]'),
      'published service-wide and per model and version',
    );
    assert.ok(invalidLog, 'a log line for the invalid model');
    assert.equal(invalidLog.status, 'invalid');
    assert.match(String(invalidLog.reason), /^not an ONNX model/);
    assert.equal(invalidLog.function_name, 'modelEvents');
    assert.ok(validLog, 'a log line for the valid model');
    assert.equal(typeof validLog.sha256, 'string');
  });
});
