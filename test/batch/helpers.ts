/** Shared set-up of the batch scoring tests: a local S3 server, the demo models, real-shaped events. */
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { type DemoModelName, trainDemoModel } from '../../scripts/demo-models.ts';
import { mulberry32 } from '../../scripts/lib/random.ts';
import { CLASSIFIER_IO, classifierToOnnx } from '../../scripts/lib/training/onnx-export.ts';
import { encodeS3Key, objectsOfS3Event } from '../../src/adapters/aws/s3-event.ts';
import { s3StoresOf } from '../../src/adapters/aws/s3-store.ts';
import { createBatchScoring } from '../../src/batch/batch-scoring.ts';
import { readBatchConfig } from '../../src/config/batch-config.ts';
import type { StreamingObjectStore } from '../../src/ports/object-store.ts';
import { publishModel } from '../../src/repository/publish.ts';

/** A demo model trained for the test, with what direct inference needs. */
export interface TestModel {
  name: DemoModelName;
  bytes: Uint8Array;
  featureNames: string[];
  classNames: string[];
  /** Rows of the hold-out split, realistic inputs. */
  rows: number[][];
  config: Record<string, unknown>;
}

export async function trainTestModel(
  name: DemoModelName,
  capture?: { sample_rate: number },
): Promise<TestModel> {
  const trained = await trainDemoModel(name);
  const config = {
    task: 'classification',
    labels: trained.classNames,
    feature_names: trained.definition.featureNames,
    outputs: { label: CLASSIFIER_IO.label, probabilities: CLASSIFIER_IO.probabilities },
    ...(capture ? { capture } : {}),
  };
  return {
    name,
    bytes: classifierToOnnx(trained.classifier),
    featureNames: trained.definition.featureNames,
    classNames: trained.classNames,
    rows: trained.holdoutRows,
    config,
  };
}

export async function publishTestModel(
  store: StreamingObjectStore,
  model: TestModel,
  version = 1,
): Promise<void> {
  await publishModel(store, {
    name: model.name,
    version,
    model: model.bytes,
    config: model.config,
    overwrite: true,
  });
}

export { type DirectResult, directInference } from '../helpers/direct-inference.ts';

/** An S3 notification as AWS sends it: the key form-encoded, one record. */
export function s3Event(bucket: string, key: string, etag: string | undefined, size = 0): S3Event {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: new Date().toISOString(),
        eventName: 'ObjectCreated:Put',
        userIdentity: { principalId: 'AWS:AIDAEXAMPLE' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': 'TEST', 'x-amz-id-2': 'TEST' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'batch-input',
          bucket: { name: bucket, ownerIdentity: { principalId: 'TEST' }, arn: `arn:aws:s3:::${bucket}` },
          object: { key: encodeS3Key(key), size, eTag: etag ?? '', sequencer: '0' },
        },
      },
    ],
  };
}

/** The batch core wired as the handler wires it, against the test server. */
export function createTestBatch(s3: { bucket: string; client: S3Client }, env: Record<string, string> = {}) {
  const config = readBatchConfig({
    MODEL_BUCKET: s3.bucket,
    REQUIRE_VALIDATION: 'false',
    MODEL_REFRESH_SECONDS: '0',
    ...env,
  });
  const batch = createBatchScoring(config, {
    storeFor: s3StoresOf(s3.client, { partBytes: config.partBytes }),
  });
  /** Handles an event as the handler does, returning each object's outcome. */
  const deliver = async (event: S3Event) => {
    const outcomes = [];
    for (const ref of objectsOfS3Event(event)) outcomes.push(await batch.scoreObject(ref));
    return outcomes;
  };
  return { ...batch, deliver };
}

/** Puts an input file and returns the notification S3 would send for it. */
export async function dropInput(
  store: StreamingObjectStore,
  bucket: string,
  key: string,
  body: string | Uint8Array,
  metadata?: Record<string, string>,
): Promise<S3Event> {
  const { etag } = await store.put(key, body, { metadata });
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  return s3Event(bucket, key, etag, size);
}

export async function readText(store: StreamingObjectStore, key: string): Promise<string | undefined> {
  const object = await store.get(key);
  return object === undefined ? undefined : new TextDecoder().decode(object.body);
}

export async function readJsonLines(
  store: StreamingObjectStore,
  key: string,
): Promise<Record<string, unknown>[]> {
  const text = await readText(store, key);
  if (text === undefined) throw new Error(`no object at ${key}`);
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export async function readJson(store: StreamingObjectStore, key: string): Promise<Record<string, unknown>> {
  const text = await readText(store, key);
  if (text === undefined) throw new Error(`no object at ${key}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** A CSV field, quoted when it must be (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Deterministic pseudo-random numbers in [0, 1). */
export const seededRandom = mulberry32;
