/**
 * Bucket notifications by webhook, for S3-compatible stores that post S3-shaped event JSON to a URL
 * (MinIO's webhook target, for one): `POST /webhooks/s3` → model validation for
 * `models/{name}/{version}/model.onnx`, batch scoring for `batch/input/…`, as the Lambda functions
 * do for S3 events. The request is answered once the work is done: 200 when every object was
 * handled, 503 when one failed, so that the store delivers the event again.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { S3Event } from 'aws-lambda';
import type { BatchFileOutcome } from '../../batch/batch-job.ts';
import { BATCH_INPUT_PREFIX } from '../../batch/keys.ts';
import { BadRequestError, StorageUnavailableError, UnauthorizedError } from '../../errors.ts';
import type { HttpRequest, HttpResponse } from '../../http/app.ts';
import type { ObjectNotification } from '../../ports/object-store.ts';
import type { ValidationResult } from '../../validation/validate-model.ts';
import { objectsOfS3Event } from '../aws/s3-event.ts';

/** The webhook's path. */
export const WEBHOOK_PATH = '/webhooks/s3';
const MODELS_PREFIX = 'models/';

export interface BucketWebhookDeps {
  /** The value the store sends in `Authorization` (as is, or after `Bearer `). */
  token: string;
  validate: (object: ObjectNotification) => Promise<ValidationResult>;
  score: (object: ObjectNotification) => Promise<BatchFileOutcome>;
  /** Told about each object handled (logs, metrics). */
  onResult?: (result: WebhookObjectResult) => void;
}

/** What became of one object of a notification. */
export type WebhookObjectResult =
  | { key: string; kind: 'validation'; result: ValidationResult }
  | { key: string; kind: 'batch'; outcome: BatchFileOutcome }
  | { key: string; kind: 'ignored'; reason: string }
  | { key: string; kind: 'failed'; error: unknown };

/**
 * The webhook's route for the Node HTTP adapter. Every mistake of the caller is a 4xx with a
 * message (missing or wrong token, a body that is not an S3 event); the objects are handled one
 * after another.
 *
 * @example
 * ```ts
 * const route = createBucketWebhook({ token, validate, score });
 * const response = await route({ method: 'POST', path: WEBHOOK_PATH, headers, body });
 * ```
 */
export function createBucketWebhook(deps: BucketWebhookDeps) {
  const expected = digest(deps.token);
  return async function bucketWebhook(request: HttpRequest): Promise<HttpResponse> {
    const authorization = request.headers?.authorization?.trim() ?? '';
    const presented = authorization.replace(/^Bearer\s+/i, '');
    if (authorization === '' || !timingSafeEqual(digest(presented), expected)) {
      throw new UnauthorizedError('the webhook needs the configured token in the Authorization header');
    }
    const objects = parseNotification(request.body);
    const results: WebhookObjectResult[] = [];
    for (const object of objects) {
      const result = await handleObject(object, deps);
      results.push(result);
      deps.onResult?.(result);
    }
    const failed = results.filter(
      (result) => result.kind === 'failed' || (result.kind === 'batch' && result.outcome.status === 'failed'),
    );
    if (failed.length > 0) {
      throw new StorageUnavailableError(
        `${failed.length} of ${results.length} objects failed (${failed
          .slice(0, 3)
          .map((result) => result.key)
          .join(', ')}); deliver the event again`,
      );
    }
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ objects: results.map(summaryOf) }),
    };
  };
}

async function handleObject(
  object: ObjectNotification,
  deps: BucketWebhookDeps,
): Promise<WebhookObjectResult> {
  const { key } = object;
  if (!object.eventName.startsWith('ObjectCreated:')) {
    return { key, kind: 'ignored', reason: `event ${object.eventName} does not create an object` };
  }
  try {
    if (key.startsWith(MODELS_PREFIX))
      return { key, kind: 'validation', result: await deps.validate(object) };
    if (key.startsWith(BATCH_INPUT_PREFIX)) return { key, kind: 'batch', outcome: await deps.score(object) };
  } catch (error) {
    return { key, kind: 'failed', error };
  }
  return { key, kind: 'ignored', reason: 'neither a model nor a batch input' };
}

/**
 * The objects of an S3-shaped event (AWS's `Records`, which MinIO also sends), keys decoded and
 * event names without MinIO's `s3:` prefix.
 */
export function parseNotification(body: Uint8Array | undefined): ObjectNotification[] {
  if (body === undefined || body.byteLength === 0) {
    throw new BadRequestError('request body is empty; expected an S3 event notification {"Records": [...]}');
  }
  let event: unknown;
  try {
    event = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw new BadRequestError('request body is not valid JSON; expected an S3 event notification');
  }
  const records = (event as { Records?: unknown } | null)?.Records;
  if (typeof event !== 'object' || event === null || !Array.isArray(records)) {
    throw new BadRequestError('request body has no Records array; expected an S3 event notification');
  }
  return objectsOfS3Event(event as S3Event).map((object) => ({
    ...object,
    eventName: (object.eventName ?? '').replace(/^s3:/, ''),
  }));
}

function summaryOf(result: WebhookObjectResult): Record<string, unknown> {
  switch (result.kind) {
    case 'validation':
      return {
        key: result.key,
        kind: 'validation',
        outcome: result.result.outcome,
        ...(result.result.outcome === 'ignored' ? {} : { status: result.result.metadata.status }),
      };
    case 'batch':
      return { key: result.key, kind: 'batch', status: result.outcome.status };
    case 'ignored':
      return { key: result.key, kind: 'ignored', reason: result.reason };
    case 'failed':
      return { key: result.key, kind: 'failed' };
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
