/**
 * Hostile API Gateway events through the built http bundle itself (what Lambda runs): bodies that
 * claim to be base64 and are not, named-stage paths, missing bodies, oversized bodies. Every
 * answer is a clean 4xx and the function keeps serving.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import fc from 'fast-check';
import { lambdaContext } from '../../scripts/local/apigw-event.ts';
import { publishModel } from '../../src/repository/publish.ts';
import { ROOT } from '../helpers/paths.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { assertNoLeak, reluModel, validReluRequest, withoutStrayErrors } from './helpers.ts';

type Handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

let s3: TestS3Server;
let handler: Handler;

function event(
  method: string,
  rawPath: string,
  body?: string,
  options: { base64?: boolean; stage?: string } = {},
): APIGatewayProxyEventV2 {
  const stage = options.stage ?? '$default';
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'test' },
      requestId: 'req',
      routeKey: '$default',
      stage,
      time: '24/Nov/2026:10:00:00 +0000',
      timeEpoch: 1795600000000,
    },
    body,
    isBase64Encoded: options.base64 ?? false,
  };
}

async function invoke(e: APIGatewayProxyEventV2): Promise<{ status: number; body: string }> {
  const result = await handler(e, lambdaContext('http', 1769, 29_000));
  return { status: result.statusCode ?? 0, body: result.body ?? '' };
}

function assertClean4xx(answer: { status: number; body: string }): void {
  assert.ok(
    answer.status >= 400 && answer.status < 500,
    `expected a 4xx, got ${answer.status}: ${answer.body}`,
  );
  assert.deepEqual(Object.keys(JSON.parse(answer.body) as object), ['error']);
  assertNoLeak(answer.body);
}

before(async () => {
  s3 = await startS3Server();
  await publishModel(s3.store, { name: 'relu', version: 1, model: await reluModel() });
  // The bundle reads its configuration when it is imported, as in Lambda.
  Object.assign(process.env, {
    MODEL_BUCKET: s3.bucket,
    REQUIRE_VALIDATION: 'false',
    AWS_REGION: s3.region,
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    CAPTURE_ENABLED: 'false',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  const module = (await import(pathToFileURL(join(ROOT, 'dist', 'http', 'index.mjs')).href)) as {
    handler: Handler;
  };
  handler = module.handler;
});

after(async () => {
  await s3?.close();
});

describe('http bundle: hostile API Gateway events', () => {
  it('bodies flagged base64 that are not base64 are refused with a 4xx, and valid base64 is served', async () => {
    const valid = Buffer.from(JSON.stringify(validReluRequest([-1, 2]))).toString('base64');

    const { stray } = await withoutStrayErrors(() =>
      fc.assert(
        fc.asyncProperty(fc.string({ maxLength: 200 }), async (text) => {
          assertClean4xx(await invoke(event('POST', '/v2/models/relu/infer', text, { base64: true })));
        }),
        { numRuns: 1000, seed: 20261124 },
      ),
    );
    const served = await invoke(event('POST', '/v2/models/relu/infer', valid, { base64: true }));

    assert.deepEqual(stray, []);
    assert.equal(served.status, 200, served.body);
    assert.deepEqual((JSON.parse(served.body) as { outputs: { data: number[] }[] }).outputs[0]?.data, [0, 2]);
  });

  it('named stages, missing and oversized bodies, unknown methods: clean 4xx, then still serving', async () => {
    const answers = [
      await invoke(event('POST', '/v2/models/relu/infer')),
      await invoke(event('POST', '/v2/models/relu/infer', '')),
      await invoke(event('POST', '/v2/models/relu/infer', 'x'.repeat(6 * 1024 * 1024 + 1))),
      await invoke(event('DELETE', '/v2/models/relu')),
      await invoke(event('GET', '/prod/v2/models/..%2f..%2fetc')),
      await invoke(event('GET', '/prod/v2/nothing', undefined, { stage: 'prod' })),
    ];
    const staged = await invoke(
      event('POST', '/prod/v2/models/relu/infer', JSON.stringify(validReluRequest([3, -4])), {
        stage: 'prod',
      }),
    );

    for (const answer of answers) assertClean4xx(answer);
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [400, 400, 413, 405, 404, 404],
    );
    assert.equal(staged.status, 200, staged.body);
    assert.deepEqual((JSON.parse(staged.body) as { outputs: { data: number[] }[] }).outputs[0]?.data, [3, 0]);
  });
});
