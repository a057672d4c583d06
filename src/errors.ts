/**
 * One error hierarchy for the whole core. Every error a user can cause is a subclass with a 4xx
 * status and a message that names what is wrong; anything that is not a `ServingError` is treated
 * as unknown and becomes a logged, generic 500 where errors are mapped (see `toErrorResponse`).
 */
export class ServingError extends Error {
  /** HTTP status this error maps to. */
  readonly status: number;
  /** Low-cardinality kind, used as the metric name suffix and in logs. */
  readonly kind: string;
  /** Extra response headers (e.g. `Retry-After`). */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    kind: string,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.kind = kind;
    this.headers = options?.headers ?? {};
  }
}

/** 400: the request is malformed or does not fit the model. */
export class BadRequestError extends ServingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(400, 'BadRequest', message, options);
  }
}

/** 401: a protected endpoint (the bucket-notification webhook) called without its token. */
export class UnauthorizedError extends ServingError {
  constructor(message: string) {
    super(401, 'Unauthorized', message);
  }
}

/** 404: unknown model, version or route. */
export class NotFoundError extends ServingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(404, 'NotFound', message, options);
  }
}

/** 405: known route, wrong method. */
export class MethodNotAllowedError extends ServingError {
  constructor(message: string, allow: readonly string[]) {
    super(405, 'MethodNotAllowed', message, { headers: { allow: allow.join(', ') } });
  }
}

/** 413: body over the limit. */
export class PayloadTooLargeError extends ServingError {
  constructor(message: string) {
    super(413, 'PayloadTooLarge', message);
  }
}

/** 415: a request body in a content coding the server does not read. */
export class UnsupportedMediaTypeError extends ServingError {
  constructor(message: string) {
    super(415, 'UnsupportedMediaType', message);
  }
}

/** 422: the model exists but cannot be served (failed validation, unloadable file). */
export class ModelUnavailableError extends ServingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(422, 'ModelUnavailable', message, options);
  }
}

/**
 * 503: the model is known but not ready in this instance (unloaded through the repository
 * extension); the Open Inference Protocol's answer for a model that is not ready.
 */
export class ModelNotReadyError extends ServingError {
  constructor(message: string) {
    super(503, 'ModelNotReady', message);
  }
}

/** 503: the server is not ready (preloading its models, or shutting down); probes see it. */
export class NotReadyError extends ServingError {
  constructor(message: string) {
    super(503, 'NotReady', message, { headers: { 'retry-after': '1' } });
  }
}

/**
 * 422: one inference went over a limit that protects the service: its outputs are larger than a
 * response can carry (`OutputTooLarge`) or it needed more memory than a run may take
 * (`MemoryLimit`). The message names the limit and, for outputs, each output and its size.
 */
export class InferenceLimitError extends ServingError {
  constructor(kind: 'OutputTooLarge' | 'MemoryLimit', message: string, options?: { cause?: unknown }) {
    super(422, kind, message, options);
  }
}

/** 504: an inference ran past its deadline and was stopped; the model's process was replaced. */
export class InferenceTimeoutError extends ServingError {
  constructor(message: string) {
    super(504, 'InferenceTimeout', message);
  }
}

/**
 * 503: the process running a model stopped (another request overran a limit there, or it
 * crashed) while this request waited; retrying loads the model again in a fresh process.
 */
export class ModelProcessStoppedError extends ServingError {
  constructor(message: string) {
    super(503, 'ModelProcessStopped', message, { headers: { 'retry-after': '0' } });
  }
}

/** 503: the object store is unreachable or failing; the client should retry. */
export class StorageUnavailableError extends ServingError {
  constructor(message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(503, 'StorageUnavailable', message, {
      cause: options?.cause,
      headers: { 'retry-after': String(options?.retryAfterSeconds ?? 1) },
    });
  }
}

/**
 * 503: an object was replaced (or its size changed) while it was read in several requests, so the
 * parts read belong to different versions; reading it again gives a consistent copy.
 */
export class ObjectChangedError extends StorageUnavailableError {}

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: { error: string };
  /** Metric/log kind: the `ServingError.kind`, or `Internal` for anything unknown. */
  kind: string;
  /** True when the error was not a known `ServingError` and must be logged with its stack. */
  unexpected: boolean;
}

/**
 * Maps any thrown value to an HTTP answer. This is the only place that decides what a client sees:
 * messages of known errors below 500 and of 503 are shown; anything else becomes a generic 500 so
 * that no stack trace, path or payload ever leaves the service.
 */
export function toErrorResponse(error: unknown): ErrorResponse {
  if (error instanceof ServingError) {
    return {
      status: error.status,
      headers: { ...error.headers },
      body: { error: error.message },
      kind: error.kind,
      unexpected: false,
    };
  }
  return {
    status: 500,
    headers: {},
    body: { error: 'internal error' },
    kind: 'Internal',
    unexpected: true,
  };
}
