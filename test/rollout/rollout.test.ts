/**
 * Rollouts through the serving core wired as in Lambda (createServing) on a real S3-compatible
 * server and real onnxruntime: traffic splits validated and routed on the request id, the last
 * good config kept when a new one is refused, shadow versions run and captured without touching
 * the answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectedLabel, TWO_CLASS_CONFIG, twoClassModel } from '../../scripts/lib/rollout-models.ts';
import type { CaptureRecord } from '../../src/capture/record.ts';
import { readServingConfig } from '../../src/config/serving-config.ts';
import { ModelUnavailableError } from '../../src/errors.ts';
import type { HttpOutcome } from '../../src/http/app.ts';
import { parseModelConfig } from '../../src/repository/model-config.ts';
import { ModelRepository } from '../../src/repository/model-repository.ts';
import { createServing } from '../../src/serving.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';

let s3: TestS3Server;
let counter = 0;
const ARGMAX = [1, 1] as const;
const WEIGHTED = [1, 2] as const;

before(async () => {
  s3 = await startS3Server();
});

after(async () => {
  await s3?.close();
});

function unique(base: string): string {
  counter += 1;
  return `${base}-${counter}`;
}

/** Publishes versions 1 (argmax) and 2 (weighted) of a fresh model, with `config`. */
async function twoVersions(config: Record<string, unknown>): Promise<string> {
  const name = unique('rollout');
  await s3.store.put(`models/${name}/1/model.onnx`, twoClassModel(ARGMAX));
  await s3.store.put(`models/${name}/2/model.onnx`, twoClassModel(WEIGHTED));
  await s3.store.put(`models/${name}/config.json`, JSON.stringify({ ...TWO_CLASS_CONFIG, ...config }));
  return name;
}

function serving(env: Record<string, string> = {}) {
  return createServing(
    readServingConfig({
      MODEL_BUCKET: s3.bucket,
      MODEL_REFRESH_SECONDS: '0',
      // About rollouts, not validation: versions are served as uploaded (the documented opt-out).
      REQUIRE_VALIDATION: 'false',
      // A shadow's first run loads its model (a process of its own): give it time on a busy machine.
      SHADOW_BUDGET_MS: '30000',
      ...env,
    }),
    {
      store: s3.store,
    },
  );
}

function inferRequest(name: string, id: string, rows: [number, number][], version?: string) {
  return {
    method: 'POST',
    path: `/v2/models/${name}${version === undefined ? '' : `/versions/${version}`}/infer`,
    body: new TextEncoder().encode(
      JSON.stringify({
        id,
        inputs: [{ name: 'input', shape: [rows.length, 2], datatype: 'FP32', data: rows }],
      }),
    ),
  };
}

function bodyOf(outcome: HttpOutcome): Record<string, unknown> {
  return JSON.parse(outcome.response.body) as Record<string, unknown>;
}

function throwsConfig(config: unknown, pattern: RegExp): void {
  assert.throws(
    () => parseModelConfig(config, 'm'),
    (error: unknown) => error instanceof ModelUnavailableError && pattern.test(error.message),
  );
}

describe('config.json traffic and shadow', () => {
  it('accepts a split of versions and aliases and a shadow list', () => {
    const { config } = parseModelConfig(
      {
        aliases: { stable: 1 },
        traffic: { stable: 90, '2': 10 },
        shadow: { versions: ['3'], sample_rate: 0.5 },
      },
      'm',
    );
    assert.deepEqual(config.traffic, { stable: 90, '2': 10 });
    assert.deepEqual(config.shadow, { versions: [3], sample_rate: 0.5 });
    assert.deepEqual(parseModelConfig({ shadow: [4] }, 'm').config.shadow, { versions: [4], sample_rate: 1 });
  });

  it('refuses weights that do not add up to 100, unknown aliases and shadows that answer', () => {
    throwsConfig(
      { traffic: { '1': 90, '2': 5 } },
      /weights of 'traffic' must add up to 100; got 95 \(1: 90, 2: 5\)/,
    );
    throwsConfig(
      { traffic: { '1': -5, '2': 105 } },
      /'traffic\.1' must be a weight from 0 to 100; got number -5/,
    );
    throwsConfig(
      { traffic: { canary: 100 } },
      /'traffic\.canary' must be a version number or one of 'aliases' \(none defined\)/,
    );
    throwsConfig({ traffic: {} }, /'traffic' must name at least one version/);
    throwsConfig({ traffic: { '01': 100 } }, /must be a version number or an alias/);
    throwsConfig({ shadow: ['x'] }, /'shadow\[0\]' must be a version number; got "x"/);
    throwsConfig({ shadow: [2, 2] }, /lists version 2 twice/);
    throwsConfig(
      { traffic: { '1': 50, '2': 50 }, shadow: [2] },
      /version 2 is both in 'shadow' and receiving traffic/,
    );
    throwsConfig(
      { shadow: { versions: [2], sample_rate: 2 } },
      /'shadow\.sample_rate' must be a number from 0 to 1/,
    );
  });
});

