import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import {
  type LocalS3Functions,
  STACK_BUCKET_REFERENCE,
  startS3Functions,
} from '../../scripts/local/s3-functions.ts';
import {
  matchesBinding,
  readS3Bindings,
  type S3Binding,
  S3NotificationDispatcher,
} from '../../scripts/local/s3-notifications.ts';
import {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type LocalS3,
  startLocalS3,
} from '../../scripts/local/s3-server.ts';
import { objectsOfS3Event } from '../../src/adapters/aws/s3-event.ts';
import { createS3Client } from '../../src/adapters/aws/s3-store.ts';
import { ROOT } from '../helpers/paths.ts';

const binding: S3Binding = {
  functionName: 'batch',
  handler: 'dist/batch/index.handler',
  bucket: STACK_BUCKET_REFERENCE,
  event: 's3:ObjectCreated:*',
  prefix: 'batch/input/',
  suffix: '',
  memoryMb: 1024,
  timeoutSeconds: 6,
  environment: {},
  configurationId: 'batch-s3-1',
};

/** Resolves after `check()` holds, polling every 10 ms for at most `ms`. */
async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('serverless.yml s3 events', () => {
  it('binds the model validation function to model files in the stack bucket', async () => {
    const bindings = await readS3Bindings(join(ROOT, 'serverless.yml'));

    const modelEvents = bindings.find((entry) => entry.functionName === 'modelEvents');

    assert.deepEqual(modelEvents, {
      functionName: 'modelEvents',
      handler: 'dist/model-events/index.handler',
      bucket: STACK_BUCKET_REFERENCE,
      event: 's3:ObjectCreated:*',
      prefix: 'models/',
      suffix: '/model.onnx',
      memoryMb: 2048,
      timeoutSeconds: 120,
      environment: {},
      configurationId: 'modelEvents-s3-1',
      onFailure: {
        functionName: 'validationFailures',
        handler: 'dist/validation-failures/index.handler',
        memoryMb: 512,
        timeoutSeconds: 300,
        environment: {},
      },
    });
    // The batch function's failures go to a queue, which is not local.
    assert.equal(bindings.find((entry) => entry.functionName === 'batch')?.onFailure, undefined);
  });

  it('matches the event type and the prefix and suffix rules as S3 does', () => {
    const modelFiles = { ...binding, prefix: 'models/', suffix: '/model.onnx' };
    const putsOnly = { ...binding, event: 's3:ObjectCreated:Put' };

    assert.ok(matchesBinding(modelFiles, 'ObjectCreated:Put', 'models/iris/1/model.onnx'));
    assert.ok(matchesBinding(modelFiles, 'ObjectCreated:Post', 'models/iris/1/model.onnx'));
    assert.ok(!matchesBinding(modelFiles, 'ObjectCreated:Put', 'models/iris/1/metadata.json'));
    assert.ok(!matchesBinding(modelFiles, 'ObjectCreated:Put', 'batch/models/iris/1/model.onnx'));
    assert.ok(!matchesBinding(modelFiles, 'ObjectRemoved:Delete', 'models/iris/1/model.onnx'));
    assert.ok(matchesBinding(putsOnly, 'ObjectCreated:Put', 'batch/input/a.csv'));
    assert.ok(!matchesBinding(putsOnly, 'ObjectCreated:Copy', 'batch/input/a.csv'));
  });
});

