/**
 * Rollout comparison: how each version of a model did in the drift window, and whether a
 * challenger (a canary receiving part of the traffic, or a shadow version run on mirrored
 * requests) performs worse, better or indistinguishably from the primary version on the outcomes
 * posted for its predictions.
 *
 * Tests (two-sided, at `ROLLOUT_ALPHA`):
 * - shadow vs primary: the predictions are paired (same prediction ids). Classification: McNemar's
 *   exact test on the discordant pairs (one right, the other wrong). Regression: the exact sign
 *   test on which of the two has the smaller absolute error (ties dropped). Both are a binomial
 *   test of the discordant count against p = 0.5.
 * - canary vs primary: different requests, so unpaired. Classification: the two-proportion z-test
 *   on accuracy (pooled variance). Regression: Welch's z-test on the mean absolute errors.
 * A challenger with fewer than `MIN_ROLLOUT_PAIRS` joined predictions gets `insufficient_data`.
 */
import type { CapturedTensor, CaptureRecord } from '../../capture/record.ts';
import type { OutcomeValue } from '../../outcomes/outcome.ts';
import type { StreamingObjectStore } from '../../ports/object-store.ts';
import type { ModelConfig } from '../../repository/model-config.ts';
import { versionOfFolder } from '../../repository/names.ts';
import { logGamma, normalTwoSided } from '../statistics/special.ts';
import { scanCaptures } from './capture-scan.ts';
import { argmax, classIndexOf, labelName } from './labels.ts';
import { loadOutcomes } from './outcome-index.ts';
import type { TimeWindow } from './window.ts';

/** Significance level of the rollout verdicts. */
export const ROLLOUT_ALPHA = 0.05;
/** Fewest joined predictions (pairs, for a shadow) a verdict is given on. */
export const MIN_ROLLOUT_PAIRS = 30;

export type RolloutRole = 'primary' | 'canary' | 'shadow' | 'other';
export type RolloutVerdict = 'better' | 'worse' | 'indistinguishable' | 'insufficient_data';

/** One version in the window. */
export interface RolloutVersion {
  version: string;
  role: RolloutRole;
  /** Share of the split traffic configured for it, percent (null when none). */
  traffic: number | null;
  predictions: number;
  /** Predictions with an outcome. */
  joined: number;
  /** Classification: share of joined predictions that were right. */
  accuracy: number | null;
  /** Regression: mean absolute error on joined predictions. */
  mae: number | null;
  /** Shadows: agreement with the primary on the same prediction ids. */
  agreement: {
    paired: number;
    /** Share of paired predictions with the same label (classification). */
    label_agreement: number | null;
    /** Mean absolute difference of the scores (probabilities or regression values). */
    mean_abs_score_diff: number | null;
  } | null;
}

/** A challenger compared with the primary. */
export interface RolloutComparison {
  challenger: string;
  primary: string;
  kind: 'canary' | 'shadow';
  test: 'mcnemar_exact' | 'sign_test_exact' | 'two_proportion_z' | 'welch_z';
  /** Observations the test used: discordant pairs (paired tests) or joined predictions of both. */
  n: number;
  /** Challenger's metric minus the primary's (accuracy, or MAE: lower is better). */
  difference: number | null;
  p_value: number | null;
  verdict: RolloutVerdict;
}

export interface RolloutResult {
  model: string;
  primary: string | null;
  versions: RolloutVersion[];
  comparisons: RolloutComparison[];
  alpha: number;
}

interface Prediction {
  label?: string;
  scores?: number[];
}

/** What is kept per version while the captures are read. */
export interface VersionTally {
  version: string;
  predictions: number;
  /** Shadow predictions of the version (kept apart from its served ones). */
  shadow: boolean;
  byId: Map<string, Prediction>;
}

/** Key of a tally: served and shadow predictions of one version are counted apart. */
export function tallyKey(version: string, shadow: boolean): string {
  return shadow ? `${version}/shadow` : version;
}

/**
 * Compares the versions of a model in `window` when its config.json has a `traffic` split or
 * `shadow` versions; `undefined` otherwise. Reads the captures and the outcomes of the window once
 * more (only for models with a rollout; hour summaries do not serve this comparison).
 *
 * @example
 * ```ts
 * const rollout = await checkRollout(store, 'iris', config, window, now);
 * rollout?.comparisons[0]?.verdict; // 'better' | 'worse' | 'indistinguishable' | 'insufficient_data'
 * ```
 */
