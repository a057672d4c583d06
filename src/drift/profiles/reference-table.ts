/**
 * Reading a reference dataset (the training rows) given to `model publish --reference`: CSV with a
 * header line, or JSON lines of row objects.
 */
import { CsvParser } from '../../text/csv.ts';
import { LineSplitter } from '../../text/lines.ts';

/** A cell as read: text for CSV, any JSON value for JSON lines; absent cells are `undefined`. */
export type RawValue = string | number | boolean | null | undefined | object;

export interface ReferenceTable {
  format: 'csv' | 'jsonl';
  /** Column names: the CSV header, or every key seen in the JSON rows (first-seen order). */
  columns: string[];
  /** Rows, each a lookup by column name. */
  rows: ReadonlyMap<string, RawValue>[];
}

/** A reference file that cannot be used; the message says which line and why. */
export class ReferenceInputError extends Error {
  override readonly name = 'ReferenceInputError';
}

/**
 * Parses a reference file. The format comes from the name (`.csv`, `.jsonl`, `.ndjson`, `.json`),
 * else from the first character (`{` is JSON lines).
 *
 * @throws ReferenceInputError for an empty file, a malformed line, or a CSV row with the wrong
 * number of fields.
 * @example
 * ```ts
 * const table = parseReferenceTable('a,b\n1,x\n', 'train.csv');
 * table.rows[0]?.get('b'); // 'x'
 * ```
 */
export function parseReferenceTable(text: string, fileName: string): ReferenceTable {
  const lower = fileName.toLowerCase();
  const format = lower.endsWith('.csv')
    ? 'csv'
    : /\.(jsonl|ndjson|json)$/.test(lower) || text.trimStart().startsWith('{')
      ? 'jsonl'
      : 'csv';
  const table = format === 'csv' ? parseCsv(text, fileName) : parseJsonLines(text, fileName);
  if (table.rows.length === 0) throw new ReferenceInputError(`${fileName}: no data rows`);
  return table;
}

function parseCsv(text: string, fileName: string): ReferenceTable {
  const parser = new CsvParser();
  const records = [...parser.push(text), ...parser.end()];
  const [header, ...body] = records;
  if (header === undefined) throw new ReferenceInputError(`${fileName}: empty file`);
  if (header.error) throw new ReferenceInputError(`${fileName} line ${header.line}: ${header.error}`);
  const columns = header.fields.map((field) => field.trim());
  const seen = new Set<string>();
  for (const column of columns) {
    if (column === '') throw new ReferenceInputError(`${fileName} line 1: a column has no name`);
    if (seen.has(column))
      throw new ReferenceInputError(`${fileName} line 1: column '${column}' appears twice`);
    seen.add(column);
  }
  const rows = body.map((record) => {
    if (record.error) throw new ReferenceInputError(`${fileName} line ${record.line}: ${record.error}`);
    if (record.fields.length !== columns.length) {
      throw new ReferenceInputError(
        `${fileName} line ${record.line}: ${record.fields.length} fields, but the header has ${columns.length}`,
      );
    }
    return new Map<string, RawValue>(columns.map((column, i) => [column, record.fields[i]]));
  });
  return { format: 'csv', columns, rows };
}

function parseJsonLines(text: string, fileName: string): ReferenceTable {
  const splitter = new LineSplitter();
  const lines = [...splitter.push(text), ...splitter.end()];
  const columns: string[] = [];
  const known = new Set<string>();
  const rows: Map<string, RawValue>[] = [];
  for (const { line, text: content, tooLong } of lines) {
    if (tooLong) throw new ReferenceInputError(`${fileName} line ${line}: line too long`);
    if (content.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(content);
    } catch (error) {
      throw new ReferenceInputError(`${fileName} line ${line}: not JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ReferenceInputError(`${fileName} line ${line}: expected a JSON object of column → value`);
    }
    const row = new Map<string, RawValue>(Object.entries(value as Record<string, RawValue>));
    for (const key of row.keys()) {
      if (!known.has(key)) {
        known.add(key);
        columns.push(key);
      }
    }
    rows.push(row);
  }
  return { format: 'jsonl', columns, rows };
}

/**
 * A cell as a number: finite numbers, or CSV text that is one; everything else (empty text,
 * `null`, words, booleans) is NaN, i.e. missing for a numeric profile.
 */
export function numericCell(value: RawValue): number {
  if (typeof value === 'number') return Number.isFinite(value) ? value : Number.NaN;
  if (typeof value === 'string' && value.trim() !== '') {
    const number = Number(value);
    return Number.isFinite(number) ? number : Number.NaN;
  }
  return Number.NaN;
}

/** A cell as a category: text as is (empty CSV text is missing), numbers and booleans as text. */
export function categoryCell(value: RawValue): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value === '' ? null : value;
  if (typeof value === 'number') return Number.isNaN(value) ? null : String(value);
  if (typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * Whether a column reads as numeric: every present value is a number (JSON) or numeric text (CSV).
 * A column with no values at all is numeric.
 */
export function isNumericColumn(table: ReferenceTable, column: string): boolean {
  for (const row of table.rows) {
    const value = row.get(column);
    if (value === null || value === undefined || value === '') continue;
    if (typeof value === 'number') continue;
    if (typeof value === 'string' && Number.isFinite(Number(value)) && value.trim() !== '') continue;
    return false;
  }
  return true;
}
