/**
 * Reads outcome files: what the outcomes endpoint writes, and what users drop under
 * `outcomes/{model}/…` themselves — JSON lines (`{"id", "value", "ts"?}`) or CSV with a header
 * naming `id`, `value` and optionally `ts`, gzip allowed. Streamed with bounded memory; a bad line
 * is counted (with a few samples for the report) and skipped, never thrown, so one bad line never
 * stops a drift check. The drift check is the reader's user.
 */

import { BadRequestError } from '../errors.ts';
import type { StreamingObjectStore } from '../ports/object-store.ts';
import { CsvParser } from '../text/csv.ts';
import { LineSplitter } from '../text/lines.ts';
import { decodeText } from '../text/text-input.ts';
import {
  type Checked,
  checkOutcomeId,
  checkOutcomeTs,
  checkOutcomeValue,
  type OutcomeValue,
} from './outcome.ts';

export const OUTCOME_FILE_FORMATS = ['jsonl', 'csv'] as const;
export type OutcomeFileFormat = (typeof OUTCOME_FILE_FORMATS)[number];

/** Longest JSON line or CSV record of an outcome file, in characters. */
export const MAX_OUTCOME_LINE_CHARS = 64 * 1024;
/** Bad lines described in a report (the count covers them all). */
export const DEFAULT_MAX_ERROR_SAMPLES = 10;

/** One outcome read from a file. */
export interface ReadOutcome {
  id: string;
  value: OutcomeValue;
  /** When it was observed, ISO 8601 UTC: the line's `ts`, else `defaultTs`, else undefined. */
  ts: string | undefined;
  /** When the endpoint received it (present in files the endpoint wrote). */
  received_at?: string;
  /** 1-based line of the file where it is. */
  line: number;
}

/** What reading one file found, filled in as it is read. */
export interface OutcomeReadReport {
  format?: OutcomeFileFormat;
  /** Outcomes returned. */
  outcomes: number;
  /** Lines or records skipped as invalid (blank lines are not counted). */
  errors: number;
  /** The first few invalid lines, with the reason. */
  samples: { line: number; reason: string }[];
  /** Set when the file as a whole could not be read (not UTF-8, broken gzip, CSV without the columns). */
  fatal?: string;
}

export interface ReadOutcomesOptions {
  /** The format; by default the key's extension, else the first character (`{` is JSON lines). */
  format?: OutcomeFileFormat;
  /** Used as `ts` for outcomes that have none (e.g. the object's upload time). */
  defaultTs?: string;
  /** For the "not in the future" check of `ts` (default: now). */
  now?: Date;
  maxErrorSamples?: number;
}

export function newOutcomeReadReport(): OutcomeReadReport {
  return { outcomes: 0, errors: 0, samples: [] };
}

/**
 * The format an outcome file's key names (`.jsonl`, `.ndjson`, `.json`, `.csv`, each optionally
 * `.gz`), if any.
 */
export function outcomeFormatOfKey(key: string): OutcomeFileFormat | undefined {
  const name = key.toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.csv')) return 'csv';
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson') || name.endsWith('.json')) return 'jsonl';
  return undefined;
}

/**
 * Streams the outcomes of one object of the store: gzip is recognised by its content, the format
 * by the key's extension (else by the first character), and outcomes without `ts` get the
 * object's upload time. `undefined` when the object does not exist. Store failures are thrown
 * (`StorageUnavailableError`); everything wrong with the content goes to `report`.
 *
 * @example
 * ```ts
 * const report = newOutcomeReadReport();
 * for await (const outcome of (await readOutcomeObject(store, key, report)) ?? []) join(outcome);
 * if (report.errors > 0) log.warn('bad outcome lines', { key, ...report });
 * ```
 */
export async function readOutcomeObject(
  store: StreamingObjectStore,
  key: string,
  report: OutcomeReadReport = newOutcomeReadReport(),
  options: Omit<ReadOutcomesOptions, 'defaultTs'> = {},
): Promise<AsyncGenerator<ReadOutcome> | undefined> {
  const object = await store.getStream(key);
  if (object === undefined) return undefined;
  return readOutcomes(decodeText(object.body), report, {
    ...options,
    format: options.format ?? outcomeFormatOfKey(key),
    defaultTs: object.lastModified?.toISOString(),
  });
}

/**
 * Streams the outcomes of a text (chunks of any size). JSON lines: one object per line with `id`,
 * `value` and optionally `ts` and `received_at`; other fields are ignored. CSV: a header naming
 * `id` and `value` (and optionally `ts`; other columns are ignored); a value reads as a boolean
 * (`true`/`false`), a number when it is one, else as the text.
 *
 * @example
 * ```ts
 * const report = newOutcomeReadReport();
 * for await (const outcome of readOutcomes(chunks, report, { format: 'csv' })) seen.set(outcome.id, outcome);
 * // report: { format: 'csv', outcomes: 41, errors: 1, samples: [{ line: 7, reason: 'value: must not be empty' }] }
 * ```
 */
export async function* readOutcomes(
  text: AsyncIterable<string>,
  report: OutcomeReadReport = newOutcomeReadReport(),
  options: ReadOutcomesOptions = {},
): AsyncGenerator<ReadOutcome> {
  const context: Context = {
    report,
    defaultTs: options.defaultTs,
    now: options.now ?? new Date(),
    maxSamples: options.maxErrorSamples ?? DEFAULT_MAX_ERROR_SAMPLES,
  };
  try {
    const chunks = text[Symbol.asyncIterator]();
    const first = await firstChunk(chunks);
    if (first === undefined) return;
    report.format = options.format ?? (first.trimStart().startsWith('{') ? 'jsonl' : 'csv');
    const rest = prepend(first, chunks);
    if (report.format === 'jsonl') yield* readJsonLines(rest, context);
    else yield* readCsv(rest, context);
  } catch (error) {
    // Content that cannot be read at all; the store's own failures are for the caller to retry.
    if (!(error instanceof BadRequestError)) throw error;
    report.fatal = error.message;
  }
}

