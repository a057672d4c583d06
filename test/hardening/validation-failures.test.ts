/**
 * A validation that never finishes fails closed: the failure record Lambda sends to the
 * modelEvents function's `onFailure` destination (retries exhausted after a crash, a timeout, an
 * out-of-memory kill, or an event too old to run) becomes an `invalid` verdict for the model
 * file's current ETag, so the version is never served; a re-upload is validated again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Context, S3Event } from 'aws-lambda';
import { createValidationFailuresHandler } from '../../handlers/functions/validation-failures.ts';
import { lambdaContext } from '../../scripts/local/apigw-event.ts';
import { asyncFailureRecord } from '../../scripts/local/s3-functions.ts';
import { encodeS3Key } from '../../src/adapters/aws/s3-event.ts';
import type { ModelMetadata } from '../../src/repository/metadata.ts';
import { publishModel } from '../../src/repository/publish.ts';
import { validateModel } from '../../src/validation/validate-model.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { bodyOf, reluModel, servingOver, validReluRequest } from './helpers.ts';

let s3: TestS3Server;
let handler: ReturnType<typeof createValidationFailuresHandler>;
const context = (): Context => lambdaContext('validationFailures', 256, 60_000);

before(async () => {
  s3 = await startS3Server();
  handler = createValidationFailuresHandler({ store: s3.store, bucket: s3.bucket });
});

after(async () => {
  await s3?.close();
});

/** The S3 notification the modelEvents function was invoked with. */
function s3EventFor(key: string, etag: string | undefined): S3Event {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: '2026-06-02T10:00:00.000Z',
        eventName: 'ObjectCreated:Put',
        userIdentity: { principalId: 'AWS:EXAMPLE' },
        requestParameters: { sourceIPAddress: '203.0.113.9' },
        responseElements: {
          'x-amz-request-id': 'C3D13FE58DE4C810',
          'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD',
        },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'modelEvents-s3-1',
          bucket: {
            name: s3.bucket,
            ownerIdentity: { principalId: 'EXAMPLE' },
            arn: `arn:aws:s3:::${s3.bucket}`,
          },
          object: { key: encodeS3Key(key), size: 1024, eTag: etag ?? '', sequencer: '0A1B2C3D4E5F678901' },
        },
      },
    ],
  };
}

/** The invocation record Lambda sends to an `onFailure` destination (as documented by AWS). */
function failureRecord(
  payload: unknown,
  response: { functionError?: string; errorType?: string; errorMessage?: string } | undefined,
  condition = 'RetriesExhausted',
) {
  return {
    version: '1.0',
    timestamp: '2026-06-02T10:07:12.568Z',
    requestContext: {
      requestId: 'e4b46cbf-b738-4a1e-8880-a18cdf61200e',
      functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:onnx-serve-dev-modelEvents:$LATEST',
      condition,
      approximateInvokeCount: response === undefined ? 0 : 3,
    },
    requestPayload: payload,
    ...(response === undefined
      ? {}
      : {
          responseContext: {
            statusCode: 200,
            executedVersion: '$LATEST',
            functionError: response.functionError,
          },
          responsePayload: { errorType: response.errorType, errorMessage: response.errorMessage },
        }),
  };
}

async function publish(name: string): Promise<{ key: string; etag: string | undefined }> {
  const key = `models/${name}/1/model.onnx`;
  await publishModel(s3.store, { name, version: 1, model: await reluModel(), overwrite: true });
  return { key, etag: (await s3.store.head(key))?.etag };
}

async function verdictOf(name: string): Promise<ModelMetadata | undefined> {
  const stored = await s3.store.get(`models/${name}/1/metadata.json`);
  return stored && (JSON.parse(new TextDecoder().decode(stored.body)) as ModelMetadata);
}

