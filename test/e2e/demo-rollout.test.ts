/**
 * `npm run demo:traffic -- --rollout` against the local stack: the shadow and canary phases run,
 * and the report finds the challenger better on the posted outcomes (it is wrong on half as many
 * rows as the champion by construction, scripts/demo-rollout.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rolloutMain } from '../../scripts/demo-rollout.ts';
import { type RunningStack, startStack } from '../helpers/local-stack.ts';

let stack: RunningStack;

before(async () => {
  stack = await startStack({
    CAPTURE_FLUSH_SECONDS: '0.5',
    DEMO_MODELS: 'false',
    // Every shadow run is to be compared here, however busy the machine: no run may miss the budget.
    SHADOW_BUDGET_MS: '10000',
  });
});

after(async () => {
  await stack?.stop();
});

describe('demo:traffic --rollout', () => {
  it('walks through shadow and canary and reports the challenger better', async (t) => {
    const printed: string[] = [];
    const result = await rolloutMain(
      ['--rollout', '--requests', '600', '--state-dir', stack.stateDir],
      (line) => printed.push(line),
    );
    t.diagnostic(printed.join('\n'));
    assert.equal(result.shadowCaptured, 600, printed.join('\n'));
    assert.ok(result.canaryShare > 0.05 && result.canaryShare < 0.15, `canary share ${result.canaryShare}`);
    const shadow = result.rollout?.comparisons.find((c) => c.kind === 'shadow');
    assert.equal(shadow?.verdict, 'better', printed.join('\n'));
    assert.ok(printed.some((line) => /version 2 as shadow vs 1: better \(mcnemar_exact/.test(line)));
  });
});
