/**
 * The `drift` section of a model's `config.json`, validated strictly (a typo fails naming the
 * field) and merged over the function's defaults.
 */
import {
  type DriftOptions,
  type DriftOptionsInput,
  resolveDriftOptions,
  type TestName,
} from '../statistics/index.ts';

/** Defaults that apply to every model without its own settings (from the environment). */
export interface DriftDefaults {
  windowHours: number;
  minPredictions: number;
  minOutcomes: number;
  outcomeLookbackHours: number;
}

/** The defaults when neither the environment nor config.json says otherwise. */
export const DRIFT_DEFAULTS: Readonly<DriftDefaults> = {
  windowHours: 24,
  minPredictions: 100,
  minOutcomes: 30,
  outcomeLookbackHours: 24,
};

/** When performance counts as degraded; `metric` null means the task's default. */
export interface PerformanceRule {
  metric: string | null;
  /** Largest tolerated change for the worse, in the metric's units (accuracy 0.05 = 5 points). */
  maxDrop: number | null;
  /** Largest tolerated change for the worse relative to the reference value (0.1 = 10 %). */
  maxRelativeDrop: number | null;
}

/** Everything one model's drift check runs with. */
export interface DriftSettings extends DriftDefaults {
  /** Tests, thresholds, warning ratio, correction and dataset share (Evidently's defaults). */
  options: DriftOptions;
  /** Per-feature overrides of the test or its thresholds. */
  features: Record<string, DriftOptions>;
  performance: PerformanceRule;
  /** Columns profiled as categories even when their values are numbers (used when publishing). */
  categoricalFeatures: string[];
}

/** A mistake in a model's `drift` settings (or in the defaults given by the environment). */
export class DriftConfigError extends Error {
  override readonly name = 'DriftConfigError';
}

const TOP_LEVEL = new Set([
  'window_hours',
  'min_predictions',
  'min_outcomes',
  'outcome_lookback_hours',
  'thresholds',
  'warning_ratio',
  'correction',
  'drift_share',
  'test',
  'features',
  'performance',
  'categorical_features',
]);
const TESTS: readonly TestName[] = ['ks', 'chisquare', 'z', 'wasserstein', 'jensenshannon', 'psi'];
/** Metrics a performance rule may name, with the direction that is better. */
export const PERFORMANCE_METRICS = {
  accuracy: 'higher',
  precision_macro: 'higher',
  recall_macro: 'higher',
  f1_macro: 'higher',
  roc_auc: 'higher',
  log_loss: 'lower',
  mae: 'lower',
  rmse: 'lower',
  r2: 'higher',
} as const;
export type PerformanceMetricName = keyof typeof PERFORMANCE_METRICS;

/**
 * Validates `drift` from config.json and fills in the defaults.
 *
 * @throws DriftConfigError naming the field, what was expected and what was found.
 * @example
 * ```ts
 * const settings = parseDriftSettings({ window_hours: 6, thresholds: { wasserstein: 0.2 } }, 'iris');
 * settings.options.thresholds.wasserstein; // 0.2
 * ```
 */
