/**
 * Scoring a large batch file in parallel ranges (docs/batch.md, "Large files"). The batch function
 * claims the file and starts a workflow (`BatchFanOut`); the workflow's steps call these:
 *
 * 1. `planFanOut`: resolves the model version once, checks the CSV header, and cuts the input into
 *    byte ranges at record boundaries, each starting on a known line (`RecordBoundaryScanner`);
 * 2. `scoreRange`, for every range in parallel: reads its bytes (and the CSV header), scores them
 *    with the same reader, scorer and writers as a whole-file run (so row numbers, ids, outputs,
 *    errors and capture sampling are those of a single run), and writes its parts and a result
 *    object to the run's work folder; a retried range overwrites its own parts;
 * 3. `assembleFanOut`: concatenates the parts in range order into the output, errors and capture
 *    objects (`StreamingObjectStore.compose`), writes the final summary and removes the parts;
 * 4. `failFanOut`, when any step failed for good: a failed summary, no output, parts removed.
 *
 * Every step first checks that the input still holds the content the run was started for: a newer
 * upload has its own run, which an older one never overwrites.
 */
import { BadRequestError, ServingError, StorageUnavailableError } from '../errors.ts';
import type { FanOutRunInput } from '../ports/batch-fan-out.ts';
import type { StreamingObjectStore } from '../ports/object-store.ts';
import { decodeText, newTextInputInfo } from '../text/text-input.ts';
import {
  type BatchJobDeps,
  DeadlineExceededError,
  ignoredColumnsWarnings,
  loadBatchModel,
  versionSelectorOf,
} from './batch-job.ts';
import {
  type BatchInputKey,
  batchCaptureKey,
  batchOutputKeys,
  batchRangeKeys,
  batchWorkFolder,
  parseBatchInputKey,
} from './keys.ts';
import { RecordBoundaryScanner } from './record-boundaries.ts';
import { captureContext, JSONL, RowWriters, readerCapture, scoreRows } from './row-writers.ts';
import { formatOfKey, type InputFormat, type RowReaderReport, readRows } from './rows.ts';
import { BatchScorer } from './scorer.ts';
import { type BatchSummary, parseSummary, type VersionSource } from './summary.ts';

export interface FanOutSettings {
  /** Bytes of input per range (the last may be shorter, any may be longer by a record). */
  rangeBytes: number;
  /** Most ranges of one file: larger files get larger ranges (the map's items must fit 256 KiB). */
  maxRanges: number;
  /** Bytes per ranged GET of the planning scan (default 8 MiB). */
  scanBlockBytes?: number;
}

/** Default bytes per range: a few minutes of scoring for a tabular model, far from the timeout. */
export const DEFAULT_RANGE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_RANGES = 1000;

/** The file a run scores, as every step after the plan receives it. */
export interface FanOutFile extends FanOutRunInput {
  format: InputFormat;
  /** CSV: the bytes `[0, header_end)` hold the header record. */
  header_end: number;
  version: number;
  version_from: VersionSource;
  ranges_total: number;
}

/** One range: bytes `[s, e)` of the input, starting on line `l`. Kept short: a map item each. */
export interface FanOutRange {
  i: number;
  s: number;
  e: number;
  l: number;
}

export interface FanOutPlan {
  file: FanOutFile;
  ranges: FanOutRange[];
}

/** What a range left in the work folder for the assembly. */
export interface RangeResult {
  index: number;
  counts: { total: number; ok: number; failed: number; captured: number };
  output: number;
  errors: number;
  captures: number;
}

/** A step's answer when the input holds newer content than the run's: it did nothing. */
export interface Superseded {
  superseded: true;
}

/** A step that failed for good with a failed summary written (the workflow must not retry it). */
export class BatchFileFailedError extends Error {
  override readonly name = 'BatchFileFailed';
}

type Deps = Pick<BatchJobDeps, 'store' | 'repository' | 'loader' | 'service' | 'settings' | 'clock' | 'log'>;

function inputOf(key: string): BatchInputKey {
  const input = parseBatchInputKey(key);
  if (input === undefined) throw new BadRequestError(`not a batch input file: ${key}`);
  return input;
}

/** True when the input now holds content other than `etag` (a deleted input counts as not). */
async function isSuperseded(store: StreamingObjectStore, key: string, etag: string): Promise<boolean> {
  const now = await store.head(key);
  return now?.etag !== undefined && now.etag !== etag;
}

const TORN_READ_ATTEMPTS = 5;