export async function checkRollout(
  store: StreamingObjectStore,
  model: string,
  config: ModelConfig,
  window: TimeWindow,
  now: Date,
): Promise<RolloutResult | undefined> {
  // Models without a rollout cost nothing more: their captures are not read a second time.
  if (config.traffic === undefined && config.shadow === undefined) return undefined;
  const tallies = new Map<string, VersionTally>();
  await scanCaptures(store, model, window, (record) => {
    const shadow = record.shadow === true;
    const key = tallyKey(record.version, shadow);
    let tally = tallies.get(key);
    if (tally === undefined) {
      tally = { version: record.version, predictions: 0, shadow, byId: new Map() };
      tallies.set(key, tally);
    }
    tally.predictions++;
    tally.byId.set(record.id, predictionOf(record, config));
  });
  const outcomes = await loadOutcomes(store, model, { from: window.start, to: now });
  const outcomeOf = (id: string): OutcomeValue | undefined => {
    const row = outcomes.ids.get(id);
    return row === undefined ? undefined : outcomes.values[row];
  };
  return compareVersions(model, config, tallies, outcomeOf);
}

/** The comparison from per-version predictions and an outcome lookup (exported for tests). */
export function compareVersions(
  model: string,
  config: ModelConfig,
  tallies: ReadonlyMap<string, VersionTally>,
  outcomeOf: (id: string) => OutcomeValue | undefined,
): RolloutResult {
  const weights = new Map<string, number>();
  for (const [target, weight] of Object.entries(config.traffic ?? {})) {
    const version = versionOfFolder(target) ?? config.aliases?.[target];
    if (version !== undefined) weights.set(String(version), (weights.get(String(version)) ?? 0) + weight);
  }
  // The primary: the heaviest weight of the split, else the served version with most predictions.
  const served = [...tallies.values()].filter((tally) => !tally.shadow);
  const byWeight = [...weights.entries()].sort((x, y) => y[1] - x[1])[0]?.[0];
  const primary =
    byWeight !== undefined && tallies.has(tallyKey(byWeight, false))
      ? byWeight
      : ([...served].sort((x, y) => y.predictions - x.predictions)[0]?.version ?? null);
  const primaryTally = primary === null ? undefined : tallies.get(tallyKey(primary, false));
  const regression = config.task === 'regression';
  const labels = config.labels ?? null;
  const correct = (prediction: Prediction, actual: OutcomeValue): boolean | undefined => {
    if (prediction.label === undefined) return undefined;
    if (labels !== null) {
      const a = classIndexOf(prediction.label, labels);
      return a !== -1 && a === classIndexOf(actual, labels);
    }
    return prediction.label === String(actual);
  };
  const absError = (prediction: Prediction, actual: OutcomeValue): number | undefined => {
    const value = prediction.scores?.[0];
    const target = typeof actual === 'number' ? actual : Number(actual);
    return value === undefined || !Number.isFinite(target) ? undefined : Math.abs(value - target);
  };

  const versions: RolloutVersion[] = [];
  const ordered = [...tallies.values()].sort(
    (x, y) => Number(x.version) - Number(y.version) || Number(x.shadow) - Number(y.shadow),
  );
  for (const tally of ordered) {
    const { version } = tally;
    let joined = 0;
    let right = 0;
    let errorSum = 0;
    for (const [id, prediction] of tally.byId) {
      const actual = outcomeOf(id);
      if (actual === undefined) continue;
      if (regression) {
        const error = absError(prediction, actual);
        if (error === undefined) continue;
        joined++;
        errorSum += error;
      } else {
        const ok = correct(prediction, actual);
        if (ok === undefined) continue;
        joined++;
        if (ok) right++;
      }
    }
    const role: RolloutRole = tally.shadow
      ? 'shadow'
      : version === primary
        ? 'primary'
        : weights.has(version)
          ? 'canary'
          : 'other';
    versions.push({
      version,
      role,
      traffic: weights.get(version) ?? null,
      predictions: tally.predictions,
      joined,
      accuracy: !regression && joined > 0 ? right / joined : null,
      mae: regression && joined > 0 ? errorSum / joined : null,
      agreement: role === 'shadow' && primaryTally !== undefined ? agreementOf(tally, primaryTally) : null,
    });
  }

  const comparisons: RolloutComparison[] = [];
  const primaryStats = versions.find((v) => v.role === 'primary');
  for (const challenger of versions) {
    if (primaryTally === undefined || primaryStats === undefined) break;
    if (challenger.role !== 'canary' && challenger.role !== 'shadow') continue;
    const tally = tallies.get(tallyKey(challenger.version, challenger.role === 'shadow')) as VersionTally;
    if (challenger.role === 'shadow') {
      // Paired on the same prediction ids: count where exactly one of the two does better.
      let challengerBetter = 0;
      let primaryBetter = 0;
      let pairs = 0;
      for (const [id, prediction] of tally.byId) {
        const base = primaryTally.byId.get(id);
        const actual = outcomeOf(id);
        if (base === undefined || actual === undefined) continue;
        if (regression) {
          const a = absError(prediction, actual);
          const b = absError(base, actual);
          if (a === undefined || b === undefined) continue;
          pairs++;
          if (a < b) challengerBetter++;
          else if (b < a) primaryBetter++;
        } else {
          const a = correct(prediction, actual);
          const b = correct(base, actual);
          if (a === undefined || b === undefined) continue;
          pairs++;
          if (a && !b) challengerBetter++;
          else if (b && !a) primaryBetter++;
        }
      }
      const discordant = challengerBetter + primaryBetter;
      const p = discordant === 0 ? 1 : binomialTwoSided(challengerBetter, discordant);
      comparisons.push({
        challenger: challenger.version,
        primary: primaryStats.version,
        kind: 'shadow',
        test: regression ? 'sign_test_exact' : 'mcnemar_exact',
        n: discordant,
        difference: metricDifference(challenger, primaryStats, regression),
        p_value: pairs < MIN_ROLLOUT_PAIRS ? null : p,
        verdict:
          pairs < MIN_ROLLOUT_PAIRS
            ? 'insufficient_data'
            : verdictOf(p, challengerBetter > primaryBetter ? 1 : challengerBetter < primaryBetter ? -1 : 0),
      });
      continue;
    }
    // A canary answered other requests: unpaired.
    const n1 = challenger.joined;
    const n0 = primaryStats.joined;
    const canary = {
      challenger: challenger.version,
      primary: primaryStats.version,
      kind: 'canary',
      test: regression ? 'welch_z' : 'two_proportion_z',
      n: n0 + n1,
      difference: metricDifference(challenger, primaryStats, regression),
    } as const;
    if (n1 < MIN_ROLLOUT_PAIRS || n0 < MIN_ROLLOUT_PAIRS) {
      comparisons.push({ ...canary, p_value: null, verdict: 'insufficient_data' });
      continue;
    }
    const { p, direction } = regression
      ? welch(errorsOf(tally, outcomeOf, absError), errorsOf(primaryTally, outcomeOf, absError))
      : twoProportion(challenger.accuracy as number, n1, primaryStats.accuracy as number, n0);
    comparisons.push({ ...canary, p_value: p, verdict: verdictOf(p, direction) });
  }
  return { model, primary, versions, comparisons, alpha: ROLLOUT_ALPHA };
}

