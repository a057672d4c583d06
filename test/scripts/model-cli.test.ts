import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildOnnxModel } from '../../scripts/lib/onnx/graph-builder.ts';
import { CliFailure, main } from '../../scripts/model-cli.ts';
import { validateModel } from '../../src/validation/validate-model.ts';
import { conformanceDir } from '../helpers/paths.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';

let s3: TestS3Server;
let stateDir: string;
const reluFile = () =>
  join(conformanceDir(), 'onnx-backend', 'simple', 'test_single_relu_model', 'model.onnx');

async function run(...args: string[]): Promise<string[]> {
  const printed: string[] = [];
  // No validation function listens to this bucket: publish does not wait for a verdict here.
  const wait = args[0] === 'publish' ? ['--no-wait'] : [];
  await main([...args, ...wait, '--state-dir', stateDir], (line) => printed.push(line));
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

/** Runs the real validator on `key` as soon as it is uploaded (what the modelEvents function does on its notification). */
async function validateWhenUploaded(key: string): Promise<void> {
  while (!(await s3.store.head(key))) await new Promise((done) => setTimeout(done, 50));
  await validateModel(s3.store, key);
}

describe('npm run model', () => {
  it("publish waits for the validation verdict and prints it; list shows each version's status", async () => {
    const printed: string[] = [];
    const validating = validateWhenUploaded('models/waits/1/model.onnx');

    await main(
      ['publish', reluFile(), '--name', 'waits', '--wait-seconds', '30', '--state-dir', stateDir],
      (line) => printed.push(line),
    );
    await validating;
    const listing = await run('list');

    assert.match(printed.join('\n'), /^validation: valid \(load [0-9.]+ ms, median run [0-9.]+ ms\)$/m);
    assert.ok(
      listing.some((line) => /^\s+1\s+valid$/.test(line)),
      listing.join('\n'),
    );
  });

  it('publish of an invalid model prints the reason and fails', async () => {
    // An ONNX model (the CLI checks that much) with an operator onnxruntime does not have.
    const file = join(stateDir, 'broken.onnx');
    await writeFile(
      file,
      buildOnnxModel({
        inputs: [{ name: 'x', elemType: 'float32', shape: ['batch', 3] }],
        outputs: [{ name: 'y', elemType: 'float32', shape: ['batch', 3] }],
        nodes: [{ opType: 'NoSuchOp', inputs: ['x'], outputs: ['y'] }],
      }),
    );
    const validating = validateWhenUploaded('models/broken/1/model.onnx');
    const printed: string[] = [];

    await assert.rejects(
      main(['publish', file, '--name', 'broken', '--wait-seconds', '30', '--state-dir', stateDir], (line) =>
        printed.push(line),
      ),
      (error: unknown) => {
        assert.ok(error instanceof CliFailure);
        assert.match(
          error.message,
          /model 'broken' version 1 is invalid and will not be served: session creation failed: .*NoSuchOp/,
        );
        return true;
      },
    );
    await validating;
    assert.match(printed.join('\n'), /^validation: invalid: session creation failed/m);
    assert.ok((await run('list')).some((line) => /^\s+1\s+invalid: session creation failed/.test(line)));
  });

  it('publish without a verdict in time says so and fails', async () => {
    await assert.rejects(
      main(
        ['publish', reluFile(), '--name', 'unvalidated', '--wait-seconds', '0.5', '--state-dir', stateDir],
        () => {},
      ),
      /validation: no verdict after 0.5 s .*is model validation running/,
    );
    assert.ok((await run('list')).some((line) => /^\s+1\s+pending: not validated yet/.test(line)));
  });

  it('config replaces the config of a published model; a bad one is refused and changes nothing', async () => {
    await run('publish', reluFile(), '--name', 'configured');
    const good = join(stateDir, 'good.json');
    const bad = join(stateDir, 'bad.json');
    await writeFile(good, JSON.stringify({ task: 'regression' }));
    await writeFile(bad, JSON.stringify({ task: 'guessing' }));

    const printed = await run('config', good, '--name', 'configured');
    await assert.rejects(run('config', bad, '--name', 'configured'), /'task' must be one of/);

    assert.match(printed[0] ?? '', /^config → models\/configured\/config.json \(applies to versions 1;/);
    assert.deepEqual(
      JSON.parse(new TextDecoder().decode((await s3.store.get('models/configured/config.json'))?.body)),
      { task: 'regression' },
    );
  });

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
