/**
 * The EventBridge publisher through the real AWS SDK client, against a loopback endpoint that
 * answers PutEvents as EventBridge does: what is sent, and a refused entry becoming an error.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgePublisher } from '../../src/adapters/aws/eventbridge-publisher.ts';
import type { ModelDriftDetectedDetail } from '../../src/drift/check/events.ts';

interface Received {
  headers: IncomingHttpHeaders;
  body: { Entries: { Source: string; DetailType: string; Detail: string; EventBusName: string }[] };
}

let server: Server;
let client: EventBridgeClient;
const received: Received[] = [];
let answer: unknown = { Entries: [{ EventId: 'e-1' }], FailedEntryCount: 0 };

const DETAIL: ModelDriftDetectedDetail = {
  event_id: '0123456789abcdef0123456789abcdef',
  model: 'iris',
  version: '2',
  verdict: 'drift',
  reasons: ['data_drift'],
  drifted_features: ['petal_length_cm', 'petal_width_cm'],
  prediction_verdict: 'drift',
  performance_verdict: 'not_available',
  window: { start: '2026-06-01T00:00:00.000Z', end: '2026-06-02T00:00:00.000Z', hours: 24 },
  generated_at: '2026-06-02T00:00:00.000Z',
  report: {
    bucket: 'b',
    json: 'reports/iris/2026/06/02/000000/drift.json',
    html: 'reports/iris/2026/06/02/000000/drift.html',
    latest: 'reports/iris/latest.json',
  },
  metrics: { drifted_features: 2, max_drift_score: 0.8 },
};

before(async () => {
  server = createServer((request, response) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      text += chunk;
    });
    request.on('end', () => {
      received.push({ headers: request.headers, body: JSON.parse(text) as Received['body'] });
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  client = new EventBridgeClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
});

after(async () => {
  client?.destroy();
  await new Promise<void>((done) => server.close(() => done()));
});

describe('EventBridge publisher', () => {
  it('puts one ModelDriftDetected entry from onnx-serve on the named bus, the detail as JSON', async () => {
    // Prepare
    received.length = 0;
    answer = { Entries: [{ EventId: 'e-1' }], FailedEntryCount: 0 };

    // Act
    await new EventBridgePublisher({ client, eventBusName: 'ml-events' }).publish(DETAIL);

    // Assess
    assert.equal(received.length, 1);
    assert.equal(received[0]?.headers['x-amz-target'], 'AWSEvents.PutEvents');
    const [entry] = received[0]?.body.Entries ?? [];
    assert.equal(entry?.Source, 'onnx-serve');
    assert.equal(entry?.DetailType, 'ModelDriftDetected');
    assert.equal(entry?.EventBusName, 'ml-events');
    assert.deepEqual(JSON.parse(entry?.Detail ?? '{}'), DETAIL);
  });

  it('fails when EventBridge refuses the entry, with its error code', async () => {
    // Prepare
    answer = {
      Entries: [{ ErrorCode: 'AccessDeniedException', ErrorMessage: 'not authorized' }],
      FailedEntryCount: 1,
    };

    // Act
    const error = await new EventBridgePublisher({ client })
      .publish(DETAIL)
      .catch((caught: unknown) => caught);

    // Assess
    assert.ok(error instanceof Error);
    assert.match(
      error.message,
      /refused the ModelDriftDetected event for 'iris': AccessDeniedException not authorized/,
    );
    assert.equal(received.at(-1)?.body.Entries[0]?.EventBusName, 'default');
  });
});
