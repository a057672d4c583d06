/**
 * The outcomes a drift check joins with its captures, indexed by prediction id. Outcome objects
 * are chosen by when they were received: the hour folder they are in
 * (`outcomes/{model}/{yyyy}/{MM}/{dd}/{HH}/`, as the outcomes endpoint writes them), or for files
 * dropped elsewhere under `outcomes/{model}/`, their upload time.
 */
import type { OutcomeValue } from '../../outcomes/outcome.ts';
import { newOutcomeReadReport, readOutcomeObject } from '../../outcomes/read.ts';
import type { ObjectInfo, StreamingObjectStore } from '../../ports/object-store.ts';
import { mapConcurrent } from './concurrency.ts';
import { outcomeDayPrefixes } from './window.ts';

const HOUR_MS = 3_600_000;
/**
 * Outcomes indexed by one check at most (about 0.5 KB each: 500 MB). Outcomes for further ids
 * are counted in the report's `outcomes.dropped` and a warning, not joined. The same number bounds
 * the outcome lines the check keeps in memory for its ledgers (the parsed outcome objects kept
 * under `reports/{model}/_summaries/outcomes/`): objects past it are read, joined and counted in
 * `uncached`, but not kept, so that what callers post cannot grow the check without bound.
 */
export const DEFAULT_MAX_OUTCOMES = 1_000_000;
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
  /**
   * Outcomes for new ids read after the index held `maxOutcomes` (see `DEFAULT_MAX_OUTCOMES`):
   * not joined, counted and reported, so the check's memory does not grow with what callers post.
   */
  dropped: number;
  /**
   * Outcome objects read but not kept in a ledger because the ledgers already held `maxOutcomes`
   * lines: the next check reads them again.
   */
  uncached: number;
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

/** An index holding no outcome (`objects`: how many outcome objects were listed). */
export function emptyOutcomeIndex(objects = 0): OutcomeIndex {
  return {
    ids: new Map(),
    values: [],
    ts: [],
    received: [],
    matched: new Uint8Array(0),
    stats: {
      objects,
      records: 0,
      duplicates: 0,
      invalid: 0,
      dropped: 0,
      uncached: 0,
      unreadable: [],
      samples: [],
    },
  };
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
  options: { concurrency?: number; now?: Date; ledger?: boolean; maxOutcomes?: number } = {},
): Promise<OutcomeIndex> {
  const maxOutcomes = options.maxOutcomes ?? DEFAULT_MAX_OUTCOMES;
  const infos = await outcomeObjects(store, model, range);
  const index = emptyOutcomeIndex(infos.length);
  const stats = index.stats;
  const add = (id: string, value: OutcomeValue, ts: number, received: number): void => {
    stats.records++;
    const row = index.ids.get(id);
    if (row === undefined) {
      if (index.values.length >= maxOutcomes) {
        stats.dropped++;
        return;
      }
      index.ids.set(id, index.values.length);
      index.values.push(value);
      index.ts.push(ts);
      index.received.push(received);
      return;
    }
    stats.duplicates++;
    // The latest received wins (as docs/api.md promises), then the latest observed; on a tie, or
    // without times, the one read last.
    if (!isEarlier(received, ts, index.received[row] ?? Number.NaN, index.ts[row] ?? Number.NaN)) {
      index.values[row] = value;
      index.ts[row] = ts;
      index.received[row] = received;
    }
  };
  const addEntry = (entry: LedgerEntry): void => {
    for (let i = 0; i < entry.ids.length; i++) {
      add(
        entry.ids[i] as string,
        entry.values[i] as OutcomeValue,
        entry.ts[i] ?? Number.NaN,
        entry.received[i] ?? Number.NaN,
      );
    }
  };
  // Outcome lines held in memory (ledgers, and an object while it is read): at most maxOutcomes.
  let budget = maxOutcomes;
  const take = (lines: number): boolean => {
    if (lines > budget) return false;
    budget -= lines;
    return true;
  };
  const ledgers = options.ledger === true ? await readLedgers(store, model, infos, take) : null;
  // Objects are read concurrently but merged one at a time (JavaScript runs each chunk to its end).
  await mapConcurrent(infos, options.concurrency ?? 4, async (info) => {
    const key = info.key;
    const ledger = ledgers?.get(ledgerKey(model, key));
    const known = ledger?.previous.get(key);
    let entry: LedgerEntry;
    if (known !== undefined && known.etag === (info.etag ?? null)) {
      entry = known;
      ledger?.next.push(entry);
      addEntry(entry);
    } else {
      entry = {
        key,
        etag: info.etag ?? null,
        ids: [],
        values: [],
        ts: [],
        received: [],
        invalid: 0,
        samples: [],
      };
      // Kept whole while the budget allows; past it, what was kept is joined and let go, and the
      // rest of the object is joined line by line.
      let held = true;
      const report = newOutcomeReadReport();
      const outcomes = await readOutcomeObject(store, key, report, { now: options.now });
      if (outcomes !== undefined) {
        for await (const outcome of outcomes) {
          const ts = outcome.ts === undefined ? Number.NaN : Date.parse(outcome.ts);
          const received = outcome.received_at === undefined ? ts : Date.parse(outcome.received_at);
          if (held && take(1)) {
            entry.ids.push(outcome.id);
            entry.values.push(outcome.value);
            entry.ts.push(Number.isFinite(ts) ? ts : null);
            entry.received.push(Number.isFinite(received) ? received : null);
            continue;
          }
          if (held) {
            held = false;
            addEntry(entry);
            budget += entry.ids.length;
            entry = { ...entry, ids: [], values: [], ts: [], received: [] };
          }
          add(outcome.id, outcome.value, ts, received);
        }
      }
      entry.invalid = report.errors;
      entry.samples = report.samples.slice(0, 10);
      if (report.fatal !== undefined) entry.fatal = report.fatal;
      if (ledger) ledger.dirty = true;
      if (held) {
        addEntry(entry);
        if (ledger) ledger.next.push(entry);
        else budget += entry.ids.length;
      } else if (ledger) {
        stats.uncached++;
      }
    }
    stats.invalid += entry.invalid;
    for (const sample of entry.samples) {
      if (stats.samples.length < 10) stats.samples.push({ key, ...sample });
    }
    if (entry.fatal !== undefined) stats.unreadable.push({ key, reason: entry.fatal });
  });
  if (ledgers !== null) {
    for (const [key, ledger] of ledgers) {
      if (!ledger.dirty && ledger.next.length === ledger.previous.size) continue;
      ledger.next.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const body: LedgerDocument = { schema: 1, model, objects: ledger.next };
      await store.put(key, JSON.stringify(body), { contentType: 'application/json' });
    }
  }
  index.matched = new Uint8Array(index.values.length);
  return index;
}

