/**
 * What a drift function invocation asks for. The schedule sends an EventBridge scheduled event
 * (`detail-type: "Scheduled Event"`, empty `detail`): every model with captures. A direct
 * invocation may name models and a window: `{ "models": ["iris"], "window_hours": 6 }` (also
 * accepted inside `detail`).
 */
import * as z from 'zod/mini';
import { assertModelName } from '../../repository/names.ts';
import { parseUserJson } from '../../schema/user-json.ts';

export interface DriftInvocation {
  /** Only these models; undefined for every model with captures. */
  models?: string[];
  windowHours?: number;
  /**
   * A scheduled event's `time` (the schedule's, the same on every retry of the event): the end of
   * the window and the time of the reports, so a retried invocation finds what it already did.
   */
  time?: Date;
}

/** An invocation payload the drift function cannot act on. */
export class DriftInvocationError extends Error {
  override readonly name = 'DriftInvocationError';
}

/**
 * Reads the invocation's options; unknown fields of a scheduled event are ignored.
 *
 * @throws DriftInvocationError for a bad `models` or `window_hours`.
 * @example
 * ```ts
 * parseDriftInvocation({ 'detail-type': 'Scheduled Event', time: '2026-06-02T00:00:00Z', detail: {} });
 * // { time: 2026-06-02T00:00:00.000Z }
 * parseDriftInvocation({ models: ['iris'], window_hours: 6 }); // { models: ['iris'], windowHours: 6 }
 * ```
 */
export function parseDriftInvocation(event: unknown): DriftInvocation {
  if (typeof event !== 'object' || event === null) return {};
  const outer = event as Record<string, unknown>;
  const detail = outer.detail;
  const source =
    typeof detail === 'object' && detail !== null && !Array.isArray(detail)
      ? (detail as Record<string, unknown>)
      : outer;
  const invocation: DriftInvocation = {};
  if (outer['detail-type'] === 'Scheduled Event' && typeof outer.time === 'string') {
    const time = Date.parse(outer.time);
    if (Number.isFinite(time)) invocation.time = new Date(time);
  }
  const options = parseUserJson(
    invocationOptionsSchema,
    { models: source.models ?? outer.models, window_hours: source.window_hours ?? outer.window_hours },
    (problem) => new DriftInvocationError(problem.message),
  );
  if (options.models !== undefined) invocation.models = options.models;
  if (options.window_hours !== undefined) invocation.windowHours = options.window_hours;
  return invocation;
}

/** The options a direct invocation may give (other fields of the event are the scheduler's). */
const invocationOptionsSchema = z.object({
  models: z.optional(
    z
      .array(
        z
          .string({ error: 'a model name' })
          .check(z.refine(isModelName, { error: 'a model name (letters, digits, _ . -)' })),
        { error: 'a non-empty array of model names' },
      )
      .check(z.minLength(1, { error: 'a non-empty array of model names' })),
  ),
  window_hours: z.optional(
    z.number({ error: 'a positive number' }).check(z.positive({ error: 'a positive number' })),
  ),
});

function isModelName(name: string): boolean {
  try {
    assertModelName(name);
    return true;
  } catch {
    return false;
  }
}

/** How one invocation runs its checks: the window end, resumption and summaries, and its deadline. */
export interface DriftRunPlan {
  models?: string[];
  windowHours?: number;
  /** The window end; undefined for "now". */
  end?: Date;
  /** A retried scheduled invocation skips the models already reported for `end`. */
  resume: boolean;
  /** Read only capture objects not read before, through per-hour summaries. */
  summaries: boolean;
  /** Epoch ms after which no further model is started. */
  deadline?: number;
}

/**
 * Plans a drift run from an invocation. Incremental checks assemble their window from whole-hour
 * summaries: a scheduled run covers the hours completed by its time, and the minutes since are in
 * the next run's window.
 *
 * @example
 * ```ts
 * planDriftRun({ time: new Date('2026-06-02T10:17:00Z') }, { incremental: true, deadlineMarginMs: 60_000 });
 * // { end: 2026-06-02T10:00:00.000Z, resume: true, summaries: true, … }
 * ```
 */
export function planDriftRun(
  invocation: DriftInvocation,
  options: { incremental: boolean; deadlineMarginMs: number; remainingMs?: number; now?: number },
): DriftRunPlan {
  const summaries = options.incremental && invocation.time !== undefined;
  const end = summaries && invocation.time ? startOfHour(invocation.time) : invocation.time;
  const now = options.now ?? Date.now();
  return {
    models: invocation.models,
    windowHours: invocation.windowHours,
    end,
    resume: end !== undefined,
    summaries,
    deadline:
      options.remainingMs === undefined ? undefined : now + options.remainingMs - options.deadlineMarginMs,
  };
}

function startOfHour(time: Date): Date {
  const hour = new Date(time.getTime());
  hour.setUTCMinutes(0, 0, 0);
  return hour;
}
