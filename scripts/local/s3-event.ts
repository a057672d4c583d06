import { randomBytes } from 'node:crypto';
import type { S3Event } from 'aws-lambda';
import { encodeS3Key } from '../../src/adapters/aws/s3-event.ts';

/** One object change reported by the local S3 server, key as stored (not encoded). */
export interface ObjectNotification {
  /** `ObjectCreated:Put`, `ObjectCreated:Post`, `ObjectCreated:Copy`, `ObjectRemoved:Delete`. */
  eventName: string;
  bucket: string;
  key: string;
  size?: number;
  eTag?: string;
  sourceIp?: string;
}

/**
 * The object changes in an event of s3rver's `'event'` emitter. Its records look like S3's, but
 * the keys are not URL-encoded and copies carry no ETag; anything unreadable is skipped.
 * s3rver reports a completed multipart upload as `ObjectCreated:Post`.
 */
export function notificationsOfS3rverEvent(event: unknown): ObjectNotification[] {
  const records = (event as { Records?: unknown } | null)?.Records;
  if (!Array.isArray(records)) return [];
  const notifications: ObjectNotification[] = [];
  for (const record of records as Record<string, unknown>[]) {
    const s3 = record?.s3 as { bucket?: { name?: unknown }; object?: Record<string, unknown> } | undefined;
    const bucket = s3?.bucket?.name;
    const key = s3?.object?.key;
    if (typeof record?.eventName !== 'string' || typeof bucket !== 'string' || typeof key !== 'string')
      continue;
    const size = s3?.object?.size;
    const eTag = s3?.object?.eTag;
    const sourceIp = (record.requestParameters as { sourceIPAddress?: unknown } | undefined)?.sourceIPAddress;
    notifications.push({
      eventName: record.eventName,
      bucket,
      key,
      size: typeof size === 'number' ? size : undefined,
      eTag: typeof eTag === 'string' ? eTag : undefined,
      sourceIp: typeof sourceIp === 'string' ? sourceIp : undefined,
    });
  }
  return notifications;
}

/**
 * Sequencers for S3 event records: upper-case hex strings that sort in the order the changes
 * happened (S3's promise for events about one key), also within one millisecond.
 */
export function createSequencer(now: () => number = Date.now): () => string {
  let last = 0n;
  return () => {
    let next = BigInt(now()) << 16n;
    if (next <= last) next = last + 1n;
    last = next;
    return next.toString(16).toUpperCase().padStart(18, '0');
  };
}

export interface S3EventOptions {
  region: string;
  /** Name of the notification configuration (S3 puts it in every record). */
  configurationId: string;
  sequencer: string;
  now?: Date;
}

/**
 * The event S3 sends to Lambda for one object change: one record, event version 2.1, the key
 * URL-encoded the way S3 encodes it (`+` for a space, UTF-8 percent escapes), so the handlers
 * decode the same format locally as in AWS.
 *
 * @example
 * ```ts
 * const event = toS3Event(
 *   { eventName: 'ObjectCreated:Put', bucket: 'b', key: 'batch/input/iris/my file.csv', size: 10, eTag: 'abc' },
 *   { region: 'us-east-1', configurationId: 'batch', sequencer: '0055AED6DCD90281E5' },
 * );
 * event.Records[0].s3.object.key; // 'batch/input/iris/my+file.csv'
 * ```
 */
export function toS3Event(notification: ObjectNotification, options: S3EventOptions): S3Event {
  const { bucket } = notification;
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: options.region,
        eventTime: (options.now ?? new Date()).toISOString(),
        eventName: notification.eventName,
        userIdentity: { principalId: 'AWS:LOCALSTACKUSER' },
        requestParameters: { sourceIPAddress: notification.sourceIp ?? '127.0.0.1' },
        responseElements: {
          'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(),
          'x-amz-id-2': randomBytes(48).toString('base64'),
        },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: options.configurationId,
          bucket: {
            name: bucket,
            ownerIdentity: { principalId: 'LOCALOWNER' },
            arn: `arn:aws:s3:::${bucket}`,
          },
          object: {
            key: encodeS3Key(notification.key),
            size: notification.size ?? 0,
            eTag: notification.eTag ?? '',
            sequencer: options.sequencer,
          },
        },
      },
    ],
  };
}