/** The run's summary, when it is still the one this run owns (running, same ETag and run id). */
async function ownSummary(store: StreamingObjectStore, input: BatchInputKey, run: FanOutRunInput) {
  let summary: BatchSummary | undefined;
  // Ranges rewrite the summary concurrently; S3 replaces an object atomically, but some
  // S3-compatible stores (s3rver) can serve a write half done: such a read is tried again.
  for (let attempt = 1; ; attempt++) {
    try {
      const stored = await store.get(batchOutputKeys(input).summary);
      summary = stored === undefined ? undefined : parseSummary(stored.body);
      if (stored === undefined || summary !== undefined || attempt >= TORN_READ_ATTEMPTS) break;
    } catch (error) {
      // A body cut short by a concurrent rewrite surfaces as a store failure.
      if (!(error instanceof StorageUnavailableError) || attempt >= TORN_READ_ATTEMPTS) throw error;
    }
    await new Promise((done) => setTimeout(done, 50 * attempt));
  }
  if (
    summary === undefined ||
    summary.status !== 'running' ||
    summary.input.etag !== run.etag ||
    summary.fan_out?.run !== run.run
  ) {
    return undefined;
  }
  return summary;
}

async function putSummary(store: StreamingObjectStore, input: BatchInputKey, summary: BatchSummary) {
  await store.put(batchOutputKeys(input).summary, `${JSON.stringify(summary, null, 2)}\n`, {
    contentType: 'application/json',
  });
}

async function readAll(
  store: StreamingObjectStore,
  key: string,
  start: number,
  end: number,
): Promise<string> {
  const object = await store.getStream(key, { range: { start, end } });
  if (object === undefined) throw new BadRequestError(`the input ${key} no longer exists`);
  let text = '';
  for await (const chunk of decodeText(object.body)) text += chunk;
  return text;
}

/**
 * Plans a fanned-out run: resolves the model version, checks a CSV header against the model, and
 * cuts the input into ranges. A file problem (unknown model, bad header) ends the run with a failed
 * summary and `BatchFileFailedError`.
 */
export async function planFanOut(
  run: FanOutRunInput,
  deps: Deps,
  settings: FanOutSettings,
): Promise<FanOutPlan | Superseded> {
  const input = inputOf(run.key);
  return failingFile(run, deps, async () => {
    const { store } = deps;
    const info = await store.head(run.key);
    if (info === undefined) throw new BadRequestError(`the input ${run.key} no longer exists`);
    if (info.etag !== undefined && info.etag !== run.etag) return { superseded: true };
    const { selector, from } = versionSelectorOf(input, info.metadata);
    const { model, schema, notTabular } = await loadBatchModel(deps, input, { selector, from });

    const rangeBytes = Math.max(
      run.range_bytes ? Math.min(settings.rangeBytes, run.range_bytes) : settings.rangeBytes,
      Math.ceil(info.size / settings.maxRanges),
    );
    let format = formatOfKey(run.key);
    let scanner: RecordBoundaryScanner | undefined;
    for await (const chunk of readAhead(
      store,
      run.key,
      info.size,
      settings.scanBlockBytes ?? SCAN_BLOCK_BYTES,
    )) {
      if (scanner === undefined) {
        format ??= sniffFormat(chunk);
        scanner = new RecordBoundaryScanner(format, rangeBytes);
      }
      scanner.push(chunk);
    }
    const boundaries = (scanner ?? new RecordBoundaryScanner(format ?? 'csv', rangeBytes)).end();
    const found: InputFormat = format ?? 'csv';
    const report: RowReaderReport = { ignoredColumns: [] };
    if (found === 'csv') {
      // Reading the header alone checks it against the model, as a whole-file run would.
      const header = await readAll(store, run.key, 0, boundaries.headerEnd);
      for await (const _ of readRows(
        textOf(header),
        { key: run.key, schema, notTabular, piece: { format: found, firstLine: 1 } },
        report,
      )) {
        // A header and no rows.
      }
    }
    const starts = [{ offset: boundaries.headerEnd, line: boundaries.headerLines }, ...boundaries.cuts];
    const ranges = starts
      .map((start, i) => ({
        i,
        s: start.offset,
        e: starts[i + 1]?.offset ?? boundaries.bytes,
        l: start.line,
      }))
      .filter((range) => range.e > range.s || range.i === 0);
    const file: FanOutFile = {
      ...run,
      format: found,
      header_end: boundaries.headerEnd,
      version: model.version,
      version_from: from,
      ranges_total: ranges.length,
    };
    const summary = await ownSummary(store, input, run);
    if (summary !== undefined) {
      summary.version = String(model.version);
      summary.version_from = from;
      summary.input = { ...summary.input, size: info.size, format: found, compression: 'none' };
      summary.fan_out = {
        run: run.run,
        execution: summary.fan_out?.execution ?? null,
        ranges: { total: ranges.length, done: 0 },
      };
      summary.warnings = ignoredColumnsWarnings(report.ignoredColumns);
      summary.updated_at = new Date((deps.clock ?? Date.now)()).toISOString();
      await putSummary(store, input, summary);
    }
    return { file, ranges };
  });
}

