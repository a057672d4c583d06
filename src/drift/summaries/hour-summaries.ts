/**
 * Per-hour capture summaries, so that a drift check reads each capture object once however long
 * its window: for every hourly capture folder, `reports/{model}/_summaries/{yyyy}/{MM}/{dd}/{HH}.json`
 * names the objects (key and ETag) already folded in and holds, per version and per hour of the
 * records' time, mergeable profiles (built with the reference's binning), counts, and the
 * compact per-prediction data (id, time, predicted label or score, probabilities) that outcomes
 * are joined with. A run reads only the objects a summary does not cover, folds them in and
 * writes the summary back; the window is assembled by merging the summaries' hours.
 */

import { createHash } from 'node:crypto';
import type { StreamingObjectStore } from '../../ports/object-store.ts';
import { type ObjectReadStats, objectLines } from '../../text/object-lines.ts';
import { type JoinedRows, numberOf, VersionAccumulator } from '../check/accumulator.ts';
import { type CaptureScanStats, validCapture } from '../check/capture-scan.ts';
import { CategoryCounts, FloatColumn } from '../check/columns.ts';
import { mapConcurrent } from '../check/concurrency.ts';
import { addQuality, emptyQuality, type FeatureQualityCounts } from '../check/data-quality.ts';
import { classIndexOf } from '../check/labels.ts';
import { emptyOutcomeIndex, type OutcomeIndex } from '../check/outcome-index.ts';
import { captureHourPrefixes, type TimeWindow } from '../check/window.ts';
import type { ReferenceDocument } from '../profiles/reference-types.ts';
import {
  addCbpeRow,
  buildNumericProfile,
  type CbpeSums,
  emptyCbpeSums,
  mergeNumericProfiles,
  type NumericBinning,
  type NumericProfile,
} from '../statistics/index.ts';

const HOUR_MS = 3_600_000;
export const SUMMARY_SCHEMA_VERSION = 2;

/** A version's reference and a fingerprint of its bytes (a summary built on another one is stale). */
export interface LoadedReference {
  reference: ReferenceDocument | null;
  fingerprint: string | null;
}

/** Counts as parallel arrays (any category name is safe). */
interface CountsDoc {
  categories: string[];
  counts: number[];
  missing: number;
}

/** One version's records of one hour (by record time) in one capture folder. */
export interface HourBucket {
  version: string;
  /** Start of the records' hour, epoch ms. */
  hour: number;
  reference: string | null;
  predictions: number;
  nonTabular: number;
  truncated: number;
  withoutPrediction: number;
  firstTs: number | null;
  lastTs: number | null;
  numeric: (NumericProfile | null)[];
  categorical: (CountsDoc | null)[];
  /** Per feature: missing, non-finite and mismatched values (sums). */
  quality: FeatureQualityCounts[];
  /** Σ PCA reconstruction error and the rows it covers (multivariate drift). */
  pcaErrorSum: number;
  pcaRows: number;
  labels: CountsDoc | null;
  scores: NumericProfile | null;
  /** Per prediction (reference present): id, time, predicted class index or score, probabilities. */
  ids: string[];
  ts: number[];
  predicted: (number | null)[];
  /** `classes` per prediction, flattened; null without a probabilities output. */
  probabilities: (number | null)[] | null;
}

export interface HourSummary {
  schema: number;
  model: string;
  folder: string;
  objects: { key: string; etag: string | null }[];
  bytes: number;
  invalidLines: number;
  unreadable: { key: string; reason: string }[];
  buckets: HourBucket[];
}

/** A version's traffic in the window, merged from the hourly buckets (not yet joined). */
export interface WindowVersion {
  version: string;
  reference: ReferenceDocument | null;
  classNames: readonly string[];
  predictions: number;
  nonTabular: number;
  truncated: number;
  withoutPrediction: number;
  firstTs: number;
  lastTs: number;
  numeric: (NumericProfile | null)[];
  categorical: (CategoryCounts | null)[];
  quality: FeatureQualityCounts[];
  pcaErrorSum: number;
  pcaRows: number;
  labels: CategoryCounts | null;
  scores: NumericProfile | null;
  buckets: HourBucket[];
}

