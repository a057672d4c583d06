import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { matchDeclaredRoute, readHttpRoutes } from '../../scripts/local/serverless-routes.ts';
import { ROUTE_KEYS } from '../../src/http/routes.ts';
import { ROOT } from '../helpers/paths.ts';

describe('serverless.yml routes', () => {
  it('declares exactly the routes the http function answers, plus the catch-all', async () => {
    const routes = await readHttpRoutes(join(ROOT, 'serverless.yml'));
    const http = routes.filter((route) => route.functionName === 'http');

    const declared = http
      .filter((route) => route.path !== '*')
      .map((route) => `${route.method} ${route.path}`);
    assert.deepEqual([...declared].sort(), [...ROUTE_KEYS].sort());
    assert.ok(
      http.some((route) => route.path === '*'),
      'a $default route',
    );
  });

  it('matches like API Gateway: literal segments beat parameters, $default catches the rest', async () => {
    const routes = await readHttpRoutes(join(ROOT, 'serverless.yml'));

    const ready = matchDeclaredRoute(routes, 'GET', '/v2/health/ready');
    const model = matchDeclaredRoute(routes, 'GET', '/v2/models/iris%20x/versions/2');
    const unknown = matchDeclaredRoute(routes, 'DELETE', '/v2/models/iris');

    assert.equal(ready?.routeKey, 'GET /v2/health/ready');
    assert.equal(model?.routeKey, 'GET /v2/models/{name}/versions/{version}');
    assert.deepEqual(model?.pathParameters, { name: 'iris x', version: '2' });
    assert.equal(unknown?.routeKey, '$default');
  });

  it('a greedy path variable takes the rest of the path; literal `stats` beats `{name}`', async () => {
    const routes = await readHttpRoutes(join(ROOT, 'serverless.yml'));

    const predict = matchDeclaredRoute(routes, 'POST', '/v1/models/iris/versions/2:predict');
    const bare = matchDeclaredRoute(routes, 'POST', '/v1/models');
    const stats = matchDeclaredRoute(routes, 'GET', '/v2/models/stats');

    assert.equal(predict?.routeKey, 'POST /v1/models/{path+}');
    assert.deepEqual(predict?.pathParameters, { path: 'iris/versions/2:predict' });
    assert.equal(bare?.routeKey, '$default');
    assert.equal(stats?.routeKey, 'GET /v2/models/stats');
  });
});
