/**
 * The batch fan-out state machine (statemachines/batch-fan-out.asl.json): valid Amazon States
 * Language by `asl-validator` (with the batch function's ARN substituted, as CloudFormation does),
 * and shaped as docs/batch.md promises: a Distributed Map of bounded concurrency whose range Task
 * retries with backoff and whose failure fails the run, every step's failure recorded.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { it } from 'node:test';
import { FAN_OUT_DEFINITION, FUNCTION_ARN_VARIABLE, taskStates } from '../../scripts/local/step-functions.ts';

type Validator = (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };
const validate = createRequire(import.meta.url)('asl-validator') as Validator;

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:onnx-serve-dev-batch';
const text = readFileSync(FAN_OUT_DEFINITION, 'utf8');
// biome-ignore lint/suspicious/noExplicitAny: walking a JSON document
const definition = JSON.parse(text.replaceAll(FUNCTION_ARN_VARIABLE, FUNCTION_ARN)) as any;

it('is valid Amazon States Language', () => {
  const result = validate(definition, { checkPaths: true, checkArn: true });
  assert.ok(result.isValid, result.errorsText('\n'));
});

it('asl-validator rejects a broken definition (the check can fail)', () => {
  const broken = structuredClone(definition);
  broken.States.Plan.Next = 'NoSuchState';
  assert.equal(validate(broken).isValid, false);
});

it('every Task is the batch function, and every Task but the failure record is caught into it', () => {
  const tasks = taskStates(definition);
  assert.deepEqual(tasks.sort(), ['Assemble', 'Plan', 'RecordFailure', 'ScoreRange']);
  const states = { ...definition.States, ...definition.States.ScoreRanges.ItemProcessor.States };
  for (const name of tasks) assert.equal(states[name].Resource, FUNCTION_ARN, name);
  for (const name of ['Plan', 'ScoreRanges', 'Assemble']) {
    assert.deepEqual(states[name].Catch, [
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' },
    ]);
  }
  assert.equal(states.RecordFailure.Next, 'Failed');
  assert.equal(states.Failed.Type, 'Fail');
});

it('ranges run on a Distributed Map of bounded concurrency, retried with backoff, none tolerated failing', () => {
  const map = definition.States.ScoreRanges;
  assert.equal(map.Type, 'Map');
  assert.deepEqual(map.ItemProcessor.ProcessorConfig, { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
  assert.ok(map.MaxConcurrency >= 1 && map.MaxConcurrency <= 1000, `MaxConcurrency ${map.MaxConcurrency}`);
  assert.equal(map.ToleratedFailurePercentage, 0);
  assert.equal(map.ResultPath, '$.scored', 'range results stay in S3; the execution keeps their indexes');
  // osls drops JSON nulls from a definition it reads with ${file()}: the definition has none.
  assert.doesNotMatch(text, /\bnull\b/);
  const [final, retry] = map.ItemProcessor.States.ScoreRange.Retry;
  assert.deepEqual(final, { ErrorEquals: ['BatchFileFailed'], MaxAttempts: 0 });
  assert.ok(retry.MaxAttempts >= 2 && retry.BackoffRate > 1, JSON.stringify(retry));
  // A file problem found in planning is final: no retry.
  assert.deepEqual(definition.States.Plan.Retry[0], { ErrorEquals: ['BatchFileFailed'], MaxAttempts: 0 });
});

it("every Task times out only after the batch function's own timeout (not at an executor's default)", () => {
  const serverless = readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8');
  const batch = /\n {2}batch:\n(?: {4}.*\n)*? {4}timeout: (\d+)/.exec(serverless);
  assert.ok(batch, 'the batch function and its timeout in serverless.yml');
  const functionTimeout = Number(batch[1]);
  const states = { ...definition.States, ...definition.States.ScoreRanges.ItemProcessor.States };
  for (const name of taskStates(definition)) {
    const timeout = states[name].TimeoutSeconds;
    assert.ok(typeof timeout === 'number' && timeout > functionTimeout, `${name}: TimeoutSeconds ${timeout}`);
  }
});