interface Context {
  report: OutcomeReadReport;
  defaultTs: string | undefined;
  now: Date;
  maxSamples: number;
}

async function* readJsonLines(text: AsyncIterable<string>, context: Context): AsyncGenerator<ReadOutcome> {
  const splitter = new LineSplitter({ maxLineChars: MAX_OUTCOME_LINE_CHARS });
  const handle = function* (lines: ReturnType<LineSplitter['push']>) {
    for (const { line, text: content, tooLong } of lines) {
      if (tooLong) {
        fail(context, line, `line longer than ${MAX_OUTCOME_LINE_CHARS} characters`);
        continue;
      }
      if (content.trim() === '') continue;
      const outcome = outcomeOfJson(content, line, context);
      if (outcome !== undefined) yield outcome;
    }
  };
  for await (const chunk of text) yield* handle(splitter.push(chunk));
  yield* handle(splitter.end());
}

function outcomeOfJson(content: string, line: number, context: Context): ReadOutcome | undefined {
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch {
    return fail(context, line, 'not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(context, line, 'expected a JSON object {"id", "value", "ts"?}');
  }
  const fields = value as Record<string, unknown>;
  return build(context, line, fields.id, fields.value, fields.ts, fields.received_at);
}

async function* readCsv(text: AsyncIterable<string>, context: Context): AsyncGenerator<ReadOutcome> {
  const parser = new CsvParser({ maxRecordChars: MAX_OUTCOME_LINE_CHARS });
  let columns: { id: number; value: number; ts: number } | undefined;
  const handle = function* (records: ReturnType<CsvParser['push']>) {
    for (const record of records) {
      if (columns === undefined) {
        columns = headerColumns(record.fields);
        continue;
      }
      if (record.error !== undefined) {
        fail(context, record.line, record.error);
        continue;
      }
      const cell = (index: number) => (index < 0 ? undefined : record.fields[index]);
      const ts = cell(columns.ts);
      const outcome = build(
        context,
        record.line,
        cell(columns.id),
        csvValue(cell(columns.value)),
        ts === undefined || ts.trim() === '' ? undefined : ts.trim(),
        undefined,
      );
      if (outcome !== undefined) yield outcome;
    }
  };
  for await (const chunk of text) yield* handle(parser.push(chunk));
  yield* handle(parser.end());
}

function headerColumns(header: string[]): { id: number; value: number; ts: number } {
  const names = header.map((name) => name.trim().toLowerCase());
  const id = names.indexOf('id');
  const value = names.indexOf('value');
  if (id < 0 || value < 0) {
    throw new BadRequestError(
      `CSV header must name the columns id and value (and optionally ts); found ${header.slice(0, 10).join(', ')}`,
    );
  }
  return { id, value, ts: names.indexOf('ts') };
}

/** A CSV cell as an outcome value: booleans and numbers by their spelling, otherwise the text. */
function csvValue(cell: string | undefined): unknown {
  if (cell === undefined) return undefined;
  const text = cell.trim();
  if (text === '') return '';
  const lower = text.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return Number(text);
  return text;
}

function build(
  context: Context,
  line: number,
  rawId: unknown,
  rawValue: unknown,
  rawTs: unknown,
  rawReceived: unknown,
): ReadOutcome | undefined {
  const id = check(checkOutcomeId(rawId), 'id');
  if (!id.ok) return fail(context, line, id.reason);
  const value = check(checkOutcomeValue(rawValue), 'value');
  if (!value.ok) return fail(context, line, value.reason);
  let ts = context.defaultTs;
  if (rawTs !== undefined && rawTs !== null) {
    const checked = check(checkOutcomeTs(rawTs, context.now), 'ts');
    if (!checked.ok) return fail(context, line, checked.reason);
    ts = checked.value;
  }
  const received = typeof rawReceived === 'string' ? checkOutcomeTs(rawReceived, context.now) : undefined;
  context.report.outcomes += 1;
  return {
    id: id.value,
    value: value.value,
    ts,
    ...(received?.ok ? { received_at: received.value } : {}),
    line,
  };
}

function check<T>(checked: Checked<T>, field: string): Checked<T> {
  return checked.ok ? checked : { ok: false, reason: `${field} ${checked.reason}` };
}

function fail(context: Context, line: number, reason: string): undefined {
  context.report.errors += 1;
  if (context.report.samples.length < context.maxSamples) context.report.samples.push({ line, reason });
  return undefined;
}

/** Chunks up to the first one with something other than whitespace, joined; undefined if none. */
async function firstChunk(chunks: AsyncIterator<string>): Promise<string | undefined> {
  let text = '';
  while (true) {
    const next = await chunks.next();
    if (next.done) return text.trim() === '' ? undefined : text;
    text += next.value;
    if (text.trim() !== '') return text;
  }
}

async function* prepend(first: string, rest: AsyncIterator<string>): AsyncGenerator<string> {
  try {
    yield first;
    while (true) {
      const next = await rest.next();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // Stopping early must release the source (an S3 body's connection).
    await rest.return?.();
  }
}
