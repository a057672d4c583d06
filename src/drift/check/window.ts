/**
 * The time window of a drift check and the S3 folders it covers: hourly capture folders
 * (`captures/{model}/{yyyy}/{MM}/{dd}/{HH}/`) and daily outcome folders
 * (`outcomes/{model}/{yyyy}/{MM}/{dd}/`), all UTC.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** A half-open interval [start, end) of time. */
export interface TimeWindow {
  start: Date;
  end: Date;
}

/**
 * The window of `hours` hours ending at `end`.
 *
 * @example
 * ```ts
 * windowEndingAt(new Date('2026-03-04T12:00:00Z'), 24).start; // 2026-03-03T12:00:00.000Z
 * ```
 */
export function windowEndingAt(end: Date, hours: number): TimeWindow {
  if (!(hours > 0) || !Number.isFinite(hours)) throw new RangeError(`window hours must be > 0, got ${hours}`);
  return { start: new Date(end.getTime() - hours * HOUR_MS), end: new Date(end.getTime()) };
}

/** Whether `timeMs` (epoch milliseconds) falls in the window. */
export function inWindow(window: TimeWindow, timeMs: number): boolean {
  return timeMs >= window.start.getTime() && timeMs < window.end.getTime();
}

/**
 * The hourly capture folders that can hold records of the window: every UTC hour the window
 * touches, plus the hour before it, because a folder is named by the hour a file was written and
 * a record can be a little older than its file (batch files, Firehose buffering).
 *
 * @example
 * ```ts
 * captureHourPrefixes('iris', windowEndingAt(new Date('2026-03-04T02:30:00Z'), 1));
 * // ['captures/iris/2026/03/04/00/', 'captures/iris/2026/03/04/01/', 'captures/iris/2026/03/04/02/']
 * ```
 */
export function captureHourPrefixes(model: string, window: TimeWindow): string[] {
  const prefixes: string[] = [];
  const first = Math.floor(window.start.getTime() / HOUR_MS) - 1;
  const last = Math.floor((window.end.getTime() - 1) / HOUR_MS);
  for (let hour = first; hour <= last; hour++) {
    prefixes.push(`captures/${model}/${datePath(new Date(hour * HOUR_MS))}/${two(hourOf(hour))}/`);
  }
  return prefixes;
}

/**
 * The daily outcome folders from the day of `from` to the day of `to`, inclusive.
 *
 * @example
 * ```ts
 * outcomeDayPrefixes('iris', new Date('2026-03-03T20:00Z'), new Date('2026-03-04T01:00Z'));
 * // ['outcomes/iris/2026/03/03/', 'outcomes/iris/2026/03/04/']
 * ```
 */
export function outcomeDayPrefixes(model: string, from: Date, to: Date): string[] {
  const prefixes: string[] = [];
  const first = Math.floor(from.getTime() / DAY_MS);
  const last = Math.floor(to.getTime() / DAY_MS);
  for (let day = first; day <= last; day++) {
    prefixes.push(`outcomes/${model}/${datePath(new Date(day * DAY_MS))}/`);
  }
  return prefixes;
}

/**
 * Where a report generated at `time` goes: `reports/{model}/{yyyy}/{MM}/{dd}/{HHmmss}/`.
 *
 * @example
 * ```ts
 * reportFolder('iris', new Date('2026-03-04T05:06:07Z')); // 'reports/iris/2026/03/04/050607/'
 * ```
 */
export function reportFolder(model: string, time: Date): string {
  const clock = `${two(time.getUTCHours())}${two(time.getUTCMinutes())}${two(time.getUTCSeconds())}`;
  return `reports/${model}/${datePath(time)}/${clock}/`;
}

function datePath(time: Date): string {
  return `${time.getUTCFullYear()}/${two(time.getUTCMonth() + 1)}/${two(time.getUTCDate())}`;
}

function hourOf(hourIndex: number): number {
  return ((hourIndex % 24) + 24) % 24;
}

function two(value: number): string {
  return String(value).padStart(2, '0');
}
