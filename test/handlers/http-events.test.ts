/**
 * The http Lambda handler with the events API Gateway HTTP APIs (payload format 2.0) send for
 * what Triton's client does on the wire: binary tensors with no Content-Type at all (API Gateway
 * passes any body whose type is not text base64-encoded, `isBase64Encoded: true`), gzip request
 * bodies (bytes: base64 too), and compressed answers (sent back base64-encoded, which API Gateway
 * decodes for the client).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createHttpHandler } from '../../handlers/functions/http.ts';
import { buildOnnxModel } from '../../scripts/lib/onnx/graph-builder.ts';
import { readServingConfig } from '../../src/config/serving-config.ts';
import { createServing } from '../../src/serving.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { publishValidated } from '../helpers/validated.ts';

const DOUBLE = buildOnnxModel({
  inputs: [{ name: 'x', elemType: 'float32', shape: ['n'] }],
  outputs: [{ name: 'y', elemType: 'float32', shape: ['n'] }],
  nodes: [{ opType: 'Add', inputs: ['x', 'x'], outputs: ['y'] }],
});

let s3: TestS3Server;
let handler: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

const context = {
  functionName: 'onnx-serve-test-http',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  getRemainingTimeInMillis: () => 29_000,
} as Context;

/**
 * An event as API Gateway HTTP API builds it: lower-case headers, the stage `$default`, the route
 * key of the matched route, and the body base64-encoded unless its Content-Type is text.
 */
function event(options: {
  method: string;
  path: string;
  routeKey: string;
  pathParameters?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Uint8Array;
  base64?: boolean;
}): APIGatewayProxyEventV2 {
  const base64 = options.base64 ?? true;
  return {
    version: '2.0',
    routeKey: options.routeKey,
    rawPath: options.path,
    rawQueryString: '',
    headers: {
      accept: '*/*',
      'content-length': String(options.body?.byteLength ?? 0),
      host: 'abcdef1234.execute-api.eu-west-1.amazonaws.com',
      'user-agent': 'Python-urllib/3.12',
      'x-amzn-trace-id': 'Root=1-67891233-abcdef012345678912345678',
      'x-forwarded-for': '192.0.2.1',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
      ...options.headers,
    },
    pathParameters: options.pathParameters,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abcdef1234',
      domainName: 'abcdef1234.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abcdef1234',
      http: {
        method: options.method,
        path: options.path,
        protocol: 'HTTP/1.1',
        sourceIp: '192.0.2.1',
        userAgent: 'Python-urllib/3.12',
      },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey: options.routeKey,
      stage: '$default',
      time: '07/Dec/2026:01:00:00 +0000',
      timeEpoch: 1796605200000,
    },
    body:
      options.body === undefined
        ? undefined
        : base64
          ? Buffer.from(options.body).toString('base64')
          : Buffer.from(options.body).toString('utf8'),
    isBase64Encoded: options.body !== undefined && base64,
  };
}

const INFER = { routeKey: 'POST /v2/models/{name}/infer', pathParameters: { name: 'double' } };

before(async () => {
  s3 = await startS3Server();
  await publishValidated(s3.store, { name: 'double', version: 1, model: DOUBLE });
  const serving = createServing(readServingConfig({ MODEL_BUCKET: s3.bucket }), { store: s3.store });
  handler = createHttpHandler({ serving }) as unknown as typeof handler;
});

after(async () => {
  await s3?.close();
});

describe('http handler with API Gateway events', () => {
  it('a binary request without Content-Type arrives base64-encoded and is answered', async () => {
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'x', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } }],
        outputs: [{ name: 'y', parameters: { binary_data: true } }],
      }),
    );
    const body = Buffer.concat([header, Buffer.from(new Float32Array([1.5, -2]).buffer)]);

    const result = await handler(
      event({
        method: 'POST',
        path: '/v2/models/double/infer',
        ...INFER,
        headers: { 'inference-header-content-length': String(header.byteLength) },
        body,
      }),
      context,
    );

    assert.equal(result.statusCode, 200, String(result.body));
    assert.equal(result.isBase64Encoded, true);
    const wire = Buffer.from(String(result.body), 'base64');
    const jsonLength = Number(result.headers?.['inference-header-content-length']);
    const values = new Float32Array(new Uint8Array(wire.subarray(jsonLength)).buffer);
    assert.deepEqual([...values], [3, -4]);
  });

  it('a gzip JSON request (bytes, so base64) is inflated; a compressed answer goes back base64', async () => {
    const values = Array.from({ length: 2000 }, (_, i) => i % 7);
    const body = gzipSync(
      JSON.stringify({ inputs: [{ name: 'x', shape: [values.length], datatype: 'FP32', data: values }] }),
    );

    const result = await handler(
      event({
        method: 'POST',
        path: '/v2/models/double/infer',
        ...INFER,
        headers: {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          'accept-encoding': 'gzip, deflate',
        },
        body,
      }),
      context,
    );

    assert.equal(result.statusCode, 200, String(result.body));
    assert.equal(result.headers?.['content-encoding'], 'gzip');
    assert.equal(result.isBase64Encoded, true);
    const answer = JSON.parse(gunzipSync(Buffer.from(String(result.body), 'base64')).toString('utf8'));
    assert.deepEqual(
      answer.outputs[0].data,
      values.map((value) => value * 2),
    );
  });

  it('a JSON request passed as text is read as UTF-8, and a small answer stays plain text', async () => {
    const body = Buffer.from(
      JSON.stringify({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [2] }] }),
    );

    const result = await handler(
      event({
        method: 'POST',
        path: '/v2/models/double/infer',
        ...INFER,
        headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip' },
        body,
        base64: false,
      }),
      context,
    );

    assert.equal(result.statusCode, 200);
    assert.equal(result.isBase64Encoded, false);
    assert.deepEqual(JSON.parse(String(result.body)).outputs[0].data, [4]);
  });
});
