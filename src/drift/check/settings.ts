/**
 * The `drift` section of a model's `config.json`, validated strictly (a typo fails naming the
 * field) and merged over the function's defaults.
 */
import * as z from 'zod/mini';
import { closedObject, parseUserJson } from '../../schema/user-json.ts';
import {
  CHI_SQUARED_METHODS,
  CORRECTIONS,
  type DriftOptions,
  type DriftOptionsInput,
  resolveDriftOptions,
  type TestName,
} from '../statistics/index.ts';
import { type DataQualityThresholds, DEFAULT_DATA_QUALITY_THRESHOLDS } from './data-quality.ts';

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
  /** Shares of the window's rows above which a data-quality check fails. */
  dataQuality: DataQualityThresholds;
  /** Which thresholds come from the reference chunks (mean ± 3σ) rather than fixed values. */
  calibration: CalibrationSettings;
  /** Fixed multivariate threshold: the mean error may rise this much (relative) above the reference's. */
  multivariateMaxIncrease: number;
}

/** Calibrated (true) or fixed (false) thresholds, per kind of metric. */
export interface CalibrationSettings {
  /** Per-feature drift statistics (a feature's `calibrated` overrides it). Default false. */
  features: boolean;
  /** The data-quality missing share. Default false. */
  missing: boolean;
  /** CBPE estimates. Default true (false: the performance rule's drop from the reference). */
  estimatedPerformance: boolean;
  /** PCA reconstruction error. Default true (false: `multivariate_max_increase`). */
  multivariate: boolean;
}

export const DEFAULT_CALIBRATION: Readonly<CalibrationSettings> = {
  features: false,
  missing: false,
  estimatedPerformance: true,
  multivariate: true,
};

/** Default fixed multivariate threshold: mean reconstruction error 10 % above the reference's. */
export const DEFAULT_MULTIVARIATE_MAX_INCREASE = 0.1;

/** A mistake in a model's `drift` settings (or in the defaults given by the environment). */
export class DriftConfigError extends Error {
  override readonly name = 'DriftConfigError';
}

const TESTS = [
  'ks',
  'chisquare',
  'z',
  'wasserstein',
  'jensenshannon',
  'psi',
] as const satisfies readonly TestName[];
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

const testName = z.enum(TESTS, { error: `one of ${TESTS.join(', ')}` });
const finite = z.number({ error: 'a number' });
const positive = z.number({ error: 'a positive number' }).check(z.positive({ error: 'a positive number' }));
const positiveInteger = z
  .int({ error: 'a positive integer' })
  .check(z.positive({ error: 'a positive integer' }));
const share = z
  .number({ error: 'a share in [0, 1]' })
  .check(z.minimum(0, { error: 'a share in [0, 1]' }), z.maximum(1, { error: 'a share in [0, 1]' }));
const nonNegative = z.number({ error: 'a number ≥ 0' }).check(z.minimum(0, { error: 'a number ≥ 0' }));
const thresholdsSchema = z.partialRecord(testName, finite, {
  error: (issue) =>
    (issue.code as string) === 'unrecognized_keys'
      ? `(known: ${TESTS.join(', ')})`
      : `an object of test → threshold (${TESTS.join(', ')})`,
});

const flag = z.boolean({ error: 'true or false' });
const featureOverrideSchema = closedObject(
  { test: z.optional(testName), thresholds: z.optional(thresholdsSchema), calibrated: z.optional(flag) },
  'an object { test?, thresholds?, calibrated? }',
);
const metricNames = Object.keys(PERFORMANCE_METRICS) as [PerformanceMetricName, ...PerformanceMetricName[]];

/**
 * The `drift` section of `config.json`: every field optional, any other field an error naming the
 * known ones. Value ranges that depend on the test (a p-value threshold in (0, 1)) are checked
 * when the options are resolved.
 */