function verdictOf(p: number, direction: number): RolloutVerdict {
  if (p >= ROLLOUT_ALPHA || direction === 0) return 'indistinguishable';
  return direction > 0 ? 'better' : 'worse';
}

function metricDifference(a: RolloutVersion, b: RolloutVersion, regression: boolean): number | null {
  const x = regression ? a.mae : a.accuracy;
  const y = regression ? b.mae : b.accuracy;
  return x === null || y === null ? null : x - y;
}

function agreementOf(shadow: VersionTally, primary: VersionTally): RolloutVersion['agreement'] {
  let paired = 0;
  let labelled = 0;
  let same = 0;
  let scored = 0;
  let diffSum = 0;
  for (const [id, prediction] of shadow.byId) {
    const base = primary.byId.get(id);
    if (base === undefined) continue;
    paired++;
    if (prediction.label !== undefined && base.label !== undefined) {
      labelled++;
      if (prediction.label === base.label) same++;
    }
    const a = prediction.scores;
    const b = base.scores;
    if (a !== undefined && b !== undefined && a.length === b.length && a.length > 0) {
      let sum = 0;
      for (let k = 0; k < a.length; k++) sum += Math.abs((a[k] as number) - (b[k] as number));
      diffSum += sum / a.length;
      scored++;
    }
  }
  return {
    paired,
    label_agreement: labelled > 0 ? same / labelled : null,
    mean_abs_score_diff: scored > 0 ? diffSum / scored : null,
  };
}

