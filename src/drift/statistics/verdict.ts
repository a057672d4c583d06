/**
 * Verdicts: three levels per test, multiple-testing correction across features, and the
 * dataset verdict from the share of drifted features.
 */
import {
  type Correction,
  type DriftOptions,
  type DriftOptionsInput,
  resolveDriftOptions,
} from './options.ts';
import { type FeatureDrift, P_VALUE_TESTS, type TestName, type TestResult, type Verdict } from './types.ts';

/**
 * Whether a test decides by p-value (drift when p < threshold) rather than by distance.
 *
 * @example
 * ```ts
 * isPValueTest('ks'); // true
 * ```
 */
export function isPValueTest(test: TestName): boolean {
  return P_VALUE_TESTS.includes(test);
}

/**
 * Three-level verdict of one test. p-value tests: drift when p < alpha, warning when
 * p < alpha / warningRatio. Distances: drift when >= threshold, warning when >= threshold ×
 * warningRatio. `pValue` overrides the raw p-value (to judge the corrected one). A test with a
 * calibrated band: drift above `calibration.upper`, warning above `calibration.warning`.
 *
 * @example
 * ```ts
 * verdictOf({ test: 'psi', statistic: 0.15, threshold: 0.2, drifted: false }, 0.5); // 'warning'
 * ```
 */
export function verdictOf(result: TestResult, warningRatio: number, pValue = result.p_value): Verdict {
  const band = result.calibration;
  if (band !== undefined) {
    const statistic = Math.abs(result.statistic);
    if (statistic > band.upper) return 'drift';
    return statistic > band.warning ? 'warning' : 'ok';
  }
  if (isPValueTest(result.test)) {
    const p = pValue ?? Number.NaN;
    if (p < result.threshold) return 'drift';
    return p < result.threshold / warningRatio ? 'warning' : 'ok';
  }
  if (result.statistic >= result.threshold) return 'drift';
  return result.statistic >= result.threshold * warningRatio ? 'warning' : 'ok';
}

/**
 * Adjusted p-values for a family of tests. Benjamini–Hochberg (step-up, false discovery rate):
 * p̃₍ᵢ₎ = min_{j ≥ i} m·p₍ⱼ₎ / j; Bonferroni (family-wise error rate): m·p; both capped at 1.
 * Comparing the adjusted values with alpha is the corresponding procedure at level alpha.
 *
 * @example
 * ```ts
 * adjustPValues([0.01, 0.04, 0.03], 'benjamini-hochberg'); // [0.03, 0.04, 0.04]
 * ```
 */
export function adjustPValues(pValues: readonly number[], correction: Correction): number[] {
  const m = pValues.length;
  if (correction === 'none') return [...pValues];
  if (correction === 'bonferroni') return pValues.map((p) => Math.min(1, p * m));
  const order = pValues.map((_, i) => i).sort((a, b) => (pValues[a] ?? 0) - (pValues[b] ?? 0));
  const adjusted = new Array<number>(m);
  let running = 1;
  for (let rank = m; rank >= 1; rank--) {
    const index = order[rank - 1] ?? 0;
    running = Math.min(running, ((pValues[index] ?? 1) * m) / rank);
    adjusted[index] = running;
  }
  return adjusted;
}

/** The dataset-level outcome of a drift check. */
export interface DatasetDrift {
  /** drift: share of drifted features >= driftShare; warning: any feature drifted, or drifted plus
   * warning features reach driftShare; ok otherwise. */
  verdict: Verdict;
  /** The features with corrected p-values and final verdicts. */
  features: FeatureDrift[];
  tested: number;
  /** Features whose test could not run (no data on a side); left out of the share. */
  untested: number;
  drifted: number;
  warnings: number;
  /** drifted / tested (0 when nothing was tested). */
  share: number;
  driftShare: number;
  correction: Correction;
}

/**
 * Applies the multiple-testing correction across the features' p-value tests (distance tests are
 * not p-values and are left as they are), settles each feature's verdict and the dataset's.
 *
 * @example
 * ```ts
 * const features = [compareNumeric('age', ageRef, ages), compareCategorical('city', cityRef, cities)];
 * assessDataset(features, { correction: 'bonferroni' }).verdict; // 'ok' | 'warning' | 'drift'
 * ```
 */
export function assessDataset(
  features: readonly FeatureDrift[],
  options: DriftOptionsInput | DriftOptions = {},
): DatasetDrift {
  const resolved = resolveDriftOptions(options);
  const family = features
    // A calibrated test decides by its statistic, not by a p-value: it is not in the family.
    .map((feature, index) => ({
      index,
      p: feature.test?.calibration === undefined ? feature.test?.p_value : undefined,
    }))
    .filter(
      (entry): entry is { index: number; p: number } => entry.p !== undefined && !Number.isNaN(entry.p),
    );
  const adjusted = adjustPValues(
    family.map((entry) => entry.p),
    resolved.correction,
  );
  const adjustedByIndex = new Map(family.map((entry, k) => [entry.index, adjusted[k] ?? entry.p]));

  const settled = features.map((feature, index): FeatureDrift => {
    const test = feature.test;
    if (test === null) return { ...feature, verdict: 'ok' };
    const adjustedP = adjustedByIndex.get(index);
    if (adjustedP === undefined) return { ...feature, verdict: verdictOf(test, resolved.warningRatio) };
    return {
      ...feature,
      test: { ...test, drifted: adjustedP < test.threshold },
      adjusted_p_value: adjustedP,
      verdict: verdictOf(test, resolved.warningRatio, adjustedP),
    };
  });

  const tested = settled.filter((f) => f.test !== null).length;
  const drifted = settled.filter((f) => f.verdict === 'drift').length;
  const warnings = settled.filter((f) => f.verdict === 'warning').length;
  const share = tested === 0 ? 0 : drifted / tested;
  let verdict: Verdict = 'ok';
  if (tested > 0 && share >= resolved.driftShare) verdict = 'drift';
  else if (drifted > 0 || (tested > 0 && (drifted + warnings) / tested >= resolved.driftShare))
    verdict = 'warning';
  return {
    verdict,
    features: settled,
    tested,
    untested: features.length - tested,
    drifted,
    warnings,
    share,
    driftShare: resolved.driftShare,
    correction: resolved.correction,
  };
}