export const driftSectionSchema = closedObject({
  window_hours: z.optional(positive),
  min_predictions: z.optional(positiveInteger),
  min_outcomes: z.optional(positiveInteger),
  outcome_lookback_hours: z.optional(nonNegative),
  thresholds: z.optional(thresholdsSchema),
  warning_ratio: z.optional(finite),
  correction: z.optional(z.enum(CORRECTIONS, { error: `one of ${CORRECTIONS.join(', ')}` })),
  chisquare_method: z.optional(
    z.enum(CHI_SQUARED_METHODS, { error: `one of ${CHI_SQUARED_METHODS.join(', ')}` }),
  ),
  drift_share: z.optional(finite),
  test: z.optional(testName),
  features: z.optional(
    z.record(z.string(), featureOverrideSchema, {
      error: 'an object of feature name → { test?, thresholds?, calibrated? }',
    }),
  ),
  performance: z.optional(
    closedObject({
      metric: z.optional(z.enum(metricNames, { error: `one of ${metricNames.join(', ')}` })),
      max_drop: z.optional(nonNegative),
      max_relative_drop: z.optional(nonNegative),
    }),
  ),
  categorical_features: z.optional(
    z.array(z.string({ error: 'a feature name' }), { error: 'an array of feature names' }),
  ),
  calibration: z.optional(
    closedObject({
      features: z.optional(flag),
      missing: z.optional(flag),
      estimated_performance: z.optional(flag),
      multivariate: z.optional(flag),
    }),
  ),
  multivariate_max_increase: z.optional(positive),
  data_quality: z.optional(
    closedObject({
      missing: z.optional(share),
      out_of_range: z.optional(share),
      new_category: z.optional(share),
      type_mismatch: z.optional(share),
    }),
  ),
});

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
  const where = `model '${model}' config.json`;
  const input = parseUserJson(
    driftSectionSchema,
    drift ?? {},
    (problem) => new DriftConfigError(`${where}: ${problem.message}`),
    { prefix: 'drift.' },
  );
  const statsInput: DriftOptionsInput = {
    ...(input.thresholds === undefined ? {} : { thresholds: input.thresholds }),
    ...(input.warning_ratio === undefined ? {} : { warningRatio: input.warning_ratio }),
    ...(input.drift_share === undefined ? {} : { driftShare: input.drift_share }),
    ...(input.correction === undefined ? {} : { correction: input.correction }),
    ...(input.chisquare_method === undefined ? {} : { chiSquaredMethod: input.chisquare_method }),
    ...(input.test === undefined ? {} : { test: input.test }),
    ...(input.calibration?.features === undefined ? {} : { calibrated: input.calibration.features }),
  };
  const options = resolve(statsInput, where, 'drift');

  const features: Record<string, DriftOptions> = {};
  // From the JSON's own keys: a record drops a feature named `__proto__`, which is still a name.
  const rawFeatures = (drift?.features ?? {}) as Record<string, unknown>;
  for (const feature of Object.keys(rawFeatures)) {
    const override = parseUserJson(
      featureOverrideSchema,
      rawFeatures[feature],
      (problem) => new DriftConfigError(`${where}: ${problem.message}`),
      { prefix: `drift.features.${feature}.` },
    );
    const featureInput: DriftOptionsInput = {
      ...statsInput,
      thresholds: { ...statsInput.thresholds, ...override.thresholds },
      ...(override.test === undefined ? {} : { test: override.test }),
      ...(override.calibrated === undefined ? {} : { calibrated: override.calibrated }),
    };
    Object.defineProperty(features, feature, {
      value: resolve(featureInput, where, `drift.features.${feature}`),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }

  const performance = input.performance ?? {};
  return {
    windowHours: input.window_hours ?? defaults.windowHours,
    minPredictions: input.min_predictions ?? defaults.minPredictions,
    minOutcomes: input.min_outcomes ?? defaults.minOutcomes,
    outcomeLookbackHours: input.outcome_lookback_hours ?? defaults.outcomeLookbackHours,
    options,
    features,
    performance: {
      metric: performance.metric ?? null,
      maxDrop: performance.max_drop ?? null,
      maxRelativeDrop: performance.max_relative_drop ?? null,
    },
    categoricalFeatures: [...(input.categorical_features ?? [])],
    dataQuality: {
      missing: input.data_quality?.missing ?? DEFAULT_DATA_QUALITY_THRESHOLDS.missing,
      outOfRange: input.data_quality?.out_of_range ?? DEFAULT_DATA_QUALITY_THRESHOLDS.outOfRange,
      newCategory: input.data_quality?.new_category ?? DEFAULT_DATA_QUALITY_THRESHOLDS.newCategory,
      typeMismatch: input.data_quality?.type_mismatch ?? DEFAULT_DATA_QUALITY_THRESHOLDS.typeMismatch,
    },
    calibration: {
      features: input.calibration?.features ?? DEFAULT_CALIBRATION.features,
      missing: input.calibration?.missing ?? DEFAULT_CALIBRATION.missing,
      estimatedPerformance:
        input.calibration?.estimated_performance ?? DEFAULT_CALIBRATION.estimatedPerformance,
      multivariate: input.calibration?.multivariate ?? DEFAULT_CALIBRATION.multivariate,
    },
    multivariateMaxIncrease: input.multivariate_max_increase ?? DEFAULT_MULTIVARIATE_MAX_INCREASE,
  };
}

/** The options a feature is tested with: its override, or the model's. */
export function featureOptions(settings: DriftSettings, feature: string): DriftOptions {
  return Object.hasOwn(settings.features, feature)
    ? (settings.features[feature] as DriftOptions)
    : settings.options;
}

function resolve(input: DriftOptionsInput, where: string, field: string): DriftOptions {
  try {
    return resolveDriftOptions(input);
  } catch (error) {
    throw new DriftConfigError(`${where}: '${field}': ${(error as Error).message}`);
  }
}
