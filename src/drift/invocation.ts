/**
 * What a drift function invocation asks for. The schedule sends an EventBridge scheduled event
 * (`detail-type: "Scheduled Event"`, empty `detail`): every model with captures. A direct
 * invocation may name models and a window: `{ "models": ["iris"], "window_hours": 6 }` (also
 * accepted inside `detail`).
 */
import { assertModelName } from '../repository/names.ts';

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
