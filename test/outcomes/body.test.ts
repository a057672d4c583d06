import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestError } from '../../src/errors.ts';
import { parseOutcomesBody } from '../../src/outcomes/body.ts';
import {
  checkOutcomeTs,
  MAX_OUTCOME_ID_CHARS,
  MAX_OUTCOMES_PER_REQUEST,
  outcomeFolder,
} from '../../src/outcomes/outcome.ts';

const NOW = new Date('2026-06-01T10:00:00.000Z');

describe('parseOutcomesBody', () => {
  it('returns one record per outcome, ts in UTC, the receipt time when ts is absent', () => {
    const records = parseOutcomesBody(
      {
        outcomes: [
          { id: 'req-1:0', value: 'setosa' },
          { id: 'req-1:1', value: 2, ts: '2026-06-01T11:30:00+02:00' },
          { id: 'req-2', value: true, ts: null },
          { id: 'req-3', value: -0.5, ts: '2026-05-31T23:59:59.5Z' },
        ],
      },
      NOW,
    );

    assert.deepEqual(records, [
      { id: 'req-1:0', value: 'setosa', ts: NOW.toISOString(), received_at: NOW.toISOString() },
      { id: 'req-1:1', value: 2, ts: '2026-06-01T09:30:00.000Z', received_at: NOW.toISOString() },
      { id: 'req-2', value: true, ts: NOW.toISOString(), received_at: NOW.toISOString() },
      { id: 'req-3', value: -0.5, ts: '2026-05-31T23:59:59.500Z', received_at: NOW.toISOString() },
    ]);
  });

  const tooMany = Array.from({ length: MAX_OUTCOMES_PER_REQUEST + 1 }, (_, i) => ({
    id: `p-${i}`,
    value: 1,
  }));
  const invalid: [string, unknown, string][] = [
    [
      'not an object',
      [1, 2],
      `'request body' must be a JSON object {"outcomes": [...]}; got an array of 2 items`,
    ],
    [
      'no outcomes',
      { outcome: [] },
      `'outcomes' must be an array of {"id", "value", "ts"?} objects; got nothing`,
    ],
    ['outcomes not an array', { outcomes: { id: 'a' } }, 'got an object'],
    ['an empty list', { outcomes: [] }, "'outcomes' must be at least one outcome; got an empty array"],
    [
      'too many',
      { outcomes: tooMany },
      "'outcomes' must be at most 10000 outcomes in one request (send several requests); got an array of 10001 items",
    ],
    [
      'an entry that is not an object',
      { outcomes: ['a'] },
      `'outcomes[0]' must be an object {"id", "value", "ts"?}; got "a"`,
    ],
    ['a missing id', { outcomes: [{ value: 1 }] }, 'outcomes[0].id must be a non-empty string'],
    ['an empty id', { outcomes: [{ id: '', value: 1 }] }, 'outcomes[0].id must be a non-empty string'],
    ['a numeric id', { outcomes: [{ id: 7, value: 1 }] }, 'outcomes[0].id must be a non-empty string'],
    [
      'an id too long',
      { outcomes: [{ id: 'x'.repeat(MAX_OUTCOME_ID_CHARS + 1), value: 1 }] },
      `outcomes[0].id is 257 characters long; at most 256 are allowed`,
    ],
    [
      'a missing value',
      { outcomes: [{ id: 'a' }] },
      'outcomes[0].value must be a number, a string or a boolean; got nothing',
    ],
    [
      'a null value',
      { outcomes: [{ id: 'a', value: null }] },
      'outcomes[0].value must be a number, a string or a boolean; got null',
    ],
    [
      'an array value',
      { outcomes: [{ id: 'a', value: [1] }] },
      'outcomes[0].value must be a number, a string or a boolean; got array',
    ],
    [
      'an empty string value',
      { outcomes: [{ id: 'a', value: '' }] },
      'outcomes[0].value must not be an empty string',
    ],
    ['an infinite value (1e999)', { outcomes: [{ id: 'a', value: Number.POSITIVE_INFINITY }] }, 'finite'],
    [
      'a ts without zone',
      {
        outcomes: [
          { id: 'a', value: 1 },
          { id: 'b', value: 1, ts: '2026-06-01T10:00:00' },
        ],
      },
      'outcomes[1].ts must be an ISO 8601 date-time with a zone',
    ],
    [
      'a ts as a number',
      { outcomes: [{ id: 'a', value: 1, ts: 1780000000 }] },
      'outcomes[0].ts must be an ISO 8601',
    ],
    [
      'a day that does not exist',
      { outcomes: [{ id: 'a', value: 1, ts: '2026-02-30T00:00:00Z' }] },
      'outcomes[0].ts is not a valid date-time (2026-02-30 does not exist)',
    ],
    [
      'a ts in the future',
      { outcomes: [{ id: 'a', value: 1, ts: '2026-06-02T10:00:00Z' }] },
      'outcomes[0].ts is in the future (more than an hour after 2026-06-01T10:00:00.000Z)',
    ],
    [
      'an unknown field',
      { outcomes: [{ id: 'a', value: 1, time: '2026-06-01T10:00:00Z' }] },
      "unknown field 'outcomes[0].time' (known: id, value, ts)",
    ],
    [
      'a duplicate id',
      {
        outcomes: [
          { id: 'a', value: 1 },
          { id: 'b', value: 0 },
          { id: 'a', value: 0 },
        ],
      },
      "outcomes[2].id: 'a' repeats outcomes[0]; send one outcome per prediction",
    ],
  ];
  for (const [label, body, message] of invalid) {
    it(`refuses ${label} with a 400 naming the field`, () => {
      assert.throws(
        () => parseOutcomesBody(body, NOW),
        (error: unknown) => {
          assert.ok(error instanceof BadRequestError, String(error));
          assert.equal(error.status, 400);
          assert.ok(error.message.includes(message), `${error.message} ⊉ ${message}`);
          return true;
        },
      );
    });
  }
});

describe('checkOutcomeTs', () => {
  it('accepts half an hour of clock skew, offsets with or without colon, and lowercase', () => {
    for (const ts of [
      '2026-06-01T10:30:00Z',
      '2026-06-01T12:00:00+0200',
      '2026-06-01t09:00z',
      '2026-06-01 09:00:00.123456Z',
    ]) {
      assert.equal(checkOutcomeTs(ts, NOW).ok, true, ts);
    }
  });

  it('refuses what is not a date-time with a zone', () => {
    for (const ts of ['2026-06-01', 'yesterday', '2026-13-01T00:00:00Z', '2026-06-01T24:00:00Z', '']) {
      assert.equal(checkOutcomeTs(ts, NOW).ok, false, ts);
    }
  });
});

describe('outcomeFolder', () => {
  it('is the UTC hour the outcomes were received', () => {
    assert.equal(
      outcomeFolder('iris', new Date('2026-03-04T05:06:07+01:00')),
      'outcomes/iris/2026/03/04/04/',
    );
  });
});