/** A window version joined with its outcomes: what `analyseVersion` takes. */
export interface JoinedWindowVersion extends WindowVersion {
  joined: JoinedRows;
  duplicateCaptures: number;
  /** CBPE sums over the window's predictions (from the buckets' stored probabilities). */
  cbpe: CbpeSums | null;
  /** Per hour: estimated accuracy (CBPE) and the accuracy realised on the outcomes joined so far. */
  hourly: HourlyPerformance[];
}

/** One hour of the estimated-versus-realised series. */
export interface HourlyPerformance {
  hour: number;
  predictions: number;
  estimated: CbpeSums | null;
  joined: number;
  correct: number;
}

export interface SummaryScanStats extends CaptureScanStats {
  /** Capture objects read by this run (the others came from summaries). */
  objectsRead: number;
  summariesWritten: number;
}

/**
 * Where the summary of a capture folder lives.
 *
 * @example
 * ```ts
 * summaryKey('iris', Date.parse('2026-03-04T05:00:00Z')); // 'reports/iris/_summaries/2026/03/04/05.json'
 * ```
 */
export function summaryKey(model: string, hourMs: number): string {
  const t = new Date(hourMs);
  const two = (n: number) => String(n).padStart(2, '0');
  return `reports/${model}/_summaries/${t.getUTCFullYear()}/${two(t.getUTCMonth() + 1)}/${two(t.getUTCDate())}/${two(t.getUTCHours())}.json`;
}

/** Whether the window starts and ends on whole hours (the summaries' granularity). */
export function hourAligned(window: TimeWindow): boolean {
  return window.start.getTime() % HOUR_MS === 0 && window.end.getTime() % HOUR_MS === 0;
}

/**
 * Brings the summaries of the window's capture folders up to date (reading only the objects they
 * do not cover) and merges their hours inside the window per version.
 *
 * @example
 * ```ts
 * const { versions, scan } = await windowFromSummaries(store, 'iris', window, referenceOf);
 * scan.objectsRead; // capture objects read by this run
 * ```
 */
export async function windowFromSummaries(
  store: StreamingObjectStore,
  model: string,
  window: TimeWindow,
  referenceOf: (version: string) => Promise<LoadedReference>,
  options: { concurrency?: number } = {},
): Promise<{ versions: WindowVersion[]; scan: SummaryScanStats }> {
  if (!hourAligned(window)) throw new RangeError('per-hour summaries need a window on whole hours');
  const concurrency = options.concurrency ?? 8;
  const prefixes = captureHourPrefixes(model, window);
  const scan: SummaryScanStats = {
    objects: 0,
    bytes: 0,
    records: 0,
    invalidLines: 0,
    outsideWindow: 0,
    unreadable: [],
    objectsRead: 0,
    summariesWritten: 0,
  };
  const summaries = await mapConcurrent(prefixes, Math.min(concurrency, 4), (prefix) =>
    refreshFolder(store, model, prefix, referenceOf, scan, concurrency),
  );
  const start = window.start.getTime();
  const end = window.end.getTime();
  const byVersion = new Map<string, HourBucket[]>();
  for (const summary of summaries) {
    scan.objects += summary.objects.length;
    scan.bytes += summary.bytes;
    scan.invalidLines += summary.invalidLines;
    scan.unreadable.push(...summary.unreadable);
    for (const bucket of summary.buckets) {
      if (bucket.hour < start || bucket.hour >= end) {
        scan.outsideWindow += bucket.predictions;
        continue;
      }
      scan.records += bucket.predictions;
      const list = byVersion.get(bucket.version) ?? [];
      list.push(bucket);
      byVersion.set(bucket.version, list);
    }
  }
  const versions: WindowVersion[] = [];
  for (const [version, buckets] of byVersion) {
    buckets.sort((a, b) => a.hour - b.hour);
    versions.push(mergeBuckets(version, (await referenceOf(version)).reference, buckets));
  }
  return { versions, scan };
}

/**
 * Joins a window version's predictions with the outcomes, as `VersionAccumulator.add` does: the
 * first prediction of an id claims its outcome, a later one counts as a duplicate capture.
 */