/** Bytes the planning scan fetches per ranged GET, and how many GETs it keeps in flight. */
const SCAN_BLOCK_BYTES = 8 * 1024 * 1024;
const SCAN_CONCURRENCY = 8;

/**
 * Reads an object in order with several ranged GETs in flight: one S3 stream reads about
 * 100 MB/s, which would make the planning scan of a 100 GB file outlast one invocation.
 */
async function* readAhead(
  store: StreamingObjectStore,
  key: string,
  size: number,
  blockBytes: number,
): AsyncGenerator<Uint8Array> {
  const fetchBlock = async (start: number): Promise<Uint8Array> => {
    const end = Math.min(size, start + blockBytes);
    const object = await store.getStream(key, { range: { start, end } });
    if (object === undefined) throw new BadRequestError(`the input ${key} no longer exists`);
    const chunks: Uint8Array[] = [];
    for await (const chunk of object.body) chunks.push(chunk);
    return Buffer.concat(chunks);
  };
  const pending: Promise<Uint8Array>[] = [];
  let next = 0;
  const fill = () => {
    while (pending.length < SCAN_CONCURRENCY && next < size) {
      const block = fetchBlock(next);
      block.catch(() => {});
      pending.push(block);
      next += blockBytes;
    }
  };
  fill();
  while (pending.length > 0) {
    const block = await (pending.shift() as Promise<Uint8Array>);
    fill();
    yield block;
  }
}

async function* textOf(text: string): AsyncGenerator<string> {
  yield text;
}

function sniffFormat(chunk: Uint8Array): InputFormat {
  for (const byte of chunk) {
    if (
      byte === 0x20 ||
      byte === 0x09 ||
      byte === 0x0a ||
      byte === 0x0d ||
      byte === 0xef ||
      byte === 0xbb ||
      byte === 0xbf
    )
      continue;
    return byte === 0x7b ? 'jsonl' : 'csv';
  }
  return 'csv';
}

/**
 * Scores one range into its parts in the run's work folder and records its result. Idempotent: a
 * retry rewrites the same parts, each appearing only when complete.
 */
export async function scoreRange(
  file: FanOutFile,
  range: FanOutRange,
  deps: Deps,
  options: { deadline?: number } = {},
): Promise<RangeResult | Superseded> {
  // A range that cannot finish in time fails the same way on every attempt: the file fails now.
  return failingFile(file, deps, () => scoreRangeParts(file, range, deps, options.deadline));
}

