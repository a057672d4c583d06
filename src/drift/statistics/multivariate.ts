/**
 * Multivariate drift by PCA reconstruction error, the method NannyML documents ("data
 * reconstruction with PCA"): fitted on the reference's numeric features (standardised; a missing
 * value takes the reference mean), keeping the principal components that explain 65 % of the
 * variance. A row's error is the Euclidean distance between it and its reconstruction from those
 * components. A change in the features' correlations moves rows off the reference's principal
 * subspace, so the mean error rises even when every marginal distribution is unchanged.
 *
 * Thresholds come from the reference itself: its rows are cut into chunks, and the mean error's
 * mean ± 3 standard deviations over the chunks (scaled by √(chunk / n) to a window of n rows)
 * bound the expected value; outside them is drift. The window's statistic is a sum and a count,
 * so per-hour summaries add up.
 */

/** What the reference stores (`reference.json` → `multivariate`). */
export interface PcaModel {
  /** Indices of the reference features used (numeric ones), in feature order. */
  features: number[];
  means: number[];
  stds: number[];
  /** Kept components, each of length features.length (unit vectors). */
  components: number[][];
  explainedVariance: number;
  chunkSize: number;
  chunks: number;
  /** Mean reconstruction error over the reference rows and its std over the chunks. */
  mean: number;
  std: number;
}

/** Share of the variance the kept components explain (NannyML's default). */
export const PCA_VARIANCE = 0.65;

/**
 * Fits the model on reference rows: `columns[f][i]` is feature `features[f]` of row i (NaN when
 * missing). Null with fewer than 2 features or 100 rows.
 *
 * @example
 * ```ts
 * const pca = fitPca([0, 1, 2], [xs, ys, zs]);
 * ```
 */
export function fitPca(features: number[], columns: ArrayLike<number>[], chunksWanted = 10): PcaModel | null {
  const d = columns.length;
  const n = columns[0]?.length ?? 0;
  if (d < 2 || n < 100) return null;
  const means: number[] = [];
  const stds: number[] = [];
  for (const column of columns) {
    let sum = 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const v = column[i] as number;
      if (Number.isFinite(v)) {
        sum += v;
        count++;
      }
    }
    const mean = count > 0 ? sum / count : 0;
    let squares = 0;
    for (let i = 0; i < n; i++) {
      const v = column[i] as number;
      if (Number.isFinite(v)) squares += (v - mean) ** 2;
    }
    means.push(mean);
    stds.push(count > 1 && squares > 0 ? Math.sqrt(squares / count) : 1);
  }
  const z = (f: number, i: number) => {
    const v = columns[f]?.[i] as number;
    return Number.isFinite(v) ? (v - (means[f] as number)) / (stds[f] as number) : 0;
  };
  const covariance = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      const za = z(a, i);
      for (let b = a; b < d; b++) covariance[a * d + b] = (covariance[a * d + b] as number) + za * z(b, i);
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = (covariance[a * d + b] as number) / n;
      covariance[a * d + b] = v;
      covariance[b * d + a] = v;
    }
  }
  const { values, vectors } = symmetricEigen(covariance, d);
  const order = values.map((v, i) => [v, i] as const).sort((x, y) => y[0] - x[0]);
  const total = values.reduce((s, v) => s + Math.max(0, v), 0);
  const components: number[][] = [];
  let explained = 0;
  for (const [value, index] of order) {
    if (total <= 0 || explained / total >= PCA_VARIANCE) break;
    components.push(Array.from({ length: d }, (_, r) => vectors[r * d + index] as number));
    explained += Math.max(0, value);
  }
  const model: PcaModel = {
    features,
    means,
    stds,
    components,
    explainedVariance: total > 0 ? explained / total : 0,
    chunkSize: 0,
    chunks: 0,
    mean: 0,
    std: 0,
  };
  const errors = new Float64Array(n);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < d; f++) row[f] = columns[f]?.[i] as number;
    errors[i] = reconstructionError(model, row);
  }
  const chunks = Math.max(2, Math.min(chunksWanted, Math.floor(n / 50)));
  const chunkSize = Math.floor(n / chunks);
  const chunkMeans: number[] = [];
  for (let c = 0; c < chunks; c++) {
    let sum = 0;
    for (let i = c * chunkSize; i < (c + 1) * chunkSize; i++) sum += errors[i] as number;
    chunkMeans.push(sum / chunkSize);
  }
  const mean = chunkMeans.reduce((s, v) => s + v, 0) / chunks;
  const std = Math.sqrt(chunkMeans.reduce((s, v) => s + (v - mean) ** 2, 0) / (chunks - 1));
  return { ...model, chunkSize, chunks, mean, std };
}

/**
 * The reconstruction error of one row given in the model's feature order (NaN = missing, imputed
 * with the reference mean).
 */
export function reconstructionError(model: PcaModel, row: ArrayLike<number>): number {
  const d = model.means.length;
  if (scratch.length < d) scratch = new Float64Array(d);
  const z = scratch;
  const means = model.means;
  const stds = model.stds;
  for (let f = 0; f < d; f++) {
    const v = row[f] as number;
    z[f] = Number.isFinite(v) ? (v - (means[f] as number)) / (stds[f] as number) : 0;
  }
  // ‖z − Σ (z·v) v‖² = ‖z‖² − Σ (z·v)² for orthonormal components v.
  let norm = 0;
  for (let f = 0; f < d; f++) norm += (z[f] as number) ** 2;
  let kept = 0;
  for (const component of model.components) {
    let dot = 0;
    for (let f = 0; f < d; f++) dot += (z[f] as number) * (component[f] as number);
    kept += dot * dot;
  }
  return Math.sqrt(Math.max(0, norm - kept));
}

let scratch = new Float64Array(0);

/** The window's verdict from its sum of errors and row count. */
export function multivariateDrift(
  model: PcaModel,
  errorSum: number,
  rows: number,
): { statistic: number | null; lower: number | null; upper: number | null; drifted: boolean } {
  if (rows <= 0) return { statistic: null, lower: null, upper: null, drifted: false };
  const statistic = errorSum / rows;
  const spread = 3 * model.std * Math.sqrt(model.chunkSize / rows);
  const lower = model.mean - spread;
  const upper = model.mean + spread;
  return { statistic, lower, upper, drifted: statistic < lower || statistic > upper };
}

/** Eigen-decomposition of a symmetric d × d matrix by cyclic Jacobi rotations (columns of `vectors`). */
function symmetricEigen(matrix: Float64Array, d: number): { values: number[]; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += (a[p * d + q] as number) ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q] as number;
        if (Math.abs(apq) < 1e-300) continue;
        const app = a[p * d + p] as number;
        const aqq = a[q * d + q] as number;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p] as number;
          const akq = a[k * d + q] as number;
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k] as number;
          const aqk = a[q * d + k] as number;
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p] as number;
          const vkq = v[k * d + q] as number;
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Array.from({ length: d }, (_, i) => a[i * d + i] as number), vectors: v };
}