function errorsOf(
  tally: VersionTally,
  outcomeOf: (id: string) => OutcomeValue | undefined,
  absError: (prediction: Prediction, actual: OutcomeValue) => number | undefined,
): number[] {
  const errors: number[] = [];
  for (const [id, prediction] of tally.byId) {
    const actual = outcomeOf(id);
    const error = actual === undefined ? undefined : absError(prediction, actual);
    if (error !== undefined) errors.push(error);
  }
  return errors;
}

/** Two-proportion z-test (pooled); direction +1 when the first proportion is the higher. */
function twoProportion(p1: number, n1: number, p0: number, n0: number): { p: number; direction: number } {
  const pooled = (p1 * n1 + p0 * n0) / (n1 + n0);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0));
  if (se === 0) return { p: 1, direction: 0 };
  return { p: normalTwoSided((p1 - p0) / se), direction: Math.sign(p1 - p0) };
}

/** Welch's z-test on mean absolute errors; direction +1 when the challenger's (first) is lower. */
function welch(a: number[], b: number[]): { p: number; direction: number } {
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const variance = (xs: number[], m: number) => xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
  const ma = mean(a);
  const mb = mean(b);
  const se = Math.sqrt(variance(a, ma) / a.length + variance(b, mb) / b.length);
  if (se === 0) return { p: ma === mb ? 1 : 0, direction: Math.sign(mb - ma) };
  return { p: normalTwoSided((ma - mb) / se), direction: Math.sign(mb - ma) };
}

/**
 * Exact two-sided binomial test of `k` successes in `n` trials against p = 0.5: twice the smaller
 * tail, at most 1 (McNemar's exact test when `k` and `n - k` are the discordant counts).
 *
 * @example
 * ```ts
 * binomialTwoSided(1, 10); // 0.0215
 * ```
 */
export function binomialTwoSided(k: number, n: number): number {
  const low = Math.min(k, n - k);
  let tail = 0;
  const logHalfN = n * Math.log(0.5);
  const logNFact = logGamma(n + 1);
  for (let i = 0; i <= low; i++) {
    tail += Math.exp(logNFact - logGamma(i + 1) - logGamma(n - i + 1) + logHalfN);
  }
  return Math.min(1, 2 * tail);
}

/** The predicted label and scores of a record, from the output roles of config.json. */
function predictionOf(record: CaptureRecord, config: ModelConfig): Prediction {
  const outputs = record.outputs;
  const find = (name: string | undefined): CapturedTensor | undefined =>
    name === undefined ? undefined : outputs.find((output) => output.name === name);
  const labels = config.labels ?? null;
  const prediction: Prediction = {};
  const probabilities = find(config.outputs?.probabilities);
  const probabilityValues = probabilities?.data?.map(Number);
  if (probabilityValues?.every(Number.isFinite)) {
    prediction.scores = probabilityValues;
  }
  const labelTensor = find(config.outputs?.label);
  const labelValue = labelTensor?.data?.[0];
  if (typeof labelValue === 'number' || typeof labelValue === 'string') {
    prediction.label = labelName(labelValue, labels);
  } else if (typeof labelValue === 'bigint') {
    prediction.label = labelName(Number(labelValue), labels);
  } else if (prediction.scores !== undefined && prediction.scores.length > 1) {
    const best = argmax(prediction.scores, 0, prediction.scores.length);
    if (best !== -1) prediction.label = labelName(best, labels);
  }
  if (prediction.scores === undefined) {
    const scoreTensor =
      find(config.outputs?.score) ?? (config.task === 'regression' ? outputs[0] : undefined);
    const value = Number(scoreTensor?.data?.[0]);
    if (scoreTensor?.data !== undefined && Number.isFinite(value)) prediction.scores = [value];
  }
  return prediction;
}
