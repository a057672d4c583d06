/**
 * The outcomes a drift check joins with its captures, indexed by prediction id. Outcome objects
 * are chosen by when they were received: the hour folder they are in
 * (`outcomes/{model}/{yyyy}/{MM}/{dd}/{HH}/`, as the outcomes endpoint writes them), or for files
 * dropped elsewhere under `outcomes/{model}/`, their upload time.
 */
import type { OutcomeValue } from '../outcomes/outcome.ts';
import { newOutcomeReadReport, readOutcomeObject } from '../outcomes/read.ts';
import type { ObjectInfo, StreamingObjectStore } from '../store/object-store.ts';
import { mapConcurrent } from './concurrency.ts';
import { outcomeDayPrefixes } from './window.ts';

const HOUR_MS = 3_600_000;
const HOUR_FOLDER = /^outcomes\/[^/]+\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\//;

/**
 * Outcomes by prediction id; when an id came more than once, the latest received (`received_at`,
 * else `ts`), then the latest observed.
 */
export interface OutcomeIndex {
  /** Prediction id → row of the arrays below. */
  ids: Map<string, number>;
  values: OutcomeValue[];
  /** When observed (epoch ms); NaN when unknown. */
  ts: number[];
  /** When received (epoch ms): `received_at`, else `ts`; NaN when unknown. */
  received: number[];
  /** Set by the capture scan: 1 once a prediction of the window has claimed the outcome. */
  matched: Uint8Array;
  stats: OutcomeReadStats;
}

export interface OutcomeReadStats {
  objects: number;
  /** Outcome lines read (valid ones). */
  records: number;
  /** Extra records for an id already seen: the latest received is kept. */
  duplicates: number;
  /** Invalid lines, skipped. */
  invalid: number;
  /** Objects that could not be read at all, with the reason. */
  unreadable: { key: string; reason: string }[];
  /** A few invalid lines, for the report. */
  samples: { key: string; line: number; reason: string }[];
}

/** Which received times to read: [from, to]. */
export interface OutcomeRange {
  from: Date;
  to: Date;
}

/**
 * Reads every outcome received in `range` and indexes it by id.
 *
 * @example
 * ```ts
 * const outcomes = await loadOutcomes(store, 'iris', { from: window.start, to: now });
 * outcomes.ids.get('req-1'); // row, or undefined
 * ```
 */
export async function loadOutcomes(
  store: StreamingObjectStore,
  model: string,
  range: OutcomeRange,
  options: { concurrency?: number; now?: Date } = {},
): Promise<OutcomeIndex> {
  const keys = await outcomeObjects(store, model, range);
  const index: OutcomeIndex = {
    ids: new Map(),
    values: [],
    ts: [],
    received: [],
    matched: new Uint8Array(0),
    stats: { objects: keys.length, records: 0, duplicates: 0, invalid: 0, unreadable: [], samples: [] },
  };
  const stats = index.stats;
  // Objects are read concurrently but merged one at a time (JavaScript runs each chunk to its end).
  await mapConcurrent(keys, options.concurrency ?? 4, async (key) => {
    const report = newOutcomeReadReport();
    const outcomes = await readOutcomeObject(store, key, report, { now: options.now });
    if (outcomes === undefined) return;
    for await (const outcome of outcomes) {
      stats.records++;
      const ts = outcome.ts === undefined ? Number.NaN : Date.parse(outcome.ts);
      const received = outcome.received_at === undefined ? ts : Date.parse(outcome.received_at);
      const row = index.ids.get(outcome.id);
      if (row === undefined) {
        index.ids.set(outcome.id, index.values.length);
        index.values.push(outcome.value);
        index.ts.push(ts);
        index.received.push(received);
        continue;
      }
      stats.duplicates++;
      // The latest received wins (as docs/api.md promises), then the latest observed; on a tie, or
      // without times, the one read last.
      if (!isEarlier(received, ts, index.received[row] ?? Number.NaN, index.ts[row] ?? Number.NaN)) {
        index.values[row] = outcome.value;
        index.ts[row] = ts;
        index.received[row] = received;
      }
    }
    stats.invalid += report.errors;
    for (const sample of report.samples) {
      if (stats.samples.length < 10) stats.samples.push({ key, ...sample });
    }
    if (report.fatal !== undefined) stats.unreadable.push({ key, reason: report.fatal });
  });
  index.matched = new Uint8Array(index.values.length);
  return index;
}

/** The keys of the outcome objects received in `range`. */
async function outcomeObjects(
  store: StreamingObjectStore,
  model: string,
  range: OutcomeRange,
): Promise<string[]> {
  const from = range.from.getTime();
  const to = range.to.getTime();
  const inRange = (info: ObjectInfo): boolean => {
    const hour = HOUR_FOLDER.exec(info.key);
    if (hour) {
      const start = Date.UTC(Number(hour[1]), Number(hour[2]) - 1, Number(hour[3]), Number(hour[4]));
      return start + HOUR_MS > from && start <= to;
    }
    const modified = info.lastModified?.getTime();
    return modified === undefined || (modified >= from && modified <= to);
  };
  const keys = new Set<string>();
  const listings = await mapConcurrent(outcomeDayPrefixes(model, range.from, range.to), 4, (prefix) =>
    store.list(prefix),
  );
  for (const listing of listings) for (const info of listing.objects) if (inRange(info)) keys.add(info.key);
  // Files dropped straight into outcomes/{model}/ rather than in date folders.
  const top = await store.list(`outcomes/${model}/`, { delimiter: '/' });
  for (const info of top.objects) if (inRange(info)) keys.add(info.key);
  return [...keys].sort();
}

/** Whether an outcome (received, observed) is strictly older than the one kept; unknown times never are. */
function isEarlier(received: number, ts: number, keptReceived: number, keptTs: number): boolean {
  if (Number.isFinite(received) && Number.isFinite(keptReceived) && received !== keptReceived) {
    return received < keptReceived;
  }
  return Number.isFinite(ts) && Number.isFinite(keptTs) && ts < keptTs;
}
