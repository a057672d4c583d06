// Cold start, ours: a fresh Node process imports the built http bundle (as Lambda's init does) and
// answers one inference event; the model is fetched lazily from S3 by the handler itself.
import { readFileSync } from 'node:fs';

const { handler } = await import(process.env.BENCH_BUNDLE ?? '');
const event = JSON.parse(readFileSync(process.env.BENCH_EVENT_FILE ?? '', 'utf8'));
const context = {
  functionName: 'bench',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:bench',
  memoryLimitInMB: '1024',
  awsRequestId: 'cold',
  logGroupName: 'bench',
  logStreamName: 'bench',
  getRemainingTimeInMillis: () => 29_000,
};
const result = await handler(event, context);
process.send?.({ status: result.statusCode, uptimeMs: performance.now() });
process.disconnect?.();
