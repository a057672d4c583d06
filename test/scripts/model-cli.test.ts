import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../scripts/model-cli.ts';
import { conformanceDir } from '../helpers/paths.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';

let s3: TestS3Server;
let stateDir: string;
const reluFile = () =>
  join(conformanceDir(), 'onnx-backend', 'simple', 'test_single_relu_model', 'model.onnx');

async function run(...args: string[]): Promise<string[]> {
  const printed: string[] = [];
  await main([...args, '--state-dir', stateDir], (line) => printed.push(line));
  return printed;
}

before(async () => {
  s3 = await startS3Server();
  stateDir = await mkdtemp(join(tmpdir(), 'model-cli-'));
  // The CLI finds the local stack through the stack.json that `npm start` writes.
  await writeFile(
    join(stateDir, 'stack.json'),
    JSON.stringify({
      apiUrl: 'http://127.0.0.1:1',
      s3: { endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, ...s3.credentials },
    }),
  );
});

after(async () => {
  await s3?.close();
  await rm(stateDir, { recursive: true, force: true });
});

describe('npm run model', () => {
  it('publishes into the repository layout, numbering versions, with the config first', async () => {
    const config = join(stateDir, 'config.json');
    await writeFile(config, JSON.stringify({ task: 'other', description: 'relu' }));

    const first = await run('publish', reluFile(), '--name', 'relu', '--config', config);
    const second = await run('publish', reluFile(), '--name', 'relu');
    const listing = await run('list');

    assert.match(first[0] ?? '', /published relu version 1/);
    assert.match(second[0] ?? '', /published relu version 2/);
    assert.ok(await s3.store.head('models/relu/1/model.onnx'));
    assert.ok(await s3.store.head('models/relu/2/model.onnx'));
    assert.deepEqual(
      JSON.parse(new TextDecoder().decode((await s3.store.get('models/relu/config.json'))?.body)),
      {
        task: 'other',
        description: 'relu',
      },
    );
    assert.ok(
      listing.some((line) => /^relu\s+versions 1, 2$/.test(line)),
      listing.join('\n'),
    );
  });

  it('refuses to overwrite a version, a bad name, a bad config and a file that is not ONNX, writing nothing', async () => {
    const badConfig = join(stateDir, 'bad-config.json');
    await writeFile(badConfig, JSON.stringify({ task: 'clustering' }));
    const notOnnx = join(stateDir, 'notes.onnx');
    await writeFile(notOnnx, 'hello');
    s3.resetRequests();

    await assert.rejects(
      run('publish', reluFile(), '--name', 'relu', '--version', '1'),
      /already has version 1/,
    );
    await assert.rejects(run('publish', reluFile(), '--name', '../escape'), /name/);
    await assert.rejects(run('publish', reluFile(), '--name', 'other', '--config', badConfig), /task/);
    await assert.rejects(run('publish', notOnnx, '--name', 'other'), /not an ONNX model/);

    assert.equal(s3.count('PutObject'), 0);
  });

  it('explains how it was misused', async () => {
    await assert.rejects(run('publish', reluFile()), /needs --name/);
    await assert.rejects(run('frobnicate'), /unknown command 'frobnicate'/);
  });
});
