/**
 * The drift check of one model over a window: outcomes indexed first, then the captures streamed
 * once, each record routed to its version's accumulator (laid out by that version's
 * reference.json) and joined with its outcome on the fly; then each version with traffic is
 * analysed against its own reference. The report is about the latest version with traffic; the
 * others are summarised beside it.
 */

import type { StreamingObjectStore } from '../../ports/object-store.ts';
import { type ModelConfig, parseModelConfig } from '../../repository/model-config.ts';
import { assertModelName } from '../../repository/names.ts';
import { parseReferenceDocument, type ReferenceDocument, referenceKey } from '../profiles/reference-types.ts';
import type { DataDriftSection, PerformanceSection, PredictionDriftSection } from '../report/report-types.ts';
import type { CbpeSums } from '../statistics/index.ts';
import { quantileSorted } from '../statistics/index.ts';
import {
  fingerprintOf,
  hourAligned,
  joinOutcomes,
  type LoadedReference,
  type SummaryScanStats,
  windowFromSummaries,
} from '../summaries/hour-summaries.ts';
import { type JoinedRows, VersionAccumulator } from './accumulator.ts';
import { type AnalysedVersion, analyseDataDrift, analysePredictionDrift } from './analyse.ts';
import { type CaptureScanStats, scanCaptures } from './capture-scan.ts';
import { analyseDataQuality, type DataQualitySection } from './data-quality.ts';
import {
  type EstimatedPerformanceSection,
  estimatedPerformance,
  type HourlySums,
} from './estimated-performance.ts';
import { analyseMultivariate, type MultivariateDriftSection } from './multivariate-drift.ts';
import { loadOutcomes, type OutcomeIndex } from './outcome-index.ts';
import { assessPerformance } from './performance.ts';
import { DRIFT_DEFAULTS, type DriftDefaults, type DriftSettings, parseDriftSettings } from './settings.ts';
import { type TimeWindow, windowEndingAt } from './window.ts';

const HOUR_MS = 3_600_000;

export interface DriftCheckOptions {
  store: StreamingObjectStore;
  /** End of the window (default: now). */
  end?: Date;
  /** Outcomes indexed at most (default `DEFAULT_MAX_OUTCOMES`); the rest are counted as dropped. */
  maxOutcomes?: number;
  /** The present, which caps the outcome lookback (default: now). */
  now?: Date;
  /** Window length overriding config.json and the defaults. */
  windowHours?: number;
  /** Defaults for models whose config.json does not say (from the environment). */
  defaults?: DriftDefaults;
  /** Objects read at once (default 8). */
  concurrency?: number;
  /**
   * Keep per-hour capture summaries under `reports/{model}/_summaries/` and read only the capture
   * objects they do not cover (used when the window starts and ends on whole hours).
   */
  summaries?: boolean;
}

/** What `analyseVersion` needs: the accumulated (or summarised) window of one version, joined. */
interface CheckedVersion extends AnalysedVersion {
  readonly classNames: readonly string[];
  readonly joined: JoinedRows;
  readonly truncated: number;
  readonly withoutPrediction: number;
  readonly duplicateCaptures: number;
  readonly firstTs: number;
  readonly lastTs: number;
  readonly cbpe: CbpeSums | null;
  readonly pcaErrorSum: number;
  readonly pcaRows: number;
  /** Per-hour sums: the estimated-versus-realised series. */
  readonly hourly?: readonly HourlySums[];
}

/** What the check found for one version. */
export interface VersionResult {
  version: string;
  referenceKey: string;
  reference: ReferenceDocument | null;
  predictions: number;
  nonTabular: number;
  truncated: number;
  withoutPrediction: number;
  duplicatePredictions: number;
  firstTs: number | null;
  lastTs: number | null;
  dataDrift: DataDriftSection;
  dataQuality: DataQualitySection;
  estimatedPerformance: EstimatedPerformanceSection;
  multivariateDrift: MultivariateDriftSection;
  predictionDrift: PredictionDriftSection | null;
  performance: PerformanceSection;
  joined: number;
  late: number;
  delaySeconds: { count: number; median: number | null; p90: number | null };
  alertReasons: string[];
  warnings: string[];
}

export interface ModelCheckResult {
  model: string;
  window: TimeWindow;
  windowHours: number;
  settings: DriftSettings;
  config: ModelConfig;
  /** The latest version with traffic; null when the window has none. */
  primary: VersionResult | null;
  others: VersionResult[];
  scan: CaptureScanStats | SummaryScanStats;
  outcomes: OutcomeIndex['stats'] & { unmatched: number; range: { from: Date; to: Date } };
  warnings: string[];
}

/**
 * Runs the drift check of `model`.
 *
 * @throws ModelUnavailableError when config.json is invalid, DriftConfigError when its `drift`
 * section is, StorageUnavailableError when the store fails.
 * @example
 * ```ts
 * const result = await checkModel('iris', { store });
 * result.primary?.dataDrift.verdict; // 'ok' | 'warning' | 'drift' | 'insufficient_data' | 'no_reference'
 * ```
 */
