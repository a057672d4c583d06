// Lambda-shaped run (section 10): a fresh process, already inside the CPU quota of its memory size,
// imports a handler bundle (BENCH_BUNDLE) as Lambda's init does and answers the event of
// BENCH_EVENT_FILE: once cold (reported at once, with the process's uptime), then BENCH_WARM_CALLS
// more times with BENCH_GAP_MS between them (each call timed). An http answer other than 200, or a
// batch file not `succeeded`, is reported as a failure.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const env = process.env;
const { handler } = await import(env.BENCH_BUNDLE ?? '');
const event = JSON.parse(readFileSync(env.BENCH_EVENT_FILE ?? '', 'utf8'));
const memory = env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '1024';
const context = {
  functionName: 'bench',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:bench',
  memoryLimitInMB: memory,
  awsRequestId: 'lambda-bench',
  logGroupName: 'bench',
  logStreamName: 'bench',
  callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 300_000,
};

function failureOf(result) {
  if (Array.isArray(result?.files)) {
    const bad = result.files.find((file) => file.status !== 'succeeded');
    return bad === undefined ? undefined : `${bad.key}: ${bad.status}`;
  }
  return result?.statusCode === 200
    ? undefined
    : `status ${result?.statusCode}: ${String(result?.body).slice(0, 300)}`;
}

const started = performance.now();
const first = await handler(event, context);
process.send?.({
  type: 'cold',
  failure: failureOf(first),
  uptimeMs: performance.now(),
  callMs: performance.now() - started,
});
const calls = Number(env.BENCH_WARM_CALLS ?? 0);
const gap = Number(env.BENCH_GAP_MS ?? 0);
const durations = [];
let failure;
for (let i = 0; i < calls && failure === undefined; i++) {
  if (gap > 0) await sleep(gap);
  const t = performance.now();
  const result = await handler(event, context);
  durations.push(performance.now() - t);
  failure = failureOf(result);
}
process.send?.({ type: 'warm', durations, failure });
process.disconnect?.();
