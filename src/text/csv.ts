import { BadRequestError } from '../errors.ts';

/** One CSV record: its fields, the line it starts on, and what is wrong with it, if anything. */
export interface CsvRecord {
  /** 1-based line of the input where the record starts. */
  line: number;
  fields: string[];
  /**
   * With `lines: true`, a record holding no quote comes as its line instead (without the line
   * break), and `fields` is empty: `text.split(',')` gives them. Callers that read most lines
   * straight from the text skip building thousands of field strings.
   */
  text?: string;
  /** Set when the record is malformed (its fields are then best effort). */
  error?: string;
}

/** Longest record accepted, in characters; beyond it the input is refused. */
export const DEFAULT_MAX_RECORD_CHARS = 1024 * 1024;

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

const SEARCHED = { comma: ',', newline: '\n', quote: '"' } as const;

/** Positions of the next separator and newline at or after some index, searched once each. */
interface Cursor {
  comma: number;
  newline: number;
  quote: number;
}

type Parsed = { record: CsvRecord | undefined; end: number; newlines: number } | undefined;

/**
 * An incremental RFC 4180 CSV parser: feed it text in chunks of any size (`push`), then `end()`.
 * Fields are separated by commas and records by LF or CRLF; a field in double quotes may hold
 * commas, line breaks and doubled quotes (`""` for `"`). Deviations are tolerated where the
 * intent is plain and flagged where it is not:
 * - a quote inside an unquoted field is kept as a character;
 * - characters after a closing quote, or a quoted field left open at the end of the input, mark
 *   the record with an `error` (its fields are then best effort);
 * - empty lines are skipped (they still count for line numbers).
 *
 * Memory holds one unfinished record at most; a record longer than `maxRecordChars` (typically
 * an unterminated quote swallowing the file) stops the parse with a `BadRequestError`.
 *
 * @example
 * ```ts
 * const parser = new CsvParser();
 * parser.push('id,text\n1,"a, ""quoted""');
 * parser.push(' value"\n');
 * // → [{ line: 1, fields: ['id', 'text'] }, { line: 2, fields: ['1', 'a, "quoted" value'] }]
 * parser.end(); // []
 * ```
 */
export class CsvParser {
  readonly #maxRecordChars: number;
  readonly #lines: boolean;
  #carry = '';
  #line = 1;
  #ended = false;

  /** `firstLine`: the line number of the text's first line (1; more for a piece of a larger file). */
  constructor(options: { maxRecordChars?: number; firstLine?: number; lines?: boolean } = {}) {
    this.#maxRecordChars = options.maxRecordChars ?? DEFAULT_MAX_RECORD_CHARS;
    this.#lines = options.lines ?? false;
    this.#line = options.firstLine ?? 1;
  }

