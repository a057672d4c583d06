import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { readServerlessDocument } from '../../scripts/local/serverless-document.ts';
import {
  CAPTURE_FILTER_PATTERN,
  captureOfLogLine,
  captureOfStoredLine,
  formatCaptureLine,
  formatCaptureLines,
} from '../../src/capture/log-line.ts';
import {
  type CaptureRecord,
  captureFolder,
  captureTensor,
  createCaptureRecord,
  serializeCaptureRecord,
} from '../../src/capture/record.ts';
import { expandPrefix, matchesFilterPattern, partitionKeys } from '../deploy/capture-pipeline.ts';
import { ROOT } from '../helpers/paths.ts';

const TS = new Date('2026-03-04T05:06:07.891Z');

function record(overrides: Partial<Parameters<typeof createCaptureRecord>[0]> = {}): CaptureRecord {
  return createCaptureRecord({
    id: 'req-1:0',
    ts: TS,
    model: 'iris',
    version: '2',
    source: 'api',
    inputs: { sepal_length_cm: 5.1, sepal_width_cm: 3.5 },
    outputs: [captureTensor({ name: 'label', datatype: 'INT64', shape: [1], data: [2] })],
    latencyMs: 0.25,
    ...overrides,
  });
}

/** The capture pipeline as serverless.yml declares it: filter pattern, partition query, S3 prefix. */
let pipeline: { filterPattern: string; query: string; prefix: string };

before(async () => {
  const document = (await readServerlessDocument(join(ROOT, 'serverless.yml'))) as {
    custom: { capture: { filterPattern: string } };
    resources: { Resources: Record<string, { Properties: Record<string, unknown> }> };
  };
  const destination = document.resources.Resources.CaptureDeliveryStream?.Properties
    .ExtendedS3DestinationConfiguration as {
    Prefix: string;
    ProcessingConfiguration: {
      Processors: { Type: string; Parameters: { ParameterName: string; ParameterValue: string }[] }[];
    };
  };
  const query = destination.ProcessingConfiguration.Processors.find(
    (processor) => processor.Type === 'MetadataExtraction',
  )?.Parameters.find((parameter) => parameter.ParameterName === 'MetadataExtractionQuery')?.ParameterValue;
  assert.ok(query, 'serverless.yml has a partition query');
  pipeline = { filterPattern: document.custom.capture.filterPattern, query, prefix: destination.Prefix };
});

describe('capture log line', () => {
  it('is selected by the subscription filter of serverless.yml and filed under captures/{model}/{hour}/', () => {
    const line = formatCaptureLine(record(), 'onnx-serve');

    const keys = partitionKeys(pipeline.query, JSON.parse(line));
    const prefix = expandPrefix(pipeline.prefix, keys);

    assert.equal(CAPTURE_FILTER_PATTERN, pipeline.filterPattern);
    assert.equal(matchesFilterPattern(pipeline.filterPattern, line.trim()), true);
    assert.ok(prefix.startsWith(captureFolder('iris', TS)), prefix);
  });

  it('is one JSON object on one line, with the record under capture', () => {
    const line = formatCaptureLine(record({ inputs: { note: 'two\nlines' } }), 'svc');

    assert.equal(line.endsWith('\n'), true);
    assert.equal(line.slice(0, -1).includes('\n'), false);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    assert.equal(parsed.message, 'capture');
    assert.equal(parsed.level, 'INFO');
    assert.equal(parsed.service, 'svc');
    assert.equal(parsed.timestamp, TS.toISOString());
    assert.deepEqual(
      parsed.capture,
      JSON.parse(serializeCaptureRecord(record({ inputs: { note: 'two\nlines' } }))),
    );
  });

  it('writes int64 values beyond 2^53 exactly', () => {
    const big = record({
      outputs: [captureTensor({ name: 'id', datatype: 'INT64', shape: [1], data: [9007199254740993n] })],
    });

    const line = formatCaptureLine(big, 'svc');

    assert.match(line, /"data":\[9007199254740993\]/);
  });

  it('other log lines and metrics are not capture lines', () => {
    const lines = [
      '{"level":"INFO","message":"request","service":"onnx-serve","model":"iris"}',
      '{"_aws":{"Timestamp":0,"CloudWatchMetrics":[]},"service":"onnx-serve","CapturedPredictions":1}',
      '{"level":"INFO","message":"capture"}',
      '{"message":"capture","capture":{"model":"iris"}}',
      'onnx-serve local stack is up',
      '{"message":"capture", broken',
    ];

    for (const line of lines) {
      assert.equal(captureOfLogLine(line), undefined, line);
    }
    assert.deepEqual(
      captureOfLogLine(formatCaptureLine(record(), 'svc')),
      JSON.parse(serializeCaptureRecord(record())),
    );
  });
});

describe('formatCaptureLines', () => {
  it('summarises the tensors of a record too large for a log line, and leaves out what still is', () => {
    const wide = Array.from({ length: 2000 }, (_, i) => i);
    const tensors = record({
      id: 'wide',
      inputs: [captureTensor({ name: 'x', datatype: 'FP32', shape: [1, 2000], data: wide }, 4096)],
    });
    const text = record({ id: 'text', inputs: { note: 'x'.repeat(20_000) } });

    const { text: written, count, oversized } = formatCaptureLines([record(), tensors, text], 'svc', 8_000);

    const parsed = written
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { capture: CaptureRecord });
    assert.equal(count, 2);
    assert.deepEqual(oversized, ['text']);
    assert.deepEqual(
      parsed.map((line) => line.capture.id),
      ['req-1:0', 'wide'],
    );
    assert.equal(parsed[1]?.capture.truncated, true);
    const inputs = (parsed[1]?.capture.inputs ?? []) as { summary?: unknown }[];
    assert.deepEqual(inputs[0]?.summary, {
      count: 2000,
      min: 0,
      max: 1999,
      mean: 999.5,
    });
  });
});

describe('captureOfStoredLine', () => {
  it('reads batch records as they are and API log lines by their capture', () => {
    const batch = serializeCaptureRecord(record({ id: 'b-1', source: 'batch' }));
    const api = formatCaptureLine(record({ id: 'a-1' }), 'svc');

    assert.equal(captureOfStoredLine(batch)?.id, 'b-1');
    assert.equal(captureOfStoredLine(api)?.id, 'a-1');
    assert.equal(captureOfStoredLine(api)?.source, 'api');
    assert.equal(captureOfStoredLine(''), undefined);
    assert.equal(captureOfStoredLine('{"message":"request"}'), undefined);
    assert.equal(captureOfStoredLine('not json'), undefined);
  });
});
