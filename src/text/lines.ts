/** One line of text input; `tooLong` when it was dropped for exceeding the limit. */
export interface TextLine {
  /** 1-based line number. */
  line: number;
  text: string;
  tooLong?: true;
}

/** Longest JSON line accepted, in characters (an inference request with a large tensor fits). */
export const DEFAULT_MAX_LINE_CHARS = 16 * 1024 * 1024;

/**
 * Splits text arriving in chunks into lines (LF or CRLF). A line longer than `maxLineChars` is
 * not kept: it is reported as `tooLong` with empty text and skipped up to its end, so memory stays
 * bounded by the limit whatever the input.
 *
 * @example
 * ```ts
 * const lines = new LineSplitter();
 * lines.push('{"a":1}\n{"a"'); // [{ line: 1, text: '{"a":1}' }]
 * lines.push(':2}\n');         // [{ line: 2, text: '{"a":2}' }]
 * lines.end();                 // []
 * ```
 */
export class LineSplitter {
  readonly #maxLineChars: number;
  #carry = '';
  #line = 1;
  /** The current line passed the limit: its text is being skipped. */
  #skipping = false;

  /** `firstLine`: the line number of the text's first line (1; more for a piece of a larger file). */
  constructor(options: { maxLineChars?: number; firstLine?: number } = {}) {
    this.#maxLineChars = options.maxLineChars ?? DEFAULT_MAX_LINE_CHARS;
    this.#line = options.firstLine ?? 1;
  }

  push(text: string): TextLine[] {
    const lines: TextLine[] = [];
    let from = 0;
    let newline = text.indexOf('\n');
    while (newline !== -1) {
      if (this.#skipping) {
        lines.push({ line: this.#line, text: '', tooLong: true });
        this.#skipping = false;
      } else {
        const full = this.#carry === '' ? text.slice(from, newline) : this.#carry + text.slice(from, newline);
        this.#carry = '';
        if (full.length > this.#maxLineChars) lines.push({ line: this.#line, text: '', tooLong: true });
        else lines.push({ line: this.#line, text: full.endsWith('\r') ? full.slice(0, -1) : full });
      }
      this.#line += 1;
      from = newline + 1;
      newline = text.indexOf('\n', from);
    }
    if (!this.#skipping && from < text.length) {
      this.#carry += text.slice(from);
      if (this.#carry.length > this.#maxLineChars) {
        this.#carry = '';
        this.#skipping = true;
      }
    }
    return lines;
  }

  /** The last line, when the input does not end with a line break. */
  end(): TextLine[] {
    if (this.#skipping) {
      this.#skipping = false;
      return [{ line: this.#line, text: '', tooLong: true }];
    }
    if (this.#carry === '') return [];
    const text = this.#carry.endsWith('\r') ? this.#carry.slice(0, -1) : this.#carry;
    this.#carry = '';
    return [{ line: this.#line, text }];
  }
}
