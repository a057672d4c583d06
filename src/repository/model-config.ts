import { ModelUnavailableError } from '../errors.ts';
import { ALIAS_PATTERN, isVersionNumber, MAX_VERSION, versionOfFolder } from './names.ts';

export const TASKS = ['classification', 'regression', 'other'] as const;
export type Task = (typeof TASKS)[number];

/** Which model outputs hold the predicted label, the class probabilities and a score. */
export interface OutputRoles {
  label?: string;
  probabilities?: string;
  score?: string;
}

/** `models/{name}/config.json`: everything is optional; an absent file means `{}`. */
export interface ModelConfig {
  task?: Task;
  /** Class labels, in the order of the probabilities output. */
  labels?: string[];
  /** Names of the columns of a tabular input, in order. */
  feature_names?: string[];
  outputs?: OutputRoles;
  /** Alias → version, e.g. `{ "stable": 3 }`. */
  aliases?: Record<string, number>;
  /** Pins the default version: a version number or one of `aliases`. */
  default_version?: number | string;
  /**
   * Prediction capture: `enabled` (default true; false keeps a model's inputs out of captures
   * altogether, e.g. for personal data) and `sample_rate` (0 to 1, default 1).
   */
  capture?: { sample_rate?: number; enabled?: boolean };
  /** Drift window and thresholds; validated by the drift job, passed through here. */
  drift?: Record<string, unknown>;
  description?: string;
}

export interface ParsedModelConfig {
  config: ModelConfig;
  /** Unknown fields, ignored for forward compatibility but worth a log line. */
  warnings: string[];
}

const KNOWN_FIELDS = new Set([
  'task',
  'labels',
  'feature_names',
  'outputs',
  'aliases',
  'default_version',
  'capture',
  'drift',
  'description',
]);
const OUTPUT_ROLES = ['label', 'probabilities', 'score'] as const;

/**
 * Validates a parsed `config.json`. A mistake in it is the model owner's, not the caller's, so it
 * is a `ModelUnavailableError` (422) naming the field, what was expected and what was found.
 *
 * @example
 * ```ts
 * const { config, warnings } = parseModelConfig(JSON.parse(text), 'iris');
 * config.aliases?.stable; // 3
 * ```
 */
export function parseModelConfig(json: unknown, name: string): ParsedModelConfig {
  const fail: Fail = (field, expected, got) => {
    throw new ModelUnavailableError(
      `model '${name}' config.json: '${field}' must be ${expected}; got ${describe(got)}`,
    );
  };
  if (!isPlainObject(json)) return fail('(top level)', 'a JSON object', json);

  const config: ModelConfig = {};
  const warnings: string[] = [];
  for (const key of Object.keys(json)) {
    if (!KNOWN_FIELDS.has(key)) warnings.push(`model '${name}' config.json: unknown field '${key}' ignored`);
  }

  const { task, labels, feature_names, outputs, aliases, default_version, capture, drift, description } =
    json;
  if (task !== undefined) {
    if (!TASKS.includes(task as Task)) fail('task', `one of ${TASKS.map((t) => `'${t}'`).join(', ')}`, task);
    config.task = task as Task;
  }
  if (labels !== undefined) config.labels = stringList(labels, 'labels', fail);
  if (feature_names !== undefined) config.feature_names = stringList(feature_names, 'feature_names', fail);
  if (outputs !== undefined) {
    if (!isPlainObject(outputs)) return fail('outputs', 'an object', outputs);
    config.outputs = {};
    for (const [role, value] of Object.entries(outputs)) {
      if (!OUTPUT_ROLES.includes(role as (typeof OUTPUT_ROLES)[number])) {
        warnings.push(`model '${name}' config.json: unknown field 'outputs.${role}' ignored`);
      } else if (typeof value !== 'string' || value.length === 0) {
        fail(`outputs.${role}`, 'an output name', value);
      } else {
        config.outputs[role as (typeof OUTPUT_ROLES)[number]] = value;
      }
    }
  }
  if (aliases !== undefined) {
    if (!isPlainObject(aliases)) return fail('aliases', 'an object of alias → version', aliases);
    config.aliases = {};
    for (const [alias, version] of Object.entries(aliases)) {
      if (!ALIAS_PATTERN.test(alias)) {
        fail('aliases', 'keyed by aliases (a letter, then letters, digits, _ . -)', alias);
      }
      if (!isVersionNumber(version))
        fail(`aliases.${alias}`, `a version number (1 to ${MAX_VERSION})`, version);
      config.aliases[alias] = version as number;
    }
  }
  if (default_version !== undefined) {
    config.default_version = defaultVersion(default_version, config.aliases, fail);
  }
  if (capture !== undefined) {
    if (!isPlainObject(capture)) return fail('capture', 'an object', capture);
    const { sample_rate: rate, enabled } = capture;
    if (rate !== undefined && (typeof rate !== 'number' || !(rate >= 0 && rate <= 1))) {
      fail('capture.sample_rate', 'a number from 0 to 1', rate);
    }
    if (enabled !== undefined && typeof enabled !== 'boolean')
      fail('capture.enabled', 'true or false', enabled);
    for (const key of Object.keys(capture)) {
      if (key !== 'sample_rate' && key !== 'enabled')
        warnings.push(`model '${name}' config.json: unknown field 'capture.${key}' ignored`);
    }
    config.capture = {
      ...(rate === undefined ? {} : { sample_rate: rate as number }),
      ...(enabled === undefined ? {} : { enabled: enabled as boolean }),
    };
  }
  if (drift !== undefined) {
    if (!isPlainObject(drift)) return fail('drift', 'an object', drift);
    config.drift = drift;
  }
  if (description !== undefined) {
    if (typeof description !== 'string') fail('description', 'a string', description);
    config.description = description as string;
  }
  return { config, warnings };
}

type Fail = (field: string, expected: string, got: unknown) => never;

function stringList(value: unknown, field: string, fail: Fail): string[] {
  if (!Array.isArray(value)) return fail(field, 'an array of strings', value);
  const seen = new Set<string>();
  value.forEach((item, index) => {
    if (typeof item !== 'string') fail(`${field}[${index}]`, 'a string', item);
    if (seen.has(item)) fail(`${field}[${index}]`, 'unique', item);
    seen.add(item);
  });
  return [...seen];
}

function defaultVersion(
  value: unknown,
  aliases: Record<string, number> | undefined,
  fail: Fail,
): number | string {
  if (isVersionNumber(value)) return value;
  if (typeof value === 'string') {
    // "3" is how a hand-written JSON file often spells version 3.
    const version = versionOfFolder(value);
    if (version !== undefined) return version;
    if (aliases !== undefined && Object.hasOwn(aliases, value)) return value;
    const known = Object.keys(aliases ?? {});
    return fail(
      'default_version',
      `a version number or one of 'aliases' (${known.length > 0 ? known.join(', ') : 'none defined'})`,
      value,
    );
  }
  return fail('default_version', 'a version number or an alias', value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  }
  return `${typeof value} ${String(value)}`;
}