describe('traffic split', () => {
  it('sends 10 % ± 2 % of 2,000 requests to the canary, the same id always to the same version', async () => {
    // Prepare
    const name = await twoVersions({ traffic: { '1': 90, '2': 10 } });
    const repository = new ModelRepository({ store: s3.store, requireValidation: false });
    const ids = Array.from({ length: 2000 }, (_, i) => `request-${i}`);

    // Act
    const first = await Promise.all(ids.map((id) => repository.resolve(name, undefined, { routingKey: id })));
    const again = await Promise.all(ids.map((id) => repository.resolve(name, undefined, { routingKey: id })));

    // Assess
    const canary = first.filter((ref) => ref.version === 2).length;
    assert.ok(Math.abs(canary / ids.length - 0.1) <= 0.02, `canary share ${canary / ids.length}`);
    assert.deepEqual(
      again.map((ref) => ref.version),
      first.map((ref) => ref.version),
    );
    assert.equal(first.find((ref) => ref.version === 2)?.routedTo, '2');
    // A request naming a version still gets it.
    assert.equal((await repository.resolve(name, { kind: 'number', version: 2 })).version, 2);
  });

  it('answers with the routed version in model_version and in the capture record', async () => {
    const name = await twoVersions({ traffic: { '1': 50, '2': 50 } });
    const app = serving();
    const seen = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const outcome = await app.handle(inferRequest(name, `sticky-${i}`, [[1, 2]]));
      assert.equal(outcome.response.status, 200, outcome.response.body);
      const version = bodyOf(outcome).model_version as string;
      assert.equal(outcome.captures?.[0]?.version, version);
      seen.set(`sticky-${i}`, version);
    }
    assert.deepEqual(new Set(seen.values()), new Set(['1', '2']));
    for (const [id, version] of seen) {
      assert.equal(bodyOf(await app.handle(inferRequest(name, id, [[1, 2]]))).model_version, version);
    }
  });

  it('keeps the previous split when a new config.json is refused, and says so in the metadata', async () => {
    // Prepare: a good split is in force.
    const name = await twoVersions({ traffic: { '1': 80, '2': 20 } });
    const app = serving();
    assert.equal((await app.handle({ method: 'GET', path: `/v2/models/${name}` })).response.status, 200);

    // Act: a split naming a version that does not exist, then weights that do not add up.
    for (const [traffic, reason] of [
      [{ '1': 50, '7': 50 }, /'traffic\.7' names version 7, which does not exist; available: 1, 2/],
      [{ '1': 50, '2': 40 }, /must add up to 100; got 90/],
    ] as const) {
      await s3.store.put(`models/${name}/config.json`, JSON.stringify({ ...TWO_CLASS_CONFIG, traffic }));
      const metadata = await app.handle({ method: 'GET', path: `/v2/models/${name}` });

      // Assess: still served with the previous split, the refusal visible.
      assert.equal(metadata.response.status, 200, metadata.response.body);
      const rollout = bodyOf(metadata).rollout as { traffic: Record<string, number>; rejected: string };
      assert.deepEqual(rollout.traffic, { '1': 80, '2': 20 });
      assert.match(rollout.rejected, reason);
      assert.match(rollout.rejected, /the previous config\.json stays in force/);
      const infer = await app.handle(inferRequest(name, 'after-refusal', [[1, 2]]));
      assert.equal(infer.response.status, 200);
      assert.match(infer.configRejected ?? '', reason);
    }
  });

  it('refuses a first config.json naming an unknown version with a clear 422', async () => {
    const name = await twoVersions({ traffic: { '1': 50, '9': 50 } });
    const outcome = await serving().handle(inferRequest(name, 'x', [[1, 2]]));
    assert.equal(outcome.response.status, 422);
    assert.match(bodyOf(outcome).error as string, /'traffic\.9' names version 9, which does not exist/);
  });

  it('refuses a shadow of a version that failed validation', async () => {
    const name = await twoVersions({ default_version: 1 });
    await s3.store.put(
      `models/${name}/2/metadata.json`,
      JSON.stringify({
        status: 'invalid',
        reason: 'smoke run failed',
        validated_at: new Date().toISOString(),
      }),
    );
    const app = serving();
    await app.handle({ method: 'GET', path: `/v2/models/${name}` });
    await s3.store.put(
      `models/${name}/config.json`,
      JSON.stringify({ ...TWO_CLASS_CONFIG, default_version: 1, shadow: [2] }),
    );
    const metadata = bodyOf(await app.handle({ method: 'GET', path: `/v2/models/${name}` }));
    assert.match(
      (metadata.rollout as { rejected: string }).rejected,
      /'shadow' names version 2, which failed validation: smoke run failed/,
    );
  });

  it('lists the split and the shadows in the repository index', async () => {
    const name = await twoVersions({ traffic: { '1': 100 }, shadow: [2] });
    const index = JSON.parse(
      (await serving().handle({ method: 'POST', path: '/v2/repository/index' })).response.body,
    ) as { name: string; version: string; traffic?: number; shadow?: true }[];
    assert.deepEqual(
      index.filter((entry) => entry.name === name),
      [
        { name, version: '1', state: 'AVAILABLE', traffic: 100 },
        { name, version: '2', state: 'AVAILABLE', shadow: true },
      ],
    );
  });
});

