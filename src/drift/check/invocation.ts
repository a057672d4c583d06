/**
 * What a drift function invocation asks for. The schedule sends an EventBridge scheduled event
 * (`detail-type: "Scheduled Event"`, empty `detail`): every model with captures. A direct
 * invocation may name models and a window: `{ "models": ["iris"], "window_hours": 6 }` (also
 * accepted inside `detail`).
 */
import { assertModelName } from '../../repository/names.ts';

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
  const models = source.models ?? outer.models;
  if (models !== undefined) {
    if (!Array.isArray(models) || models.length === 0) {
      throw new DriftInvocationError("'models' must be a non-empty array of model names");
    }
    invocation.models = models.map((name) => {
      try {
        assertModelName(name);
      } catch (error) {
        throw new DriftInvocationError(`'models': ${(error as Error).message}`);
      }
      return name;
    });
  }
  const hours = source.window_hours ?? outer.window_hours;
  if (hours !== undefined) {
    if (typeof hours !== 'number' || !(hours > 0) || !Number.isFinite(hours)) {
      throw new DriftInvocationError(
        `'window_hours' must be a positive number, got ${JSON.stringify(hours)}`,
      );
    }
    invocation.windowHours = hours;
  }
  return invocation;
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