/** The parsed lines of one outcome object, kept so that a later check need not read it again. */
interface LedgerEntry {
  key: string;
  etag: string | null;
  ids: string[];
  values: OutcomeValue[];
  ts: (number | null)[];
  received: (number | null)[];
  invalid: number;
  samples: { line: number; reason: string }[];
  fatal?: string;
}

interface LedgerDocument {
  schema: 1;
  model: string;
  objects: LedgerEntry[];
}

/**
 * Where the parsed outcomes of an outcome object are kept: one ledger per received-hour folder
 * (`reports/{model}/_summaries/outcomes/{yyyy}/{MM}/{dd}/{HH}.json`), one for files elsewhere.
 */
export function ledgerKey(model: string, objectKey: string): string {
  const hour = HOUR_FOLDER.exec(objectKey);
  return hour
    ? `reports/${model}/_summaries/outcomes/${hour[1]}/${hour[2]}/${hour[3]}/${hour[4]}.json`
    : `reports/${model}/_summaries/outcomes/other.json`;
}

/**
 * The ledgers of the hours `infos` fall in. Entries are kept while `take` grants their lines (the
 * check's budget); the others are dropped, and their objects read again.
 */
async function readLedgers(
  store: StreamingObjectStore,
  model: string,
  infos: readonly ObjectInfo[],
  take: (lines: number) => boolean,
): Promise<Map<string, { previous: Map<string, LedgerEntry>; next: LedgerEntry[]; dirty: boolean }>> {
  const keys = [...new Set(infos.map((info) => ledgerKey(model, info.key)))];
  const ledgers = new Map<
    string,
    { previous: Map<string, LedgerEntry>; next: LedgerEntry[]; dirty: boolean }
  >();
  await mapConcurrent(keys, 4, async (key) => {
    const previous = new Map<string, LedgerEntry>();
    const object = await store.get(key);
    if (object !== undefined) {
      try {
        const doc = JSON.parse(new TextDecoder().decode(object.body)) as LedgerDocument;
        if (doc.schema === 1 && doc.model === model && Array.isArray(doc.objects)) {
          for (const entry of doc.objects) {
            if (Array.isArray(entry?.ids) && take(entry.ids.length)) previous.set(entry.key, entry);
          }
        }
      } catch {
        // A damaged ledger is rebuilt from the outcome objects.
      }
    }
    ledgers.set(key, { previous, next: [], dirty: object === undefined });
  });
  return ledgers;
}

/** The keys of the outcome objects received in `range`. */
async function outcomeObjects(
  store: StreamingObjectStore,
  model: string,
  range: OutcomeRange,
): Promise<ObjectInfo[]> {
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
  const keys = new Map<string, ObjectInfo>();
  const listings = await mapConcurrent(outcomeDayPrefixes(model, range.from, range.to), 4, (prefix) =>
    store.list(prefix),
  );
  for (const listing of listings)
    for (const info of listing.objects) if (inRange(info)) keys.set(info.key, info);
  // Files dropped straight into outcomes/{model}/ rather than in date folders.
  const top = await store.list(`outcomes/${model}/`, { delimiter: '/' });
  for (const info of top.objects) if (inRange(info)) keys.set(info.key, info);
  return [...keys.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Whether an outcome (received, observed) is strictly older than the one kept; unknown times never are. */
function isEarlier(received: number, ts: number, keptReceived: number, keptTs: number): boolean {
  if (Number.isFinite(received) && Number.isFinite(keptReceived) && received !== keptReceived) {
    return received < keptReceived;
  }
  return Number.isFinite(ts) && Number.isFinite(keptTs) && ts < keptTs;
}
