/**
 * Property-based hostile input against the inference and outcomes routes of the real HTTP app
 * (createServing → handle) over a real S3 server: every generated request is invalid by
 * construction, and every answer must be a clean 4xx — no 5xx, no crash, no unhandled rejection,
 * bounded memory, nothing stored — and a valid request right after must still succeed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_JSON_DEPTH, MAX_RANK } from '../../src/codec/parse-request.ts';
import { MAX_OUTCOME_ID_CHARS, MAX_OUTCOMES_PER_REQUEST } from '../../src/outcomes/outcome.ts';
import { publishModel } from '../../src/repository/publish.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import {
  assertCleanRejection,
  bodyOf,
  PATIENT_CLIENT,
  reluModel,
  type Serving,
  servingOver,
  settledHeap,
  validReluRequest,
  withoutStrayErrors,
} from './helpers.ts';

const SEED = 20_261_125;
const RUNS = 10_000;
const BINARY_RUNS = 2_000;
/** A small limit, so that bodies over it are cheap to generate. */
const MAX_BODY_BYTES = 64 * 1024;
/** Heap growth allowed over 10,000 requests once collected: generous, but far below a leak of the bodies. */
const HEAP_GROWTH_BOUND = 48 * 1024 * 1024;
/** Long enough that the bounded quotes of error messages (64 characters) cannot contain it. */
const SECRET = `SECRET-${'x'.repeat(80)}-PAYLOAD`;

let s3: TestS3Server;
let serving: Serving;

before(async () => {
  s3 = await startS3Server();
  await publishModel(s3.store, { name: 'relu', version: 1, model: await reluModel() });
  // No store faults here: a patient client, so that a slow store on a busy machine is not a failure.
  serving = servingOver(s3, { MAX_BODY_BYTES: String(MAX_BODY_BYTES) }, PATIENT_CLIENT);
  const warm = await post('/v2/models/relu/infer', bodyOf(validReluRequest()));
  assert.equal(warm.response.status, 200, warm.response.body);
});

after(async () => {
  await s3?.close();
});

const post = (path: string, body: Uint8Array) => serving.handle({ method: 'POST', path, body });

type Json = unknown;
const nested = (depth: number, leaf: Json): Json => {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};
/** Stands for `depth` nested arrays in the JSON text (JSON.stringify itself would overflow). */
const deep = (depth: number) => `@@deep:${depth}@@`;
const expandDeep = (text: string) =>
  text.replace(
    /"@@deep:(\d+)@@"/g,
    (_all, depth: string) => `${'['.repeat(Number(depth))}1${']'.repeat(Number(depth))}`,
  );

/** Any JSON value that is not an object (arrays included). */
const notAnObject = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 20 }),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
);

/** A value of the wrong JSON type for a field that wants `kind`. */
const wrongType = (kind: 'string' | 'array' | 'object' | 'integer') =>
  fc.oneof(
    ...(kind === 'string' ? [] : [fc.string({ maxLength: 10 })]),
    ...(kind === 'array' ? [] : [fc.array(fc.integer(), { maxLength: 3 })]),
    ...(kind === 'object' ? [] : [fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 })]),
    ...(kind === 'integer' ? [] : [fc.integer()]),
    fc.boolean(),
  );

/** A name that is not the relu model's input `x`. */
const otherName = fc
  .oneof(
    fc.string({ minLength: 1, maxLength: 30 }),
    fc.constantFrom('__proto__', 'constructor', 'toString', 'X', 'x ', ' x', 'ｘ', 'x\u0000', SECRET),
  )
  .filter((name) => name !== 'x');

type Mutation = (request: Record<string, unknown>, input: Record<string, unknown>) => void;

