/**
 * Regression performance on predictions joined with outcomes.
 */

export interface RegressionMetrics {
  /** Pairs used. */
  count: number;
  /** Pairs left out because either value was not finite. */
  skipped: number;
  mae: number | null;
  rmse: number | null;
  /** 1 − SS_res / SS_tot; null when the outcomes are constant (SS_tot = 0) or fewer than 2. */
  r2: number | null;
  /** Mean of predicted − actual (bias). */
  meanError: number | null;
  reasons: Partial<Record<'mae' | 'rmse' | 'r2' | 'meanError', string>>;
}

/**
 * MAE, RMSE, R² and mean error over the pairs where both values are finite.
 *
 * @example
 * ```ts
 * regressionMetrics([3, -0.5, 2, 7], [2.5, 0, 2, 8]); // mae 0.5, rmse 0.612…, r2 0.9486…
 * ```
 */
export function regressionMetrics(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
): RegressionMetrics {
  const n = actual.length;
  if (predicted.length !== n)
    throw new RangeError(`actual has ${n} rows but predicted has ${predicted.length}`);
  let count = 0;
  let sumActual = 0;
  let absolute = 0;
  let squared = 0;
  let signed = 0;
  for (let i = 0; i < n; i++) {
    const y = actual[i] ?? Number.NaN;
    const f = predicted[i] ?? Number.NaN;
    if (!Number.isFinite(y) || !Number.isFinite(f)) continue;
    const e = f - y;
    count++;
    sumActual += y;
    absolute += Math.abs(e);
    squared += e * e;
    signed += e;
  }
  const reasons: RegressionMetrics['reasons'] = {};
  if (count === 0) {
    const why = 'no pairs with finite values';
    return {
      count,
      skipped: n,
      mae: null,
      rmse: null,
      r2: null,
      meanError: null,
      reasons: { mae: why, rmse: why, r2: why, meanError: why },
    };
  }
  const mean = sumActual / count;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const y = actual[i] ?? Number.NaN;
    if (!Number.isFinite(y) || !Number.isFinite(predicted[i] ?? Number.NaN)) continue;
    total += (y - mean) * (y - mean);
  }
  let r2: number | null = null;
  if (count < 2) reasons.r2 = 'R² needs at least two outcomes';
  else if (total === 0) reasons.r2 = 'the outcomes are constant, so R² is undefined';
  else r2 = 1 - squared / total;
  return {
    count,
    skipped: n - count,
    mae: absolute / count,
    rmse: Math.sqrt(squared / count),
    r2,
    meanError: signed / count,
    reasons,
  };
}