describe('validation that never finishes: the failure destination writes an invalid verdict', () => {
  it('a timed-out validation → invalid for the current ETag with the reason; the version is refused', async () => {
    const { key, etag } = await publish('timeout');
    const record = failureRecord(s3EventFor(key, etag), {
      functionError: 'Unhandled',
      errorType: 'Sandbox.Timedout',
      errorMessage:
        'RequestId: e4b46cbf-b738-4a1e-8880-a18cdf61200e Error: Task timed out after 120.00 seconds',
    });

    const summary = await handler(record, context());

    assert.deepEqual(summary, { invalid: 1, unchanged: 0, ignored: 0 });
    const metadata = await verdictOf('timeout');
    assert.equal(metadata?.status, 'invalid');
    assert.equal(metadata?.etag, etag);
    assert.equal(metadata?.size, (await reluModel()).byteLength);
    assert.match(metadata?.sha256 ?? '', /^[0-9a-f]{64}$/);
    assert.equal(
      metadata?.reason,
      'validation did not finish: the validation function timed out (Error: Task timed out after 120.00 seconds) after 3 attempt(s)',
    );

    const serving = servingOver(s3, { REQUIRE_VALIDATION: 'true', MODEL_REFRESH_SECONDS: '0' });
    try {
      const outcome = await serving.handle({
        method: 'POST',
        path: '/v2/models/timeout/infer',
        body: bodyOf(validReluRequest()),
      });
      assert.ok(outcome.response.status >= 400, outcome.response.body);
      assert.match(outcome.response.body, /validation did not finish: the validation function timed out/);
    } finally {
      serving.loader.clear();
    }
  });

  it('says out of memory, a crash, and an event that expired before it ran', async () => {
    const cases: [string, Parameters<typeof failureRecord>[1], string | undefined, RegExp][] = [
      [
        'oom',
        {
          functionError: 'Unhandled',
          errorType: 'Runtime.OutOfMemory',
          errorMessage: 'RequestId: 1 Error: Runtime exited with error: signal: killed',
        },
        undefined,
        /^validation did not finish: the validation function ran out of memory \(Error: Runtime exited with error: signal: killed\) after 3 attempt\(s\)$/,
      ],
      [
        'crash',
        {
          functionError: 'Unhandled',
          errorType: 'Runtime.ExitError',
          errorMessage: 'RequestId: 2 Error: Runtime exited with error: exit status 134',
        },
        undefined,
        /^validation did not finish: the validation function crashed \(Error: Runtime exited with error: exit status 134\)/,
      ],
      [
        'expired',
        undefined,
        'EventAgeExceeded',
        /^validation did not finish: the validation function did not run: the event expired before it could run \(EventAgeExceeded\)$/,
      ],
    ];
    for (const [name, response, condition, reason] of cases) {
      const { key, etag } = await publish(name);
      const summary = await handler(failureRecord(s3EventFor(key, etag), response, condition), context());
      assert.equal(summary.invalid, 1, name);
      assert.match((await verdictOf(name))?.reason ?? '', reason, name);
    }
  });

  it('keeps a verdict the upload already has, and leaves a file replaced since to its own validation', async () => {
    const { key, etag } = await publish('judged');
    await validateModel(s3.store, key, { runs: 1 });
    const crash = {
      functionError: 'Unhandled',
      errorType: 'Runtime.ExitError',
      errorMessage: 'exit status 134',
    };
    assert.deepEqual(await handler(failureRecord(s3EventFor(key, etag), crash), context()), {
      invalid: 0,
      unchanged: 1,
      ignored: 0,
    });
    assert.equal((await verdictOf('judged'))?.status, 'valid');

    const old = await publish('replaced');
    await s3.store.put(old.key, new Uint8Array([...(await reluModel()), 0x3a, 0x00]));
    assert.deepEqual(await handler(failureRecord(s3EventFor(old.key, old.etag), crash), context()), {
      invalid: 0,
      unchanged: 0,
      ignored: 1,
    });
    assert.equal(await verdictOf('replaced'), undefined);
  });

  it('a re-upload of the same bytes is validated again (the unfinished verdict is not reused)', async () => {
    const { key, etag } = await publish('retry');
    const oom = {
      functionError: 'Unhandled',
      errorType: 'Runtime.OutOfMemory',
      errorMessage: 'signal: killed',
    };
    await handler(failureRecord(s3EventFor(key, etag), oom), context());
    assert.equal((await verdictOf('retry'))?.status, 'invalid');

    const result = await validateModel(s3.store, key, { runs: 1 });

    assert.equal(result.outcome, 'validated');
    assert.equal((await verdictOf('retry'))?.status, 'valid');
  });

  it("understands the local stack's failure record (the local stack wires the same destination)", async () => {
    const { key, etag } = await publish('local');
    const record = asyncFailureRecord(
      'modelEvents',
      'us-east-1',
      s3EventFor(key, etag),
      new Error('object store timed out during GetObject'),
      3,
    );

    assert.deepEqual(await handler(record, context()), { invalid: 1, unchanged: 0, ignored: 0 });
    assert.equal(
      (await verdictOf('local'))?.reason,
      'validation did not finish: the validation function failed (object store timed out during GetObject) after 3 attempt(s)',
    );
  });

  it('ignores what is not a failure record, and objects of another bucket', async () => {
    assert.deepEqual(await handler(s3EventFor('models/x/1/model.onnx', 'abc'), context()), {
      invalid: 0,
      unchanged: 0,
      ignored: 1,
    });
    const other = s3EventFor('models/other/1/model.onnx', 'abc');
    const [first] = other.Records;
    if (first) first.s3.bucket.name = 'someone-elses-bucket';
    const summary = await handler(
      failureRecord(other, { functionError: 'Unhandled', errorMessage: 'Task timed out after 1.00 seconds' }),
      context(),
    );
    assert.deepEqual(summary, { invalid: 0, unchanged: 0, ignored: 1 });
    assert.equal(await verdictOf('other'), undefined);
  });
});
