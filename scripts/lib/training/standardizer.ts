/** Per-feature standardization: `(x - mean) / scale`. */
export interface Standardizer {
  mean: number[];
  /** Population standard deviation; 1 for a constant feature, so it maps to 0 instead of NaN. */
  scale: number[];
}

/**
 * Learns mean and scale of each column of `rows` (fit it on the training rows only).
 *
 * @example
 * ```ts
 * const standardizer = fitStandardizer(trainRows);
 * const z = standardize(standardizer, trainRows);
 * ```
 */
export function fitStandardizer(rows: readonly (readonly number[])[]): Standardizer {
  const width = rows[0]?.length ?? 0;
  if (rows.length === 0 || width === 0) throw new Error('cannot fit a standardizer on no data');
  const mean = new Array<number>(width).fill(0);
  for (const row of rows)
    for (let j = 0; j < width; j++) mean[j] = (mean[j] ?? 0) + (row[j] ?? 0) / rows.length;
  const variance = new Array<number>(width).fill(0);
  for (const row of rows) {
    for (let j = 0; j < width; j++)
      variance[j] = (variance[j] ?? 0) + ((row[j] ?? 0) - (mean[j] ?? 0)) ** 2 / rows.length;
  }
  return { mean, scale: variance.map((v) => (v > 0 ? Math.sqrt(v) : 1)) };
}

/** Applies a fitted standardizer to each row. */
export function standardize(standardizer: Standardizer, rows: readonly (readonly number[])[]): number[][] {
  return rows.map((row) =>
    row.map((x, j) => (x - (standardizer.mean[j] ?? 0)) / (standardizer.scale[j] ?? 1)),
  );
}
