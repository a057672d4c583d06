/**
 * The drift function's handler with an injected event publisher that records: a scheduled event
 * checks every model with captures, writes reports, emits a ModelDriftDetected event for the one
 * that drifts, prints EMF metrics per model and version, and fails at the end when a model
 * failed, after checking the others.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Context } from 'aws-lambda';
import { lambdaContext } from '../../scripts/local/apigw-event.ts';
import type { DriftCheckConfig } from '../../src/config/drift-check-config.ts';
import type { ModelDriftDetectedDetail } from '../../src/drift/check/events.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import {
  captureRecords,
  clearPrefix,
  type DemoFixture,
  demoFixture,
  publishWithReference,
  putCaptures,
  putOutcomes,
  shifted,
} from './monitoring-fixtures.ts';

const END = new Date('2026-06-02T00:00:00.000Z');
const HOUR = 3_600_000;
/** An EventBridge scheduled event, as the `schedule` of serverless.yml delivers it. */
const SCHEDULED_EVENT = {
  version: '0',
  id: '89d1a02d-5ec7-412e-82f5-13505f849b41',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-06-02T00:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/onnx-serve-dev-DriftEventsRuleSchedule1-1A2B3C4D'],
  detail: {},
};

type Handler = (event: unknown, context: Context) => Promise<unknown>;

let s3: TestS3Server;
let cancer: DemoFixture;
let iris: DemoFixture;
let createDriftHandler: (deps: {
  config: DriftCheckConfig;
  store: TestS3Server['store'];
  publisher: { publish(detail: ModelDriftDetectedDetail): Promise<void> };
  now?: () => Date;
}) => Handler;
let config: DriftCheckConfig;

before(async () => {
  s3 = await startS3Server();
  // The handler module reads its environment when it is imported, as in Lambda.
  Object.assign(process.env, {
    MODEL_BUCKET: s3.bucket,
    REQUIRE_VALIDATION: 'false',
    AWS_REGION: s3.region,
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    POWERTOOLS_LOG_LEVEL: 'INFO',
  });
  const module = await import('../../handlers/functions/drift.ts');
  createDriftHandler = module.createDriftHandler as unknown as typeof createDriftHandler;
  const { readDriftCheckConfig } = await import('../../src/config/drift-check-config.ts');
  config = readDriftCheckConfig(process.env);
  cancer = await demoFixture('breast-cancer');
  iris = await demoFixture('iris');
  await publishWithReference(s3.store, cancer);
  await publishWithReference(s3.store, iris);
});

after(async () => {
  await s3?.close();
});

beforeEach(async () => {
  for (const prefix of ['captures/', 'outcomes/', 'reports/']) await clearPrefix(s3.store, prefix);
  await s3.store.put('models/iris/config.json', JSON.stringify(iris.config));
});

/**
 * Runs `work`, returning what it printed as parsed JSON lines (stdout: INFO logs and EMF; stderr:
 * WARN and ERROR logs, as Powertools writes them), and its outcome.
 */
async function capturingOutput<T>(
  work: () => Promise<T>,
): Promise<{ lines: Record<string, unknown>[]; result?: T; error?: unknown }> {
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write.bind(stream));
  let text = '';
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return true;
    }) as typeof stream.write;
  }
  let result: T | undefined;
  let error: unknown;
  try {
    result = await work();
  } catch (caught) {
    error = caught;
  } finally {
    streams.forEach((stream, i) => {
      stream.write = originals[i] as typeof stream.write;
    });
  }
  const lines = text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { lines, result, error };
}

async function driftingCancerTraffic(withOutcomes: boolean): Promise<void> {
  const profile = (name: string) => cancer.featureNames.indexOf(name);
  const moved = Object.fromEntries(
    cancer.featureNames.slice(0, 20).map((name) => {
      const values = cancer.trainRows.map((row) => row[profile(name)] as number);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
      return [name, 4 * sd];
    }),
  );
  const records = await captureRecords(cancer, shifted(cancer, cancer.holdoutRows, moved), {
    start: new Date(END.getTime() - 20 * HOUR),
    spacingMs: 5 * 60_000,
    prefix: 'h',
  });
  await putCaptures(s3.store, records, { format: 'firehose', name: 'h' });
  if (withOutcomes) {
    await putOutcomes(
      s3.store,
      'breast-cancer',
      records.slice(0, 71).map((record, i) => {
        const time = new Date(Date.parse(record.ts) + HOUR).toISOString();
        return {
          id: record.id,
          value: cancer.classNames[cancer.holdoutLabels[i] as number] as string,
          ts: time,
          received_at: time,
        };
      }),
      'o',
    );
  }
}