describe('S3NotificationDispatcher', () => {
  const notification = {
    eventName: 'ObjectCreated:Put',
    bucket: 'b',
    key: 'batch/input/a b.csv',
    size: 1,
    eTag: 'e',
  };

  it('invokes asynchronously: notify returns before the function runs', async () => {
    const calls: S3Event[] = [];
    const dispatcher = new S3NotificationDispatcher({
      bindings: [binding],
      region: LOCAL_REGION,
      log: () => undefined,
      invoke: async (_binding, event) => {
        calls.push(event);
      },
    });

    const scheduled = dispatcher.notify(notification);
    const callsAtReturn = calls.length;
    await dispatcher.idle();

    assert.equal(scheduled, 1);
    assert.equal(callsAtReturn, 0);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.Records[0]?.s3.object.key, 'batch/input/a+b.csv');
    assert.equal(dispatcher.notify({ ...notification, key: 'elsewhere/a.csv' }), 0);
  });

  it('retries a failing invocation twice, like Lambda, then logs it as dropped', async () => {
    const lines: string[] = [];
    let attempts = 0;
    const dispatcher = new S3NotificationDispatcher({
      bindings: [binding],
      region: LOCAL_REGION,
      log: (line) => lines.push(line),
      retryDelaysMs: [1, 1],
      invoke: async () => {
        attempts += 1;
        throw new Error(`failure ${attempts}`);
      },
    });

    dispatcher.notify(notification);
    await dispatcher.idle();

    assert.equal(attempts, 3);
    assert.equal(lines.length, 3);
    assert.match(
      lines[0] ?? '',
      /batch for ObjectCreated:Put s3:\/\/b\/batch\/input\/a b\.csv failed \(attempt 1 of 3\), retrying/,
    );
    assert.match(lines[2] ?? '', /failed \(attempt 3 of 3\), dropped: failure 3$/);
  });

  it('hands an event that failed every attempt to the failure destination, once', async () => {
    const failed: { key: string | undefined; message: string; attempts: number }[] = [];
    const dispatcher = new S3NotificationDispatcher({
      bindings: [binding],
      region: LOCAL_REGION,
      log: () => undefined,
      retryDelaysMs: [1, 1],
      invoke: async () => {
        throw new Error('validation ran out of memory');
      },
      onFailed: async (_binding, event, { error, attempts }) => {
        failed.push({ key: event.Records[0]?.s3.object.key, message: (error as Error).message, attempts });
      },
    });

    dispatcher.notify(notification);
    await dispatcher.idle();

    assert.deepEqual(failed, [
      { key: 'batch/input/a+b.csv', message: 'validation ran out of memory', attempts: 3 },
    ]);
  });

  it('runs one invocation at a time per function, as one Lambda instance does', async () => {
    let active = 0;
    let maxActive = 0;
    const dispatcher = new S3NotificationDispatcher({
      bindings: [binding],
      region: LOCAL_REGION,
      log: () => undefined,
      invoke: async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await new Promise((resolve) => setImmediate(resolve));
        active -= 1;
      },
    });

    for (let i = 0; i < 5; i++) dispatcher.notify({ ...notification, key: `batch/input/${i}.csv` });
    await dispatcher.idle();

    assert.equal(maxActive, 1);
  });

  it('waits until the local server has stored all the bytes before invoking, and fills in a missing ETag', async () => {
    const sizes = [0, 1, 3];
    const lines: string[] = [];
    const seenSizes: number[] = [];
    const dispatcher = new S3NotificationDispatcher({
      bindings: [binding],
      region: LOCAL_REGION,
      log: (line) => lines.push(line),
      describeObject: async () => {
        const size = sizes.shift() ?? 3;
        seenSizes.push(size);
        return { size, etag: 'stored-etag' };
      },
      invoke: async (_binding, event) => {
        seenSizes.push(-1);
        assert.equal(event.Records[0]?.s3.object.eTag, 'stored-etag');
      },
    });

    dispatcher.notify({ eventName: 'ObjectCreated:Copy', bucket: 'b', key: 'batch/input/c.csv', size: 3 });
    await dispatcher.idle();

    assert.deepEqual(seenSizes, [0, 1, 3, -1], 'invoked only once the size matched');
    assert.deepEqual(lines, []);
  });

  it('invokes anyway, saying so, when the object never reaches the announced size', async () => {
    const lines: string[] = [];
    let invoked = 0;
    const dispatcher = new S3NotificationDispatcher({
      bindings: [binding],
      region: LOCAL_REGION,
      log: (line) => lines.push(line),
      settleTimeoutMs: 50,
      describeObject: async () => ({ size: 1, etag: 'other-write' }),
      invoke: async () => {
        invoked += 1;
      },
    });

    dispatcher.notify({ ...notification, size: 5 });
    await dispatcher.idle();

    assert.equal(invoked, 1);
    assert.match(lines[0] ?? '', /not fully stored yet; invoking anyway/);
  });

  it('close() waits for running invocations and skips pending retries', async () => {
    const lines: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let attempts = 0;
    let finished = false;
    const dispatcher = new S3NotificationDispatcher({
      bindings: [binding, { ...binding, functionName: 'slow', configurationId: 'slow-s3-1' }],
      region: LOCAL_REGION,
      log: (line) => lines.push(line),
      retryDelaysMs: [60_000, 60_000],
      invoke: async (target) => {
        attempts += 1;
        if (target.functionName === 'slow') {
          await gate;
          finished = true;
          return;
        }
        throw new Error('always fails');
      },
    });
    dispatcher.notify(notification);
    await until(() => attempts === 2, 'both functions to start');

    const closing = dispatcher.close();
    release();
    await closing;

    assert.equal(finished, true);
    assert.equal(attempts, 2, 'no retry after close');
    assert.ok(lines.some((line) => line.includes('dropped: the stack is closing')));
    assert.equal(dispatcher.notify(notification), 0);
  });
});