export async function checkModel(model: string, options: DriftCheckOptions): Promise<ModelCheckResult> {
  assertModelName(model);
  const { store } = options;
  const now = options.now ?? new Date();
  const warnings: string[] = [];
  const config = await readConfig(store, model, warnings);
  const settings = parseDriftSettings(config.drift, model, options.defaults ?? DRIFT_DEFAULTS);
  const windowHours = options.windowHours ?? settings.windowHours;
  const window = windowEndingAt(options.end ?? now, windowHours);

  const outcomeRange = {
    from: window.start,
    to: new Date(Math.min(now.getTime(), window.end.getTime() + settings.outcomeLookbackHours * HOUR_MS)),
  };
  const summarise = options.summaries === true && hourAligned(window);
  const outcomes = await loadOutcomes(store, model, outcomeRange, {
    concurrency: options.concurrency,
    now,
    ledger: summarise,
    maxOutcomes: options.maxOutcomes,
  });

  if (summarise) {
    const references = new Map<string, Promise<LoadedReference>>();
    const referenceOf = (version: string): Promise<LoadedReference> => {
      let pending = references.get(version);
      if (pending === undefined) {
        pending = readReference(store, model, version, warnings);
        references.set(version, pending);
      }
      return pending;
    };
    const summarised = await windowFromSummaries(store, model, window, referenceOf, {
      concurrency: options.concurrency,
    });
    const joinedVersions = summarised.versions
      .filter((v) => v.predictions > 0)
      .sort((a, b) => Number(b.version) - Number(a.version))
      .map((v) => joinOutcomes(v, outcomes, window.end.getTime()));
    return finish(
      model,
      window,
      windowHours,
      settings,
      config,
      joinedVersions,
      summarised.scan,
      outcomes,
      outcomeRange,
      warnings,
    );
  }

  const ready = new Map<string, VersionAccumulator>();
  const loading = new Map<string, Promise<VersionAccumulator>>();
  const accumulatorOf = (version: string): VersionAccumulator | Promise<VersionAccumulator> => {
    const known = ready.get(version);
    if (known) return known;
    let pending = loading.get(version);
    if (pending === undefined) {
      pending = readReference(store, model, version, warnings).then((reference) => {
        const accumulator = new VersionAccumulator(
          version,
          reference.reference,
          outcomes,
          window.end.getTime(),
        );
        ready.set(version, accumulator);
        return accumulator;
      });
      loading.set(version, pending);
    }
    return pending;
  };
  const scan = await scanCaptures(
    store,
    model,
    window,
    (record, ts) => {
      // Shadow predictions were never served: the rollout comparison reads them (rollout.ts).
      if (record.shadow === true) return;
      const accumulator = accumulatorOf(record.version);
      if (accumulator instanceof VersionAccumulator) accumulator.add(record, ts);
      else return accumulator.then((loaded) => loaded.add(record, ts));
    },
    { concurrency: options.concurrency },
  );
  const versions = [...ready.values()]
    .filter((v) => v.predictions > 0)
    .sort((a, b) => Number(b.version) - Number(a.version));
  return finish(
    model,
    window,
    windowHours,
    settings,
    config,
    versions,
    scan,
    outcomes,
    outcomeRange,
    warnings,
  );
}

function finish(
  model: string,
  window: TimeWindow,
  windowHours: number,
  settings: DriftSettings,
  config: ModelConfig,
  versions: CheckedVersion[],
  scan: CaptureScanStats | SummaryScanStats,
  outcomes: OutcomeIndex,
  outcomeRange: { from: Date; to: Date },
  warnings: string[],
): ModelCheckResult {
  for (const { key, reason } of scan.unreadable)
    warnings.push(`capture object ${key} could not be read: ${reason}`);
  for (const { key, reason } of outcomes.stats.unreadable)
    warnings.push(`outcome object ${key} could not be read: ${reason}`);
  if (outcomes.stats.invalid > 0) warnings.push(`${outcomes.stats.invalid} invalid outcome line(s) skipped`);
  if (outcomes.stats.dropped > 0) {
    warnings.push(
      `${outcomes.stats.dropped} outcome(s) beyond the first ${outcomes.values.length} were not joined (cap on outcomes per check)`,
    );
  }
  if (outcomes.stats.uncached > 0) {
    warnings.push(
      `${outcomes.stats.uncached} outcome object(s) were read but not kept in the outcome ledger (cap on outcome lines held per check); the next check reads them again`,
    );
  }
  if (scan.invalidLines > 0)
    warnings.push(`${scan.invalidLines} capture line(s) skipped: not a valid capture record of '${model}'`);

  // Latest version first: it is the one reported.
  const results = versions.map((version) => analyseVersion(model, version, settings, config));
  let matched = 0;
  for (const flag of outcomes.matched) matched += flag;
  return {
    model,
    window,
    windowHours,
    settings,
    config,
    primary: results[0] ?? null,
    others: results.slice(1),
    scan,
    outcomes: { ...outcomes.stats, unmatched: outcomes.values.length - matched, range: outcomeRange },
    warnings,
  };
}

