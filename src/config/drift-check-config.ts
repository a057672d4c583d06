import { DRIFT_DEFAULTS, type DriftDefaults } from '../drift/check/settings.ts';
import { type Env, readBoolean, readNumber, readOptionalString, readString } from './env.ts';
import { readStoreConnection, type StoreConnection } from './store-config.ts';

/** Everything the drift function reads from its environment. */
export interface DriftCheckConfig extends StoreConnection {
  /** EventBridge bus of the ModelDriftDetected events. */
  eventBusName: string;
  /** When set (the local stack), events are appended to this JSON-lines file instead. */
  eventsFile?: string;
  /** Defaults for models whose config.json `drift` section does not say. */
  defaults: DriftDefaults;
  /** Objects read at once. */
  concurrency: number;
  /** No further model is started this long before the invocation's timeout. */
  deadlineMarginMs: number;
  /**
   * Scheduled checks end their window on the last whole hour and keep per-hour summaries in S3,
   * so each run reads only captures and outcomes it has not read before.
   */
  incremental: boolean;
}

/**
 * Reads the drift function's configuration: `MODEL_BUCKET` (required), `AWS_REGION`,
 * `S3_ENDPOINT`, `S3_FORCE_PATH_STYLE`, `EVENT_BUS_NAME` (default `default`), `DRIFT_EVENTS_FILE`
 * (local stack only), `DRIFT_WINDOW_HOURS` (24), `DRIFT_MIN_PREDICTIONS` (100),
 * `DRIFT_MIN_OUTCOMES` (30), `DRIFT_OUTCOME_LOOKBACK_HOURS` (24), `DRIFT_READ_CONCURRENCY` (8),
 * `DRIFT_DEADLINE_MARGIN_SECONDS` (60), `DRIFT_INCREMENTAL` (false). A model's config.json `drift` section overrides the
 * defaults for that model.
 *
 * @example
 * ```ts
 * const config = readDriftCheckConfig(process.env);
 * config.defaults.windowHours; // 24
 * ```
 */
export function readDriftCheckConfig(env: Env): DriftCheckConfig {
  return {
    ...readStoreConnection(env),
    eventBusName: readString(env, 'EVENT_BUS_NAME', 'default'),
    eventsFile: readOptionalString(env, 'DRIFT_EVENTS_FILE'),
    defaults: {
      windowHours: readNumber(env, 'DRIFT_WINDOW_HOURS', DRIFT_DEFAULTS.windowHours, {
        min: 0.01,
        max: 24 * 366,
      }),
      minPredictions: Math.round(
        readNumber(env, 'DRIFT_MIN_PREDICTIONS', DRIFT_DEFAULTS.minPredictions, { min: 1, max: 1e9 }),
      ),
      minOutcomes: Math.round(
        readNumber(env, 'DRIFT_MIN_OUTCOMES', DRIFT_DEFAULTS.minOutcomes, { min: 1, max: 1e9 }),
      ),
      outcomeLookbackHours: readNumber(
        env,
        'DRIFT_OUTCOME_LOOKBACK_HOURS',
        DRIFT_DEFAULTS.outcomeLookbackHours,
        {
          min: 0,
          max: 24 * 366,
        },
      ),
    },
    concurrency: Math.round(readNumber(env, 'DRIFT_READ_CONCURRENCY', 8, { min: 1, max: 64 })),
    deadlineMarginMs: readNumber(env, 'DRIFT_DEADLINE_MARGIN_SECONDS', 60, { min: 0, max: 600 }) * 1000,
    incremental: readBoolean(env, 'DRIFT_INCREMENTAL', false),
  };
}
