import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ModelUnavailableError } from '../../src/errors.ts';
import { parseModelConfig } from '../../src/repository/model-config.ts';

function rejection(json: unknown): ModelUnavailableError {
  try {
    parseModelConfig(json, 'iris');
  } catch (error) {
    assert.ok(error instanceof ModelUnavailableError, `expected ModelUnavailableError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a ModelUnavailableError');
}

describe('parseModelConfig', () => {
  it('accepts an empty config', () => {
    assert.deepEqual(parseModelConfig({}, 'iris'), { config: {}, warnings: [] });
  });

  it('accepts every documented field', () => {
    const json = {
      task: 'classification',
      labels: ['setosa', 'versicolor', 'virginica'],
      feature_names: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
      outputs: { label: 'label', probabilities: 'probabilities' },
      aliases: { stable: 2, canary: 3 },
      default_version: 'stable',
      capture: { sample_rate: 0.25 },
      drift: { window_days: 7, thresholds: { psi: 0.2 } },
      description: 'Iris classifier',
    };

    const { config, warnings } = parseModelConfig(json, 'iris');

    assert.deepEqual(config, json);
    assert.deepEqual(warnings, []);
  });

  it('reads a numeric default_version written as a string', () => {
    assert.equal(parseModelConfig({ default_version: '3' }, 'iris').config.default_version, 3);
    assert.equal(parseModelConfig({ default_version: 3 }, 'iris').config.default_version, 3);
  });

  it('accepts the bounds of the sample rate', () => {
    assert.equal(parseModelConfig({ capture: { sample_rate: 0 } }, 'iris').config.capture?.sample_rate, 0);
    assert.equal(parseModelConfig({ capture: { sample_rate: 1 } }, 'iris').config.capture?.sample_rate, 1);
  });

  it('reads capture.enabled, each capture field optional', () => {
    assert.deepEqual(parseModelConfig({ capture: { enabled: false } }, 'iris').config.capture, {
      enabled: false,
    });
    assert.deepEqual(parseModelConfig({ capture: {} }, 'iris').config.capture, {});
  });

  it('tolerates unknown fields and reports them as warnings', () => {
    const { config, warnings } = parseModelConfig(
      {
        task: 'regression',
        batching: true,
        outputs: { score: 'y', logits: 'z' },
        capture: { sample_rate: 1, max: 2 },
      },
      'iris',
    );

    assert.deepEqual(config, { task: 'regression', outputs: { score: 'y' }, capture: { sample_rate: 1 } });
    assert.deepEqual(warnings, [
      "model 'iris' config.json: unknown field 'batching' ignored",
      "model 'iris' config.json: unknown field 'outputs.logits' ignored",
      "model 'iris' config.json: unknown field 'capture.max' ignored",
    ]);
  });

  const invalid: [string, unknown, string][] = [
    ['an array', [], "model 'iris' config.json: '(top level)' must be a JSON object; got an empty array"],
    ['null', null, "'(top level)' must be a JSON object; got null"],
    [
      'an unknown task',
      { task: 'clasification' },
      `'task' must be one of 'classification', 'regression', 'other'; got "clasification"`,
    ],
    ['labels as a string', { labels: 'a,b' }, `'labels' must be an array of strings; got "a,b"`],
    ['a non-string label', { labels: ['a', 5] }, "'labels[1]' must be a string; got number 5"],
    ['duplicate labels', { labels: ['a', 'a'] }, `'labels[1]' must be unique; got "a"`],
    [
      'duplicate feature names',
      { feature_names: ['x', 'y', 'x'] },
      `'feature_names[2]' must be unique; got "x"`,
    ],
    ['outputs as an array', { outputs: ['y'] }, "'outputs' must be an object; got an array of 1 item"],
    ['an empty output name', { outputs: { label: '' } }, `'outputs.label' must be an output name; got ""`],
    [
      'a zero alias',
      { aliases: { stable: 0 } },
      "'aliases.stable' must be a version number (1 to 9007199254740991); got number 0",
    ],
    ['a fractional alias', { aliases: { stable: 1.5 } }, "'aliases.stable' must be a version number"],
    [
      'a string alias target',
      { aliases: { stable: '2' } },
      `'aliases.stable' must be a version number (1 to 9007199254740991); got "2"`,
    ],
    [
      'a numeric alias name',
      { aliases: { '2': 3 } },
      `'aliases key' must be an alias (a letter, then letters, digits, _ . -); got "2"`,
    ],
    [
      'an unknown default alias',
      { aliases: { stable: 1 }, default_version: 'beta' },
      'one of \'aliases\' (stable); got "beta"',
    ],
    ['a default alias without aliases', { default_version: 'beta' }, '(none defined)'],
    [
      'a zero default',
      { default_version: 0 },
      "'default_version' must be a version number or an alias; got number 0",
    ],
    [
      'a sample rate above 1',
      { capture: { sample_rate: 1.5 } },
      "'capture.sample_rate' must be a number from 0 to 1; got number 1.5",
    ],
    [
      'capture enabled as a string',
      { capture: { enabled: 'no' } },
      `'capture.enabled' must be true or false; got "no"`,
    ],
    ['a NaN-like sample rate', { capture: { sample_rate: '0.5' } }, `got "0.5"`],
    ['drift as a number', { drift: 3 }, "'drift' must be an object; got number 3"],
    [
      'a non-string description',
      { description: ['x'] },
      "'description' must be a string; got an array of 1 item",
    ],
  ];
  for (const [label, json, message] of invalid) {
    it(`rejects ${label} with a 422 naming the field`, () => {
      const error = rejection(json);

      assert.equal(error.status, 422);
      assert.ok(error.message.includes(message), `${error.message}\n  does not contain\n${message}`);
    });
  }

  it('never throws anything but ModelUnavailableError, whatever the JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (json) => {
        try {
          parseModelConfig(json, 'm');
        } catch (error) {
          assert.ok(error instanceof ModelUnavailableError);
        }
      }),
    );
  });

  it('only ever returns documented fields', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (json) => {
        try {
          const { config } = parseModelConfig(json, 'm');
          for (const key of Object.keys(config)) assert.ok(Object.hasOwn(json, key));
        } catch (error) {
          assert.ok(error instanceof ModelUnavailableError);
        }
      }),
    );
  });
});