async function scoreRangeParts(
  file: FanOutFile,
  range: FanOutRange,
  deps: Deps,
  deadline: number | undefined,
): Promise<RangeResult | Superseded> {
  const input = inputOf(file.key);
  const { store, settings } = deps;
  const clock = deps.clock ?? Date.now;
  if (await isSuperseded(store, file.key, file.etag)) return { superseded: true };
  const { model, schema, notTabular, sampleRate } = await loadBatchModel(deps, input, {
    selector: { kind: 'number', version: file.version },
    from: file.version_from,
  });
  const info = await store.head(file.key);
  const written = info?.lastModified ?? new Date(clock());
  const capture = captureContext(file.key, file.etag, sampleRate, written, schema);
  const keys = batchRangeKeys(batchWorkFolder(input, file.run), range.i);
  const header = file.format === 'csv' ? await readAll(store, file.key, 0, file.header_end) : undefined;
  const object = await store.getStream(file.key, { range: { start: range.s, end: range.e } });
  if (object === undefined) throw new BadRequestError(`the input ${file.key} no longer exists`);
  const writers = new RowWriters({
    store,
    inputKey: file.key,
    model,
    schema,
    capture,
    keys: { output: keys.output, errors: keys.errors, captures: () => keys.captures },
    maxCapturedElements: settings.maxCapturedElements,
  });
  try {
    const rows = readRows(decodeText(object.body, newTextInputInfo()), {
      key: file.key,
      schema,
      notTabular,
      maxRecordChars: settings.maxRecordChars,
      maxLineChars: settings.maxLineChars,
      capture: readerCapture(capture),
      piece: { format: file.format, firstLine: range.l, header },
    });
    await scoreRows(rows, {
      scorer: new BatchScorer({ model, service: deps.service, schema }),
      batchSize: settings.batchSize,
      write: (results) => writers.write(results, new Date(clock())),
      beforeBatch: () => {
        if (deadline !== undefined && clock() > deadline) {
          throw new DeadlineExceededError(
            `range ${range.i} ran out of time after ${writers.counts.total} rows; lower BATCH_RANGE_MB`,
          );
        }
      },
    });
    if (await isSuperseded(store, file.key, file.etag)) {
      await writers.abort();
      return { superseded: true };
    }
    const done = await writers.complete();
    const result: RangeResult = {
      index: range.i,
      counts: { ...writers.counts },
      output: done.output.bytes,
      errors: done.errors?.bytes ?? 0,
      captures: done.captures?.bytes ?? 0,
    };
    // Parts a failed attempt of this range left behind are not this attempt's.
    if (done.errors === undefined) await store.delete(keys.errors);
    if (done.captures === undefined) await store.delete(keys.captures);
    await store.put(keys.result, JSON.stringify(result), { contentType: 'application/json' });
    try {
      await recordProgress(file, input, deps);
    } catch (error) {
      // Progress is for watching; the range is done and the assembly counts it.
      deps.log?.warn('could not record batch progress', { key: file.key, range: range.i, error });
    }
    return result;
  } catch (error) {
    await writers.abort();
    throw error;
  } finally {
    object.close();
  }
}

/** Rewrites the running summary with the ranges done so far (listing the results written). */
async function recordProgress(file: FanOutFile, input: BatchInputKey, deps: Deps): Promise<void> {
  const { store } = deps;
  const results = await rangeResults(store, input, file.run);
  const summary = await ownSummary(store, input, file);
  if (summary === undefined || (await isSuperseded(store, file.key, file.etag))) return;
  const counts = { total: 0, ok: 0, failed: 0 };
  for (const result of results) {
    counts.total += result.counts.total;
    counts.ok += result.counts.ok;
    counts.failed += result.counts.failed;
  }
  summary.counts = counts;
  summary.fan_out = {
    run: file.run,
    execution: summary.fan_out?.execution ?? null,
    ranges: { total: file.ranges_total, done: results.length },
  };
  finishTimes(summary, (deps.clock ?? Date.now)(), false);
  await putSummary(store, input, summary);
  deps.log?.info('batch progress', { key: file.key, ranges: summary.fan_out.ranges, ...counts });
}

function finishTimes(summary: BatchSummary, now: number, final: boolean): void {
  const duration = now - Date.parse(summary.started_at);
  summary.updated_at = new Date(now).toISOString();
  summary.finished_at = final ? summary.updated_at : null;
  summary.duration_ms = duration;
  summary.rows_per_second = duration > 0 ? Math.round((summary.counts.total / duration) * 1000) : 0;
}

async function rangeResults(
  store: StreamingObjectStore,
  input: BatchInputKey,
  run: string,
): Promise<RangeResult[]> {
  const folder = batchWorkFolder(input, run);
  const listing = await store.list(folder);
  const keys = listing.objects.map((object) => object.key).filter((key) => key.endsWith('.result.json'));
  const results = await Promise.all(
    keys.map(async (key) => {
      const stored = await store.get(key);
      return stored === undefined
        ? undefined
        : (JSON.parse(new TextDecoder().decode(stored.body)) as RangeResult);
    }),
  );
  return results.filter((result) => result !== undefined).sort((a, b) => a.index - b.index);
}

async function removeWork(store: StreamingObjectStore, input: BatchInputKey, run: string): Promise<void> {
  const listing = await store.list(batchWorkFolder(input, run));
  for (const object of listing.objects) await store.delete(object.key);
}

/**
 * Assembles the output of a fanned-out run from its ranges' parts, in input order, writes the
 * final summary and removes the parts. Nothing is written when the input was replaced meanwhile.
 */
