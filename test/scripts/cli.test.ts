/**
 * Every command-line tool: `--help` prints its usage and exits 0, an unknown option is a usage
 * error (exit 2, the option named, the usage shown), and nothing else is printed — no warning.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HelpRequested, parseCli, UsageError } from '../../scripts/lib/cli.ts';
import { ROOT } from '../helpers/paths.ts';

const TOOLS = [
  'scripts/model-cli.ts',
  'scripts/batch-cli.ts',
  'scripts/drift-cli.ts',
  'scripts/demo-traffic.ts',
  'scripts/loadtest.ts',
  'scripts/bench/run.ts',
  'scripts/local-stack.ts',
];

function run(
  script: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    // The environment of a person's shell: no SDK switch set beforehand.
    const env = { ...process.env };
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], {
      cwd: ROOT,
      env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
}

describe('command-line tools', () => {
  for (const tool of TOOLS) {
    it(`${tool}: --help prints the usage, exit 0; an unknown option is exit 2 naming it`, async () => {
      const [help, wrong] = await Promise.all([run(tool, ['--help']), run(tool, ['--frobnicate'])]);

      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /^usage:\n {2}npm /);
      assert.equal(help.stderr, '', 'nothing but the usage');
      assert.equal(wrong.code, 2, wrong.stderr);
      assert.match(wrong.stderr, /^error: Unknown option '--frobnicate'\nusage:/);
      assert.equal(wrong.stdout, '');
    });
  }

  it('parseCli: help wins over everything else; parse mistakes become UsageError', () => {
    const options = { model: { type: 'string' } } as const;
    assert.throws(() => parseCli(['--model'], 'usage: x', options), UsageError);
    assert.throws(() => parseCli(['extra'], 'usage: x', options), UsageError);
    assert.throws(
      () => parseCli(['--nope', '-h'], 'usage: x', options),
      (error) => error instanceof HelpRequested && error.usage === 'usage: x',
    );
    assert.equal(parseCli(['--model', 'iris'], 'usage: x', options).values.model, 'iris');
  });
});
