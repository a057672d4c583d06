import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  BadRequestError,
  ModelUnavailableError,
  NotFoundError,
  StorageUnavailableError,
} from '../../src/errors.ts';
import type { ObjectStore, StreamingObjectStore } from '../../src/ports/object-store.ts';
import {
  MAX_CONFIG_BYTES,
  ModelRepository,
  type ModelRepositoryOptions,
} from '../../src/repository/model-repository.ts';
import { parseVersionSelector } from '../../src/repository/names.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';

let s3: TestS3Server;
let counter = 0;

before(async () => {
  s3 = await startS3Server();
});

after(async () => {
  await s3?.close();
});

beforeEach(async () => {
  await s3.setFault(null);
});

/** A model name no other test uses, so tests share one server without seeing each other. */
function unique(base: string): string {
  counter += 1;
  return `${base}-${counter}`;
}

async function publish(name: string, versions: number[], config?: unknown): Promise<void> {
  if (config !== undefined) {
    await s3.store.put(
      `models/${name}/config.json`,
      typeof config === 'string' ? config : JSON.stringify(config),
    );
  }
  for (const version of versions)
    await s3.store.put(`models/${name}/${version}/model.onnx`, `model ${version}`);
}

function repositoryWithClock(options: Partial<ModelRepositoryOptions> = {}) {
  const clock = { now: 1_000_000 };
  const repository = new ModelRepository({
    store: s3.store,
    now: () => clock.now,
    requireValidation: false,
    ...options,
  });
  return { clock, repository };
}

async function rejectsWith<T extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => T,
  message: string | RegExp,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

describe('ModelRepository: version resolution', () => {
  it('serves the highest version by default, ignoring anything that is not a version folder', async () => {
    const name = unique('latest');
    await publish(name, [1, 2, 10]);
    for (const key of [
      '007/model.onnx',
      'v11/model.onnx',
      '12/weights.bin',
      '13/metadata.json',
      '14/sub/model.onnx',
    ]) {
      await s3.store.put(`models/${name}/${key}`, 'x');
    }
    const { repository } = repositoryWithClock();

    const resolved = await repository.resolve(name, parseVersionSelector(undefined));

    assert.equal(resolved.version, 10);
    assert.equal(resolved.key, `models/${name}/10/model.onnx`);
    assert.deepEqual(await repository.listVersions(name), [1, 2, 10]);
    assert.deepEqual(resolved.config, {});
    assert.equal(resolved.etag, (await s3.store.head(resolved.key))?.etag);
  });

  it('serves an explicit version, and answers 404 listing the versions there are', async () => {
    const name = unique('explicit');
    await publish(name, [1, 2]);
    const { repository } = repositoryWithClock();

    const resolved = await repository.resolve(name, parseVersionSelector('1'));

    assert.equal(resolved.version, 1);
    await rejectsWith(
      repository.resolve(name, parseVersionSelector('7')),
      NotFoundError,
      `model '${name}' has no version 7; available: 1, 2`,
    );
  });

  it('follows a default_version pinned in config.json, by number or by alias', async () => {
    const pinned = unique('pinned');
    const viaAlias = unique('pinned-alias');
    await publish(pinned, [1, 2, 3], { default_version: 2 });
    await publish(viaAlias, [1, 2, 3], { aliases: { stable: 1 }, default_version: 'stable' });
    const { repository } = repositoryWithClock();

    assert.equal((await repository.resolve(pinned)).version, 2);
    assert.equal((await repository.resolve(viaAlias)).version, 1);
  });

  it('resolves aliases from config.json, and answers 404 for an unknown one naming the known ones', async () => {
    const name = unique('aliases');
    const bare = unique('no-aliases');
    await publish(name, [1, 2, 3], { aliases: { stable: 2, canary: 3 } });
    await publish(bare, [1]);
    const { repository } = repositoryWithClock();

    const stable = await repository.resolve(name, parseVersionSelector('stable'));

    assert.equal(stable.version, 2);
    assert.deepEqual(stable.config.aliases, { stable: 2, canary: 3 });
    await rejectsWith(
      repository.resolve(name, parseVersionSelector('beta')),
      NotFoundError,
      `model '${name}' has no alias 'beta'; known aliases: stable, canary`,
    );
    await rejectsWith(
      repository.resolve(bare, parseVersionSelector('stable')),
      NotFoundError,
      `model '${bare}' has no alias 'stable'; it defines no aliases`,
    );
  });

  it("answers 422 when the model's own config names a version that does not exist", async () => {
    const pinned = unique('pinned-missing');
    const alias = unique('alias-missing');
    await publish(pinned, [1, 2], { default_version: 5 });
    await publish(alias, [1, 2], { aliases: { stable: 4 } });
    const { repository } = repositoryWithClock();

    await rejectsWith(
      repository.resolve(pinned),
      ModelUnavailableError,
      `model '${pinned}' config.json pins default_version 5, which does not exist; available: 1, 2`,
    );
    await rejectsWith(
      repository.resolve(alias, parseVersionSelector('stable')),
      ModelUnavailableError,
      `model '${alias}' alias 'stable' points to version 4, which does not exist; available: 1, 2`,
    );
  });

  it('answers 404 for an unknown model and for a model without versions', async () => {
    const empty = unique('config-only');
    await publish(empty, [], { task: 'other' });
    const { repository } = repositoryWithClock();

    await rejectsWith(repository.resolve(unique('nobody')), NotFoundError, /^model 'nobody-\d+' not found$/);
    await rejectsWith(repository.resolve(empty), NotFoundError, `model '${empty}' has no versions`);
    assert.deepEqual(await repository.listVersions(unique('nobody')), []);
  });

  it('rejects an invalid name before any request reaches the store', async () => {
    const { repository } = repositoryWithClock();
    s3.resetRequests();

    for (const name of ['..', '../models', 'a/b', '%2e%2e', '', 'x'.repeat(129)]) {
      await assert.rejects(repository.resolve(name), BadRequestError);
      await assert.rejects(repository.listVersions(name), BadRequestError);
      await assert.rejects(repository.getConfig(name), BadRequestError);
    }

    assert.deepEqual(s3.requests, []);
  });
});

