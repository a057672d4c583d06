import * as z from 'zod/mini';
import { ModelUnavailableError } from '../errors.ts';
import { MAX_SESSION_THREADS, type SessionConfig } from '../runtime/session-options.ts';
import { describeJson, parseUserJson } from '../schema/user-json.ts';
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
  /**
   * onnxruntime session overrides for this model (`intra_op_threads`, `inter_op_threads`,
   * `execution_mode`, `spinning`), over what the function chose for its CPU share.
   */
  session?: SessionConfig;
  /**
   * Model validation: `max_latency_ms`, the median smoke-run latency above which a version is
   * refused (default: none beyond the validation deadline).
   */
  validation?: { max_latency_ms?: number };
  description?: string;
  /**
   * Traffic split of the requests that name no version: version number or alias → weight (the
   * weights sum to 100), e.g. `{ "stable": 90, "4": 10 }`. Routing is deterministic on the
   * request id (docs/model-repository.md).
   */
  traffic?: Record<string, number>;
  /** Shadow versions: run on a sample of the requests after the answer, captured, never returned. */
  shadow?: ShadowConfig;
}

/** The `shadow` section of config.json, normalised (`["5"]` is `{ versions: [5], sample_rate: 1 }`). */
export interface ShadowConfig {
  versions: number[];
  /** Share of the requests mirrored to each shadow version, 0 to 1 (default 1). */
  sample_rate: number;
}

/** The total the weights of `traffic` must add up to. */
export const TRAFFIC_TOTAL = 100;

export interface ParsedModelConfig {
  config: ModelConfig;
  /** Unknown fields, ignored for forward compatibility but worth a log line. */
  warnings: string[];
}

const versionNumber = (() => {
  const expected = `a version number (1 to ${MAX_VERSION})`;
  return z
    .int({ error: expected })
    .check(z.minimum(1, { error: expected }), z.maximum(MAX_VERSION, { error: expected }));
})();

/** An array of distinct strings (labels, feature names). */
const uniqueStrings = z.array(z.string({ error: 'a string' }), { error: 'an array of strings' }).check(
  z.superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((item, index) => {
      if (seen.has(item)) ctx.addIssue({ code: 'custom', message: 'unique', path: [index], input: item });
      seen.add(item);
    });
  }),
);

/** A key of `traffic`: a version number ("4") or an alias. */
const TRAFFIC_KEY = /^(?:[1-9][0-9]{0,15}|[A-Za-z][A-Za-z0-9_.-]{0,63})$/;

/** A shadow version: a number, or a number written as a string ("5"). */
const shadowVersion = z.union(
  [versionNumber, z.string().check(z.regex(/^[1-9][0-9]{0,15}$/, { error: 'a version number' }))],
  { error: 'a version number' },
);

const outputName = z.string({ error: 'an output name' }).check(z.minLength(1, { error: 'an output name' }));
const sampleRate = z
  .number({ error: 'a number from 0 to 1' })
  .check(z.minimum(0, { error: 'a number from 0 to 1' }), z.maximum(1, { error: 'a number from 0 to 1' }));

const threadCount = (() => {
  const expected = `an integer from 1 to ${MAX_SESSION_THREADS}`;
  return z
    .int({ error: expected })
    .check(z.minimum(1, { error: expected }), z.maximum(MAX_SESSION_THREADS, { error: expected }));
})();
const SESSION_FIELDS = ['intra_op_threads', 'inter_op_threads', 'execution_mode', 'spinning'] as const;

/** An optional field with its description (shown by editors through the published JSON Schema). */
function field<T extends z.ZodMiniType>(schema: T, description: string) {
  return z.optional(schema.check(z.describe(description)));
}

/**
 * The schema of `models/{name}/config.json` as the serving path reads it. The `drift` section is
 * only checked to be an object here; the drift check validates it (`parseDriftSettings`), and the
 * published JSON Schema (docs/model-config.schema.json) carries its full schema.
 */
