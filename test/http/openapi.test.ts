/**
 * docs/openapi.yaml against serverless.yml and the HTTP app: the same routes, every `$ref`
 * resolving, and real answers of the app (wired over a real S3-compatible server) validating
 * against their documented schemas — and a wrong answer failing.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readHttpRoutes } from '../../scripts/local/serverless-routes.ts';
import { readServingConfig } from '../../src/config/serving-config.ts';
import { ROUTE_KEYS } from '../../src/http/routes.ts';
import { createServing } from '../../src/serving.ts';
import { assertOpenApiResponse, findOperation, openApi, openApiOperations } from '../helpers/openapi.ts';
import { ROOT } from '../helpers/paths.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 and describes exactly the routes of serverless.yml', async () => {
    const routes = await readHttpRoutes(join(ROOT, 'serverless.yml'));
    const declared = routes
      .filter((route) => route.functionName === 'http' && route.path !== '*')
      .map((route) => `${route.method} ${route.path}`);

    const documented = new Set(openApiOperations().map((operation) => operation.routeKey));

    assert.match(openApi().document.openapi, /^3\.1\./);
    assert.deepEqual([...documented].sort(), [...new Set(declared)].sort());
    assert.deepEqual([...documented].sort(), [...ROUTE_KEYS].sort());
  });

  it('has unique operation ids, responses for each operation, and every $ref resolves', () => {
    const { document } = openApi();
    const ids = openApiOperations().map(({ operation }) => operation.operationId);
    const refs: string[] = [];
    const walk = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node !== null && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref' && typeof value === 'string') refs.push(value);
          else walk(value);
        }
      }
    };
    walk(document);

    assert.equal(new Set(ids).size, ids.length);
    assert.ok(ids.every((id) => typeof id === 'string'));
    for (const { operation, routeKey } of openApiOperations()) {
      assert.ok(Object.keys(operation.responses ?? {}).includes('200'), routeKey);
    }
    assert.ok(refs.length > 20);
    for (const ref of refs) {
      const target = ref
        .replace(/^#\//, '')
        .split('/')
        .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);
      assert.notEqual(target, undefined, ref);
    }
  });

  it('finds the operation of a concrete path, literal paths first', () => {
    assert.equal(findOperation('GET', '/v2/models/stats')?.operation.operationId, 'allModelStatistics');
    assert.equal(findOperation('GET', '/v2/models/iris')?.operation.operationId, 'modelMetadata');
    assert.equal(findOperation('POST', '/v1/models/iris:predict')?.operation.operationId, 'v1Predict');
    assert.equal(
      findOperation('POST', '/v1/models/iris/versions/2:predict')?.operation.operationId,
      'v1VersionPredict',
    );
  });
});

describe('OpenAPI document against real answers', () => {
  let s3: TestS3Server;
  let serving: ReturnType<typeof createServing>;

  before(async () => {
    s3 = await startS3Server();
    serving = createServing(readServingConfig({ MODEL_BUCKET: s3.bucket }), { store: s3.store });
  });

  after(async () => {
    await s3?.close();
  });

  it('validates server answers and errors, and rejects an answer of the wrong shape', async () => {
    for (const [method, path] of [
      ['GET', '/v2/health/live'],
      ['GET', '/v2'],
      ['GET', '/v2/models/stats'],
      ['GET', '/v2/models/nope'],
      ['POST', '/v2/repository/index'],
      ['GET', '/v1/models'],
    ] as const) {
      const { response } = await serving.handle({ method, path });
      assertOpenApiResponse(method, path, response.status, JSON.parse(response.body));
    }

    assert.throws(() => assertOpenApiResponse('GET', '/v2', 200, { name: 'x', version: '1' }), /extensions/);
    assert.throws(() => assertOpenApiResponse('GET', '/v2/models/iris', 404, { message: 'x' }), /error/);
    assert.throws(() => assertOpenApiResponse('GET', '/v2/models/iris', 418, {}), /documents no 418/);
  });
});