export function joinOutcomes(
  version: WindowVersion,
  outcomes: OutcomeIndex,
  windowEnd: number,
): JoinedWindowVersion {
  const classes = version.classNames;
  const label = version.reference?.prediction?.kind === 'label';
  const joined: JoinedRows = {
    actual: new FloatColumn(),
    predicted: new FloatColumn(),
    probabilities:
      version.reference?.prediction?.kind === 'label' && version.reference.prediction.probabilities !== null
        ? new FloatColumn()
        : null,
    delays: new FloatColumn(),
    late: 0,
  };
  let duplicateCaptures = 0;
  const model = version.reference?.performance?.cbpe ?? null;
  const scratch = new Float64Array(model?.classes ?? 0);
  const cbpe = model ? emptyCbpeSums(model.classes) : null;
  const hours = new Map<number, HourlyPerformance>();
  for (const bucket of version.buckets) {
    let hour = hours.get(bucket.hour);
    if (hour === undefined) {
      hour = {
        hour: bucket.hour,
        predictions: 0,
        estimated: model ? emptyCbpeSums(model.classes) : null,
        joined: 0,
        correct: 0,
      };
      hours.set(bucket.hour, hour);
    }
    hour.predictions += bucket.predictions;
    if (model && cbpe && bucket.probabilities && hour.estimated) {
      const k = model.classes;
      for (let i = 0; i < bucket.ids.length; i++) {
        const scores = bucket.probabilities.slice(i * k, i * k + k).map((p) => p ?? Number.NaN);
        const predicted = bucket.predicted[i] ?? Number.NaN;
        if (addCbpeRow(model, hour.estimated, predicted, scores, scratch)) {
          addCbpeRow(model, cbpe, predicted, scores, scratch);
        }
      }
    }
    for (let i = 0; i < bucket.ids.length; i++) {
      const row = outcomes.ids.get(bucket.ids[i] as string);
      if (row === undefined) continue;
      if (outcomes.matched[row] === 1) {
        duplicateCaptures++;
        continue;
      }
      outcomes.matched[row] = 1;
      const value = outcomes.values[row];
      const actual = label ? classIndexOf(value, classes) : numberOf(value);
      joined.actual.push(actual);
      joined.predicted.push(bucket.predicted[i] ?? Number.NaN);
      hour.joined++;
      if (label && actual === bucket.predicted[i]) hour.correct++;
      if (joined.probabilities !== null) {
        for (let c = 0; c < classes.length; c++)
          joined.probabilities.push(bucket.probabilities?.[i * classes.length + c] ?? Number.NaN);
      }
      const ts = bucket.ts[i] ?? Number.NaN;
      joined.delays.push(((outcomes.ts[row] ?? Number.NaN) - ts) / 1000);
      if ((outcomes.received[row] ?? Number.NaN) >= windowEnd) joined.late++;
    }
  }
  return {
    ...version,
    joined,
    duplicateCaptures,
    cbpe,
    hourly: [...hours.values()].sort((a, b) => a.hour - b.hour),
  };
}