describe('ModelRepository: config.json', () => {
  it('reads config.json, {} when absent, and hands unknown fields back as warnings', async () => {
    const name = unique('configured');
    const plain = unique('plain');
    await publish(name, [1], { task: 'classification', labels: ['a', 'b'], future_field: 1 });
    await publish(plain, [1]);
    const { repository } = repositoryWithClock();

    const resolved = await repository.resolve(name);

    assert.deepEqual(await repository.getConfig(name), { task: 'classification', labels: ['a', 'b'] });
    assert.deepEqual(resolved.configWarnings, [
      `model '${name}' config.json: unknown field 'future_field' ignored`,
    ]);
    assert.deepEqual(await repository.getConfig(plain), {});
  });

  it('answers 422 for an invalid config, naming the field', async () => {
    const name = unique('bad-config');
    await publish(name, [1], { task: 'clustering' });
    const { repository } = repositoryWithClock();

    await rejectsWith(repository.resolve(name), ModelUnavailableError, /config\.json: 'task' must be one of/);
    await rejectsWith(repository.getConfig(name), ModelUnavailableError, /'task' must be one of/);
  });

  it('answers 422 for a config that is not JSON, without quoting it', async () => {
    const name = unique('not-json');
    await publish(name, [1], '{"task": secret-value');
    const { repository } = repositoryWithClock();

    await rejectsWith(
      repository.resolve(name),
      ModelUnavailableError,
      /^model 'not-json-\d+' config\.json is not valid UTF-8 JSON/,
    );
    await assert.rejects(repository.resolve(name), (error: Error) => !error.message.includes('secret-value'));
  });

  it('asks for config.json next to the first listing, not after it, and not on a refresh', async () => {
    const name = unique('early-config');
    await publish(name, [1], { task: 'regression' });
    const calls: string[] = [];
    const store: StreamingObjectStore = Object.assign(Object.create(s3.store) as StreamingObjectStore, {
      list: async (prefix: string) => {
        calls.push('list');
        const listing = await s3.store.list(prefix);
        calls.push('listed');
        return listing;
      },
      getStream: (key: string) => {
        calls.push(`getStream ${key}`);
        return s3.store.getStream(key);
      },
    });
    const clock = { now: 1_000_000 };
    const repository = new ModelRepository({ store, now: () => clock.now, requireValidation: false });

    const first = await repository.resolve(name);
    clock.now += 30_000;
    await repository.resolve(name);

    assert.deepEqual(first.config, { task: 'regression' });
    assert.deepEqual(calls, [`getStream models/${name}/config.json`, 'list', 'listed', 'list', 'listed']);
  });

  it('reads config.json after the listing from a store without streams', async () => {
    const name = unique('plain-store');
    await publish(name, [1], { task: 'regression' });
    const { get, head, put, list, delete: remove } = s3.store;
    const plain: ObjectStore = {
      get: get.bind(s3.store),
      head: head.bind(s3.store),
      put: put.bind(s3.store),
      list: list.bind(s3.store),
      delete: remove.bind(s3.store),
    };
    s3.resetRequests();

    const resolved = await new ModelRepository({ store: plain, requireValidation: false }).resolve(name);

    assert.deepEqual(resolved.config, { task: 'regression' });
    assert.deepEqual(
      s3.requests.map((request) => request.operation),
      ['ListObjectsV2', 'GetObject'],
    );
  });

  it('refuses a config.json over the size limit without reading it', async () => {
    const name = unique('huge-config');
    await publish(name, [1], ' '.repeat(MAX_CONFIG_BYTES + 1));
    const { repository } = repositoryWithClock();

    await rejectsWith(
      repository.resolve(name),
      ModelUnavailableError,
      `model '${name}' config.json is ${MAX_CONFIG_BYTES + 1} bytes; at most ${MAX_CONFIG_BYTES} are allowed`,
    );
  });

  it('ignores a failed early config read when there is no config.json, and reports it when there is', async () => {
    const plain = unique('no-config');
    const configured = unique('with-config');
    await publish(plain, [1]);
    await publish(configured, [1], { task: 'regression' });
    const { repository } = repositoryWithClock();
    await s3.setFault('status503', (request) => request.key.endsWith('/config.json'));

    const resolved = await repository.resolve(plain);
    await assert.rejects(repository.resolve(configured), StorageUnavailableError);
    await s3.setFault(null);

    assert.deepEqual(resolved.config, {});
    assert.deepEqual((await repository.resolve(configured)).config, { task: 'regression' });
  });

  it('does not download an unchanged config.json again on refresh', async () => {
    const name = unique('config-etag');
    await publish(name, [1], { task: 'regression' });
    const { clock, repository } = repositoryWithClock();
    s3.resetRequests();

    await repository.resolve(name);
    clock.now += 30_000;
    await repository.resolve(name);
    await publish(name, [], { task: 'other' });
    clock.now += 30_000;
    const changed = await repository.getConfig(name);

    assert.equal(s3.count('ListObjectsV2'), 3);
    assert.equal(s3.count('GetObject', `models/${name}/config.json`), 2);
    assert.deepEqual(changed, { task: 'other' });
  });
});