/** One change to a valid request that, alone, makes it invalid. */
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant<Mutation>((request) => delete request.inputs),
  fc.constant<Mutation>((request) => {
    request.inputs = [];
  }),
  wrongType('array').map<Mutation>((value) => (request) => {
    request.inputs = value;
  }),
  notAnObject.map<Mutation>((value) => (request) => {
    request.inputs = [value];
  }),
  otherName.map<Mutation>((name) => (_request, input) => {
    input.name = name;
  }),
  fc.oneof(fc.constant(''), wrongType('string')).map<Mutation>((name) => (_request, input) => {
    input.name = name;
  }),
  otherName.map<Mutation>((name) => (request, input) => {
    request.inputs = [input, { ...input, name }];
  }),
  fc.constant<Mutation>((request, input) => {
    request.inputs = [input, { ...input }];
  }),
  // Shapes: negative, non-integer, huge, wrong types, too many dimensions, count mismatch.
  fc.integer({ min: -(2 ** 40), max: -1 }).map<Mutation>((dim) => (_request, input) => {
    input.shape = [1, dim];
  }),
  fc
    .double({ min: 0.001, max: 1e6, noNaN: true })
    .filter((dim) => !Number.isInteger(dim))
    .map<Mutation>((dim) => (_request, input) => {
      input.shape = [dim, 2];
    }),
  fc
    .constantFrom(2 ** 31 + 1, 2 ** 53, 1e300, Number.MAX_SAFE_INTEGER)
    .map<Mutation>((dim) => (_r, input) => {
      input.shape = [dim, dim];
    }),
  fc.integer({ min: MAX_RANK + 1, max: 5_000 }).map<Mutation>((rank) => (_request, input) => {
    input.shape = Array(rank).fill(1);
  }),
  wrongType('array').map<Mutation>((shape) => (_request, input) => {
    input.shape = shape;
  }),
  fc
    .array(fc.string({ maxLength: 3 }), { minLength: 1, maxLength: 3 })
    .map<Mutation>((shape) => (_r, input) => {
      input.shape = shape;
    }),
  fc
    .tuple(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 64 }))
    .filter(([rows, count]) => rows * 2 !== count)
    .map<Mutation>(([rows, count]) => (_request, input) => {
      input.shape = [rows, 2];
      input.data = Array(count).fill(0.5);
    }),
  // Datatypes: unknown, wrong for the model, wrong type.
  fc
    .oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom(
        'fp32',
        'FLOAT',
        'FP128',
        'BOOL',
        'UINT8',
        'INT64',
        'FP16',
        'FP64',
        'BYTES',
        '__proto__',
      ),
    )
    .filter((datatype) => datatype !== 'FP32')
    .map<Mutation>((datatype) => (_request, input) => {
      input.datatype = datatype;
    }),
  wrongType('string').map<Mutation>((datatype) => (_request, input) => {
    input.datatype = datatype;
  }),
  // Data: missing, elements of the wrong kind, nested past the shape or the depth limit.
  fc.constant<Mutation>((_request, input) => delete input.data),
  fc
    .oneof(fc.string({ maxLength: 8 }), fc.constant(null), fc.object({ maxDepth: 1 }), fc.constant(SECRET))
    .map<Mutation>((element) => (_request, input) => {
      input.data = [element, 1];
    }),
  fc.integer({ min: 3, max: 40 }).map<Mutation>((depth) => (_request, input) => {
    input.data = nested(depth, [1, 2]);
  }),
  fc.integer({ min: MAX_JSON_DEPTH, max: 20_000 }).map<Mutation>((depth) => (_request, input) => {
    input.data = deep(depth);
  }),
  fc.integer({ min: MAX_JSON_DEPTH, max: 5_000 }).map<Mutation>((depth) => (request) => {
    request.parameters = { deep: deep(depth) };
  }),
  // Optional fields of the wrong type.
  wrongType('string').map<Mutation>((id) => (request) => {
    request.id = id;
  }),
  fc.oneof(wrongType('object'), fc.constant([])).map<Mutation>((parameters) => (request) => {
    request.parameters = parameters;
  }),
  fc.oneof(wrongType('array'), fc.constant({})).map<Mutation>((outputs) => (request) => {
    request.outputs = outputs;
  }),
  otherName.map<Mutation>((name) => (request) => {
    request.outputs = [{ name }];
  }),
  // Prototype keys: inputs hidden behind `__proto__` or `constructor` must not count.
  fc.constantFrom('__proto__', 'constructor', 'prototype').map<Mutation>((key) => (request) => {
    const inputs = request.inputs;
    delete request.inputs;
    Object.defineProperty(request, key, {
      value: { inputs },
      enumerable: true,
      configurable: true,
      writable: true,
    });
  }),
  fc.constantFrom('__proto__', 'constructor').map<Mutation>((key) => (_request, input) => {
    const datatype = input.datatype;
    delete input.datatype;
    Object.defineProperty(input, key, {
      value: { datatype },
      enumerable: true,
      configurable: true,
      writable: true,
    });
  }),
);