describe('shadow versions', () => {
  const rows: [number, number][] = [
    [3, 2],
    [1, 5],
    [3, 1],
  ];

  it('runs the shadow on the same inputs, captures it under the same ids, and answers as without it', async () => {
    // Prepare: version 2 is the highest, yet as a shadow it never answers.
    const name = await twoVersions({ shadow: [2] });
    const plain = await twoVersions({ default_version: 1 });
    const app = serving();

    // Act
    const outcome = await app.handle(inferRequest(name, 'mirrored', rows));
    const baseline = await app.handle(inferRequest(plain, 'mirrored', rows));

    // Assess: the answer is version 1's, identical to the same request without a shadow.
    const body = bodyOf(outcome);
    assert.equal(body.model_version, '1');
    assert.deepEqual(body.outputs, bodyOf(baseline).outputs);
    assert.equal(outcome.shadow?.timedOut, false);
    assert.deepEqual(outcome.shadow?.succeeded, ['2']);
    const shadows = outcome.shadow?.captures ?? [];
    assert.deepEqual(
      shadows.map((record: CaptureRecord) => [record.id, record.version, record.shadow]),
      [
        ['mirrored:0', '2', true],
        ['mirrored:1', '2', true],
        ['mirrored:2', '2', true],
      ],
    );
    assert.deepEqual(
      shadows.map((record) => record.outputs.find((output) => output.name === 'label')?.data?.[0]),
      rows.map((row) => expectedLabel(WEIGHTED, row)),
    );
    assert.ok(outcome.captures?.every((record) => record.shadow === undefined && record.version === '1'));
  });

  it('counts a failing shadow and never returns its error', async () => {
    // Version 3 is not a model onnxruntime can load: every mirrored request fails on it.
    const name = await twoVersions({ default_version: 1 });
    await s3.store.put(`models/${name}/3/model.onnx`, new TextEncoder().encode('not an onnx model'));
    await s3.store.put(
      `models/${name}/config.json`,
      JSON.stringify({ ...TWO_CLASS_CONFIG, default_version: 1, shadow: [3] }),
    );
    const outcome = await serving().handle(inferRequest(name, 'failing', rows));
    assert.equal(outcome.response.status, 200, outcome.response.body);
    assert.equal(bodyOf(outcome).model_version, '1');
    assert.deepEqual(
      outcome.shadow?.failed.map((failure) => failure.version),
      ['3'],
    );
    assert.equal(outcome.shadow?.captures.length, 0);
  });

  it('samples the mirrored requests at the shadow rate, deterministically on the id', async () => {
    const name = await twoVersions({ default_version: 1, shadow: { versions: [2], sample_rate: 0.3 } });
    const app = serving();
    const mirrored: boolean[] = [];
    for (let i = 0; i < 200; i++) {
      const outcome = await app.handle(inferRequest(name, `sampled-${i}`, [[1, 2]]));
      mirrored.push(outcome.shadow !== undefined);
    }
    const share = mirrored.filter(Boolean).length / mirrored.length;
    assert.ok(share > 0.2 && share < 0.4, `mirrored share ${share}`);
    const again = await app.handle(inferRequest(name, 'sampled-0', [[1, 2]]));
    assert.equal(again.shadow !== undefined, mirrored[0]);
  });
});