describe('ModelRepository: caching', () => {
  it('serves a newly uploaded version once the refresh interval has passed, and not before', async () => {
    const name = unique('ttl');
    await publish(name, [1]);
    const { clock, repository } = repositoryWithClock({ refreshIntervalMs: 30_000 });
    assert.equal((await repository.resolve(name)).version, 1);

    await publish(name, [2]);
    clock.now += 29_999;
    const before = await repository.resolve(name);
    clock.now += 1;
    const afterInterval = await repository.resolve(name);

    assert.equal(before.version, 1);
    assert.equal(afterInterval.version, 2);
  });

  it('serves an explicitly requested new version immediately', async () => {
    const name = unique('fresh-explicit');
    await publish(name, [1]);
    const { repository } = repositoryWithClock();
    await repository.resolve(name);

    await publish(name, [5]);
    const resolved = await repository.resolve(name, parseVersionSelector('5'));

    assert.equal(resolved.version, 5);
    assert.equal(
      (await repository.resolve(name)).version,
      5,
      'the refreshed listing now serves the default too',
    );
  });

  it('serves a new model asked for by explicit version, despite a cached miss', async () => {
    const name = unique('late-model');
    const { repository } = repositoryWithClock();
    await assert.rejects(repository.resolve(name), NotFoundError);

    await publish(name, [1]);
    const resolved = await repository.resolve(name, parseVersionSelector('1'));

    assert.equal(resolved.version, 1);
  });

  it('refreshes for a missing explicit version at most once per minRefreshIntervalMs', async () => {
    const name = unique('hammered');
    await publish(name, [1]);
    const { clock, repository } = repositoryWithClock({ minRefreshIntervalMs: 1_000 });
    await repository.resolve(name);
    s3.resetRequests();

    for (let attempt = 0; attempt < 10; attempt += 1) {
      await assert.rejects(repository.resolve(name, parseVersionSelector('9')), NotFoundError);
    }
    const burst = s3.count('ListObjectsV2');
    clock.now += 1_000;
    await assert.rejects(repository.resolve(name, parseVersionSelector('9')), NotFoundError);

    assert.equal(burst, 1);
    assert.equal(s3.count('ListObjectsV2'), 2);
  });

  it('remembers an unknown model for the refresh interval instead of asking the store each time', async () => {
    const name = unique('unknown');
    const { clock, repository } = repositoryWithClock();
    s3.resetRequests();

    for (let attempt = 0; attempt < 10; attempt += 1) {
      await assert.rejects(repository.resolve(name), NotFoundError);
    }
    const cached = s3.count('ListObjectsV2');
    clock.now += 30_000;
    await assert.rejects(repository.resolve(name), NotFoundError);

    assert.equal(cached, 1);
    assert.equal(s3.count('ListObjectsV2'), 2);
  });

  it('shares one listing among concurrent first requests for a model', async () => {
    const name = unique('single-flight');
    await publish(name, [1, 2], { task: 'other' });
    const { repository } = repositoryWithClock();
    s3.resetRequests();

    const resolved = await Promise.all(Array.from({ length: 20 }, () => repository.resolve(name)));

    assert.ok(resolved.every((model) => model.version === 2));
    assert.equal(s3.count('ListObjectsV2'), 1);
    assert.equal(s3.count('GetObject', `models/${name}/config.json`), 1);
  });

  it('does not cache a failed lookup: the next request asks again', async () => {
    const name = unique('flaky');
    await publish(name, [1]);
    const { repository } = repositoryWithClock();
    await s3.setFault('status503');

    await assert.rejects(repository.resolve(name), StorageUnavailableError);
    await s3.setFault(null);
    const resolved = await repository.resolve(name);

    assert.equal(resolved.version, 1);
  });

  it('asks the store every time with a refresh interval of 0', async () => {
    const name = unique('uncached');
    await publish(name, [1]);
    const { repository } = repositoryWithClock({ refreshIntervalMs: 0 });
    s3.resetRequests();

    await repository.resolve(name);
    await repository.resolve(name);

    assert.equal(s3.count('ListObjectsV2'), 2);
  });

  it('forgets the oldest models beyond maxCachedModels', async () => {
    const { repository } = repositoryWithClock({ maxCachedModels: 2 });
    const [a, b, c] = [unique('lru-a'), unique('lru-b'), unique('lru-c')];
    s3.resetRequests();

    for (const name of [a, b, c, a]) await assert.rejects(repository.resolve(name), NotFoundError);

    assert.equal(s3.count('ListObjectsV2'), 4);
  });
});

