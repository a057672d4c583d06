/**
 * The http function's EMF writer against Powertools Metrics, which the other functions use: the
 * same metrics must come out as the same document (CloudWatch sees no difference).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { RequestMetrics } from '../../handlers/commons/emf.ts';

/** What Powertools writes for these calls, captured from its stdout. */
function powertools(record: (metrics: Metrics) => void): Record<string, unknown> {
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    const metrics = new Metrics({ serviceName: 'svc', namespace: 'NS' });
    record(metrics);
    metrics.publishStoredMetrics();
  } finally {
    process.stdout.write = write;
  }
  const [line] = lines.join('').trim().split('\n');
  return JSON.parse(line ?? '{}');
}

function withoutTimestamp(document: Record<string, unknown>): Record<string, unknown> {
  const aws = document._aws as { Timestamp: number };
  assert.equal(typeof aws.Timestamp, 'number');
  return { ...document, _aws: { ...aws, Timestamp: 0 } };
}

describe('RequestMetrics (EMF of the http function)', () => {
  it('writes the document Powertools writes: two dimension sets, units, values', () => {
    const ours = new RequestMetrics({ namespace: 'NS', service: 'svc' });
    ours.dimensions({ model: 'iris', version: '3' });
    ours.add('ModelCacheHit', 'Count', 1);
    ours.add('InferenceTime', 'Milliseconds', 0.25);
    ours.add('RequestBytes', 'Bytes', 812);

    const expected = powertools((metrics) => {
      metrics.addDimensions({});
      metrics.addDimensions({ model: 'iris', version: '3' });
      metrics.addMetric('ModelCacheHit', MetricUnit.Count, 1);
      metrics.addMetric('InferenceTime', MetricUnit.Milliseconds, 0.25);
      metrics.addMetric('RequestBytes', MetricUnit.Bytes, 812);
    });

    assert.deepEqual(
      withoutTimestamp(JSON.parse(ours.flush(1)) as Record<string, unknown>),
      withoutTimestamp(expected),
    );
  });

  it('service-wide only without model dimensions; the same name twice keeps the last value', () => {
    const ours = new RequestMetrics({ namespace: 'NS', service: 'svc' });
    ours.add('Requests', 'Count', 1);
    ours.add('Requests', 'Count', 2);

    const document = JSON.parse(ours.flush(5)) as {
      _aws: { Timestamp: number; CloudWatchMetrics: unknown[] };
    };
    assert.equal(document._aws.Timestamp, 5);
    assert.deepEqual(document._aws.CloudWatchMetrics, [
      { Namespace: 'NS', Dimensions: [['service']], Metrics: [{ Name: 'Requests', Unit: 'Count' }] },
    ]);
    assert.equal((document as unknown as { Requests: number }).Requests, 2);
  });

  it('flush starts afresh: nothing added, nothing written; dimensions do not leak into the next request', () => {
    const ours = new RequestMetrics({ namespace: 'NS', service: 'svc' });
    ours.dimensions({ model: 'iris', version: '1' });
    ours.add('Requests', 'Count', 1);
    ours.flush(0);

    assert.equal(ours.flush(0), '');
    ours.add('Requests', 'Count', 1);
    const next = JSON.parse(ours.flush(0)) as Record<string, unknown>;
    assert.equal(next.model, undefined);
  });

  it('the cold start document has the function_name dimension', () => {
    const document = JSON.parse(new RequestMetrics({ namespace: 'NS', service: 'svc' }).coldStart('fn', 7));
    assert.deepEqual(document, {
      _aws: {
        Timestamp: 7,
        CloudWatchMetrics: [
          {
            Namespace: 'NS',
            Dimensions: [['service', 'function_name']],
            Metrics: [{ Name: 'ColdStart', Unit: 'Count' }],
          },
        ],
      },
      service: 'svc',
      function_name: 'fn',
      ColdStart: 1,
    });
  });
});