async function refreshFolder(
  store: StreamingObjectStore,
  model: string,
  prefix: string,
  referenceOf: (version: string) => Promise<LoadedReference>,
  scan: SummaryScanStats,
  concurrency: number,
): Promise<HourSummary> {
  const folderHour = folderHourOf(prefix);
  const key = summaryKey(model, folderHour);
  const listing = await store.list(prefix);
  const listed = listing.objects.map((o) => ({ key: o.key, etag: o.etag ?? null }));
  let summary = await readSummary(store, key, model, prefix);
  if (summary !== undefined && !(await stillValid(summary, listed, referenceOf))) summary = undefined;
  const current: HourSummary = summary ?? {
    schema: SUMMARY_SCHEMA_VERSION,
    model,
    folder: prefix,
    objects: [],
    bytes: 0,
    invalidLines: 0,
    unreadable: [],
    buckets: [],
  };
  const folded = new Set(current.objects.map((o) => o.key));
  const fresh = listed.filter((o) => !folded.has(o.key));
  // Nothing new (or an hour without captures, which needs no summary).
  if (fresh.length === 0 && (summary !== undefined || listed.length === 0)) return current;

  const accumulators = new Map<string, { acc: VersionAccumulator; bucket: Partial<HourBucket> }>();
  const loaded = new Map<string, LoadedReference>();
  const pending = new Map<string, Promise<LoadedReference>>();
  const referenceFor = async (version: string): Promise<LoadedReference> => {
    const known = loaded.get(version);
    if (known) return known;
    let wait = pending.get(version);
    if (wait === undefined) {
      wait = referenceOf(version).then((r) => {
        loaded.set(version, r);
        return r;
      });
      pending.set(version, wait);
    }
    return wait;
  };
  await mapConcurrent(fresh, concurrency, async ({ key: objectKey }) => {
    const read: ObjectReadStats = { bytes: 0, tooLong: 0 };
    scan.objectsRead++;
    try {
      for await (const line of objectLines(store, objectKey, read)) {
        const capture = validCapture(line, model);
        if (capture === undefined) {
          current.invalidLines++;
          continue;
        }
        const { record, ts } = capture;
        // Shadow predictions were never served: only the rollout comparison reads them.
        if (record.shadow === true) continue;
        const hour = Math.floor(ts / HOUR_MS) * HOUR_MS;
        const id = `${record.version}|${hour}`;
        let entry = accumulators.get(id);
        if (entry === undefined) {
          const ref = await referenceFor(record.version);
          entry = accumulators.get(id);
          if (entry === undefined) {
            entry = newEntry(record.version, hour, ref);
            accumulators.set(id, entry);
          }
        }
        entry.acc.add(record, ts);
      }
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      if (!(typeof code === 'string' && code.startsWith('Z_'))) throw error;
      current.unreadable.push({ key: objectKey, reason: (error as Error).message });
    } finally {
      current.bytes += read.bytes;
      current.invalidLines += read.tooLong;
    }
  });
  for (const { acc, bucket } of accumulators.values()) {
    const made = toBucket(acc, bucket);
    const index = current.buckets.findIndex((b) => b.version === made.version && b.hour === made.hour);
    if (index === -1) current.buckets.push(made);
    else current.buckets[index] = addBuckets(current.buckets[index] as HourBucket, made);
  }
  current.objects.push(...fresh);
  await store.put(key, JSON.stringify(current), { contentType: 'application/json' });
  scan.summariesWritten++;
  return current;
}

async function readSummary(
  store: StreamingObjectStore,
  key: string,
  model: string,
  prefix: string,
): Promise<HourSummary | undefined> {
  const object = await store.get(key);
  if (object === undefined) return undefined;
  try {
    const json = JSON.parse(new TextDecoder().decode(object.body)) as HourSummary;
    if (json.schema !== SUMMARY_SCHEMA_VERSION || json.model !== model || json.folder !== prefix)
      return undefined;
    if (!Array.isArray(json.objects) || !Array.isArray(json.buckets)) return undefined;
    return json;
  } catch {
    // A damaged summary is rebuilt from the captures.
    return undefined;
  }
}

/** A summary stays valid while every object it folded is still there, unchanged, and its references are too. */
async function stillValid(
  summary: HourSummary,
  listed: { key: string; etag: string | null }[],
  referenceOf: (version: string) => Promise<LoadedReference>,
): Promise<boolean> {
  const now = new Map(listed.map((o) => [o.key, o.etag]));
  for (const object of summary.objects) {
    if (!now.has(object.key) || now.get(object.key) !== object.etag) return false;
  }
  for (const bucket of summary.buckets) {
    if ((await referenceOf(bucket.version)).fingerprint !== bucket.reference) return false;
  }
  return true;
}