describe('drift handler', () => {
  it('publishes ModelDriftDetected for the drifting model and prints its metrics per model and version', async () => {
    // Prepare
    await driftingCancerTraffic(true);
    await putCaptures(
      s3.store,
      await captureRecords(iris, iris.holdoutRows, {
        start: new Date(END.getTime() - 10 * HOUR),
        spacingMs: 60_000,
        prefix: 'i',
      }),
      { format: 'jsonl', name: 'i' },
    );
    const events: ModelDriftDetectedDetail[] = [];
    const handler = createDriftHandler({
      config,
      store: s3.store,
      publisher: { publish: async (detail) => void events.push(detail) },
      now: () => END,
    });

    // Act
    const { lines, result, error } = await capturingOutput(() =>
      handler(SCHEDULED_EVENT, lambdaContext('drift', 3008, 900_000)),
    );

    // Assess: the event.
    assert.equal(error, undefined);
    assert.equal(events.length, 1);
    const event = events[0];
    assert.ok(event);
    assert.equal(event.model, 'breast-cancer');
    assert.equal(event.version, '1');
    assert.equal(event.verdict, 'drift');
    assert.deepEqual(event.reasons.includes('data_drift'), true);
    assert.ok(event.drifted_features.length >= 20);
    assert.equal(event.report.json, 'reports/breast-cancer/2026/06/02/000000/drift.json');
    assert.equal(event.report.bucket, s3.bucket);
    assert.ok(await s3.store.head(event.report.html), 'the report the event names exists');
    assert.deepEqual(
      (result as { models: { model: string; status: string; event?: boolean }[] }).models.map((m) => [
        m.model,
        m.status,
        m.event,
      ]),
      [
        ['breast-cancer', 'checked', true],
        ['iris', 'checked', false],
      ],
    );

    // Assess: the EMF document of the drifting model.
    const emf = lines.filter((line) => typeof line._aws === 'object' && line.model === 'breast-cancer');
    assert.equal(emf.length, 1);
    const document = emf[0] as Record<string, unknown>;
    assert.equal(document.version, '1');
    assert.equal(document.DatasetDrift, 1);
    assert.equal(document.DriftDetected, 1);
    assert.equal(document.DriftedFeatures, event.drifted_features.length);
    assert.equal(document.PredictionDrift, event.metrics.prediction_drift);
    assert.equal(typeof document.MaxDriftScore, 'number');
    assert.equal(document.OutcomeCoverage, (71 / cancer.holdoutRows.length) * 100);
    assert.equal(document.Accuracy, event.metrics.accuracy);
    assert.equal(typeof document.RocAuc, 'number');
    assert.equal(document.DriftCheckFailures, 0);
    // Data quality: one 0/1 metric for the service-wide alarm, the failing count, the worst missing share.
    assert.ok(document.DataQualityFail === 0 || document.DataQualityFail === 1);
    assert.equal(typeof document.DataQualityFailingFeatures, 'number');
    assert.equal(document.DataQualityFail, (document.DataQualityFailingFeatures as number) > 0 ? 1 : 0);
    assert.equal(typeof document.MaxMissingShare, 'number');
    const dimensions = (document._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] })
      .CloudWatchMetrics[0]?.Dimensions;
    assert.deepEqual(
      dimensions,
      [['service'], ['service', 'model', 'version']],
      'service-wide (the alarm) and per model and version',
    );
    const log = lines.find((line) => line.message === 'model drift detected');
    assert.equal(log?.model, 'breast-cancer');
    assert.equal(log?.event, true);
  });

  it('incremental (DRIFT_INCREMENTAL): windows end on the hour, and the next run reads no capture again', async () => {
    // Prepare
    await driftingCancerTraffic(true);
    const handler = createDriftHandler({
      config: { ...config, incremental: true },
      store: s3.store,
      publisher: { publish: async () => undefined },
    });
    const at = (time: string) => ({ ...SCHEDULED_EVENT, time });

    // Act: two scheduled runs, 37 and 72 minutes past the last capture hour.
    const first = await capturingOutput(() =>
      handler(at('2026-06-02T00:37:00Z'), lambdaContext('drift', 3008, 900_000)),
    );
    s3.resetRequests();
    const second = await capturingOutput(() =>
      handler(at('2026-06-02T01:12:00Z'), lambdaContext('drift', 3008, 900_000)),
    );

    // Assess
    assert.equal(first.error, undefined);
    assert.equal(second.error, undefined);
    assert.ok(
      await s3.store.head('reports/breast-cancer/2026/06/02/000000/drift.json'),
      'window ended at 00:00',
    );
    assert.ok(
      await s3.store.head('reports/breast-cancer/2026/06/02/010000/drift.json'),
      'window ended at 01:00',
    );
    const summaries = await s3.store.list('reports/breast-cancer/_summaries/');
    assert.ok(summaries.objects.length > 0, 'per-hour summaries kept in S3');
    const captureReads = s3.requests.filter(
      (request) => request.operation === 'GetObject' && request.key.startsWith('captures/'),
    );
    assert.deepEqual(captureReads, [], 'the second run assembled its window from the summaries');
  });

  it('checks the other models when one fails, then fails the invocation naming it', async () => {
    // Prepare: iris's config has a typo; breast-cancer drifts.
    await driftingCancerTraffic(false);
    await putCaptures(
      s3.store,
      await captureRecords(iris, iris.holdoutRows, {
        start: new Date(END.getTime() - 10 * HOUR),
        spacingMs: 60_000,
        prefix: 'i',
      }),
      { format: 'jsonl', name: 'i' },
    );
    await s3.store.put(
      'models/iris/config.json',
      JSON.stringify({ ...iris.config, drift: { thresholds: { kss: 0.1 } } }),
    );
    const events: ModelDriftDetectedDetail[] = [];
    const handler = createDriftHandler({
      config,
      store: s3.store,
      publisher: { publish: async (detail) => void events.push(detail) },
      now: () => END,
    });

    // Act
    const { lines, error } = await capturingOutput(() =>
      handler(SCHEDULED_EVENT, lambdaContext('drift', 3008, 900_000)),
    );

    // Assess
    assert.ok(error instanceof Error);
    assert.match(
      error.message,
      /drift check failed for 1 of \d model\(s\): iris: .*unknown field 'drift\.thresholds\.kss'/,
    );
    assert.equal(events.length, 1, 'breast-cancer was still checked and its event sent');
    const failure = lines.find((line) => typeof line._aws === 'object' && line.model === 'iris');
    assert.equal(failure?.DriftCheckFailures, 1);
    assert.ok(
      lines.some(
        (line) => line.message === 'drift check failed' && line.model === 'iris' && line.level === 'ERROR',
      ),
    );
  });

  it('redoes only the failed model when Lambda retries the same scheduled event, sending no event twice', async () => {
    // Prepare: a first attempt in which iris fails (typo in its config) and breast-cancer drifts.
    await driftingCancerTraffic(false);
    await putCaptures(
      s3.store,
      await captureRecords(iris, iris.holdoutRows, {
        start: new Date(END.getTime() - 10 * HOUR),
        spacingMs: 60_000,
        prefix: 'i',
      }),
      { format: 'jsonl', name: 'i' },
    );
    await s3.store.put(
      'models/iris/config.json',
      JSON.stringify({ ...iris.config, drift: { min_prediction: 5 } }),
    );
    const events: ModelDriftDetectedDetail[] = [];
    // No injected clock: the scheduled event's time is the window end and the report time.
    const handler = createDriftHandler({
      config,
      store: s3.store,
      publisher: { publish: async (detail) => void events.push(detail) },
    });
    const first = await capturingOutput(() =>
      handler(SCHEDULED_EVENT, lambdaContext('drift', 3008, 900_000)),
    );
    assert.ok(first.error instanceof Error);
    await s3.store.put('models/iris/config.json', JSON.stringify(iris.config));

    // Act: the retry, with the same event.
    const retry = await capturingOutput(() =>
      handler(SCHEDULED_EVENT, lambdaContext('drift', 3008, 900_000)),
    );

    // Assess
    assert.equal(retry.error, undefined);
    assert.deepEqual(
      (retry.result as { models: { model: string; status: string }[] }).models.map((m) => [
        m.model,
        m.status,
      ]),
      [
        ['breast-cancer', 'skipped'],
        ['iris', 'checked'],
      ],
    );
    assert.equal(events.length, 1, 'the drift event of breast-cancer was sent once');
    assert.ok(await s3.store.head('reports/iris/2026/06/02/000000/drift.json'));
  });

  it('checks only the models a direct invocation names, over its window', async () => {
    // Prepare
    await putCaptures(
      s3.store,
      await captureRecords(iris, iris.holdoutRows, {
        start: new Date(END.getTime() - 3 * HOUR),
        spacingMs: 60_000,
        prefix: 'd',
      }),
      { format: 'jsonl', name: 'd' },
    );
    const handler = createDriftHandler({
      config,
      store: s3.store,
      publisher: { publish: async () => {} },
      now: () => END,
    });

    // Act
    const { result, error } = await capturingOutput(() =>
      handler({ models: ['iris'], window_hours: 6 }, lambdaContext('drift', 3008, 900_000)),
    );

    // Assess
    assert.equal(error, undefined);
    assert.deepEqual(
      (result as { models: { model: string }[] }).models.map((m) => m.model),
      ['iris'],
    );
    const latest = JSON.parse(
      new TextDecoder().decode((await s3.store.get('reports/iris/latest.json'))?.body),
    ) as {
      window: { hours: number };
    };
    assert.equal(latest.window.hours, 6);
  });
});
