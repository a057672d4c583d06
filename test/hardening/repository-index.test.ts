/**
 * The repository index tells what is served: a version without a verdict for its current upload is
 * `UNAVAILABLE` with `not validated yet …` (as Triton reports a model it cannot serve), an invalid
 * one `UNAVAILABLE` with validation's reason, a valid one `AVAILABLE`.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { RepositoryIndexEntry } from '../../src/protocol/service.ts';
import { validateModel } from '../../src/validation/validate-model.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { reluModel, servingOver } from './helpers.ts';

let s3: TestS3Server;
before(async () => {
  s3 = await startS3Server();
});
after(async () => {
  await s3?.close();
});

async function index(env: Record<string, string>): Promise<RepositoryIndexEntry[]> {
  const serving = servingOver(s3, { MODEL_REFRESH_SECONDS: '0', ...env });
  const outcome = await serving.handle({ method: 'POST', path: '/v2/repository/index' });
  assert.equal(outcome.response.status, 200, outcome.response.body);
  return JSON.parse(outcome.response.body) as RepositoryIndexEntry[];
}

it('shows valid versions AVAILABLE, unvalidated ones and invalid ones UNAVAILABLE with the reason', async () => {
  const relu = await reluModel();
  await s3.store.put('models/indexed/1/model.onnx', relu);
  await validateModel(s3.store, 'models/indexed/1/model.onnx', { runs: 1 });
  await s3.store.put('models/indexed/2/model.onnx', relu);
  await s3.store.put('models/indexed/3/model.onnx', 'not a model');
  await validateModel(s3.store, 'models/indexed/3/model.onnx', { runs: 1 });
  // Validated, then uploaded again: the verdict is about the earlier bytes.
  await s3.store.put('models/indexed/4/model.onnx', relu);
  await validateModel(s3.store, 'models/indexed/4/model.onnx', { runs: 1 });
  await s3.store.put('models/indexed/4/model.onnx', new Uint8Array([...relu, 0x3a, 0x00]));

  const entries = await index({ REQUIRE_VALIDATION: 'true' });

  assert.deepEqual(entries[0], { name: 'indexed', version: '1', state: 'AVAILABLE' });
  assert.deepEqual(entries[1], {
    name: 'indexed',
    version: '2',
    state: 'UNAVAILABLE',
    reason: 'not validated yet (no metadata.json)',
  });
  assert.equal(entries[2]?.state, 'UNAVAILABLE');
  assert.match(entries[2]?.reason ?? '', /^failed validation: /);
  assert.deepEqual(entries[3], {
    name: 'indexed',
    version: '4',
    state: 'UNAVAILABLE',
    reason: 'not validated yet (metadata.json describes an earlier upload)',
  });
  assert.equal(entries.length, 4);

  // Without required validation, unvalidated versions are served, and listed as such.
  const open = await index({ REQUIRE_VALIDATION: 'false' });
  assert.deepEqual(
    open.map((entry) => entry.state),
    ['AVAILABLE', 'AVAILABLE', 'UNAVAILABLE', 'AVAILABLE'],
  );
});