function newEntry(
  version: string,
  hour: number,
  ref: LoadedReference,
): { acc: VersionAccumulator; bucket: Partial<HourBucket> } {
  const acc = new VersionAccumulator(version, ref.reference, emptyOutcomeIndex(), Number.POSITIVE_INFINITY);
  const prediction = ref.reference?.prediction ?? null;
  const withProbabilities = prediction?.kind === 'label' && prediction.probabilities !== null;
  const classes = acc.classNames.length;
  const bucket: Partial<HourBucket> = {
    version,
    hour,
    reference: ref.fingerprint,
    ids: [],
    ts: [],
    predicted: [],
    probabilities: withProbabilities ? [] : null,
  };
  acc.onPrediction = (id, ts, predicted, probabilities) => {
    bucket.ids?.push(id);
    bucket.ts?.push(ts);
    bucket.predicted?.push(Number.isFinite(predicted) ? predicted : null);
    if (bucket.probabilities) {
      for (let c = 0; c < classes; c++) {
        const p = probabilities ? numberOf(probabilities[c]) : Number.NaN;
        bucket.probabilities.push(Number.isFinite(p) ? p : null);
      }
    }
  };
  return { acc, bucket };
}

function toBucket(acc: VersionAccumulator, partial: Partial<HourBucket>): HourBucket {
  const features = acc.reference?.features ?? [];
  const prediction = acc.reference?.prediction ?? null;
  return {
    version: acc.version,
    hour: partial.hour ?? 0,
    reference: partial.reference ?? null,
    predictions: acc.predictions,
    nonTabular: acc.nonTabular,
    truncated: acc.truncated,
    withoutPrediction: acc.withoutPrediction,
    firstTs: Number.isFinite(acc.firstTs) ? acc.firstTs : null,
    lastTs: Number.isFinite(acc.lastTs) ? acc.lastTs : null,
    numeric: acc.numeric.map((column, f) => {
      const profile = features[f]?.profile;
      return column && profile?.kind === 'numeric' ? profileOf(column, profile) : null;
    }),
    categorical: acc.categorical.map((counts) => (counts ? countsDoc(counts) : null)),
    quality: acc.quality.map((q) => ({ ...q })),
    pcaErrorSum: acc.pcaErrorSum,
    pcaRows: acc.pcaRows,
    labels: acc.labels ? countsDoc(acc.labels) : null,
    scores: acc.scores && prediction?.kind === 'score' ? profileOf(acc.scores, prediction.profile) : null,
    ids: partial.ids ?? [],
    ts: partial.ts ?? [],
    predicted: partial.predicted ?? [],
    probabilities: partial.probabilities ?? null,
  };
}

function profileOf(column: FloatColumn, binning: NumericBinning): NumericProfile {
  return buildNumericProfile(column.toSortedSample(), { binning });
}

function countsDoc(counts: CategoryCounts): CountsDoc {
  return {
    categories: [...counts.counts.keys()],
    counts: [...counts.counts.values()],
    missing: counts.missing,
  };
}

function addCountsDoc(a: CountsDoc | null, b: CountsDoc | null): CountsDoc | null {
  if (a === null || b === null) return a ?? b;
  const merged = toCounts(a);
  addInto(merged, b);
  return countsDoc(merged);
}

function toCounts(doc: CountsDoc): CategoryCounts {
  const counts = new CategoryCounts();
  addInto(counts, doc);
  return counts;
}

function addInto(counts: CategoryCounts, doc: CountsDoc): void {
  doc.categories.forEach((name, i) => {
    counts.counts.set(name, (counts.counts.get(name) ?? 0) + (doc.counts[i] ?? 0));
  });
  counts.missing += doc.missing;
}

function mergeProfile(a: NumericProfile | null, b: NumericProfile | null): NumericProfile | null {
  if (a === null || b === null) return a ?? b;
  return mergeNumericProfiles(a, b);
}

function mergeAll(profiles: (NumericProfile | null)[]): NumericProfile | null {
  let level = profiles.filter((p): p is NumericProfile => p !== null);
  if (level.length === 0) return null;
  while (level.length > 1) {
    const next: NumericProfile[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const a = level[i] as NumericProfile;
      const b = level[i + 1];
      next.push(b === undefined ? a : mergeNumericProfiles(a, b));
    }
    level = next;
  }
  return level[0] ?? null;
}

