import { type FeatureKeys, type FeatureValue, featureInputsJson } from '../capture/record.ts';
import { describeValue, listNames, quote } from '../codec/describe.ts';
import { parseJsonBody } from '../codec/parse-request.ts';
import { BadRequestError, ServingError } from '../errors.ts';
import { CsvParser } from '../text/csv.ts';
import { type DecimalRead, readDecimal, readDecimalField } from '../text/decimal.ts';
import { LineSplitter } from '../text/lines.ts';
import { NOT_UTF8 } from '../text/text-input.ts';
import type { Datatype } from '../types.ts';
import {
  featureFromCsvText,
  featureFromJson,
  RowError,
  type TabularSchema,
  type TextReading,
  textReading,
} from './tabular.ts';

export const INPUT_FORMATS = ['csv', 'jsonl'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** The column (CSV) or field (JSON row object) holding a row's id. */
export const ID_FIELD = 'id';

/**
 * One input row, ready to score. `id` is the row's own id, or its line number when it has none.
 * - `features`: values of the model's features, in `feature_names` order (tabular fast path);
 * - `request`: an Open Inference Protocol request object, scored as the HTTP API would;
 * - `invalid`: a row that cannot be scored, with the reason.
 */
export type BatchRow =
  | {
      line: number;
      id: string;
      kind: 'features';
      values: FeatureValue[];
      /** The inputs of the row's capture record as JSON, when the reader was asked for them. */
      inputsJson?: string;
    }
  | { line: number; id: string; kind: 'request'; body: Record<string, unknown> }
  | { line: number; id: string; kind: 'invalid'; error: string };

export interface RowReaderOptions {
  /** The input's key: its extension names the format (`.csv`, `.jsonl`, `.ndjson`, `.json`, `+ .gz`). */
  key: string;
  /** How named features map to the model input; absent when the model is not tabular. */
  schema?: TabularSchema;
  /** Why the model is not tabular, for rows that need it to be. */
  notTabular?: string;
  maxRecordChars?: number;
  maxLineChars?: number;
  /**
   * CSV rows that will be captured get the JSON of their capture inputs (`inputsJson`) as they are
   * read: most CSV numbers are written as JSON writes them, so their text is copied instead of
   * formatting the parsed number again.
   */
  capture?: { features: FeatureKeys; isCaptured(line: number): boolean };
  /**
   * Reading a piece of a larger file (one range of a fanned-out run): its format as found for the
   * whole file, the line number its text starts on, and for CSV the file's header record (its text,
   * line break included), read before the piece.
   */
  piece?: { format: InputFormat; firstLine: number; header?: string };
}

/** What the reader found out about the input, filled in as it reads. */
export interface RowReaderReport {
  format?: InputFormat;
  /** CSV columns that are neither a feature nor `id`. */
  ignoredColumns: string[];
}

/**
 * The format an input key names by its extension (ignoring a final `.gz`), if any.
 *
 * @example
 * ```ts
 * formatOfKey('batch/input/iris/a.csv.gz'); // 'csv'
 * formatOfKey('batch/input/iris/a.txt');    // undefined
 * ```
 */
export function formatOfKey(key: string): InputFormat | undefined {
  const name = key.toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.csv')) return 'csv';
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson') || name.endsWith('.json')) return 'jsonl';
  return undefined;
}

/**
 * Reads the rows of a text input, CSV or JSON lines (by extension, else by its first character:
 * `{` means JSON lines). Rows come out in input order; a row that cannot be used comes out as
 * `invalid` with a message naming the field and what is wrong, so one bad row never stops the
 * file.
 *
 * @throws BadRequestError when the whole input is unusable: a CSV header that lacks features of
 *   the model or repeats a column, CSV for a model that is not tabular, a runaway record.
 * @example
 * ```ts
 * const report: RowReaderReport = { ignoredColumns: [] };
 * for await (const row of readRows(decodeText(object.body), { key, schema }, report)) batch.push(row);
 * ```
 */
export async function* readRows(
  text: AsyncIterable<string>,
  options: RowReaderOptions,
  report: RowReaderReport = { ignoredColumns: [] },
): AsyncGenerator<BatchRow> {
  const iterator = text[Symbol.asyncIterator]();
  let first = await iterator.next();
  // Skip leading chunks of pure whitespace when sniffing; they are kept for the parser.
  const pending: string[] = [];
  const known = options.piece?.format ?? formatOfKey(options.key);
  while (!first.done && known === undefined && first.value.trim() === '') {
    pending.push(first.value);
    first = await iterator.next();
  }
  if (!first.done) pending.push(first.value);
  const format = known ?? (pending.join('').trimStart().startsWith('{') ? 'jsonl' : 'csv');
  report.format = format;

  async function* chunks(): AsyncGenerator<string> {
    yield* pending;
    if (first.done) return;
    while (true) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  try {
    yield* format === 'csv' ? csvRows(chunks(), options, report) : jsonRows(chunks(), options);
  } finally {
    await iterator.return?.();
  }
}

async function* csvRows(
  text: AsyncIterable<string>,
  options: RowReaderOptions,
  report: RowReaderReport,
): AsyncGenerator<BatchRow> {
  const { piece } = options;
  let columns: CsvColumns | undefined;
  if (piece?.header !== undefined) {
    const header = new CsvParser({ maxRecordChars: options.maxRecordChars });
    const [record] = [...header.push(piece.header), ...header.end()];
    columns = csvColumns(record?.fields ?? [], record?.error, options, report);
  }
  // Lines without quotes come whole: most rows are read straight from their text.
  const parser = new CsvParser({
    maxRecordChars: options.maxRecordChars,
    firstLine: piece?.firstLine,
    lines: true,
  });
  // Until a chunk holds a replaced byte, no field can: rows skip the per-field check.
  let notUtf8Seen = false;
  const rowsOf = function* (records: ReturnType<CsvParser['push']>): Generator<BatchRow> {
    for (const record of records) {
      if (columns === undefined) {
        columns = csvColumns(record.text?.split(',') ?? record.fields, record.error, options, report);
        continue;
      }
      yield (record.text !== undefined && !notUtf8Seen && numericLine(record.line, record.text, columns)) ||
        csvRow(
          record.text === undefined ? record : { line: record.line, fields: record.text.split(',') },
          columns,
          notUtf8Seen,
        );
    }
  };
  for await (const chunk of text) {
    notUtf8Seen ||= chunk.includes(NOT_UTF8);
    yield* rowsOf(parser.push(chunk));
  }
  yield* rowsOf(parser.end());
}

interface CsvColumns {
  /** Number of fields per record, as in the header. */
  width: number;
  /** Column index of each feature, in feature order. */
  featureColumns: number[];
  /** Per column, the feature it holds, or -1. */
  columnFeatures: Int32Array;
  idColumn: number;
  schema: TabularSchema;
  /** Per feature, how its text is read. */
  readings: TextReading[];
  /** Scratch space of `readDecimal`, reused for every value. */
  read: DecimalRead;
  /** Scratch space, reused for every row: per feature, its text when that is its value's JSON, else `''`. */
  json: string[];
  capture: RowReaderOptions['capture'];
}

function csvColumns(
  header: string[],
  error: string | undefined,
  options: RowReaderOptions,
  report: RowReaderReport,
): CsvColumns {
  const { schema } = options;
  if (schema === undefined) {
    throw new BadRequestError(
      `CSV input needs a tabular model: ${options.notTabular ?? 'the model is not tabular'}`,
    );
  }
  if (error !== undefined) throw new BadRequestError(`CSV header (line 1): ${error}`);
  if (header.some((name) => name.includes(NOT_UTF8))) {
    throw new BadRequestError('CSV header (line 1): not UTF-8 text');
  }
  const names = header.map((name) => name.trim());
  const index = new Map<string, number>();
  names.forEach((name, column) => {
    if (index.has(name))
      throw new BadRequestError(`CSV header: column ${quote(name)} appears more than once`);
    index.set(name, column);
  });
  const missing = schema.featureNames.filter((feature) => !index.has(feature));
  if (missing.length > 0) {
    throw new BadRequestError(
      `CSV header lacks ${missing.length === 1 ? 'feature' : 'features'} ${listNames(missing)} of the model; it needs ${listNames(
        schema.featureNames,
      )} (any order) and optionally '${ID_FIELD}'`,
    );
  }
  const known = new Set([...schema.featureNames, ID_FIELD]);
  report.ignoredColumns = names.filter((name) => !known.has(name));
  return {
    width: names.length,
    featureColumns: schema.featureNames.map((feature) => index.get(feature) ?? -1),
    columnFeatures: Int32Array.from(names, (name) => schema.featureNames.indexOf(name)),
    idColumn: index.get(ID_FIELD) ?? -1,
    schema,
    readings: schema.datatypes.map(textReading),
    read: { value: 0, canonical: false },
    json: new Array<string>(schema.featureNames.length).fill(''),
    capture: options.capture,
  };
}

/**
 * The row of a quote-free line whose features are all plain decimals (`readDecimal`), read
 * straight from the line's text; `undefined` for anything else — a value that is not a plain
 * decimal, a field count other than the header's — which `csvRow` then reads field by field,
 * with the same result.
 */
function numericLine(line: number, text: string, columns: CsvColumns): BatchRow | undefined {
  const { columnFeatures, readings, read, idColumn, width, capture, json } = columns;
  const captured = capture?.isCaptured(line) === true;
  const values = new Array<FeatureValue>(columns.featureColumns.length);
  const length = text.length;
  let id: string | undefined;
  let column = 0;
  let start = 0;
  for (;;) {
    if (column >= width) return undefined;
    const feature = columnFeatures[column] as number;
    const reading = feature >= 0 ? readings[feature] : undefined;
    if (reading === 'other') return undefined;
    let end: number;
    if (reading !== undefined && !captured) {
      // One pass over the number's characters; anything unusual goes the general way.
      end = readDecimalField(text, start, length, read);
      if (end < 0) return undefined;
    } else {
      const comma = text.indexOf(',', start);
      end = comma === -1 ? length : comma;
      if (reading !== undefined) {
        // A captured row: its capture copies each value's text when that is the value's JSON.
        if (!readDecimal(text, read, start, end)) return undefined;
        json[feature] = read.canonical ? text.slice(start, end) : '';
      } else if (column === idColumn) {
        id = text.slice(start, end).trim();
      }
    }
    if (reading !== undefined) {
      if (reading === 'integer' && !Number.isInteger(read.value)) return undefined;
      values[feature] = read.value;
    }
    column += 1;
    if (end >= length) break;
    start = end + 1;
  }
  if (column !== width) return undefined;
  const rowId = id ? id : String(line);
  if (!captured || capture === undefined) return { line, id: rowId, kind: 'features', values };
  return {
    line,
    id: rowId,
    kind: 'features',
    values,
    inputsJson: featureInputsJson(capture.features, values, 0, json),
  };
}

/** The error of a row holding bytes that are not UTF-8 (or a literal U+FFFD, which means the same). */
const NOT_UTF8_LINE = 'not UTF-8 text: the line holds invalid bytes';

function csvRow(
  record: { line: number; fields: string[]; error?: string },
  columns: CsvColumns,
  mayHoldNotUtf8: boolean,
): BatchRow {
  const { line, fields } = record;
  const ownId = columns.idColumn >= 0 ? fields[columns.idColumn]?.trim() : undefined;
  const id = ownId ? ownId : String(line);
  if (record.error !== undefined) return { line, id, kind: 'invalid', error: record.error };
  if (mayHoldNotUtf8 && fields.some((field) => field.includes(NOT_UTF8)))
    return { line, id, kind: 'invalid', error: NOT_UTF8_LINE };
  if (fields.length !== columns.width) {
    return {
      line,
      id,
      kind: 'invalid',
      error: `expected ${columns.width} fields as in the header, got ${fields.length}`,
    };
  }
  const { schema, featureColumns, readings, read, json, capture } = columns;
  const { featureNames, datatypes } = schema;
  const values = new Array<FeatureValue>(featureNames.length);
  try {
    for (let feature = 0; feature < featureNames.length; feature++) {
      const text = fields[featureColumns[feature] ?? -1] ?? '';
      values[feature] = featureFromCsvText(
        text,
        datatypes[feature] as Datatype,
        readings[feature] as TextReading,
        featureNames[feature] ?? '',
        read,
      );
      json[feature] = read.canonical ? text : '';
    }
  } catch (error) {
    if (error instanceof RowError) return { line, id, kind: 'invalid', error: error.message };
    throw error;
  }
  if (capture === undefined || !capture.isCaptured(line)) return { line, id, kind: 'features', values };
  // Written now, while the texts are at hand: a row keeps one string rather than hundreds of pieces.
  const inputsJson = featureInputsJson(capture.features, values, 0, json);
  return { line, id, kind: 'features', values, inputsJson };
}

async function* jsonRows(text: AsyncIterable<string>, options: RowReaderOptions): AsyncGenerator<BatchRow> {
  const splitter = new LineSplitter({
    maxLineChars: options.maxLineChars,
    firstLine: options.piece?.firstLine,
  });
  const limit = options.maxLineChars;
  const rowsOf = function* (lines: ReturnType<LineSplitter['push']>): Generator<BatchRow> {
    for (const { line, text: lineText, tooLong } of lines) {
      if (tooLong) {
        yield {
          line,
          id: String(line),
          kind: 'invalid',
          error: `line is longer than ${limit ?? 'the limit of'} characters`,
        };
        continue;
      }
      if (lineText.trim() === '') continue;
      yield jsonRow(line, lineText, options);
    }
  };
  for await (const chunk of text) yield* rowsOf(splitter.push(chunk));
  yield* rowsOf(splitter.end());
}

function jsonRow(line: number, text: string, options: RowReaderOptions): BatchRow {
  const fallbackId = String(line);
  if (text.includes(NOT_UTF8)) return { line, id: fallbackId, kind: 'invalid', error: NOT_UTF8_LINE };
  let value: unknown;
  try {
    value = parseJsonBody(text);
  } catch (error) {
    if (error instanceof ServingError) return { line, id: fallbackId, kind: 'invalid', error: error.message };
    throw error;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      line,
      id: fallbackId,
      kind: 'invalid',
      error: `expected a JSON object, got ${describeValue(value)}`,
    };
  }
  const object = value as Record<string, unknown>;
  const ownId = Object.hasOwn(object, ID_FIELD) ? object[ID_FIELD] : undefined;
  if (Object.hasOwn(object, 'inputs')) {
    // An inference request: its id is echoed, and a request without one gets its line number.
    if (ownId === undefined || ownId === null) {
      return { line, id: fallbackId, kind: 'request', body: { ...object, [ID_FIELD]: fallbackId } };
    }
    return { line, id: typeof ownId === 'string' ? ownId : fallbackId, kind: 'request', body: object };
  }

  let id = fallbackId;
  if (typeof ownId === 'string' && ownId !== '') id = ownId;
  else if (typeof ownId === 'number' && Number.isFinite(ownId)) id = String(ownId);
  else if (ownId !== undefined && ownId !== null && ownId !== '') {
    return {
      line,
      id,
      kind: 'invalid',
      error: `id: expected a string or a number, got ${describeValue(ownId)}`,
    };
  }
  const { schema } = options;
  if (schema === undefined) {
    return {
      line,
      id,
      kind: 'invalid',
      error: `a row of named features needs a tabular model: ${options.notTabular ?? 'the model is not tabular'}; or send an inference request object with "inputs"`,
    };
  }
  const values = new Array<FeatureValue>(schema.featureNames.length);
  try {
    schema.featureNames.forEach((feature, index) => {
      const given = Object.hasOwn(object, feature) ? object[feature] : undefined;
      values[index] = featureFromJson(given, schema.datatypes[index] as Datatype, feature);
    });
  } catch (error) {
    if (error instanceof RowError) return { line, id, kind: 'invalid', error: error.message };
    throw error;
  }
  return { line, id, kind: 'features', values };
}