/** How the (mutated) request becomes bytes: plain JSON, or one of the ways of breaking it. */
const encoding = fc.oneof(
  { weight: 6, arbitrary: fc.constant((text: string) => bodyOf(text)) },
  fc.nat().map((at) => (text: string) => bodyOf(text.slice(0, at % text.length))),
  fc
    .constantFrom('NaN', 'Infinity', '-Infinity', 'undefined', "'x'", '0x10', '01', '+1', '.5')
    .map((token) => (text: string) => bodyOf(text.replace(/\[/, `[${token},`))),
  fc.nat().map((at) => (text: string) => {
    const bytes = bodyOf(text);
    const broken = new Uint8Array(bytes.length + 2);
    const cut = at % bytes.length;
    broken.set(bytes.subarray(0, cut));
    broken.set([0xff, 0xc3], cut);
    broken.set(bytes.subarray(cut), cut + 2);
    return broken;
  }),
  fc.constant((text: string) => bodyOf(`${text}${' '.repeat(MAX_BODY_BYTES)}`)),
  fc.constant((text: string) => bodyOf(Buffer.from(text).toString('base64'))),
);

/** A hostile inference body: mutated requests, bytes and non-objects, deep nesting, huge strings. */
const hostileInferBody: fc.Arbitrary<Uint8Array> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(fc.array(mutation, { minLength: 1, maxLength: 3 }), encoding)
      .map(([mutations, encode]) => {
        const input: Record<string, unknown> = { name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, -2] };
        const request: Record<string, unknown> = { id: 'p', inputs: [input] };
        for (const mutate of mutations) mutate(request, input);
        return encode(expandDeep(JSON.stringify(request)));
      }),
  },
  fc.uint8Array({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 200 }).map(bodyOf),
  notAnObject.map((value) => bodyOf(JSON.stringify(value))),
  fc
    .integer({ min: MAX_JSON_DEPTH + 1, max: 100_000 })
    .map((depth) => bodyOf(`${'['.repeat(depth)}${']'.repeat(depth)}`)),
  fc.integer({ min: 1, max: 50_000 }).map((depth) => bodyOf('{"a":'.repeat(depth))),
  fc
    .integer({ min: 1, max: 60_000 })
    .map((length) =>
      bodyOf({ inputs: [{ name: 'x'.repeat(length) + SECRET, shape: [1], datatype: 'FP32', data: [1] }] }),
    ),
);

/** Model segments: traversal, encodings, unicode look-alikes, overlong, empty. */
const hostileName = fc.oneof(
  fc.constantFrom(
    '..',
    '%2e%2e',
    '%2E%2E',
    '..%2f..%2fmodels',
    '%2e%2e%2fetc',
    'relu%2f..',
    'relu%2F1',
    '%2Frelu',
    '%5c..%5crelu',
    '.relu',
    '-relu',
    '_relu',
    'r%C3%A9lu',
    'rel%D1%83',
    '%EF%BD%92elu',
    'relu%00',
    'relu%20',
    '%',
    '%zz',
    '%E0%A4%A',
    '%C0%AE%C0%AE',
    encodeURIComponent('r'.repeat(129)),
  ),
  fc.string({ minLength: 1, maxLength: 20 }).map((name) => encodeURIComponent(`..${name}`)),
  fc.integer({ min: 129, max: 5_000 }).map((length) => 'a'.repeat(length)),
);

interface RunSummary {
  statuses: Map<number, number>;
}

async function runHostile(arbitrary: fc.Arbitrary<{ path: string; body: Uint8Array }>): Promise<RunSummary> {
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(arbitrary, async ({ path, body }) => {
      const outcome = await post(path, body);
      statuses.set(outcome.response.status, (statuses.get(outcome.response.status) ?? 0) + 1);
      assertCleanRejection(outcome, SECRET);
      assert.equal(outcome.error?.unexpected, undefined);
    }),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );
  const total = [...statuses.values()].reduce((sum, count) => sum + count, 0);
  assert.equal(total, RUNS, 'every generated request was sent');
  return { statuses };
}

