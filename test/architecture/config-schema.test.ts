/**
 * The published JSON Schema of config.json (docs/model-config.schema.json) is the one the code
 * validates with, and editors using it agree with the product on real configs.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { CONFIG_SCHEMA_PATH, modelConfigJsonSchema } from '../../scripts/config-schema.ts';
import { parseDriftSettings } from '../../src/drift/check/settings.ts';
import { parseModelConfig } from '../../src/repository/model-config.ts';

const schemaText = await readFile(CONFIG_SCHEMA_PATH, 'utf8');
const validate = new Ajv2020({ strict: false, allErrors: true }).compile(JSON.parse(schemaText));

/** Whether the product accepts a config: the serving path, then the drift check. */
function productAccepts(config: unknown): boolean {
  try {
    const { config: parsed } = parseModelConfig(config, 'm');
    parseDriftSettings(parsed.drift, 'm');
    return true;
  } catch {
    return false;
  }
}

describe('config.json JSON Schema', () => {
  it('is the schema the code validates with (run `npm run config-schema` after changing it)', () => {
    assert.deepEqual(JSON.parse(schemaText), JSON.parse(modelConfigJsonSchema()));
  });

  const valid: [string, unknown][] = [
    ['an empty config', {}],
    [
      'a demo model config',
      {
        task: 'classification',
        labels: ['setosa', 'versicolor', 'virginica'],
        feature_names: ['sepal length (cm)', 'sepal width (cm)', 'petal length (cm)', 'petal width (cm)'],
        outputs: { label: 'label', probabilities: 'probabilities' },
        description: 'iris',
      },
    ],
    ['aliases and a default alias', { aliases: { stable: 3, canary: 4 }, default_version: 'stable' }],
    ['capture settings', { capture: { sample_rate: 0.25, enabled: true } }],
    [
      'drift settings',
      {
        drift: {
          window_hours: 6,
          thresholds: { ks: 0.01, wasserstein: 0.2 },
          correction: 'bonferroni',
          features: { age: { test: 'psi' } },
          performance: { metric: 'accuracy', max_drop: 0.05 },
          categorical_features: ['zip'],
        },
      },
    ],
  ];
  for (const [name, config] of valid) {
    it(`accepts ${name}, as the product does`, () => {
      assert.equal(productAccepts(config), true);
      assert.equal(validate(config), true, JSON.stringify(validate.errors));
    });
  }

  const invalid: [string, unknown][] = [
    ['a task that does not exist', { task: 'clustering' }],
    ['labels that are not strings', { labels: [1, 2] }],
    ['a sample rate above 1', { capture: { sample_rate: 1.5 } }],
    ['an alias to version 0', { aliases: { stable: 0 } }],
    ['an alias named like a number', { aliases: { '2': 3 } }],
    ['a misspelt drift field', { drift: { window_hour: 6 } }],
    ['a drift test that does not exist', { drift: { test: 'anderson' } }],
    ['a negative max drop', { drift: { performance: { max_drop: -1 } } }],
    ['an unknown threshold test', { drift: { thresholds: { kss: 0.1 } } }],
  ];
  for (const [name, config] of invalid) {
    it(`refuses ${name}, as the product does`, () => {
      assert.equal(productAccepts(config), false);
      assert.equal(validate(config), false);
    });
  }
});
