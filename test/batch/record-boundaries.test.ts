/**
 * The record boundary scanner against the CSV reader itself: for any text, cutting it where the
 * scanner says and reading the header and each piece on its own (from the line the scanner gives)
 * yields exactly the records of reading the whole — with quotes, doubled quotes, stray quotes,
 * quoted line breaks, CRLF, blank lines and multi-byte characters, in chunks of any size.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { RecordBoundaryScanner } from '../../src/batch/record-boundaries.ts';
import { CsvParser, type CsvRecord } from '../../src/text/csv.ts';
import { LineSplitter } from '../../src/text/lines.ts';

function records(text: string, firstLine = 1): CsvRecord[] {
  const parser = new CsvParser({ firstLine });
  return [...parser.push(text), ...parser.end()];
}

function scan(bytes: Buffer, format: 'csv' | 'jsonl', target: number, chunk: number) {
  const scanner = new RecordBoundaryScanner(format, target);
  for (let at = 0; at < bytes.length; at += chunk) scanner.push(bytes.subarray(at, at + chunk));
  return scanner.end();
}

const csvText = fc
  .array(fc.constantFrom('a', 'b1', ',', '"', '""', '\n', '\r\n', '\r', 'é', '€', ' '), { maxLength: 300 })
  .map((parts) => `h1,"h\n2"\n${parts.join('')}`);

it('CSV: the header and every piece read on their own give the records of the whole', () => {
  fc.assert(
    fc.property(
      csvText,
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 64 }),
      (text, target, chunk) => {
        const bytes = Buffer.from(text);
        const { headerEnd, headerLines, cuts } = scan(bytes, 'csv', target, chunk);
        const starts = [{ offset: headerEnd, line: headerLines }, ...cuts];
        const whole = records(text);
        const header = records(bytes.subarray(0, headerEnd).toString());
        const pieces = starts.flatMap((start, i) =>
          records(bytes.subarray(start.offset, starts[i + 1]?.offset ?? bytes.length).toString(), start.line),
        );
        assert.deepEqual([...header.slice(0, 1), ...pieces], whole);
        for (const [i, cut] of cuts.entries()) assert.ok(cut.offset - (starts[i]?.offset ?? 0) >= target);
      },
    ),
    { numRuns: 400 },
  );
});

it('JSON lines: pieces start on their own lines, numbered as in the whole', () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom('{"a":1}', '{"b":"é"}', '', 'x', '\r'), { maxLength: 100 }),
      fc.integer({ min: 1, max: 30 }),
      fc.integer({ min: 1, max: 50 }),
      (lines, target, chunk) => {
        const text = lines.join('\n');
        const bytes = Buffer.from(text);
        const { headerEnd, cuts } = scan(bytes, 'jsonl', target, chunk);
        assert.equal(headerEnd, 0);
        const split = (piece: string, firstLine: number) => {
          const splitter = new LineSplitter({ firstLine });
          return [...splitter.push(piece), ...splitter.end()];
        };
        const starts = [{ offset: 0, line: 1 }, ...cuts];
        const pieces = starts.flatMap((start, i) =>
          split(bytes.subarray(start.offset, starts[i + 1]?.offset ?? bytes.length).toString(), start.line),
        );
        assert.deepEqual(pieces, split(text, 1));
      },
    ),
    { numRuns: 300 },
  );
});

it('a byte-order mark before a quoted header is not part of the header field', () => {
  const text = '\uFEFF"id",x\n1,"a\nb"\n2,c\n';
  const { headerEnd, cuts } = scan(Buffer.from(text), 'csv', 1, 4);
  assert.equal(headerEnd, Buffer.byteLength('\uFEFF"id",x\n'));
  assert.deepEqual(
    cuts.map((cut) => cut.line),
    [4],
  );
});
