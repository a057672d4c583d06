/**
 * The invocation record Lambda sends to a function's `onFailure` destination once an asynchronous
 * invocation has failed for good (its retries exhausted, or the event too old to run): the
 * original event (`requestPayload`), why it ended (`requestContext.condition`) and, when the
 * function ran, how its last attempt failed (`responseContext.functionError`, `responsePayload`).
 */

/** What a failure record says, read defensively: every field but the payload may be missing. */
export interface AsyncFailure {
  /** `RetriesExhausted`, `EventAgeExceeded`, … */
  condition: string;
  /** `Unhandled` (crash, timeout, out of memory) or `Handled` (the handler threw). */
  functionError?: string;
  /** The runtime's error type, e.g. `Runtime.ExitError`, `Sandbox.Timedout`. */
  errorType?: string;
  errorMessage?: string;
  /** Attempts made, the first one included. */
  attempts?: number;
  /** The function that failed (its ARN). */
  functionArn?: string;
  /** The event the function was invoked with. */
  payload: unknown;
}

/** Longest error message kept from a record (the runtime's messages are short; a thrown one may not be). */
const MAX_MESSAGE_CHARS = 200;

/**
 * Reads a Lambda asynchronous-invocation failure record; `undefined` when `event` is not one (no
 * `requestContext.condition` or no `requestPayload`).
 *
 * @example
 * ```ts
 * parseAsyncFailure({ requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 }, requestPayload: s3Event, responseContext: { functionError: 'Unhandled' }, responsePayload: { errorMessage: 'Task timed out after 120.00 seconds' } });
 * // { condition: 'RetriesExhausted', functionError: 'Unhandled', errorMessage: 'Task timed out after 120.00 seconds', attempts: 3, payload: s3Event }
 * ```
 */
export function parseAsyncFailure(event: unknown): AsyncFailure | undefined {
  if (!isObject(event) || !('requestPayload' in event)) return undefined;
  const context = isObject(event.requestContext) ? event.requestContext : undefined;
  const condition = stringOf(context?.condition);
  if (condition === undefined) return undefined;
  const response = isObject(event.responseContext) ? event.responseContext : undefined;
  let payload: unknown = event.responsePayload;
  if (typeof payload === 'string') {
    try {
      payload = JSON.parse(payload);
    } catch {
      payload = { errorMessage: payload };
    }
  }
  const body = isObject(payload) ? payload : undefined;
  const message = stringOf(body?.errorMessage);
  const attempts = context?.approximateInvokeCount;
  return {
    condition,
    functionError: stringOf(response?.functionError),
    errorType: stringOf(body?.errorType),
    errorMessage: message === undefined ? undefined : message.slice(0, MAX_MESSAGE_CHARS),
    attempts: typeof attempts === 'number' && Number.isSafeInteger(attempts) ? attempts : undefined,
    functionArn: stringOf(context?.functionArn),
    payload: event.requestPayload,
  };
}

/**
 * The failure said in a few words, for a verdict or a log line: `timed out (Task timed out after
 * 120.00 seconds) after 3 attempt(s)`, `ran out of memory …`, `crashed …` (the runtime exited),
 * `failed …` (the handler threw), `did not run: the event expired before it could run
 * (EventAgeExceeded)`.
 */
export function describeAsyncFailure(failure: AsyncFailure): string {
  const message = failure.errorMessage?.replace(/^RequestId: \S+\s*/, '').trim();
  const detail = message ? ` (${message})` : '';
  const attempts = failure.attempts === undefined ? '' : ` after ${failure.attempts} attempt(s)`;
  if (failure.functionError === undefined) {
    return `did not run: ${failure.condition === 'EventAgeExceeded' ? 'the event expired before it could run' : 'it was not invoked'} (${failure.condition})`;
  }
  return `${failureKind(failure.errorType ?? '', message ?? '')}${detail}${attempts}`;
}

/** What the runtime's error type and message say happened; an error the handler threw `failed`. */
function failureKind(type: string, message: string): string {
  if (type === 'Sandbox.Timedout' || /\bTask timed out after \d/.test(message)) return 'timed out';
  if (type === 'Runtime.OutOfMemory' || /Runtime exited with error: signal: killed/.test(message))
    return 'ran out of memory';
  if (type.startsWith('Runtime.') || /Process exited before completing|Runtime exited/.test(message))
    return 'crashed';
  return 'failed';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
