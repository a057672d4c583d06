/**
 * Finding where records start in a batch input without parsing it, so that a large file can be cut
 * into byte ranges that each hold whole records (the fan-out path, `fan-out.ts`).
 *
 * Works on bytes: every character that matters (`"`, `,`, LF) is ASCII, and in UTF-8 an ASCII byte
 * is always that character, so cuts never split a character. CSV follows `CsvParser`'s reading
 * exactly: a quote opens a quoted field only at the start of a field, `""` inside one is a quote,
 * and line breaks inside quoted fields do not end the record.
 */
import type { InputFormat } from './rows.ts';

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
/** A quote was seen inside a quoted field: it closes the field unless another quote follows. */
const QUOTE_SEEN = 3;

/** A cut: a record starts at byte `offset`, on line `line` (1-based, every line break counted). */
export interface RecordCut {
  offset: number;
  line: number;
}

export interface RecordBoundaries {
  /** CSV: the byte just after the header record (0 for JSON lines, and for CSV without a header). */
  headerEnd: number;
  /** Line number of the first line after the header (1 for JSON lines). */
  headerLines: number;
  /** Cuts past the header, in order, each at least `targetBytes` after the previous one. */
  cuts: RecordCut[];
  /** Bytes scanned: the size of the input. */
  bytes: number;
}

/**
 * Scans an input chunk by chunk and proposes a cut at the first record boundary at or after every
 * `targetBytes` (measured from the previous cut, or from the end of the header).
 *
 * @example
 * ```ts
 * const scanner = new RecordBoundaryScanner('csv', 64 * 1024 * 1024);
 * for await (const chunk of object.body) scanner.push(chunk);
 * const { headerEnd, cuts } = scanner.end();
 * ```
 */
export class RecordBoundaryScanner {
  readonly #format: InputFormat;
  readonly #targetBytes: number;
  #offset = 0;
  #newlines = 0;
  #state = FIELD_START;
  #recordStart = 0;
  #previous = -1;
  #headerEnd = -1;
  #headerLines = 1;
  #nextCut = 0;
  readonly #cuts: RecordCut[] = [];

  constructor(format: InputFormat, targetBytes: number) {
    if (!(targetBytes >= 1)) throw new RangeError(`targetBytes must be at least 1, got ${targetBytes}`);
    this.#format = format;
    this.#targetBytes = targetBytes;
    if (format === 'jsonl') this.#header(0);
  }

  push(chunk: Uint8Array): void {
    let from = 0;
    if (this.#offset === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) {
      from = 3;
      this.#recordStart = 3;
    }
    const quoteFree =
      this.#format === 'jsonl' ||
      (this.#headerEnd >= 0 &&
        this.#state !== QUOTED &&
        this.#state !== QUOTE_SEEN &&
        chunk.indexOf(QUOTE, from) === -1);
    if (quoteFree) this.#scanLines(chunk, from);
    else this.#scanCsv(chunk, from);
    this.#offset += chunk.byteLength;
  }

  end(): RecordBoundaries {
    if (this.#headerEnd < 0) this.#header(this.#offset);
    return {
      headerEnd: this.#headerEnd,
      headerLines: this.#headerLines,
      cuts: this.#cuts.filter((cut) => cut.offset < this.#offset),
      bytes: this.#offset,
    };
  }

  /** Every line break ends a record (JSON lines; CSV outside quotes). */
  #scanLines(chunk: Uint8Array, from: number): void {
    for (let index = chunk.indexOf(LF, from); index !== -1; index = chunk.indexOf(LF, index + 1)) {
      this.#newlines += 1;
      this.#boundary(this.#offset + index + 1);
    }
    if (this.#format === 'csv' && chunk.byteLength > from) {
      const last = chunk[chunk.byteLength - 1];
      this.#state = last === LF || last === COMMA ? FIELD_START : UNQUOTED;
    }
    if (chunk.byteLength > 0) this.#previous = chunk[chunk.byteLength - 1] ?? -1;
  }

  /**
   * CSV with quotes: jumps from one character that matters to the next (`indexOf`, native) rather
   * than looking at every byte. Line breaks are counted only up to each cut, and in bulk.
   */
  #scanCsv(chunk: Uint8Array, from: number): void {
    const length = chunk.byteLength;
    let state = this.#state;
    let counted = from;
    let nextLf = -1;
    let nextQuote = -1;
    const quoteFrom = (position: number): number => {
      if (nextQuote < position) {
        nextQuote = chunk.indexOf(QUOTE, position);
        if (nextQuote === -1) nextQuote = length;
      }
      return nextQuote;
    };
    let at = from;
    const countTo = (end: number) => {
      for (
        let index = chunk.indexOf(LF, counted);
        index !== -1 && index < end;
        index = chunk.indexOf(LF, index + 1)
      ) {
        this.#newlines += 1;
      }
      counted = end;
    };
    while (at < length) {
      if (state === QUOTED) {
        const quote = quoteFrom(at);
        if (quote >= length) break;
        state = QUOTE_SEEN;
        at = quote + 1;
        continue;
      }
      if (state === QUOTE_SEEN) {
        if (chunk[at] === QUOTE) {
          state = QUOTED;
          at += 1;
          continue;
        }
        state = chunk[at] === COMMA ? FIELD_START : UNQUOTED;
        if (state === FIELD_START) at += 1;
        if (at >= length) break;
      }
      // Outside quotes only a quote at the start of a field matters (it opens a quoted field); the
      // commas between here and it are all separators, so the byte before it tells.
      if (nextLf < at) nextLf = chunk.indexOf(LF, at);
      if (nextLf === -1) nextLf = length;
      const quote = quoteFrom(at);
      if (quote < nextLf) {
        const opens = quote === at ? state === FIELD_START : chunk[quote - 1] === COMMA;
        state = opens ? QUOTED : UNQUOTED;
        at = quote + 1;
        continue;
      }
      if (nextLf >= length) {
        const last = chunk[length - 1];
        if (length > at) state = last === COMMA ? FIELD_START : UNQUOTED;
        break;
      }
      // A record ends at `nextLf`.
      const end = this.#offset + nextLf + 1;
      const previous = nextLf > 0 ? chunk[nextLf - 1] : this.#previous;
      const blank = end - 1 === this.#recordStart || (end - 2 === this.#recordStart && previous === CR);
      state = FIELD_START;
      at = nextLf + 1;
      countTo(at);
      if (this.#headerEnd < 0) {
        if (!blank) this.#header(end);
      } else {
        this.#boundary(end);
      }
      this.#recordStart = end;
    }
    countTo(length);
    this.#state = state;
    if (length > 0) this.#previous = chunk[length - 1] ?? -1;
  }

  #header(end: number): void {
    this.#headerEnd = end;
    this.#headerLines = this.#newlines + 1;
    this.#nextCut = end + this.#targetBytes;
  }

  #boundary(offset: number): void {
    if (offset < this.#nextCut || this.#headerEnd < 0) return;
    this.#cuts.push({ offset, line: this.#newlines + 1 });
    this.#nextCut = offset + this.#targetBytes;
  }
}