function addBuckets(a: HourBucket, b: HourBucket): HourBucket {
  return {
    version: a.version,
    hour: a.hour,
    reference: a.reference,
    predictions: a.predictions + b.predictions,
    nonTabular: a.nonTabular + b.nonTabular,
    truncated: a.truncated + b.truncated,
    withoutPrediction: a.withoutPrediction + b.withoutPrediction,
    firstTs: minOf(a.firstTs, b.firstTs),
    lastTs: maxOf(a.lastTs, b.lastTs),
    numeric: a.numeric.map((p, f) => mergeProfile(p, b.numeric[f] ?? null)),
    categorical: a.categorical.map((c, f) => addCountsDoc(c, b.categorical[f] ?? null)),
    quality: a.quality.map((q, f) => addQuality(q, b.quality[f] ?? emptyQuality())),
    pcaErrorSum: a.pcaErrorSum + b.pcaErrorSum,
    pcaRows: a.pcaRows + b.pcaRows,
    labels: addCountsDoc(a.labels, b.labels),
    scores: mergeProfile(a.scores, b.scores),
    ids: [...a.ids, ...b.ids],
    ts: [...a.ts, ...b.ts],
    predicted: [...a.predicted, ...b.predicted],
    probabilities: a.probabilities && b.probabilities ? [...a.probabilities, ...b.probabilities] : null,
  };
}

function mergeBuckets(
  version: string,
  reference: ReferenceDocument | null,
  buckets: HourBucket[],
): WindowVersion {
  const features = reference?.features ?? [];
  const prediction = reference?.prediction ?? null;
  const out: WindowVersion = {
    version,
    reference,
    classNames: prediction?.kind === 'label' ? (prediction.labels ?? []) : [],
    predictions: 0,
    nonTabular: 0,
    truncated: 0,
    withoutPrediction: 0,
    firstTs: Number.POSITIVE_INFINITY,
    lastTs: Number.NEGATIVE_INFINITY,
    numeric: features.map(() => null),
    categorical: features.map((feature) =>
      feature.profile.kind === 'categorical' ? new CategoryCounts() : null,
    ),
    quality: features.map(() => emptyQuality()),
    pcaErrorSum: 0,
    pcaRows: 0,
    labels: prediction?.kind === 'label' ? new CategoryCounts() : null,
    scores: null,
    buckets,
  };
  for (const bucket of buckets) {
    out.predictions += bucket.predictions;
    out.nonTabular += bucket.nonTabular;
    out.truncated += bucket.truncated;
    out.withoutPrediction += bucket.withoutPrediction;
    if (bucket.firstTs !== null && bucket.firstTs < out.firstTs) out.firstTs = bucket.firstTs;
    if (bucket.lastTs !== null && bucket.lastTs > out.lastTs) out.lastTs = bucket.lastTs;
    out.categorical.forEach((counts, f) => {
      const doc = bucket.categorical[f];
      if (counts && doc) addInto(counts, doc);
    });
    if (out.labels && bucket.labels) addInto(out.labels, bucket.labels);
    out.quality = out.quality.map((q, f) => addQuality(q, bucket.quality?.[f] ?? emptyQuality()));
    out.pcaErrorSum += bucket.pcaErrorSum ?? 0;
    out.pcaRows += bucket.pcaRows ?? 0;
  }
  // Merged as a balanced tree, so each value goes through about log2(hours) sketch compressions.
  out.numeric = out.numeric.map((_, f) => mergeAll(buckets.map((bucket) => bucket.numeric[f] ?? null)));
  out.scores = mergeAll(buckets.map((bucket) => bucket.scores));
  // A numeric feature without any bucket still needs an (empty) profile of the right binning.
  out.numeric = out.numeric.map((p, f) => {
    const profile = features[f]?.profile;
    return p ?? (profile?.kind === 'numeric' ? buildNumericProfile([], { binning: profile }) : null);
  });
  if (prediction?.kind === 'score' && out.scores === null)
    out.scores = buildNumericProfile([], { binning: prediction.profile });
  return out;
}

function folderHourOf(prefix: string): number {
  const match = /\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\/$/.exec(prefix);
  if (match === null) throw new RangeError(`not an hourly capture folder: ${prefix}`);
  return Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), Number(match[4]));
}

function minOf(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

function maxOf(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}

/** A fingerprint of a reference document's bytes. */
export function fingerprintOf(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 32);
}
