import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BadRequestError } from '../../src/errors.ts';
import { CsvParser, type CsvRecord } from '../../src/text/csv.ts';
import { csvField } from '../batch/helpers.ts';

/** Parses `chunks` fed one by one, then ends. */
function parse(
  chunks: readonly string[],
  options?: { maxRecordChars?: number; lines?: boolean },
): CsvRecord[] {
  const parser = new CsvParser(options);
  return [...chunks.flatMap((chunk) => parser.push(chunk)), ...parser.end()];
}

/** Every way to cut `text` in two, plus one character at a time. */
function splits(text: string): string[][] {
  const ways = [[text], [...text]];
  for (let at = 1; at < text.length; at++) ways.push([text.slice(0, at), text.slice(at)]);
  return ways;
}

describe('CsvParser', () => {
  it('reads RFC 4180: quoted commas, line breaks and doubled quotes, LF and CRLF, whatever the chunking', () => {
    const text = 'id,text,n\r\n1,"a, ""b""",2\n2,"two\r\nlines",\n3,,"x"\n';
    const expected: CsvRecord[] = [
      { line: 1, fields: ['id', 'text', 'n'] },
      { line: 2, fields: ['1', 'a, "b"', '2'] },
      { line: 3, fields: ['2', 'two\r\nlines', ''] },
      { line: 5, fields: ['3', '', 'x'] },
    ];

    for (const chunks of splits(text)) assert.deepEqual(parse(chunks), expected, JSON.stringify(chunks));
  });

  it('skips empty lines but counts them, and reads a last record without a line break', () => {
    const records = parse(['a,b\n\n\r\n1,2\n\n3,4']);

    assert.deepEqual(records, [
      { line: 1, fields: ['a', 'b'] },
      { line: 4, fields: ['1', '2'] },
      { line: 6, fields: ['3', '4'] },
    ]);
  });

  it('keeps a quote inside an unquoted field as a character', () => {
    assert.deepEqual(parse(['5",x"y\n']), [{ line: 1, fields: ['5"', 'x"y'] }]);
  });

  it('flags characters after a closing quote, and a quote left open at the end, on their record only', () => {
    for (const chunks of splits('1,"ab"c,2\n3,4\n5,"open')) {
      const records = parse(chunks);

      assert.deepEqual(
        records.map((record) => [record.line, record.fields, record.error]),
        [
          [1, ['1', 'abc', '2'], 'field 2: unexpected character after the closing quote'],
          [2, ['3', '4'], undefined],
          [3, ['5', 'open'], 'field 2: quoted field is not closed before the end of the input'],
        ],
      );
    }
  });

  it('refuses a record longer than the limit (an unterminated quote swallowing the file)', () => {
    const parser = new CsvParser({ maxRecordChars: 100 });
    parser.push('a,b\n1,"never closed');

    assert.throws(
      () => parser.push('x'.repeat(200)),
      (error: unknown) => {
        assert.ok(error instanceof BadRequestError);
        assert.match(error.message, /line 2: a record longer than 100 characters/);
        return true;
      },
    );
  });

  it('a single-column file without commas', () => {
    const values = Array.from({ length: 1000 }, (_, i) => String(i));

    const records = parse([`${values.join('\n')}\n`]);

    assert.deepEqual(
      records.map((record) => record.fields[0]),
      values,
    );
  });

  it('property: any table written per RFC 4180 reads back the same, with line numbers, in any chunking', () => {
    const field = fc.string({ unit: fc.constantFrom('a', 'b', ' ', ',', '"', '\n', '\r', 'é', '1') });
    const table = fc.array(fc.array(field, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(
        table,
        fc.constantFrom('\n', '\r\n'),
        fc.array(fc.nat(), { maxLength: 6 }),
        (rows, eol, cuts) => {
          // A lone empty field is an empty line, which CSV cannot tell from no record: quote it.
          const lines = rows.map((row) =>
            row.length === 1 && row[0] === '' ? '""' : row.map(csvField).join(','),
          );
          const text = lines.join(eol) + eol;
          const positions = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
          const chunks = [0, ...positions].map((from, i) => text.slice(from, positions[i] ?? text.length));
          let line = 1;
          const expected = rows.map((fields, r) => {
            const record = { line, fields };
            line += 1 + ((lines[r] ?? '').match(/\n/g)?.length ?? 0);
            return record;
          });

          assert.deepEqual(parse(chunks), expected);
          // With `lines`, quote-free records come as their line, which splits into the same fields.
          const asLines = parse(chunks, { lines: true }).map((record) =>
            record.text === undefined ? record : { line: record.line, fields: record.text.split(',') },
          );
          assert.deepEqual(asLines, expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('with lines, gives a quote-free record as its line (no line break, no CR) and a quoted one as fields', () => {
    for (const chunks of splits('a,b\r\n1,"x\ny"\n\n2,3\n')) {
      assert.deepEqual(parse(chunks, { lines: true }), [
        { line: 1, fields: [], text: 'a,b' },
        { line: 2, fields: ['1', 'x\ny'] },
        { line: 5, fields: [], text: '2,3' },
      ]);
    }
  });
});
