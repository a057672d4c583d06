import type { S3Event } from 'aws-lambda';
import type { ObjectNotification } from '../../ports/object-store.ts';

/** One object named by an S3 notification, with its key decoded. */
export type S3ObjectRef = ObjectNotification;

/**
 * Decodes a key from an S3 event notification. S3 URL-encodes keys in notifications the way HTML
 * forms do: a space arrives as `+`, a literal `+` as `%2B`, non-ASCII as UTF-8 percent escapes.
 * A key with a broken escape cannot come from S3 and is returned unchanged rather than throwing.
 * (The local stack encodes the keys of the local S3 server's notifications the same way, so
 * handlers see one format.)
 *
 * @example
 * ```ts
 * decodeS3Key('batch/input/iris/my+file%2B1+%C3%A9t%C3%A9.csv'); // 'batch/input/iris/my file+1 été.csv'
 * ```
 */
export function decodeS3Key(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    return encoded;
  }
}

/** The objects of an S3 event, keys decoded; records that are not S3 records are skipped. */
export function objectsOfS3Event(event: S3Event): S3ObjectRef[] {
  const refs: S3ObjectRef[] = [];
  for (const record of event.Records ?? []) {
    const bucket = record.s3?.bucket?.name;
    const key = record.s3?.object?.key;
    if (!bucket || key === undefined) continue;
    refs.push({
      bucket,
      key: decodeS3Key(key),
      size: record.s3.object.size,
      etag: record.s3.object.eTag,
      versionId: record.s3.object.versionId,
      eventName: record.eventName,
      eventTime: record.eventTime,
    });
  }
  return refs;
}

/** Encodes a key the way S3 does in event notifications (the inverse of `decodeS3Key`). */
export function encodeS3Key(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
}
