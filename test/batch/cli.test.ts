/**
 * `npm run batch` against the local stack as `npm start` runs it: the upload reaches the batch
 * bundle through the stack's S3 event wiring (serverless.yml), and the CLI waits for the summary.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../scripts/batch-cli.ts';
import { publishModel } from '../../src/repository/publish.ts';
import { type RunningStack, startStack, waitForVerdict } from '../helpers/local-stack.ts';

let stack: RunningStack;

before(async () => {
  // Models published during a test are seen at once, not after the repository's refresh interval.
  stack = await startStack({ MODEL_REFRESH_SECONDS: '0' });
});

after(async () => {
  await stack?.stop();
});

async function runCli(args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await main([...args, '--state-dir', stack.stateDir, '--timeout', '60'], {
    print: (line) => lines.push(line),
    pollIntervalMs: 100,
  });
  return { code, lines };
}

describe('npm run batch', () => {
  it('scores a demo hold-out file through the local stack and says where everything went', async () => {
    // The demo models' hold-out rows, with their extra `label` column, as a data team would drop them.
    const file = join(stack.stateDir, 'demo-models', 'iris', 'holdout.csv');
    const rows = (await readFile(file, 'utf8')).trim().split('\n').length - 1;

    const { code, lines } = await runCli([file, '--model', 'iris']);

    assert.equal(code, 0, lines.join('\n'));
    const text = lines.join('\n');
    assert.match(
      text,
      new RegExp(`succeeded: iris version 1 \\(default\\), ${rows} rows, ${rows} scored, 0 failed`),
    );
    assert.match(text, /output {4}s3:\/\/onnx-serve-local\/batch\/output\/iris\/holdout\.csv\.out\.jsonl/);
    assert.match(text, /warning {3}CSV columns that are not features of the model were ignored: label/);
  });

  it('failed rows: listed with their lines; --strict turns them into a failure exit code', async () => {
    const file = join(stack.stateDir, 'rows.csv');
    await writeFile(
      file,
      'sepal_length_cm,sepal_width_cm,petal_length_cm,petal_width_cm\n5.1,3.5,1.4,0.2\n5.1,x,1.4,0.2\n',
    );

    const relaxed = await runCli([file, '--model', 'iris', '--version', '1']);
    const strict = await runCli([
      file,
      '--model',
      'iris',
      '--version',
      '1',
      '--strict',
      '--name',
      'strict.csv',
    ]);

    assert.equal(relaxed.code, 0, relaxed.lines.join('\n'));
    assert.match(relaxed.lines.join('\n'), /partial: iris version 1 \(path\), 2 rows, 1 scored, 1 failed/);
    assert.match(
      relaxed.lines.join('\n'),
      /errors {4}s3:\/\/onnx-serve-local\/batch\/output\/iris\/v1\/rows\.csv\.errors\.jsonl/,
    );
    assert.match(
      relaxed.lines.join('\n'),
      /"line":3,"id":"3","error":"feature 'sepal_width_cm': expected a number, got 'x'"/,
    );
    assert.equal(strict.code, 1);
  });

  it('a file that cannot be scored: exit code 1 and the reason', async () => {
    const file = join(stack.stateDir, 'unknown.csv');
    await writeFile(file, 'a,b\n1,2\n');

    const { code, lines } = await runCli([file, '--model', 'no-such-model']);

    assert.equal(code, 1);
    assert.match(lines.join('\n'), /failed: no-such-model/);
    assert.match(
      lines.join('\n'),
      /error {5}model 'no-such-model' not found.* \(not retried: a retry cannot fix it/,
    );
  });

  it('identical bytes again: the CLI follows the run it started, not the older summary of the same content', async () => {
    const file = join(stack.stateDir, 'late.csv');
    await writeFile(
      file,
      'sepal_length_cm,sepal_width_cm,petal_length_cm,petal_width_cm\n5.1,3.5,1.4,0.2\n6.3,3.3,6.0,2.5\n',
    );
    // No model 'late' yet: the run fails (and is not retried), leaving a failed summary for this ETag.
    const first = await runCli([file, '--model', 'late']);
    const demo = join(stack.stateDir, 'demo-models', 'iris');
    await publishModel(stack.store, {
      name: 'late',
      version: 1,
      model: await readFile(join(demo, '1', 'model.onnx')),
      config: JSON.parse(await readFile(join(demo, 'config.json'), 'utf8')),
    });
    // Versions are served once validated.
    await waitForVerdict(stack.store, 'late', 1);

    const second = await runCli([file, '--model', 'late']);
    const third = await runCli([file, '--model', 'late']);

    assert.equal(first.code, 1);
    assert.match(first.lines.join('\n'), /failed: late/);
    assert.equal(second.code, 0, second.lines.join('\n'));
    assert.match(
      second.lines.join('\n'),
      /succeeded: late version 1 \(default\), 2 rows, 2 scored, 0 failed/,
    );
    assert.equal(third.code, 0, third.lines.join('\n'));
    assert.match(
      third.lines.join('\n'),
      /this content was already scored \(run of .*\); the batch function skips/,
    );
    assert.match(third.lines.join('\n'), /succeeded: late version 1/);
    const retries = stack.lines.filter((line) => line.includes('late.csv') && line.includes('retrying'));
    assert.deepEqual(retries, [], 'a missing model is not retried');
  });
});
