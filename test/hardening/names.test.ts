/**
 * Model names and versions in paths: traversal, encoded separators, look-alikes, empty and
 * overlong segments are refused with a 400 before anything reaches the S3 server (the proxy of
 * test/helpers/s3-server.ts counts every request it receives).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { publishModel } from '../../src/repository/publish.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import {
  assertCleanRejection,
  bodyOf,
  reluModel,
  type Serving,
  servingOver,
  validReluRequest,
} from './helpers.ts';

let s3: TestS3Server;
let serving: Serving;

before(async () => {
  s3 = await startS3Server();
  await publishModel(s3.store, { name: 'relu', version: 1, model: await reluModel() });
  // A fresh core: nothing listed or loaded yet, so any S3 call would show.
  serving = servingOver(s3);
});

after(async () => {
  await s3?.close();
});

const TRAVERSAL = [
  '..',
  '.',
  '%2e%2e',
  '%2E%2e',
  '.%2e',
  '%2e.',
  '..%2f',
  '..%2F..%2Fbatch',
  '%2e%2e%2f%2e%2e%2foutcomes',
  'relu%2f..%2f..%2fcaptures',
  'relu%2F1',
  '%2Frelu',
  '%5C..%5Crelu',
  '..%5c',
  'relu%00',
  '%00',
  'relu%0a',
  'relu%20',
  '%20relu',
  'relu%09',
  '%C0%AE%C0%AE',
  '%E2%80%A4%E2%80%A4',
  '%EF%BC%8E%EF%BC%8E',
  'r%D0%B5lu',
  '%EF%BD%92elu',
  'relu%E2%80%8B',
  '%',
  '%2',
  '%zz',
  '%E0%A4%A',
  '.relu',
  '-relu',
  '_relu',
  'relu..',
  'a..b',
  'r'.repeat(129),
];

const VERSIONS = [
  '0',
  '00',
  '01',
  '-1',
  '1.0',
  '1e3',
  '%2e%2e',
  '..',
  '1%2f..',
  '99999999999999999',
  '%20',
  'v%2F1',
  'a'.repeat(65),
  '%E2%91%A0',
  '%EF%BC%91',
];

const routes = (name: string, version?: string) => {
  const base = version === undefined ? `/v2/models/${name}` : `/v2/models/${name}/versions/${version}`;
  return [
    { method: 'GET', path: base },
    { method: 'GET', path: `${base}/ready` },
    { method: 'POST', path: `${base}/infer`, body: bodyOf(validReluRequest()) },
    ...(version === undefined
      ? [{ method: 'POST', path: `${base}/outcomes`, body: bodyOf({ outcomes: [{ id: 'a', value: 1 }] }) }]
      : []),
  ];
};

describe('hostile model names and versions', () => {
  it('a fixed list of traversal and look-alike names: 400 on every route, zero S3 requests', async () => {
    s3.resetRequests();
    for (const name of TRAVERSAL) {
      for (const request of routes(name)) {
        const outcome = await serving.handle(request);
        assert.equal(
          outcome.response.status,
          400,
          `${request.method} ${request.path}: ${outcome.response.body}`,
        );
        assertCleanRejection(outcome);
      }
    }
    for (const version of VERSIONS) {
      for (const request of routes('relu', version)) {
        const outcome = await serving.handle(request);
        assert.equal(
          outcome.response.status,
          400,
          `${request.method} ${request.path}: ${outcome.response.body}`,
        );
        assertCleanRejection(outcome);
      }
    }
    assert.deepEqual(s3.requests, []);
  });

  it('2,000 generated names with a forbidden character or `..` anywhere: 400, zero S3 requests', async () => {
    s3.resetRequests();
    const allowed = /^[A-Za-z0-9_.-]$/;
    const forbidden = fc
      .string({ unit: 'binary', minLength: 1, maxLength: 2 })
      .filter((text) => [...text].some((character) => !allowed.test(character)));
    const name = fc.oneof(
      fc
        .tuple(fc.stringMatching(/^[a-z0-9]{1,10}$/), forbidden, fc.stringMatching(/^[a-z0-9]{0,10}$/))
        .map(([head, bad, tail]) => `${head}${bad}${tail}`),
      fc
        .tuple(fc.stringMatching(/^[a-z0-9]{1,10}$/), fc.stringMatching(/^[a-z0-9]{0,10}$/))
        .map(([head, tail]) => `${head}..${tail}`),
      fc.integer({ min: 129, max: 2_000 }).map((length) => 'm'.repeat(length)),
    );

    await fc.assert(
      fc.asyncProperty(name, fc.integer({ min: 0, max: 3 }), async (raw, which) => {
        const request = routes(encodeURIComponent(raw))[which];
        assert.ok(request);
        const outcome = await serving.handle(request);
        assert.equal(outcome.response.status, 400, outcome.response.body);
        assertCleanRejection(outcome);
      }),
      { seed: 7, numRuns: 2_000 },
    );

    assert.deepEqual(s3.requests, []);
  });

  it('the same core then serves a valid name (the S3 server was reachable all along)', async () => {
    const outcome = await serving.handle({
      method: 'POST',
      path: '/v2/models/relu/infer',
      body: bodyOf(validReluRequest()),
    });
    assert.equal(outcome.response.status, 200, outcome.response.body);
    assert.ok(s3.requests.length > 0);
  });
});
