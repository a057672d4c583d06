import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BadRequestError } from '../../src/errors.ts';
import {
  assertModelName,
  MAX_VERSION,
  parseVersionSelector,
  versionOfFolder,
} from '../../src/repository/names.ts';

function rejection(action: () => unknown): BadRequestError {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof BadRequestError, `expected BadRequestError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a BadRequestError');
}

describe('assertModelName', () => {
  it('accepts names of the repository layout', () => {
    for (const name of ['iris', 'Iris_2', 'a', '0', 'resnet-50.v2', 'a.b', 'x'.repeat(128), 'model.']) {
      assert.doesNotThrow(() => assertModelName(name), name);
    }
  });

  const invalid: [string, string, RegExp][] = [
    ['empty', '', /must not be empty/],
    ['129 characters', 'x'.repeat(129), /129 characters long; at most 128/],
    ['parent folder', '..', /must not contain '\.\.'/],
    ['embedded parent', 'a..b', /must not contain '\.\.'/],
    ['path traversal', '../etc', /must not contain '\.\.'/],
    ['URL-encoded dots', '%2e%2e', /"%" \(U\+0025\) at position 1/],
    ['slash', 'a/b', /"\/" \(U\+002F\) at position 2/],
    ['backslash', 'a\\b', /U\+005C/],
    ['leading dot', '.hidden', /"\." \(U\+002E\) at position 1/],
    ['leading dash', '-x', /position 1/],
    ['space', 'my model', /" " \(U\+0020\) at position 3/],
    ['Cyrillic look-alike', 'irіs', /"і" \(U\+0456\) at position 3/],
    ['Cyrillic a', 'аbc', /U\+0430\) at position 1/],
    ['NUL', 'a\u0000b', /"\\u0000" \(U\+0000\) at position 2/],
    ['emoji', 'm🙂', /U\+1F642\) at position 2/],
  ];
  for (const [label, name, message] of invalid) {
    it(`rejects ${label} with a 400 that says why`, () => {
      const error = rejection(() => assertModelName(name));

      assert.equal(error.status, 400);
      assert.match(error.message, message);
    });
  }

  it('rejects non-strings', () => {
    assert.match(rejection(() => assertModelName(undefined)).message, /must not be empty/);
  });

  it('accepts exactly what the documented pattern accepts, and never a name containing ..', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 140 }), (name) => {
        const expected = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(name) && !name.includes('..');
        let accepted = true;
        try {
          assertModelName(name);
        } catch (error) {
          assert.ok(error instanceof BadRequestError);
          accepted = false;
        }
        assert.equal(accepted, expected);
      }),
      { numRuns: 2_000 },
    );
  });

  it('never lets a separator or a parent reference through', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_./%-]{1,40}$/), (name) => {
        let accepted = true;
        try {
          assertModelName(name);
        } catch {
          accepted = false;
        }
        if (accepted) assert.ok(!name.includes('/') && !name.includes('..') && !name.includes('%'));
      }),
    );
  });
});

describe('parseVersionSelector', () => {
  it('selects the default policy when the URL has no version', () => {
    assert.deepEqual(parseVersionSelector(undefined), { kind: 'default' });
  });

  it('reads version numbers', () => {
    assert.deepEqual(parseVersionSelector('1'), { kind: 'number', version: 1 });
    assert.deepEqual(parseVersionSelector('42'), { kind: 'number', version: 42 });
    assert.deepEqual(parseVersionSelector(String(MAX_VERSION)), { kind: 'number', version: MAX_VERSION });
  });

  it('reads aliases', () => {
    assert.deepEqual(parseVersionSelector('stable'), { kind: 'alias', alias: 'stable' });
    assert.deepEqual(parseVersionSelector('v2.1-rc_1'), { kind: 'alias', alias: 'v2.1-rc_1' });
  });

  const invalid: [string, string, RegExp][] = [
    ['empty', '', /must not be empty/],
    ['zero', '0', /positive integer; 0 is not a version/],
    ['leading zeros', '007', /'007' must not have leading zeros/],
    ['zeros only', '00', /leading zeros/],
    ['beyond the largest version', '9007199254740992', /too large; the largest version is 9007199254740991/],
    ['huge', '9'.repeat(400), /too large/],
    ['negative', '-1', /"-" \(U\+002D\) at position 1/],
    ['decimal', '1.5', /"1" \(U\+0031\) at position 1/],
    ['slash', 'a/b', /"\/" \(U\+002F\) at position 2/],
    ['space', '1 ', /position 1/],
    ['long alias', `a${'b'.repeat(64)}`, /65 characters long; at most 64/],
  ];
  for (const [label, version, message] of invalid) {
    it(`rejects ${label} with a 400 that says why`, () => {
      const error = rejection(() => parseVersionSelector(version));

      assert.equal(error.status, 400);
      assert.match(error.message, message);
    });
  }

  it('round-trips every positive safe integer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_VERSION }), (version) => {
        assert.deepEqual(parseVersionSelector(String(version)), { kind: 'number', version });
      }),
    );
  });

  it('either parses or throws a BadRequestError, for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (text) => {
        try {
          parseVersionSelector(text);
        } catch (error) {
          assert.ok(error instanceof BadRequestError);
        }
      }),
    );
  });
});

describe('versionOfFolder', () => {
  it('reads canonical version folders only', () => {
    assert.equal(versionOfFolder('3'), 3);
    assert.equal(versionOfFolder('120'), 120);
    for (const folder of ['0', '007', '', 'v1', '1.0', '99999999999999999', 'config.json']) {
      assert.equal(versionOfFolder(folder), undefined, folder);
    }
  });
});
