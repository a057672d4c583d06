import { StorageUnavailableError } from '../../errors.ts';

/** What went wrong with an S3 call, as far as the caller needs to know. */
export type S3Failure =
  | 'not-found'
  | 'no-such-bucket'
  | 'access-denied'
  | 'throttled'
  | 'timeout'
  | 'unreachable'
  | 'server-error'
  | 'failed';

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound']);
const ACCESS_DENIED = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'AllAccessDisabled',
]);
const THROTTLED = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
  'RequestLimitExceeded',
]);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'RequestTimeout', 'RequestTimeoutException']);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
]);

/**
 * Classifies an error thrown by the S3 client (or while reading a body) from its code, its HTTP
 * status and its network error code.
 *
 * @example
 * ```ts
 * classifyS3Error(Object.assign(new Error('x'), { name: 'NoSuchKey' })); // 'not-found'
 * ```
 */
export function classifyS3Error(error: unknown): S3Failure {
  const { name, code, status } = describeError(error);
  // NoSuchBucket is a 404 too, but it is a misconfiguration, not a missing object.
  if (name === 'NoSuchBucket' || code === 'NoSuchBucket') return 'no-such-bucket';
  if (NOT_FOUND.has(name) || status === 404) return 'not-found';
  if (ACCESS_DENIED.has(name) || status === 403) return 'access-denied';
  if (THROTTLED.has(name) || status === 429) return 'throttled';
  if (TIMEOUT_CODES.has(name) || TIMEOUT_CODES.has(code)) return 'timeout';
  // The SDK's HTTP handler renames a reset connection to TimeoutError; its code tells the truth.
  if (NETWORK_CODES.has(code) || name === 'BodyLengthError') return 'unreachable';
  if (name === 'TimeoutError') return 'timeout';
  if (status !== undefined && status >= 500) return 'server-error';
  return 'failed';
}

const RETRY_AFTER_SECONDS: Record<S3Failure, number> = {
  'not-found': 1,
  'no-such-bucket': 60,
  'access-denied': 60,
  throttled: 2,
  timeout: 1,
  unreachable: 1,
  'server-error': 1,
  failed: 5,
};

/**
 * Wraps a failed store call in a `StorageUnavailableError` naming the operation and key. The
 * message reaches HTTP clients (503), so it never carries the bucket, endpoint or credentials;
 * those stay in `cause` for the logs.
 *
 * @example
 * ```ts
 * throw storageError('GetObject', 'models/iris/1/model.onnx', sdkError);
 * ```
 */
export function storageError(operation: string, key: string, error: unknown): StorageUnavailableError {
  const failure = classifyS3Error(error);
  const what = `${operation} '${key}'`;
  const { name, status } = describeError(error);
  const messages: Record<S3Failure, string> = {
    'not-found': `object store reported not found during ${what}`,
    'no-such-bucket': `object store misconfigured: the configured bucket does not exist (${what})`,
    'access-denied': `object store denied access during ${what}; check the credentials and bucket policy`,
    throttled: `object store is throttling requests (${what})`,
    timeout: `object store timed out during ${what}`,
    unreachable: `object store unreachable during ${what}`,
    'server-error': `object store failed with HTTP ${status} during ${what}`,
    failed: `object store request failed during ${what}${name ? ` (${name})` : ''}`,
  };
  return new StorageUnavailableError(messages[failure], {
    cause: error,
    retryAfterSeconds: RETRY_AFTER_SECONDS[failure],
  });
}

function describeError(error: unknown): { name: string; code: string; status: number | undefined } {
  if (typeof error !== 'object' || error === null) return { name: '', code: '', status: undefined };
  const record = error as {
    name?: unknown;
    code?: unknown;
    Code?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const status = record.$metadata?.httpStatusCode;
  return {
    name: typeof record.name === 'string' ? record.name : '',
    code: typeof record.code === 'string' ? record.code : typeof record.Code === 'string' ? record.Code : '',
    status: typeof status === 'number' ? status : undefined,
  };
}