describe('startS3Functions: the local bucket invokes functions declared in serverless.yml', () => {
  let root: string;
  let s3: LocalS3;
  let client: S3Client;
  let functions: LocalS3Functions;
  const lines: string[] = [];
  const state = () =>
    (globalThis as { __s3FunctionsTest?: RecorderState }).__s3FunctionsTest ?? {
      events: [],
      imports: [],
      failures: {},
    };

  interface RecorderState {
    events: { functionName: string; event: S3Event }[];
    imports: { functionName?: string; memory?: string; setting?: string }[];
    failures: Record<string, number>;
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 's3-functions-'));
    await mkdir(join(root, 'dist', 'recorder'), { recursive: true });
    await writeFile(
      join(root, 'dist', 'recorder', 'index.mjs'),
      [
        'const state = (globalThis.__s3FunctionsTest ??= { events: [], imports: [], failures: {} });',
        'state.imports.push({ functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, memory: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, setting: process.env.RECORDER_SETTING });',
        'export async function handler(event, context) {',
        '  const failures = state.failures[context.functionName] ?? 0;',
        '  if (failures > 0) { state.failures[context.functionName] = failures - 1; throw new Error("planned failure"); }',
        '  state.events.push({ functionName: context.functionName, event });',
        '}',
      ].join('\n'),
    );
    await writeFile(
      join(root, 'serverless.yml'),
      [
        'service: test',
        'provider:',
        '  name: aws',
        '  memorySize: 512',
        'custom:',
        '  bucket: some-bucket',
        'functions:',
        '  csvFiles:',
        '    handler: dist/recorder/index.handler',
        '    environment:',
        '      RECORDER_SETTING: csv',
        `      UNRESOLVED: ${STACK_BUCKET_REFERENCE}`,
        '    events:',
        '      - s3:',
        `          bucket: ${STACK_BUCKET_REFERENCE}`,
        '          event: s3:ObjectCreated:*',
        '          rules:',
        '            - prefix: in/',
        '            - suffix: .csv',
        '          existing: true',
        '  everything:',
        '    handler: dist/recorder/index.handler',
        '    memorySize: 256',
        '    events:',
        '      - s3: local-bucket',
        '  elsewhere:',
        '    handler: dist/recorder/index.handler',
        '    events:',
        '      - s3:',
        '          bucket: another-bucket',
      ].join('\n'),
    );
    s3 = await startLocalS3({ port: 0, directory: join(root, 's3'), buckets: ['local-bucket'] });
    client = createS3Client({
      region: LOCAL_REGION,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: LOCAL_CREDENTIALS,
    });
    functions = await startS3Functions({
      root,
      serverlessYml: join(root, 'serverless.yml'),
      server: s3.server,
      bucket: 'local-bucket',
      region: LOCAL_REGION,
      log: (line) => lines.push(line),
      retryDelaysMs: [1, 1],
    });
  });

  after(async () => {
    await functions?.close();
    client?.destroy();
    await s3?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  beforeEach(() => {
    state().events.length = 0;
  });

  it('loads each function once, with its own Lambda environment, and skips buckets that are not local', () => {
    assert.deepEqual(state().imports, [
      { functionName: 'csvFiles', memory: '512', setting: 'csv' },
      { functionName: 'everything', memory: '256', setting: undefined },
    ]);
    assert.equal(process.env.RECORDER_SETTING, undefined, 'the environment is restored after the import');
    assert.ok(lines.some((line) => line.includes("elsewhere listens to bucket 'another-bucket'")));
    assert.equal(functions.descriptions.length, 2);
  });

  it('invokes the matching functions for an object put by a plain S3 client, key encoded as S3 does', async () => {
    const key = 'in/my file+1 été.csv';

    await client.send(new PutObjectCommand({ Bucket: 'local-bucket', Key: key, Body: 'a,b\n1,2\n' }));
    await client.send(new PutObjectCommand({ Bucket: 'local-bucket', Key: 'in/notes.txt', Body: 'x' }));
    await functions.idle();

    const events = state().events;
    const csv = events.filter((entry) => entry.functionName === 'csvFiles');
    assert.equal(csv.length, 1);
    assert.equal(events.filter((entry) => entry.functionName === 'everything').length, 2);
    const record = csv[0]?.event.Records[0];
    assert.equal(record?.s3.object.key, 'in/my+file%2B1+%C3%A9t%C3%A9.csv');
    assert.equal(record?.s3.bucket.name, 'local-bucket');
    assert.equal(record?.s3.object.size, 8);
    assert.match(record?.s3.object.eTag ?? '', /^[0-9a-f]{32}$/);
    assert.equal(csv[0] && objectsOfS3Event(csv[0].event)[0]?.key, key);
  });

  it('retries a function that fails, as Lambda retries an asynchronous invocation', async () => {
    state().failures.csvFiles = 2;

    await client.send(new PutObjectCommand({ Bucket: 'local-bucket', Key: 'in/retried.csv', Body: 'x' }));
    await functions.idle();

    assert.equal(state().events.filter((entry) => entry.functionName === 'csvFiles').length, 1);
    assert.equal(lines.filter((line) => line.includes('in/retried.csv failed')).length, 2);
  });
});
