import type { Context } from 'aws-lambda';

/** Epoch ms by which an invocation must stop starting work, `marginMs` before Lambda's timeout. */
export function deadlineOf(context: Context | undefined, marginMs: number): number | undefined {
  const remaining = remainingMsOf(context);
  return remaining === undefined ? undefined : Date.now() + remaining - marginMs;
}

/** What is left of the invocation's time; undefined outside Lambda (no context). */
export function remainingMsOf(context: Context | undefined): number | undefined {
  return typeof context?.getRemainingTimeInMillis === 'function'
    ? context.getRemainingTimeInMillis()
    : undefined;
}

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The error that fails an invocation some of whose items failed, so that Lambda's retries and its
 * failure destination see it: `drift check failed for 1 of 3 model(s): iris: …`.
 */
export function partialFailure(
  what: string,
  unit: string,
  failed: readonly { name: string; error: unknown }[],
  total: number,
): Error {
  const message = failed.map(({ name, error }) => `${name}: ${errorMessage(error)}`).join('; ');
  return new Error(`${what} failed for ${failed.length} of ${total} ${unit}(s): ${message}`, {
    cause: failed[0]?.error,
  });
}
