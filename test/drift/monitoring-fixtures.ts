/**
 * Shared set-up of the drift check tests: a demo model with its training rows, its reference
 * published the way the CLI does, and capture records and outcomes written to the store in the
 * layouts the capture pipeline and the outcomes endpoint use.
 */

import { gzipSync } from 'node:zlib';
import { type DemoModelName, trainDemoModel } from '../../scripts/demo-models.ts';
import { CLASSIFIER_IO, classifierToOnnx } from '../../scripts/lib/training/onnx-export.ts';
import { formatCaptureLine } from '../../src/capture/log-line.ts';
import {
  type CaptureRecord,
  captureFolder,
  captureTensor,
  createCaptureRecord,
  serializeCaptureRecord,
} from '../../src/capture/record.ts';
import { referenceFromData } from '../../src/drift/profiles/reference-from-data.ts';
import { REFERENCE_FILE, type ReferenceDocument } from '../../src/drift/profiles/reference-types.ts';
import { outcomeFolder } from '../../src/outcomes/outcome.ts';
import type { ObjectStore } from '../../src/ports/object-store.ts';
import { publishModel } from '../../src/repository/publish.ts';
import { type DirectResult, directInference } from '../helpers/direct-inference.ts';

export interface DemoFixture {
  name: DemoModelName;
  bytes: Uint8Array;
  config: Record<string, unknown>;
  featureNames: string[];
  classNames: string[];
  trainRows: number[][];
  trainLabels: number[];
  holdoutRows: number[][];
  holdoutLabels: number[];
  /** train.csv as the demo builder writes it: feature columns, then `label`. */
  trainCsv: string;
}

export async function demoFixture(name: DemoModelName): Promise<DemoFixture> {
  const trained = await trainDemoModel(name);
  const featureNames = trained.definition.featureNames;
  return {
    name,
    bytes: classifierToOnnx(trained.classifier),
    config: {
      task: 'classification',
      labels: trained.classNames,
      feature_names: featureNames,
      outputs: { label: CLASSIFIER_IO.label, probabilities: CLASSIFIER_IO.probabilities },
    },
    featureNames,
    classNames: trained.classNames,
    trainRows: trained.trainRows,
    trainLabels: trained.trainLabels,
    holdoutRows: trained.holdoutRows,
    holdoutLabels: trained.holdoutLabels,
    trainCsv: `${[
      [...featureNames, 'label'].join(','),
      ...trained.trainRows.map((row, i) => [...row, trained.trainLabels[i]].join(',')),
    ].join('\n')}\n`,
  };
}

/** Publishes the model with its reference.json computed from train.csv, as `--reference` does. */
export async function publishWithReference(
  store: ObjectStore,
  demo: DemoFixture,
  options: { version?: number; config?: Record<string, unknown> } = {},
): Promise<ReferenceDocument> {
  const config = options.config ?? demo.config;
  const reference = await referenceFromData({
    model: demo.name,
    modelBytes: demo.bytes,
    config,
    text: demo.trainCsv,
    fileName: 'train.csv',
    labelColumn: 'label',
  });
  await publishModel(store, {
    name: demo.name,
    version: options.version ?? 1,
    model: demo.bytes,
    config,
    overwrite: true,
    versionFiles: [
      { name: REFERENCE_FILE, body: JSON.stringify(reference), contentType: 'application/json' },
    ],
  });
  return reference;
}

/** onnxruntime's label and probabilities for each row, straight from the model. */
export function predict(demo: DemoFixture, rows: readonly number[][]): Promise<DirectResult[]> {
  return directInference(demo, rows);
}

/**
 * Capture records of `rows` as the API would write them, with the model's real outputs: ids
 * `{prefix}-{i}`, one every `spacingMs` from `start`.
 */
export async function captureRecords(
  demo: DemoFixture,
  rows: readonly number[][],
  options: { start: Date; spacingMs: number; prefix: string; version?: string },
): Promise<CaptureRecord[]> {
  const predictions = await predict(demo, rows);
  const k = demo.classNames.length;
  return rows.map((row, i) => {
    const prediction = predictions[i] as { label: number; probabilities: number[] };
    return createCaptureRecord({
      id: `${options.prefix}-${i}`,
      ts: new Date(options.start.getTime() + i * options.spacingMs),
      model: demo.name,
      version: options.version ?? '1',
      source: 'api',
      inputs: Object.fromEntries(demo.featureNames.map((name, f) => [name, row[f] as number])),
      outputs: [
        captureTensor({ name: CLASSIFIER_IO.label, datatype: 'INT64', shape: [1], data: [prediction.label] }),
        captureTensor({
          name: CLASSIFIER_IO.probabilities,
          datatype: 'FP32',
          shape: [1, k],
          data: prediction.probabilities,
        }),
      ],
      latencyMs: 0.05,
    });
  });
}

/**
 * Writes records under their hour folders, one object per hour: bare JSON lines (as batch scoring
 * writes them), or gzipped capture log lines (as Firehose writes the API's).
 */
export async function putCaptures(
  store: ObjectStore,
  records: readonly CaptureRecord[],
  options: { format: 'jsonl' | 'firehose'; name: string },
): Promise<string[]> {
  const byFolder = new Map<string, CaptureRecord[]>();
  for (const record of records) {
    const folder = captureFolder(record.model, new Date(record.ts));
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), record]);
  }
  const keys: string[] = [];
  for (const [folder, group] of byFolder) {
    if (options.format === 'jsonl') {
      const key = `${folder}${options.name}.jsonl`;
      await store.put(key, group.map(serializeCaptureRecord).join(''));
      keys.push(key);
    } else {
      const key = `${folder}api-${options.name}.jsonl.gz`;
      await store.put(key, gzipSync(group.map((record) => formatCaptureLine(record, 'onnx-serve')).join('')));
      keys.push(key);
    }
  }
  return keys;
}

/** One outcome line as the outcomes endpoint stores it. */
export interface OutcomeLine {
  id: string;
  value: string | number | boolean;
  ts: string;
  received_at: string;
}

/** Writes outcome lines in the hour folder of their `received_at`, one object per call and hour. */
export async function putOutcomes(
  store: ObjectStore,
  model: string,
  lines: readonly OutcomeLine[],
  name: string,
): Promise<void> {
  const byFolder = new Map<string, OutcomeLine[]>();
  for (const line of lines) {
    const folder = outcomeFolder(model, new Date(line.received_at));
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), line]);
  }
  for (const [folder, group] of byFolder) {
    await store.put(`${folder}${name}.jsonl`, group.map((line) => `${JSON.stringify(line)}\n`).join(''));
  }
}

/** Deletes everything under `prefix` (between tests sharing a bucket). */
export async function clearPrefix(store: ObjectStore, prefix: string): Promise<void> {
  const { objects } = await store.list(prefix);
  for (const object of objects) await store.delete(object.key);
}

/** `rows` with `delta` added to the named features. */
export function shifted(
  demo: DemoFixture,
  rows: readonly number[][],
  deltas: Record<string, number>,
): number[][] {
  return rows.map((row) => row.map((value, f) => value + (deltas[demo.featureNames[f] as string] ?? 0)));
}

export function decodeJson<T>(body: Uint8Array | undefined): T {
  if (body === undefined) throw new Error('object missing');
  return JSON.parse(new TextDecoder().decode(body)) as T;
}
