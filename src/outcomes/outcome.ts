/**
 * Outcomes: the actual value a prediction should have had, reported later by whoever learns it.
 * Stored as JSON lines under `outcomes/{model}/{yyyy}/{MM}/{dd}/{HH}/` (docs/api.md#outcomes); the
 * drift check joins them with captures on the prediction id. The checks here are shared by the
 * outcomes endpoint (which refuses a body with a bad entry) and the outcome file reader (which
 * counts bad lines and goes on).
 */
import { describeValue } from '../codec/describe.ts';

export const OUTCOMES_PREFIX = 'outcomes/';
/** Most outcomes one request may carry. */
export const MAX_OUTCOMES_PER_REQUEST = 10_000;
/** Longest prediction id, in characters. */
export const MAX_OUTCOME_ID_CHARS = 256;
/** Longest string value (a class label), in characters. */
export const MAX_OUTCOME_VALUE_CHARS = 1024;
/** How far in the future an outcome's `ts` may be, for clocks that disagree a little. */
export const MAX_FUTURE_SKEW_MS = 60 * 60 * 1000;

/** An outcome's value: a class label, a number (regression target), or a boolean. */
export type OutcomeValue = number | string | boolean;

/** One stored outcome, as written by the endpoint: one JSON line. */
export interface OutcomeRecord {
  /** The prediction id (response `id`, or `{id}:{row}` for a row of a split request). */
  id: string;
  value: OutcomeValue;
  /** When the outcome was observed, ISO 8601 UTC; the time it was received when not given. */
  ts: string;
  /** When the endpoint received it, ISO 8601 UTC. */
  received_at: string;
}

/** A check's answer: the value, or why it is refused (a phrase to follow the field name). */
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

/** ISO 8601 date-time with seconds optional, fraction optional, and a required zone. */
const ISO_DATE_TIME =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)$/i;

/**
 * A prediction id: a non-empty string of at most {@link MAX_OUTCOME_ID_CHARS} characters.
 *
 * @example
 * ```ts
 * checkOutcomeId('req-1'); // { ok: true, value: 'req-1' }
 * checkOutcomeId('');      // { ok: false, reason: 'must be a non-empty string' }
 * ```
 */
export function checkOutcomeId(id: unknown): Checked<string> {
  if (typeof id !== 'string' || id.length === 0) return { ok: false, reason: 'must be a non-empty string' };
  if (id.length > MAX_OUTCOME_ID_CHARS) {
    return {
      ok: false,
      reason: `is ${id.length} characters long; at most ${MAX_OUTCOME_ID_CHARS} are allowed`,
    };
  }
  return { ok: true, value: id };
}

/**
 * An outcome value: a finite number, a boolean, or a non-empty string of at most
 * {@link MAX_OUTCOME_VALUE_CHARS} characters.
 */
export function checkOutcomeValue(value: unknown): Checked<OutcomeValue> {
  if (typeof value === 'boolean') return { ok: true, value };
  if (typeof value === 'number') {
    return Number.isFinite(value) ? { ok: true, value } : { ok: false, reason: 'must be a finite number' };
  }
  if (typeof value === 'string') {
    if (value.length === 0) return { ok: false, reason: 'must not be an empty string' };
    if (value.length > MAX_OUTCOME_VALUE_CHARS) {
      return {
        ok: false,
        reason: `is ${value.length} characters long; at most ${MAX_OUTCOME_VALUE_CHARS} are allowed`,
      };
    }
    return { ok: true, value };
  }
  return { ok: false, reason: `must be a number, a string or a boolean; got ${describeValue(value)}` };
}

/**
 * An outcome time: an ISO 8601 date-time with a zone (`2026-06-01T10:20:30Z`,
 * `2026-06-01T12:20:30.5+02:00`), not more than {@link MAX_FUTURE_SKEW_MS} after `now`; returned
 * in UTC (`toISOString`).
 *
 * @example
 * ```ts
 * checkOutcomeTs('2026-06-01T12:00:00+02:00', new Date()); // { ok: true, value: '2026-06-01T10:00:00.000Z' }
 * checkOutcomeTs('2026-06-01 12:00', new Date());          // refused: no zone
 * ```
 */
export function checkOutcomeTs(ts: unknown, now: Date): Checked<string> {
  if (typeof ts !== 'string' || !ISO_DATE_TIME.test(ts)) {
    return {
      ok: false,
      reason: 'must be an ISO 8601 date-time with a zone, e.g. "2026-06-01T10:20:30Z"',
    };
  }
  const time = Date.parse(ts.replace(' ', 'T'));
  // Date.parse rolls 2026-02-31 over into March; a day the month lacks is a mistake.
  const [year, month, day] = ts.slice(0, 10).split('-').map(Number) as [number, number, number];
  const calendar = new Date(0);
  calendar.setUTCFullYear(year, month - 1, day);
  if (Number.isNaN(time) || calendar.getUTCDate() !== day) {
    return { ok: false, reason: `is not a valid date-time (${ts.slice(0, 10)} does not exist)` };
  }
  if (time > now.getTime() + MAX_FUTURE_SKEW_MS) {
    return { ok: false, reason: `is in the future (more than an hour after ${now.toISOString()})` };
  }
  return { ok: true, value: new Date(time).toISOString() };
}

/**
 * The folder of outcomes for `model` received in the hour of `time` (UTC):
 * `outcomes/{model}/{yyyy}/{MM}/{dd}/{HH}/`.
 *
 * @example
 * ```ts
 * outcomeFolder('iris', new Date('2026-03-04T05:06:07Z')); // 'outcomes/iris/2026/03/04/05/'
 * ```
 */
export function outcomeFolder(model: string, time: Date): string {
  const two = (value: number) => String(value).padStart(2, '0');
  return `${OUTCOMES_PREFIX}${model}/${time.getUTCFullYear()}/${two(time.getUTCMonth() + 1)}/${two(
    time.getUTCDate(),
  )}/${two(time.getUTCHours())}/`;
}