export const modelConfigSchema = z.looseObject(
  {
    $schema: field(z.string({ error: 'a string' }), 'The JSON Schema editors check this file with.'),
    task: field(
      z.enum(TASKS, { error: `one of ${TASKS.map((t) => `'${t}'`).join(', ')}` }),
      'What the model does; classification and regression enable the matching performance metrics.',
    ),
    labels: field(uniqueStrings, 'Class labels, in the order of the probabilities output.'),
    feature_names: field(uniqueStrings, 'Names of the columns of a tabular input, in order.'),
    outputs: field(
      z.looseObject(
        {
          label: z.optional(outputName),
          probabilities: z.optional(outputName),
          score: z.optional(outputName),
        },
        { error: 'an object' },
      ),
      'Which outputs hold the predicted label, the class probabilities and a score.',
    ),
    aliases: field(
      z.record(
        z
          .string()
          .check(z.regex(ALIAS_PATTERN, { error: 'an alias (a letter, then letters, digits, _ . -)' })),
        versionNumber,
        { error: 'an object of alias → version' },
      ),
      'Alias → version, e.g. {"stable": 3}; requests may name an alias instead of a version.',
    ),
    default_version: field(
      z.union([z.number(), z.string()], { error: 'a version number or an alias' }),
      'The version served when a request names none: a version number or one of the aliases (default: the highest valid version).',
    ),
    capture: field(
      z.looseObject(
        { sample_rate: z.optional(sampleRate), enabled: z.optional(z.boolean({ error: 'true or false' })) },
        { error: 'an object' },
      ),
      'Prediction capture: enabled (default true) and sample_rate (0 to 1, default 1).',
    ),
    drift: z.optional(z.record(z.string(), z.unknown(), { error: 'an object' })),
    session: field(
      z.looseObject(
        {
          intra_op_threads: z.optional(threadCount),
          inter_op_threads: z.optional(threadCount),
          execution_mode: z.optional(
            z.enum(['sequential', 'parallel'], { error: "'sequential' or 'parallel'" }),
          ),
          spinning: z.optional(z.boolean({ error: 'true or false' })),
        },
        { error: 'an object' },
      ),
      "onnxruntime threading for this model, over what the function chose for its memory's CPU share: intra_op_threads, inter_op_threads, execution_mode, spinning (idle pool threads spin-wait for work).",
    ),
    validation: field(
      z.looseObject(
        {
          max_latency_ms: z.optional(
            z
              .number({ error: 'a number of milliseconds in (0, 600000]' })
              .check(
                z.positive({ error: 'a number of milliseconds in (0, 600000]' }),
                z.maximum(600_000, { error: 'a number of milliseconds in (0, 600000]' }),
              ),
          ),
        },
        { error: 'an object' },
      ),
      'Model validation: max_latency_ms, the median smoke-run latency above which a version is refused.',
    ),
    traffic: field(
      z.record(
        z.string().check(z.regex(TRAFFIC_KEY, { error: 'a version number or an alias' })),
        z
          .number({ error: 'a weight from 0 to 100' })
          .check(
            z.minimum(0, { error: 'a weight from 0 to 100' }),
            z.maximum(TRAFFIC_TOTAL, { error: 'a weight from 0 to 100' }),
          ),
        { error: 'an object of version or alias → weight' },
      ),
      'Traffic split of the requests that name no version: version number or alias → weight, the weights summing to 100, e.g. {"stable": 90, "4": 10}. The same request id always reaches the same version.',
    ),
    shadow: field(
      z.union(
        [
          z.array(shadowVersion, { error: 'an array of versions' }),
          z.looseObject(
            {
              versions: z.array(shadowVersion, { error: 'an array of versions' }),
              sample_rate: z.optional(sampleRate),
            },
            { error: 'an object' },
          ),
        ],
        { error: 'an array of versions, or an object {versions, sample_rate}' },
      ),
      'Shadow versions: each sampled request also runs on them after the answer is made; their outputs are captured as shadow predictions and never returned. An array of versions, or {"versions": [...], "sample_rate": 0.1}.',
    ),
    description: field(z.string({ error: 'a string' }), "Free text shown in the model's metadata."),
  },
  { error: 'a JSON object' },
);

/**
 * Validates a parsed `config.json`. A mistake in it is the model owner's, not the caller's, so it
 * is a `ModelUnavailableError` (422) naming the field, what was expected and what was found.
 * Unknown fields are ignored for forward compatibility, and listed in `warnings`.
 *
 * @example
 * ```ts
 * const { config, warnings } = parseModelConfig(JSON.parse(text), 'iris');
 * config.aliases?.stable; // 3
 * ```
 */
export function parseModelConfig(json: unknown, name: string): ParsedModelConfig {
  const where = `model '${name}' config.json`;
  const parsed = parseUserJson(
    modelConfigSchema,
    json,
    (problem) => new ModelUnavailableError(`${where}: ${problem.message}`),
  );
  const warnings = [
    ...unknownFields(parsed, Object.keys(modelConfigSchema.shape), ''),
    ...unknownFields(parsed.outputs, OUTPUT_ROLES, 'outputs.'),
    ...unknownFields(parsed.capture, ['sample_rate', 'enabled'], 'capture.'),
    ...unknownFields(parsed.session, SESSION_FIELDS, 'session.'),
    ...(parsed.shadow !== undefined && !Array.isArray(parsed.shadow)
      ? unknownFields(parsed.shadow, ['versions', 'sample_rate'], 'shadow.')
      : []),
  ].map((field) => `${where}: unknown field '${field}' ignored`);

  const config: ModelConfig = {};
  if (parsed.task !== undefined) config.task = parsed.task;
  if (parsed.labels !== undefined) config.labels = parsed.labels;
  if (parsed.feature_names !== undefined) config.feature_names = parsed.feature_names;
  if (parsed.outputs !== undefined) config.outputs = pick(parsed.outputs, OUTPUT_ROLES);
  if (parsed.aliases !== undefined) config.aliases = { ...parsed.aliases };
  if (parsed.default_version !== undefined) {
    config.default_version = defaultVersion(parsed.default_version, config.aliases, where);
  }
  if (parsed.capture !== undefined)
    config.capture = pick(parsed.capture, ['sample_rate', 'enabled'] as const);
  if (parsed.drift !== undefined) config.drift = parsed.drift;
  if (parsed.session !== undefined) config.session = pick(parsed.session, SESSION_FIELDS);
  if (parsed.validation !== undefined) {
    config.validation =
      parsed.validation.max_latency_ms === undefined
        ? {}
        : { max_latency_ms: parsed.validation.max_latency_ms };
  }
  if (parsed.description !== undefined) config.description = parsed.description;
  if (parsed.traffic !== undefined) config.traffic = trafficSplit(parsed.traffic, config.aliases, where);
  if (parsed.shadow !== undefined) config.shadow = shadowSection(parsed.shadow, config, where);
  return { config, warnings };
}