export async function assembleFanOut(file: FanOutFile, deps: Deps): Promise<BatchSummary | Superseded> {
  const input = inputOf(file.key);
  const { store } = deps;
  if (await isSuperseded(store, file.key, file.etag)) {
    await removeWork(store, input, file.run);
    return { superseded: true };
  }
  const results = await rangeResults(store, input, file.run);
  const missing = Array.from({ length: file.ranges_total }, (_, i) => i).filter(
    (i) => results[i]?.index !== i,
  );
  if (missing.length > 0 || results.length !== file.ranges_total) {
    throw new Error(
      `ranges ${missing.slice(0, 10).join(', ')} of ${file.key} have no result; the run cannot be assembled`,
    );
  }
  const summary = await ownSummary(store, input, file);
  if (summary === undefined) return { superseded: true };
  const folder = batchWorkFolder(input, file.run);
  const parts = results.map((result) => ({ result, keys: batchRangeKeys(folder, result.index) }));
  const outputKeys = batchOutputKeys(input);
  const info = await store.head(file.key);
  const captureKey = batchCaptureKey(
    input.model,
    file.key,
    file.etag,
    info?.lastModified ?? new Date(summary.started_at),
  );

  const output = await store.compose(
    outputKeys.output,
    parts.map(({ result, keys }) => ({ key: keys.output, size: result.output })),
    { contentType: JSONL },
  );
  const withErrors = parts.filter(({ result }) => result.errors > 0);
  const errors =
    withErrors.length === 0
      ? undefined
      : await store.compose(
          outputKeys.errors,
          withErrors.map(({ result, keys }) => ({ key: keys.errors, size: result.errors })),
          { contentType: JSONL },
        );
  if (errors === undefined) await store.delete(outputKeys.errors);
  const withCaptures = parts.filter(({ result }) => result.captures > 0);
  if (withCaptures.length > 0) {
    await store.compose(
      captureKey,
      withCaptures.map(({ result, keys }) => ({ key: keys.captures, size: result.captures })),
      { contentType: JSONL },
    );
  }
  const counts = { total: 0, ok: 0, failed: 0, captured: 0 };
  for (const { result } of parts) {
    counts.total += result.counts.total;
    counts.ok += result.counts.ok;
    counts.failed += result.counts.failed;
    counts.captured += result.counts.captured;
  }
  summary.status = counts.failed === 0 ? 'succeeded' : 'partial';
  summary.counts = { total: counts.total, ok: counts.ok, failed: counts.failed };
  summary.output = { key: outputKeys.output, etag: output.etag ?? null, bytes: output.bytes };
  summary.errors =
    errors === undefined ? null : { key: outputKeys.errors, etag: errors.etag ?? null, count: counts.failed };
  summary.captures = withCaptures.length === 0 ? null : { key: captureKey, count: counts.captured };
  summary.fan_out = {
    run: file.run,
    execution: summary.fan_out?.execution ?? null,
    ranges: { total: file.ranges_total, done: file.ranges_total },
  };
  finishTimes(summary, (deps.clock ?? Date.now)(), true);
  if (await isSuperseded(store, file.key, file.etag)) {
    await removeWork(store, input, file.run);
    return { superseded: true };
  }
  await putSummary(store, input, summary);
  await removeWork(store, input, file.run);
  return summary;
}

/**
 * Records a fanned-out run that failed for good (a step failed after its retries): a failed
 * summary, no output, the parts removed. Leaves everything alone when the summary is no longer
 * this run's (a newer upload, or a step that already recorded the failure).
 */
export async function failFanOut(
  run: FanOutRunInput,
  error: { kind: string; message: string; retryable: boolean },
  deps: Deps,
): Promise<BatchSummary | undefined> {
  const input = inputOf(run.key);
  const { store } = deps;
  await removeWork(store, input, run.run);
  const summary = await ownSummary(store, input, run);
  if (summary === undefined || (await isSuperseded(store, run.key, run.etag))) return undefined;
  const keys = batchOutputKeys(input);
  await store.delete(keys.output);
  await store.delete(keys.errors);
  summary.status = 'failed';
  summary.output = null;
  summary.errors = null;
  summary.captures = null;
  summary.error = error;
  finishTimes(summary, (deps.clock ?? Date.now)(), true);
  await putSummary(store, input, summary);
  return summary;
}

/** Runs a planning step; a file problem becomes a failed summary and `BatchFileFailedError`. */
async function failingFile<T>(run: FanOutRunInput, deps: Deps, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!(error instanceof ServingError) || error.status === 503) throw error;
    await failFanOut(run, { kind: error.kind, message: error.message, retryable: false }, deps);
    throw new BatchFileFailedError(error.message, { cause: error });
  }
}
