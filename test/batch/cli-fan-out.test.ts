/**
 * `npm run batch` on a file above the fan-out threshold, against the local stack: the batch
 * bundle starts the fan-out state machine on the stack's local Step Functions endpoint, which runs
 * the same definition as on AWS with its Task states invoking the batch bundle.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { main } from '../../scripts/batch-cli.ts';
import { type RunningStack, startStack } from '../helpers/local-stack.ts';

let stack: RunningStack;

before(async () => {
  // Files of 0.5 MB and more fan out, in ranges of 128 KiB.
  stack = await startStack({ MODEL_REFRESH_SECONDS: '0', BATCH_FAN_OUT_MB: '0.5', BATCH_RANGE_MB: '0.125' });
});

after(async () => {
  await stack?.stop();
});

it('a file above the threshold fans out on the local state machine, rows in order', async () => {
  const names = ['sepal_length_cm', 'sepal_width_cm', 'petal_length_cm', 'petal_width_cm'];
  const rows = 40_000;
  const lines = [`id,${names.join(',')}`];
  for (let i = 0; i < rows; i++)
    lines.push(`q-${i},${5 + (i % 20) / 10},3.1,${1 + (i % 50) / 10},0.${i % 10}`);
  const file = join(stack.stateDir, 'large.csv');
  await writeFile(file, `${lines.join('\n')}\n`);

  const printed: string[] = [];
  const code = await main(
    [file, '--model', 'iris', '--state-dir', stack.stateDir, '--timeout', '120', '--json'],
    {
      print: (line) => printed.push(line),
      pollIntervalMs: 100,
    },
  );

  assert.equal(code, 0, printed.join('\n'));
  const summary = JSON.parse(
    printed.find((line) => line.startsWith('{')) ?? printed.slice(printed.indexOf('{')).join('\n'),
  );
  assert.equal(summary.status, 'succeeded');
  assert.equal(summary.counts.total, rows);
  assert.ok(summary.fan_out?.ranges.total >= 4, JSON.stringify(summary));
  assert.equal(summary.fan_out.ranges.done, summary.fan_out.ranges.total);
  assert.match(summary.fan_out.execution, /batch-/);
});