describe('ModelRepository: listing models', () => {
  it('lists model names, sorted, skipping folders with invalid names, and caches the index', async () => {
    const isolated = await startS3Server();
    try {
      for (const key of [
        'models/iris/1/model.onnx',
        'models/bert/2/model.onnx',
        'models/bad name/1/model.onnx',
      ]) {
        await isolated.store.put(key, 'x');
      }
      await isolated.store.put('models/readme.txt', 'x');
      const clock = { now: 0 };
      const repository = new ModelRepository({
        store: isolated.store,
        now: () => clock.now,
        requireValidation: false,
      });
      isolated.resetRequests();

      const names = await repository.listModels();
      await isolated.store.put('models/wine/1/model.onnx', 'x');
      const cached = await repository.listModels();
      clock.now += 30_000;
      const refreshed = await repository.listModels();

      assert.deepEqual(names, ['bert', 'iris']);
      assert.deepEqual(cached, ['bert', 'iris']);
      assert.deepEqual(refreshed, ['bert', 'iris', 'wine']);
      assert.equal(isolated.count('ListObjectsV2'), 2);
    } finally {
      await isolated.close();
    }
  });
});

describe('ModelRepository: validation status (metadata.json)', () => {
  /** Writes a validation record for the version's current model file, as model validation does. */
  async function recordValidation(
    name: string,
    version: number,
    status: 'valid' | 'invalid',
    reason?: string,
    etag?: string,
  ): Promise<void> {
    const modelEtag = etag ?? (await s3.store.head(`models/${name}/${version}/model.onnx`))?.etag;
    await s3.store.put(
      `models/${name}/${version}/metadata.json`,
      JSON.stringify({ status, reason: reason ?? null, name, version, etag: modelEtag }),
    );
  }

  it('skips an invalid highest version by default, serving the highest valid one', async () => {
    const name = unique('skip-invalid');
    await publish(name, [1, 2, 3]);
    await recordValidation(name, 2, 'valid');
    await recordValidation(name, 3, 'invalid', 'not an ONNX model: the file is empty');
    const { repository } = repositoryWithClock();

    const resolved = await repository.resolve(name);

    assert.equal(resolved.version, 2);
    assert.deepEqual(await repository.listVersions(name), [1, 2, 3]);
  });

  it('answers 422 naming the reason for an invalid version asked for explicitly, by alias or pinned', async () => {
    const name = unique('refuse-invalid');
    const pinned = unique('pinned-invalid');
    await publish(name, [1, 2], { aliases: { stable: 2 } });
    await publish(pinned, [1, 2], { default_version: 2 });
    const reason = 'session creation failed: No Op registered for NoSuchOp with domain_version of 17';
    await recordValidation(name, 2, 'invalid', reason);
    await recordValidation(pinned, 2, 'invalid', reason);
    const { repository } = repositoryWithClock();
    const expected = (model: string) => `model '${model}' version 2 failed validation: ${reason}`;

    await rejectsWith(
      repository.resolve(name, parseVersionSelector('2')),
      ModelUnavailableError,
      expected(name),
    );
    await rejectsWith(
      repository.resolve(name, parseVersionSelector('stable')),
      ModelUnavailableError,
      expected(name),
    );
    await rejectsWith(repository.resolve(pinned), ModelUnavailableError, expected(pinned));
    assert.equal((await repository.resolve(name, parseVersionSelector('1'))).version, 1);
  });

  it('answers 422 when every version failed validation', async () => {
    const name = unique('all-invalid');
    await publish(name, [1, 2]);
    await recordValidation(name, 1, 'invalid', 'smoke run failed: boom');
    await recordValidation(name, 2, 'invalid', 'unsupported input type: x');
    const { repository } = repositoryWithClock();

    await rejectsWith(
      repository.resolve(name),
      ModelUnavailableError,
      `model '${name}' version 2 failed validation (and no earlier version passed it): unsupported input type: x`,
    );
  });

  it('serves versions not validated yet, and ignores a verdict about a replaced model file', async () => {
    const unvalidated = unique('unvalidated');
    const replaced = unique('replaced');
    const damaged = unique('damaged-metadata');
    await publish(unvalidated, [1]);
    await publish(replaced, [1]);
    await publish(damaged, [1]);
    await recordValidation(replaced, 1, 'invalid', 'not an ONNX model', 'etag-of-the-old-file');
    await s3.store.put(`models/${damaged}/1/metadata.json`, '{"status": ');
    const { repository } = repositoryWithClock();

    assert.equal((await repository.resolve(unvalidated)).version, 1);
    assert.equal((await repository.resolve(replaced, parseVersionSelector('1'))).version, 1);
    assert.equal((await repository.resolve(damaged)).version, 1);
  });

  it('reads a metadata.json once per ETag, not per request, and sees a new verdict after a refresh', async () => {
    const name = unique('metadata-cache');
    await publish(name, [1, 2]);
    await recordValidation(name, 2, 'valid');
    const { clock, repository } = repositoryWithClock();
    const metadataKey = `models/${name}/2/metadata.json`;
    s3.resetRequests();

    for (let request = 0; request < 5; request += 1) await repository.resolve(name);
    clock.now += 30_000;
    const afterRefresh = await repository.resolve(name);
    const readsBefore = s3.count('GetObject', metadataKey);
    await recordValidation(name, 2, 'invalid', 'smoke run failed: boom');
    clock.now += 30_000;
    const afterVerdict = await repository.resolve(name);

    assert.equal(afterRefresh.version, 2);
    assert.equal(readsBefore, 1);
    assert.equal(afterVerdict.version, 1);
    assert.equal(s3.count('GetObject', metadataKey), 2);
  });

  it('does not cache a failed metadata.json read: 503 now, the verdict on the next request', async () => {
    const name = unique('metadata-flaky');
    await publish(name, [1, 2]);
    await recordValidation(name, 2, 'invalid', 'smoke run failed: boom');
    const { repository } = repositoryWithClock();
    await repository.listVersions(name);
    await s3.setFault('status503', (request) => request.key.endsWith('/metadata.json'));

    await assert.rejects(repository.resolve(name), StorageUnavailableError);
    await s3.setFault(null);
    const resolved = await repository.resolve(name);

    assert.equal(resolved.version, 1);
  });
});

describe('alias lookups', () => {
  it('an alias named like an Object.prototype member is unknown, not a function', async () => {
    const s3 = await startS3Server();
    try {
      await s3.store.put('models/m/1/model.onnx', new Uint8Array([1]));
      await s3.store.put('models/m/config.json', JSON.stringify({ aliases: { stable: 1 } }));
      const repository = new ModelRepository({ store: s3.store, requireValidation: false });

      for (const alias of ['constructor', 'toString', 'valueOf', 'hasOwnProperty']) {
        await assert.rejects(
          repository.resolve('m', parseVersionSelector(alias)),
          (error: unknown) => error instanceof NotFoundError && /no alias/.test(error.message),
          alias,
        );
      }
      assert.equal((await repository.resolve('m', parseVersionSelector('stable'))).version, 1);
    } finally {
      await s3.close();
    }
  });
});
