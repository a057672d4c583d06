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

  #scanCsv(chunk: Uint8Array, from: number): void {
    let state = this.#state;
    for (let index = from; index < chunk.byteLength; index++) {
      const byte = chunk[index];
      if (byte === LF) this.#newlines += 1;
      if (state === QUOTED) {
        if (byte === QUOTE) state = QUOTE_SEEN;
      } else if (state === QUOTE_SEEN && byte === QUOTE) {
        state = QUOTED;
      } else if (byte === COMMA) {
        state = FIELD_START;
      } else if (byte === LF) {
        state = FIELD_START;
        const end = this.#offset + index + 1;
        const blank =
          end - 1 === this.#recordStart || (end - 2 === this.#recordStart && this.#previous === CR);
        if (this.#headerEnd < 0) {
          if (!blank) this.#header(end);
        } else {
          this.#boundary(end);
        }
        this.#recordStart = end;
      } else if (state === FIELD_START && byte === QUOTE) {
        state = QUOTED;
      } else {
        state = UNQUOTED;
      }
      this.#previous = byte ?? -1;
    }
    this.#state = state;
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