describe('hostile input', () => {
  it(`POST /v2/models/{name}/infer: ${RUNS} hostile requests → clean 4xx, bounded heap, next valid request succeeds`, async () => {
    const heapBefore = settledHeap();
    s3.resetRequests();
    const arbitrary = fc.oneof(
      { weight: 9, arbitrary: hostileInferBody.map((body) => ({ path: '/v2/models/relu/infer', body })) },
      fc.tuple(hostileName, fc.boolean()).map(([name, versioned]) => ({
        path: versioned ? `/v2/models/relu/versions/${name}/infer` : `/v2/models/${name}/infer`,
        body: bodyOf(validReluRequest()),
      })),
    );

    const { result, stray } = await withoutStrayErrors(() => runHostile(arbitrary));

    assert.deepEqual(stray, []);
    assert.ok(
      [...result.statuses.keys()].every((status) => status >= 400 && status < 500),
      JSON.stringify([...result.statuses]),
    );
    // Every kind of refusal was exercised, not just one.
    for (const status of [400, 413]) assert.ok((result.statuses.get(status) ?? 0) > 50, `few ${status}s`);
    // The model was loaded before: no request, hostile or not, needed S3 again.
    assert.equal(s3.count('GetObject'), 0);
    const growth = settledHeap() - heapBefore;
    assert.ok(growth < HEAP_GROWTH_BOUND, `heap grew by ${growth} bytes`);
    const next = await post('/v2/models/relu/infer', bodyOf(validReluRequest([-3, 4])));
    assert.equal(next.response.status, 200, next.response.body);
    assert.deepEqual(JSON.parse(next.response.body).outputs[0].data, [0, 4]);
  });

  it(`binary tensor data: ${BINARY_RUNS} broken binary requests → clean 4xx; a valid one succeeds`, async () => {
    s3.resetRequests();
    const headerFor = (json: string) => String(Buffer.byteLength(json));
    const binaryRequest = (input: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', ...input }], ...extra });
    const twoFloats = Buffer.from(new Float32Array([-1, 2]).buffer);
    const arbitrary = fc.oneof(
      // The header is not the JSON part's length.
      fc
        .oneof(
          fc.constantFrom('', '-1', '1.5', 'abc', '0x10', ' ', '9'.repeat(20)),
          fc.integer({ min: 1, max: 40 }).map((extra) => `+${extra}`),
        )
        .map((header) => {
          const json = binaryRequest({ parameters: { binary_data_size: 8 } });
          const value = header.startsWith('+')
            ? String(Buffer.byteLength(json) + 8 + Number(header))
            : header;
          return { header: value, body: Buffer.concat([Buffer.from(json), twoFloats]) };
        }),
      // The header cuts the JSON part short.
      fc.integer({ min: 1, max: 30 }).map((cut) => {
        const json = binaryRequest({ parameters: { binary_data_size: 8 } });
        return {
          header: String(Buffer.byteLength(json) - cut),
          body: Buffer.concat([Buffer.from(json), twoFloats]),
        };
      }),
      // Sizes that do not match the data, the shape or the datatype.
      fc
        .record({
          size: fc.integer({ min: 0, max: 64 }),
          bytes: fc.uint8Array({ maxLength: 64 }),
          datatype: fc.constantFrom('FP32', 'FP64', 'INT8', 'BOOL', 'BYTES', 'FP16'),
        })
        .filter(({ size, bytes, datatype }) => !(datatype === 'FP32' && size === 8 && bytes.length === 8))
        .map(({ size, bytes, datatype }) => {
          const json = binaryRequest({ datatype, parameters: { binary_data_size: size } });
          return { header: headerFor(json), body: Buffer.concat([Buffer.from(json), bytes]) };
        }),
      // Binary parameters of the wrong kind, or binary data with no header to find it.
      fc
        .constantFrom<[Record<string, unknown>, Record<string, unknown>, boolean]>(
          [{ data: [-1, 2], parameters: { binary_data_size: 8 } }, {}, true],
          [{ parameters: { binary_data_size: '8' } }, {}, true],
          [{ parameters: { binary_data_size: 8 } }, {}, false],
          [{ parameters: { binary_data_size: 8 } }, { parameters: { binary_data_output: 'yes' } }, true],
          [
            { parameters: { binary_data_size: 8 } },
            { outputs: [{ name: 'y', parameters: { binary_data: 1 } }] },
            true,
          ],
        )
        .map(([input, extra, withHeader]) => {
          const json = binaryRequest(input, extra);
          return {
            header: withHeader ? headerFor(json) : undefined,
            body: Buffer.concat([Buffer.from(json), twoFloats]),
          };
        }),
    );

    const { stray } = await withoutStrayErrors(async () => {
      await fc.assert(
        fc.asyncProperty(arbitrary, async ({ header, body }) => {
          const outcome = await serving.handle({
            method: 'POST',
            path: '/v2/models/relu/infer',
            headers: header === undefined ? {} : { 'inference-header-content-length': header },
            body: new Uint8Array(body),
          });
          assertCleanRejection(outcome, SECRET);
          assert.equal(outcome.error?.unexpected, undefined);
        }),
        { seed: SEED, numRuns: BINARY_RUNS, endOnFailure: true },
      );
    });
    assert.deepEqual(stray, []);
    assert.equal(s3.count('GetObject'), 0);

    const json = binaryRequest(
      { parameters: { binary_data_size: 8 } },
      { parameters: { binary_data_output: true } },
    );
    const ok = await serving.handle({
      method: 'POST',
      path: '/v2/models/relu/infer',
      headers: { 'inference-header-content-length': headerFor(json) },
      body: new Uint8Array(Buffer.concat([Buffer.from(json), twoFloats])),
    });
    assert.equal(ok.response.status, 200, ok.response.body);
    assert.equal(
      ok.response.headers['inference-header-content-length'],
      String(Buffer.byteLength(ok.response.body)),
    );
    assert.deepEqual([...new Float32Array(new Uint8Array(ok.response.binary ?? []).buffer)], [0, 2]);
  });

  it(`POST /v2/models/{name}/outcomes: ${RUNS} hostile requests → clean 4xx, nothing stored, next valid request succeeds`, async () => {
    const heapBefore = settledHeap();
    const valid = { id: 'req-1', value: 1 };
    const itemMutation = fc.oneof(
      fc
        .oneof(fc.constant(''), wrongType('string'), fc.constant('i'.repeat(MAX_OUTCOME_ID_CHARS + 1)))
        .map((id) => ({ ...valid, id })),
      fc.constant({ value: 1 }),
      fc.constant({ id: 'a' }),
      fc
        .oneof(fc.constant(null), fc.object({ maxDepth: 1 }), fc.array(fc.integer(), { maxLength: 2 }))
        .map((value) => ({ ...valid, value })),
      fc.constant({ ...valid, value: SECRET.repeat(20) }),
      fc
        .oneof(
          fc.string({ maxLength: 20 }),
          fc.integer(),
          fc.constantFrom('2999-01-01T00:00:00Z', '2026-13-01T00:00:00Z', 'yesterday'),
        )
        .filter((ts) => typeof ts !== 'string' || Number.isNaN(Date.parse(ts)) || ts.startsWith('2999'))
        .map((ts) => ({ ...valid, ts })),
      fc.constantFrom('__proto__', 'constructor', 'extra', 'prediction_id').map((key) => {
        const item: Record<string, unknown> = { ...valid };
        Object.defineProperty(item, key, { value: { id: 'x' }, enumerable: true });
        return item;
      }),
      notAnObject,
    );
    const hostileOutcomes: fc.Arbitrary<Uint8Array> = fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .tuple(fc.array(fc.constant(valid), { maxLength: 3 }), itemMutation, fc.nat(), encoding)
          .map(([good, bad, at, encode]) => {
            const items: unknown[] = good.map((item, i) => ({ ...item, id: `ok-${i}` }));
            items.splice(at % (items.length + 1), 0, bad);
            return encode(JSON.stringify({ outcomes: items }));
          }),
      },
      fc.constant(bodyOf({ outcomes: [valid, valid] })),
      fc.constant(bodyOf({ outcomes: [] })),
      fc.constant(
        bodyOf({
          outcomes: Array.from({ length: MAX_OUTCOMES_PER_REQUEST + 1 }, (_, i) => ({
            id: `${i}`,
            value: 0,
          })),
        }),
      ),
      wrongType('array').map((outcomes) => bodyOf({ outcomes })),
      fc
        .constantFrom('__proto__', 'constructor')
        .map((key) => bodyOf(`{"${key}": {"outcomes": [{"id": "a", "value": 1}]}}`)),
      notAnObject.map((value) => bodyOf(JSON.stringify(value))),
      fc.uint8Array({ maxLength: 300 }),
      fc
        .integer({ min: MAX_JSON_DEPTH + 1, max: 100_000 })
        .map((depth) => bodyOf(`{"outcomes":[{"id":"a","value":${'['.repeat(depth)}${']'.repeat(depth)}}]}`)),
    );
    const arbitrary = fc.oneof(
      { weight: 9, arbitrary: hostileOutcomes.map((body) => ({ path: '/v2/models/relu/outcomes', body })) },
      hostileName.map((name) => ({
        path: `/v2/models/${name}/outcomes`,
        body: bodyOf({ outcomes: [valid] }),
      })),
      fc.constantFrom('no-such-model', 'relu2', 'RELU').map((name) => ({
        path: `/v2/models/${name}/outcomes`,
        body: bodyOf({ outcomes: [valid] }),
      })),
    );
    s3.resetRequests();

    const { result, stray } = await withoutStrayErrors(() => runHostile(arbitrary));

    assert.deepEqual(stray, []);
    for (const status of [400, 404, 413])
      assert.ok((result.statuses.get(status) ?? 0) > 20, `few ${status}s`);
    assert.equal(s3.count('PutObject'), 0, 'a refused outcome was stored');
    const growth = settledHeap() - heapBefore;
    assert.ok(growth < HEAP_GROWTH_BOUND, `heap grew by ${growth} bytes`);
    const next = await post('/v2/models/relu/outcomes', bodyOf({ outcomes: [valid] }));
    assert.equal(next.response.status, 200, next.response.body);
    assert.equal(s3.count('PutObject'), 1);
  });
});
