/**
 * A run that fails on a client's inputs is answered 400 with onnxruntime's message; onnxruntime
 * must not also print its own `[E:onnxruntime…]` line to stderr (outside the structured log).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/paths.ts';

const SCRIPT = join(ROOT, 'test', 'runtime', 'fixtures', 'failed-run.ts');

function failedRun(...args: string[]): { stdout: string; stderr: string } {
  const child = spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(child.status, 0, child.stderr);
  return { stdout: child.stdout, stderr: child.stderr };
}

describe('onnxruntime log level of the serving sessions', () => {
  it('a failed run is an exception, and nothing on stderr with the default session options', () => {
    const quiet = failedRun();
    // The same run at onnxruntime's error level prints the line the defaults keep off stderr.
    const noisy = failedRun('3');

    assert.match(quiet.stdout, /^failed: .*Add/m);
    assert.doesNotMatch(quiet.stderr, /onnxruntime/);
    assert.match(noisy.stderr, /\[E:onnxruntime/);
  });
});
