import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MethodNotAllowedError, NotFoundError, ServingError } from '../../src/errors.ts';
import { matchRoute, ROUTE_KEYS } from '../../src/http/routes.ts';

describe('matchRoute', () => {
  const cases: [string, string, string, { name?: string; version?: string }][] = [
    ['GET', '/v2/health/live', 'live', {}],
    ['GET', '/v2/health/ready', 'ready', {}],
    ['GET', '/v2', 'serverMetadata', {}],
    ['GET', '/v2/', 'serverMetadata', {}],
    ['GET', '/v2/models/iris', 'modelMetadata', { name: 'iris' }],
    ['GET', '/v2/models/iris/versions/3', 'modelMetadata', { name: 'iris', version: '3' }],
    ['GET', '/v2/models/iris/ready', 'modelReady', { name: 'iris' }],
    ['GET', '/v2/models/iris/versions/stable/ready', 'modelReady', { name: 'iris', version: 'stable' }],
    ['POST', '/v2/models/iris/infer', 'infer', { name: 'iris' }],
    ['post', '/v2/models/a.b-c_d/versions/12/infer', 'infer', { name: 'a.b-c_d', version: '12' }],
    ['POST', '/v2/repository/index', 'repositoryIndex', {}],
    ['POST', '/v2/models/iris/outcomes', 'outcomes', { name: 'iris' }],
  ];
  for (const [method, path, operation, params] of cases) {
    it(`${method} ${path} → ${operation}`, () => {
      const match = matchRoute(method, path);

      assert.equal(match.operation, operation);
      assert.deepEqual(match.params, params);
    });
  }

  it('decodes percent-encoded path parameters once', () => {
    assert.deepEqual(matchRoute('GET', '/v2/models/my%20model').params, { name: 'my model' });
    assert.deepEqual(matchRoute('GET', '/v2/models/..%2F..%2Fetc').params, { name: '../../etc' });
  });

  it('rejects a broken percent escape with 400', () => {
    assert.throws(
      () => matchRoute('GET', '/v2/models/%E0%A4%A'),
      (error: unknown) =>
        error instanceof ServingError && error.status === 400 && /percent-encoding/.test(error.message),
    );
  });

  it('answers 405 with an allow header for a known path and a wrong method', () => {
    assert.throws(
      () => matchRoute('GET', '/v2/models/iris/infer'),
      (error: unknown) => error instanceof MethodNotAllowedError && error.headers.allow === 'POST',
    );
  });

  it('answers 404 for unknown paths, including extra segments', () => {
    for (const path of ['/', '/v1/other', '/v2/models/x/infer/more', '/v2/models/x/versions']) {
      assert.throws(() => matchRoute('GET', path), NotFoundError, path);
    }
  });

  it('names the routes there are in the 404 of an unknown route', () => {
    const message = (method: string, path: string) => {
      try {
        matchRoute(method, path);
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    };

    assert.match(
      message('GET', '/v2/models/iris/labels'),
      /routes under \/v2\/models\/\{name\}\/ are GET ready, GET config, GET stats/,
    );
    assert.match(message('POST', '/v2/repository/models/iris/reload'), /load\|unload/);
    assert.match(
      message('GET', '/v2/systemsharedmemory/status'),
      /shared memory extensions are not supported/,
    );
    assert.match(message('GET', '/v2/trace/setting'), /trace and logging settings/);
    assert.match(
      message('GET', '/v1/other'),
      /POST \/v1\/models\/\{name\}\[\/versions\/\{version\}\]:predict/,
    );
  });

  it('matches the new routes: config, stats (literal first), repository control, v1', () => {
    assert.deepEqual(matchRoute('GET', '/v2/models/stats'), { operation: 'statistics', params: {} });
    assert.deepEqual(matchRoute('GET', '/v2/models/iris/versions/2/stats').params, {
      name: 'iris',
      version: '2',
    });
    assert.equal(matchRoute('GET', '/v2/models/iris/config').operation, 'modelConfig');
    assert.equal(matchRoute('POST', '/v2/repository/models/iris/unload').operation, 'repositoryUnload');
    assert.deepEqual(matchRoute('POST', '/v1/models/iris/versions/2:predict'), {
      operation: 'v1Predict',
      params: { path: 'iris/versions/2:predict' },
    });
    assert.equal(matchRoute('GET', '/v1/models/iris').operation, 'v1ModelReady');
  });

  it('exposes the route keys that serverless.yml must declare', () => {
    assert.ok(ROUTE_KEYS.includes('POST /v2/models/{name}/versions/{version}/infer'));
    assert.equal(new Set(ROUTE_KEYS).size, ROUTE_KEYS.length);
  });
});