const OUTPUT_ROLES = ['label', 'probabilities', 'score'] as const;

function unknownFields(value: object | undefined, known: readonly string[], prefix: string): string[] {
  if (value === undefined) return [];
  return Object.keys(value)
    .filter((key) => !known.includes(key))
    .map((key) => `${prefix}${key}`);
}

/** The declared fields of a loose object that are present. */
function pick<T extends object, K extends keyof T & string>(value: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const key of keys) if (value[key] !== undefined) out[key] = value[key];
  return out;
}

/** `default_version`: a version, a version written as a string ("3"), or one of the aliases. */
function defaultVersion(
  value: number | string,
  aliases: Record<string, number> | undefined,
  where: string,
): number | string {
  if (typeof value === 'number') {
    if (isVersionNumber(value)) return value;
    throw new ModelUnavailableError(
      `${where}: 'default_version' must be a version number or an alias; got ${describeJson(value)}`,
    );
  }
  // "3" is how a hand-written JSON file often spells version 3.
  const version = versionOfFolder(value);
  if (version !== undefined) return version;
  if (aliases !== undefined && Object.hasOwn(aliases, value)) return value;
  const known = Object.keys(aliases ?? {});
  throw new ModelUnavailableError(
    `${where}: 'default_version' must be a version number or one of 'aliases' (${known.length > 0 ? known.join(', ') : 'none defined'}); got ${describeJson(value)}`,
  );
}

/**
 * `traffic`: every key a version number or a defined alias, the weights adding up to 100 (within
 * 0.01, for hand-written decimals), at least one of them above 0.
 */
function trafficSplit(
  traffic: Record<string, number>,
  aliases: Record<string, number> | undefined,
  where: string,
): Record<string, number> {
  const keys = Object.keys(traffic);
  if (keys.length === 0) {
    throw new ModelUnavailableError(
      `${where}: 'traffic' must name at least one version or alias; got an empty object`,
    );
  }
  const split: Record<string, number> = {};
  for (const key of keys) {
    if (versionOfFolder(key) === undefined && !(aliases !== undefined && Object.hasOwn(aliases, key))) {
      const known = Object.keys(aliases ?? {});
      throw new ModelUnavailableError(
        `${where}: 'traffic.${key}' must be a version number or one of 'aliases' (${known.length > 0 ? known.join(', ') : 'none defined'}); got ${describeJson(key)}`,
      );
    }
    split[key] = traffic[key] as number;
  }
  const total = keys.reduce((sum, key) => sum + (split[key] as number), 0);
  if (Math.abs(total - TRAFFIC_TOTAL) > 0.01) {
    throw new ModelUnavailableError(
      `${where}: the weights of 'traffic' must add up to ${TRAFFIC_TOTAL}; got ${Math.round(total * 1000) / 1000} (${keys.map((key) => `${key}: ${split[key]}`).join(', ')})`,
    );
  }
  return split;
}

/** `shadow`: distinct versions, none of them also a target of `traffic` or the pinned default. */
function shadowSection(
  shadow: (number | string)[] | { versions: (number | string)[]; sample_rate?: number },
  config: ModelConfig,
  where: string,
): ShadowConfig {
  const list = Array.isArray(shadow) ? shadow : shadow.versions;
  const rate = Array.isArray(shadow) ? 1 : (shadow.sample_rate ?? 1);
  const versions: number[] = [];
  for (const item of list) {
    const version = typeof item === 'number' ? item : Number(item);
    if (versions.includes(version)) {
      throw new ModelUnavailableError(`${where}: 'shadow' lists version ${version} twice`);
    }
    versions.push(version);
  }
  const served = new Set<number>();
  for (const key of Object.keys(config.traffic ?? {})) {
    const version = versionOfFolder(key) ?? config.aliases?.[key];
    if (version !== undefined && (config.traffic?.[key] ?? 0) > 0) served.add(version);
  }
  const overlap = versions.find((version) => served.has(version));
  if (overlap !== undefined) {
    throw new ModelUnavailableError(
      `${where}: version ${overlap} is both in 'shadow' and receiving traffic in 'traffic'; a shadow version must not answer requests`,
    );
  }
  return { versions, sample_rate: rate };
}
