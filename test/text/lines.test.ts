import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineSplitter, type TextLine } from '../../src/text/lines.ts';

function split(chunks: readonly string[], maxLineChars?: number): TextLine[] {
  const splitter = new LineSplitter({ maxLineChars });
  return [...chunks.flatMap((chunk) => splitter.push(chunk)), ...splitter.end()];
}

describe('LineSplitter', () => {
  it('splits LF and CRLF lines across chunk boundaries, numbering every line', () => {
    const text = 'one\r\ntwo\n\nthree';

    for (let at = 0; at <= text.length; at++) {
      assert.deepEqual(split([text.slice(0, at), text.slice(at)]), [
        { line: 1, text: 'one' },
        { line: 2, text: 'two' },
        { line: 3, text: '' },
        { line: 4, text: 'three' },
      ]);
    }
  });

  it('drops a line over the limit without holding it, and goes on with the next one', () => {
    const long = 'x'.repeat(50);

    const lines = split(['ok\n', long.slice(0, 20), long.slice(20), '\nafter\n', long], 30);

    assert.deepEqual(lines, [
      { line: 1, text: 'ok' },
      { line: 2, text: '', tooLong: true },
      { line: 3, text: 'after' },
      { line: 4, text: '', tooLong: true },
    ]);
  });
});