  /** The records completed by `text`. */
  push(text: string): CsvRecord[] {
    if (this.#ended) throw new Error('CsvParser: push after end');
    return this.#parse(this.#carry + text, false);
  }

  /** The last record, when the input does not end with a line break. */
  end(): CsvRecord[] {
    if (this.#ended) return [];
    this.#ended = true;
    return this.#parse(this.#carry, true);
  }

  #parse(buffer: string, final: boolean): CsvRecord[] {
    const records: CsvRecord[] = [];
    const cursor: Cursor = { comma: -1, newline: -1, quote: -1 };
    let position = 0;
    let line = this.#line;
    while (position < buffer.length) {
      const parsed = parseRecord(buffer, position, final, cursor, line, this.#lines);
      if (parsed === undefined) break;
      if (parsed.record !== undefined) records.push(parsed.record);
      line += parsed.newlines;
      position = parsed.end;
    }
    this.#carry = buffer.slice(position);
    this.#line = line;
    if (this.#carry.length > this.#maxRecordChars) {
      throw new BadRequestError(
        `line ${line}: a record longer than ${this.#maxRecordChars} characters (an unterminated quoted field?)`,
      );
    }
    return records;
  }
}

/**
 * Parses the record starting at `start`; `undefined` when it is not complete in `buffer` yet.
 * `newlines` counts every line break the record spans, its terminator included.
 */
function parseRecord(
  buffer: string,
  start: number,
  final: boolean,
  cursor: Cursor,
  line: number,
  lines: boolean,
): Parsed {
  const length = buffer.length;
  let fields: string[] = [];
  let error: string | undefined;
  let newlines = 0;
  let firstQuoted = false;
  let at = start;

  const next = (kind: keyof Cursor, from: number): number => {
    if (cursor[kind] < from) {
      const found = buffer.indexOf(SEARCHED[kind], from);
      // Remembering "none before the end" keeps a file without commas from being rescanned.
      cursor[kind] = found === -1 ? length : found;
    }
    return cursor[kind];
  };
  const finish = (end: number, terminated: boolean): Parsed => {
    if (terminated) newlines += 1;
    const blank = fields.length === 1 && fields[0] === '' && !firstQuoted;
    return { record: blank ? undefined : { line, fields, ...(error ? { error } : {}) }, end, newlines };
  };

  // A record without any quote (the common case) is a plain split of its line.
  const lineEnd = next('newline', at);
  if (lineEnd >= length && !final) return undefined;
  if (next('quote', at) > lineEnd) {
    if (lines) {
      const end = lineEnd >= length ? length : lineEnd + 1;
      const cut = lineEnd > at && buffer.charCodeAt(lineEnd - 1) === CR ? lineEnd - 1 : lineEnd;
      const text = buffer.slice(at, cut);
      return {
        record: text === '' ? undefined : { line, fields: [], text },
        end,
        newlines: end > lineEnd ? 1 : 0,
      };
    }
    fields = buffer.slice(at, lineEnd).split(',');
    const last = fields.length - 1;
    const tail = fields[last] as string;
    if (tail.charCodeAt(tail.length - 1) === CR) fields[last] = tail.slice(0, -1);
    return lineEnd >= length ? finish(length, false) : finish(lineEnd + 1, true);
  }

  while (true) {
    if (buffer.charCodeAt(at) === QUOTE) {
      if (fields.length === 0) firstQuoted = true;
      let value = '';
      let segment = at + 1;
      let close = -1;
      while (true) {
        const quote = buffer.indexOf('"', segment);
        if (quote === -1) break;
        if (quote + 1 >= length && !final) return undefined; // a doubled quote may be split
        if (buffer.charCodeAt(quote + 1) === QUOTE) {
          value += buffer.slice(segment, quote + 1);
          segment = quote + 2;
          continue;
        }
        value += buffer.slice(segment, quote);
        close = quote;
        break;
      }
      if (close === -1) {
        if (!final) return undefined;
        fields.push(value + buffer.slice(segment));
        newlines += countNewlines(buffer, at, length);
        error ??= `field ${fields.length}: quoted field is not closed before the end of the input`;
        return finish(length, false);
      }
      newlines += countNewlines(buffer, at, close);
      let after = close + 1;
      if (after >= length) {
        if (!final) return undefined;
        fields.push(value);
        return finish(length, false);
      }
      let code = buffer.charCodeAt(after);
      if (code === CR && buffer.charCodeAt(after + 1) === LF) {
        fields.push(value);
        return finish(after + 2, true);
      }
      if (code === CR && after + 1 >= length) {
        if (!final) return undefined;
        fields.push(value);
        return finish(length, false);
      }
      if (code !== COMMA && code !== LF) {
        // `"ab"c`: keep the stray characters with the field, but flag the record.
        error ??= `field ${fields.length + 1}: unexpected character after the closing quote`;
        const newline = next('newline', after);
        if (newline >= length && !final) return undefined;
        const comma = next('comma', after);
        const stop = Math.min(comma, newline);
        value += stripCr(buffer, after, stop, stop === newline);
        after = stop;
        code = after < length ? buffer.charCodeAt(after) : LF;
      }
      fields.push(value);
      if (code === COMMA) {
        at = after + 1;
        continue;
      }
      return after >= length ? finish(length, false) : finish(after + 1, true);
    }

    const newline = next('newline', at);
    if (newline >= length && !final) return undefined;
    const comma = next('comma', at);
    if (comma < newline) {
      fields.push(buffer.slice(at, comma));
      at = comma + 1;
      continue;
    }
    fields.push(stripCr(buffer, at, newline, true));
    return newline >= length ? finish(length, false) : finish(newline + 1, true);
  }
}

/** `buffer[from, to)`, without a CR right before a line end (CRLF files). */
function stripCr(buffer: string, from: number, to: number, atLineEnd: boolean): string {
  const end = atLineEnd && to > from && buffer.charCodeAt(to - 1) === CR ? to - 1 : to;
  return buffer.slice(from, end);
}

function countNewlines(buffer: string, from: number, to: number): number {
  let count = 0;
  for (
    let index = buffer.indexOf('\n', from);
    index !== -1 && index < to;
    index = buffer.indexOf('\n', index + 1)
  ) {
    count += 1;
  }
  return count;
}