export function parseDriftSettings(
  drift: Record<string, unknown> | undefined,
  model: string,
  defaults: DriftDefaults = DRIFT_DEFAULTS,
): DriftSettings {
  const input = drift ?? {};
  const where = (field: string) => `model '${model}' config.json: 'drift.${field}'`;
  const fail = (field: string, expected: string, got: unknown): never => {
    throw new DriftConfigError(`${where(field)} must be ${expected}; got ${describe(got)}`);
  };
  for (const key of Object.keys(input)) {
    if (!TOP_LEVEL.has(key)) {
      throw new DriftConfigError(
        `model '${model}' config.json: unknown field 'drift.${key}' (known: ${[...TOP_LEVEL].join(', ')})`,
      );
    }
  }
  const positive = (field: string, fallback: number, integer: boolean): number => {
    const value = input[field];
    if (value === undefined) return fallback;
    if (
      typeof value !== 'number' ||
      !(value > 0) ||
      !Number.isFinite(value) ||
      (integer && !Number.isInteger(value))
    )
      return fail(field, integer ? 'a positive integer' : 'a positive number', value);
    return value;
  };
  const statsInput: DriftOptionsInput = {};
  if (input.thresholds !== undefined)
    statsInput.thresholds = thresholds(input.thresholds, 'thresholds', fail);
  if (input.warning_ratio !== undefined)
    statsInput.warningRatio = numberOf(input.warning_ratio, 'warning_ratio', fail);
  if (input.drift_share !== undefined)
    statsInput.driftShare = numberOf(input.drift_share, 'drift_share', fail);
  if (input.correction !== undefined)
    statsInput.correction = input.correction as DriftOptionsInput['correction'];
  if (input.test !== undefined) statsInput.test = testName(input.test, 'test', fail);
  const options = resolve(statsInput, model, 'drift');

  const features: Record<string, DriftOptions> = {};
  if (input.features !== undefined) {
    if (!isObject(input.features))
      fail('features', 'an object of feature name → { test, thresholds }', input.features);
    for (const [feature, override] of Object.entries(input.features as Record<string, unknown>)) {
      const field = `features.${feature}`;
      if (!isObject(override)) return fail(field, 'an object { test?, thresholds? }', override);
      for (const key of Object.keys(override)) {
        if (key !== 'test' && key !== 'thresholds')
          fail(`${field}.${key}`, "absent (known: 'test', 'thresholds')", key);
      }
      const featureInput: DriftOptionsInput = {
        ...statsInput,
        thresholds: {
          ...statsInput.thresholds,
          ...thresholds(override.thresholds ?? {}, `${field}.thresholds`, fail),
        },
      };
      if (override.test !== undefined) featureInput.test = testName(override.test, `${field}.test`, fail);
      Object.defineProperty(features, feature, {
        value: resolve(featureInput, model, `drift.${field}`),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }

  return {
    windowHours: positive('window_hours', defaults.windowHours, false),
    minPredictions: positive('min_predictions', defaults.minPredictions, true),
    minOutcomes: positive('min_outcomes', defaults.minOutcomes, true),
    outcomeLookbackHours:
      input.outcome_lookback_hours === 0
        ? 0
        : positive('outcome_lookback_hours', defaults.outcomeLookbackHours, false),
    options,
    features,
    performance: performanceRule(input.performance, fail),
    categoricalFeatures:
      input.categorical_features === undefined
        ? []
        : stringList(input.categorical_features, 'categorical_features', fail),
  };
}

/** The options a feature is tested with: its override, or the model's. */
export function featureOptions(settings: DriftSettings, feature: string): DriftOptions {
  return Object.hasOwn(settings.features, feature)
    ? (settings.features[feature] as DriftOptions)
    : settings.options;
}

type Fail = (field: string, expected: string, got: unknown) => never;

function resolve(input: DriftOptionsInput, model: string, field: string): DriftOptions {
  try {
    return resolveDriftOptions(input);
  } catch (error) {
    throw new DriftConfigError(`model '${model}' config.json: '${field}': ${(error as Error).message}`);
  }
}

function thresholds(value: unknown, field: string, fail: Fail): Partial<Record<TestName, number>> {
  if (!isObject(value)) return fail(field, `an object of test → threshold (${TESTS.join(', ')})`, value);
  const out: Partial<Record<TestName, number>> = {};
  for (const [name, threshold] of Object.entries(value)) {
    const test = testName(name, `${field} key`, fail);
    out[test] = numberOf(threshold, `${field}.${name}`, fail);
  }
  return out;
}

function testName(value: unknown, field: string, fail: Fail): TestName {
  if (typeof value !== 'string' || !TESTS.includes(value as TestName)) {
    return fail(field, `one of ${TESTS.join(', ')}`, value);
  }
  return value as TestName;
}

function performanceRule(value: unknown, fail: Fail): PerformanceRule {
  const rule: PerformanceRule = { metric: null, maxDrop: null, maxRelativeDrop: null };
  if (value === undefined) return rule;
  if (!isObject(value))
    return fail('performance', 'an object { metric?, max_drop?, max_relative_drop? }', value);
  for (const key of Object.keys(value)) {
    if (key !== 'metric' && key !== 'max_drop' && key !== 'max_relative_drop') {
      fail(`performance.${key}`, "absent (known: 'metric', 'max_drop', 'max_relative_drop')", key);
    }
  }
  if (value.metric !== undefined) {
    if (typeof value.metric !== 'string' || !Object.hasOwn(PERFORMANCE_METRICS, value.metric)) {
      fail('performance.metric', `one of ${Object.keys(PERFORMANCE_METRICS).join(', ')}`, value.metric);
    }
    rule.metric = value.metric as string;
  }
  if (value.max_drop !== undefined) rule.maxDrop = nonNegative(value.max_drop, 'performance.max_drop', fail);
  if (value.max_relative_drop !== undefined) {
    rule.maxRelativeDrop = nonNegative(value.max_relative_drop, 'performance.max_relative_drop', fail);
  }
  return rule;
}

function numberOf(value: unknown, field: string, fail: Fail): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fail(field, 'a number', value);
  return value;
}

function nonNegative(value: unknown, field: string, fail: Fail): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    return fail(field, 'a number ≥ 0', value);
  return value;
}

function stringList(value: unknown, field: string, fail: Fail): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    return fail(field, 'an array of feature names', value);
  }
  return [...value];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return `${typeof value} ${String(value)}`;
}
