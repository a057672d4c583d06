import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { findJsonSyntaxError } from '../../src/codec/json-syntax.ts';
import { MAX_JSON_DEPTH, parseJsonBody } from '../../src/codec/parse-request.ts';
import { BadRequestError } from '../../src/errors.ts';
import { assertBadRequest, badRequestMessage } from './assertions.ts';

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('parseJsonBody', () => {
  it('returns the parsed value of valid JSON', () => {
    const text = '{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1.5,-2e3]}]}';

    const value = parseJsonBody(text);

    assert.deepEqual(value, JSON.parse(text));
  });

  const malformed: [string, string, string][] = [
    ['a missing value', '{"a":}', "unexpected character '}' at position 5 (line 1, column 6)"],
    ['an empty body', '', 'unexpected end of input at position 0 (line 1, column 1)'],
    ['a truncated array', '[1,2', 'unexpected end of input at position 4 (line 1, column 5)'],
    ['a trailing comma', '[1,]', "unexpected character ']' at position 3 (line 1, column 4)"],
    [
      'an unquoted key',
      '{a:1}',
      "expected a property name, got character 'a' at position 1 (line 1, column 2)",
    ],
    [
      'a missing colon',
      '{"a" 1}',
      "expected ':' after a property name, got character '1' at position 5 (line 1, column 6)",
    ],
    ['a missing comma', '[1 2]', "expected ',' or ']', got character '2' at position 3 (line 1, column 4)"],
    [
      'content after the value',
      '{} x',
      "unexpected character 'x' after the JSON value at position 3 (line 1, column 4)",
    ],
    ['an unterminated string', '"abc', 'unterminated string at position 4 (line 1, column 5)'],
    ['a bad escape', '"\\x"', 'invalid escape in string at position 1 (line 1, column 2)'],
    ['a short \\u escape', '"\\u12"', 'invalid \\u escape in string at position 1 (line 1, column 2)'],
    ['a raw newline in a string', '"a\nb"', 'control character in string at position 2 (line 1, column 3)'],
    [
      'a leading zero',
      '01',
      "unexpected character '1' after the JSON value at position 1 (line 1, column 2)",
    ],
    ['a bare minus', '[-]', 'invalid number: no digits after minus sign at position 2 (line 1, column 3)'],
    ['an empty exponent', '[1e]', 'invalid number: no digits in exponent at position 3 (line 1, column 4)'],
    ['NaN', '[NaN]', "unexpected character 'N' at position 1 (line 1, column 2)"],
    ['a misspelt literal', '[tru]', "invalid literal, expected 'true' at position 4 (line 1, column 5)"],
    [
      'a control character outside strings',
      '[\u0001]',
      'unexpected character U+0001 at position 1 (line 1, column 2)',
    ],
    [
      'an error on line 3',
      '{\n  "a": 1,\n  "b": ]\n}',
      "unexpected character ']' at position 19 (line 3, column 8)",
    ],
  ];
  for (const [title, text, where] of malformed) {
    it(`rejects ${title} with 400 and says what and where`, () => {
      assertBadRequest(() => parseJsonBody(text), `malformed JSON: ${where}`);
    });
  }

  it('never quotes the payload in the message', () => {
    const text = `{"token": "super-secret-value-${'z'.repeat(100)}", "inputs": ]`;

    const message = badRequestMessage(() => parseJsonBody(text));

    assert.doesNotMatch(message, /secret|zzz/);
    assert.match(message, /^malformed JSON: unexpected character '\]' at position \d+/);
  });

  it(`accepts ${MAX_JSON_DEPTH} levels of nesting`, () => {
    const text = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;

    assert.doesNotThrow(() => parseJsonBody(text));
  });

  it(`rejects ${MAX_JSON_DEPTH + 1} levels of arrays or objects`, () => {
    const arrays = `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`;
    const objects = `${'{"a":'.repeat(MAX_JSON_DEPTH)}{}${'}'.repeat(MAX_JSON_DEPTH)}`;
    const mixed = `{"inputs":[{"data":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}]}`;

    for (const text of [arrays, objects, mixed]) {
      assertBadRequest(
        () => parseJsonBody(text),
        `malformed JSON: nested deeper than ${MAX_JSON_DEPTH} levels`,
      );
    }
  });

  it('rejects a million levels of nesting without overflowing the stack', () => {
    const depth = 1_000_000;
    const valid = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const unclosed = '['.repeat(depth);

    assertBadRequest(() => parseJsonBody(valid), /nested deeper than/);
    assertBadRequest(() => parseJsonBody(unclosed), /unexpected end of input at position 1000000/);
  });

  it('keeps __proto__ keys as plain data', () => {
    const value = parseJsonBody('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;

    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.keys(value), ['__proto__', 'a']);
  });

  it('either parses any text or throws a BadRequestError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.json()), (text) => {
        try {
          assert.deepEqual(parseJsonBody(text), JSON.parse(text));
        } catch (error) {
          assert.ok(error instanceof BadRequestError, String(error));
          assert.equal(error.status, 400);
        }
      }),
    );
  });
});

describe('findJsonSyntaxError', () => {
  const mutatedJson = fc
    .tuple(fc.json(), fc.nat(), fc.nat({ max: 3 }), fc.string({ maxLength: 3, unit: 'binary-ascii' }))
    .map(([text, at, removed, inserted]) => {
      const i = at % (text.length + 1);
      return text.slice(0, i) + inserted + text.slice(i + removed);
    });

  it('finds a problem exactly when JSON.parse fails', () => {
    fc.assert(
      fc.property(fc.oneof(mutatedJson, fc.string(), fc.json()), (text) => {
        const problem = findJsonSyntaxError(text);

        assert.equal(problem === undefined, parses(text), `${JSON.stringify(text)}: ${problem?.reason}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with JSON.parse on every ASCII character inside a string, after a backslash and as a value', () => {
    for (let code = 0; code < 0x80; code++) {
      const char = String.fromCharCode(code);
      for (const text of [`"a${char}b"`, `"\\${char}"`, `[${char}]`, `{"a":1${char}}`]) {
        assert.equal(findJsonSyntaxError(text) === undefined, parses(text), JSON.stringify(text));
      }
    }
  });

  it('agrees with JSON.parse on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        assert.equal(findJsonSyntaxError(text) === undefined, parses(text), JSON.stringify(text));
      }),
    );
  });

  it('points inside the text or at its end', () => {
    fc.assert(
      fc.property(mutatedJson, (text) => {
        const problem = findJsonSyntaxError(text);
        if (problem === undefined) return;

        assert.ok(problem.position >= 0 && problem.position <= text.length);
      }),
    );
  });
});