function analyseVersion(
  model: string,
  version: CheckedVersion,
  settings: DriftSettings,
  config: ModelConfig,
): VersionResult {
  const warnings: string[] = [];
  const reference = version.reference;
  // Before the drift analysis, which consumes the numeric columns.
  const dataQuality = analyseDataQuality(
    version,
    settings.dataQuality,
    settings.options.warningRatio,
    settings.minPredictions,
    settings.calibration.missing,
  );
  const dataDrift = analyseDataDrift(version, settings);
  const predictionDrift = analysePredictionDrift(version, settings);
  const task = reference?.task ?? config.task ?? 'other';
  const performance = assessPerformance(
    task,
    version.joined,
    version.classNames,
    reference?.performance ?? null,
    settings,
  );
  const estimated = estimatedPerformance(
    reference,
    version.cbpe,
    performance.metrics,
    settings.performance.metric,
    settings.minPredictions,
    version.hourly ?? [],
    settings.calibration.estimatedPerformance
      ? null
      : { maxDrop: settings.performance.maxDrop, maxRelativeDrop: settings.performance.maxRelativeDrop },
  );
  const joined = version.joined.actual.length;
  const delays = version.joined.delays.toSortedSample().values;
  if (version.nonTabular > 0) {
    warnings.push(
      `${version.nonTabular} prediction(s) of version ${version.version} had tensor inputs, not named features; their inputs were not profiled`,
    );
  }
  if (version.withoutPrediction > 0) {
    warnings.push(
      `${version.withoutPrediction} prediction(s) of version ${version.version} had no usable ${reference?.prediction?.kind ?? 'prediction'} output`,
    );
  }
  if (reference !== null && reference.features.length > 0 && version.predictions > 0) {
    for (const feature of dataDrift.features) {
      if (feature.current.count === 0 && feature.current.missing > 0) {
        warnings.push(
          `feature '${feature.name}' was missing from every capture of version ${version.version}`,
        );
      }
    }
  }
  const alertReasons: string[] = [];
  if (dataDrift.verdict === 'drift') alertReasons.push('data_drift');
  if (performance.verdict === 'degraded') alertReasons.push('performance_degraded');
  if (dataQuality.verdict === 'fail') alertReasons.push('data_quality');
  // The estimate speaks when the outcomes cannot: late or absent.
  if (
    estimated.verdict === 'degraded' &&
    (performance.verdict === 'not_available' || performance.verdict === 'insufficient_data')
  )
    alertReasons.push('estimated_performance_degraded');
  return {
    version: version.version,
    referenceKey: referenceKey(model, version.version),
    reference,
    predictions: version.predictions,
    nonTabular: version.nonTabular,
    truncated: version.truncated,
    withoutPrediction: version.withoutPrediction,
    duplicatePredictions: version.duplicateCaptures,
    firstTs: Number.isFinite(version.firstTs) ? version.firstTs : null,
    lastTs: Number.isFinite(version.lastTs) ? version.lastTs : null,
    dataDrift,
    dataQuality,
    estimatedPerformance: estimated,
    multivariateDrift: analyseMultivariate(
      reference,
      version.pcaErrorSum,
      version.pcaRows,
      settings.minPredictions,
      settings.calibration.multivariate ? null : settings.multivariateMaxIncrease,
    ),
    predictionDrift,
    performance,
    joined,
    late: version.joined.late,
    delaySeconds: {
      count: delays.length,
      median: delays.length > 0 ? quantileSorted(delays, 0.5) : null,
      p90: delays.length > 0 ? quantileSorted(delays, 0.9) : null,
    },
    alertReasons,
    warnings,
  };
}

async function readConfig(
  store: StreamingObjectStore,
  model: string,
  warnings: string[],
): Promise<ModelConfig> {
  const object = await store.get(`models/${model}/config.json`);
  if (object === undefined) return {};
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(object.body));
  } catch (error) {
    throw new Error(`models/${model}/config.json is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = parseModelConfig(json, model);
  warnings.push(...parsed.warnings);
  return parsed.config;
}

async function readReference(
  store: StreamingObjectStore,
  model: string,
  version: string,
  warnings: string[],
): Promise<LoadedReference> {
  const key = referenceKey(model, version);
  const object = await store.get(key);
  if (object === undefined) {
    warnings.push(
      `version ${version} has no ${key}: publish it with --reference to compare its traffic with training data`,
    );
    return { reference: null, fingerprint: null };
  }
  const fingerprint = fingerprintOf(object.body);
  try {
    return {
      reference: parseReferenceDocument(JSON.parse(new TextDecoder().decode(object.body)), key),
      fingerprint,
    };
  } catch (error) {
    warnings.push(`${key} cannot be used: ${(error as Error).message}`);
    return { reference: null, fingerprint };
  }
}
