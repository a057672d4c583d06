import type { InferenceSession } from 'onnxruntime-node';
import { ServingError } from '../errors.ts';
import type { ModelSession } from './sandbox.ts';

export interface GuardedSession {
  /**
   * The session callers use: it behaves like the real one, but its runs are counted and its
   * `release()` does nothing, because the cache owns the native session.
   */
  readonly session: ModelSession;
  /** Runs in flight right now. */
  readonly activeRuns: number;
  readonly released: boolean;
  /** Releases the native session as soon as no run is in flight (at once when idle). */
  retire(): void;
}

/**
 * Wraps a cached session so that evicting it never pulls the native session from under a running
 * inference: release waits for the runs in flight. A run started after the release fails with a
 * retryable 503 rather than onnxruntime's "Session already disposed".
 *
 * @example
 * ```ts
 * const guarded = guardSession(session, "'iris' version 3");
 * await guarded.session.run(feeds); // counted
 * guarded.retire();                 // releases now, or when the last run settles
 * ```
 */
export function guardSession(
  session: ModelSession,
  label: string,
  onReleaseError: (error: unknown) => void = () => {},
): GuardedSession {
  let active = 0;
  let retired = false;
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    session.release().catch(onReleaseError);
  };
  const run = session.run as (...args: unknown[]) => Promise<InferenceSession.ReturnType>;

  // Inherits everything (names, metadata, profiling) from the real session; overrides two methods.
  const view = Object.create(session) as ModelSession;
  Object.defineProperties(view, {
    run: {
      value: async (...args: unknown[]): Promise<InferenceSession.ReturnType> => {
        if (released) {
          throw new ServingError(503, 'ModelUnloaded', `model ${label} was unloaded to free memory; retry`, {
            headers: { 'retry-after': '0' },
          });
        }
        active += 1;
        try {
          return await run.apply(session, args);
        } finally {
          active -= 1;
          if (retired && active === 0) release();
        }
      },
    },
    release: { value: async (): Promise<void> => {} },
  });

  return {
    session: view,
    get activeRuns() {
      return active;
    },
    get released() {
      return released;
    },
    retire() {
      retired = true;
      if (active === 0) release();
    },
  };
}
