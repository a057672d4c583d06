/**
 * The report's `multivariate_drift` section: the window's mean PCA reconstruction error against
 * the band calibrated on reference chunks (see `statistics/multivariate.ts`).
 */
import type { ReferenceDocument } from '../profiles/reference-types.ts';
import { multivariateDrift } from '../statistics/index.ts';

export interface MultivariateDriftSection {
  method: 'pca_reconstruction_error';
  verdict: 'ok' | 'drift' | 'insufficient_data' | 'not_available';
  reason?: string;
  rows: number;
  /** Mean reconstruction error of the window's rows. */
  statistic: number | null;
  /**
   * Calibrated: the reference chunks' mean ± 3 standard deviations, scaled to the window's size.
   * Fixed: no lower bound, upper = reference mean × (1 + `multivariate_max_increase`).
   */
  lower: number | null;
  upper: number | null;
  thresholds: 'calibrated' | 'fixed';
  reference_mean: number | null;
  features: number;
  components: number;
  explained_variance: number | null;
}

/**
 * The section for a version from its Σ error and rows.
 *
 * @example
 * ```ts
 * analyseMultivariate(reference, accumulator.pcaErrorSum, accumulator.pcaRows, 100).verdict; // 'ok' | 'drift' | …
 * ```
 */
export function analyseMultivariate(
  reference: ReferenceDocument | null,
  errorSum: number,
  rows: number,
  minPredictions: number,
  fixedMaxIncrease: number | null = null,
): MultivariateDriftSection {
  const model = reference?.multivariate ?? null;
  const base = {
    method: 'pca_reconstruction_error' as const,
    rows,
    statistic: null,
    lower: null,
    upper: null,
    thresholds: fixedMaxIncrease === null ? ('calibrated' as const) : ('fixed' as const),
    reference_mean: model?.mean ?? null,
    features: model?.features.length ?? 0,
    components: model?.components.length ?? 0,
    explained_variance: model?.explainedVariance ?? null,
  };
  if (model === null) {
    return {
      ...base,
      verdict: 'not_available',
      reason: 'the reference has no PCA model (it needs at least 2 numeric features and 100 rows)',
    };
  }
  if (rows < minPredictions) {
    return {
      ...base,
      verdict: 'insufficient_data',
      reason: `${rows} row${rows === 1 ? '' : 's'} with tabular inputs, fewer than the ${minPredictions} required`,
    };
  }
  const result = multivariateDrift(model, errorSum, rows);
  if (fixedMaxIncrease !== null) {
    const upper = model.mean * (1 + fixedMaxIncrease);
    const statistic = result.statistic as number;
    return { ...base, verdict: statistic > upper ? 'drift' : 'ok', statistic, lower: null, upper };
  }
  return {
    ...base,
    verdict: result.drifted ? 'drift' : 'ok',
    statistic: result.statistic,
    lower: result.lower,
    upper: result.upper,
  };
}
