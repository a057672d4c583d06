/**
 * Thresholds calibrated on the reference, NannyML's default: the reference rows are cut into
 * chunks (in file order), each chunk's drift statistic against the whole reference is computed,
 * and the window's statistic is expected within the chunks' mean ± 3 standard deviations.
 *
 * A statistic's spread depends on the sample sizes, and a window rarely has a chunk's size, so
 * the band is rescaled from the chunk's sampling variance to the window's. A chunk is part of the
 * reference it is compared with (variance ∝ 1/c − 1/N); the window is a separate sample
 * (∝ 1/n + 1/N). With r = (1/n + 1/N) / (1/c − 1/N): KS D, normalised Wasserstein and
 * Jensen–Shannon (distances that shrink as 1/√size) scale by √r; PSI (a squared distance) by r;
 * the chi-squared goodness-of-fit statistic (size × squared distance) by (1 + n/N) / (1 − c/N),
 * the homogeneity statistic by N / (N − c); |z| by √((N + c) / (N − c)).
 */

import type { CategoryValue } from './categorical-profile.ts';
import type { ChiSquaredMethod } from './chi-squared.ts';
import { compareCategorical } from './compare-categorical.ts';
import { compareNumeric } from './compare-numeric.ts';
import { type DriftOptions, resolveDriftOptions } from './options.ts';
import { prepareNumeric } from './sorted.ts';
import type { CategoricalProfile, FeatureDrift, NumericProfile, TestName, TestResult } from './types.ts';
import { verdictOf } from './verdict.ts';

/** Mean and sample standard deviation of a quantity over the reference chunks. */
export interface ChunkSpread {
  mean: number;
  std: number;
}

/** What the reference stores per feature (`reference.json` → `features[].calibration`). */
export interface FeatureCalibration {
  chunks: number;
  /** Reference rows per chunk. */
  chunkRows: number;
  /** Non-missing values per chunk, on average (the chunk size the statistics were computed at). */
  chunkCount: number;
  /** Each test's statistic of a chunk against the whole reference (chi-squared: goodness of fit). */
  statistics: Partial<Record<TestName, ChunkSpread>>;
  /** Share of missing values per chunk. */
  missingShare: ChunkSpread;
}

/** The band a window's statistic is judged against, at the window's size. */
export interface CalibratedBand {
  mean: number;
  std: number;
  chunks: number;
  chunk_size: number;
  /** Factor from the chunk's size to the window's (see the module comment). */
  scale: number;
  lower: number;
  upper: number;
  /** Where `warning` starts: the band's centre plus warning_ratio × 3 scaled standard deviations. */
  warning: number;
}

const CALIBRATED_TESTS: readonly TestName[] = ['ks', 'wasserstein', 'jensenshannon', 'psi', 'chisquare', 'z'];

/** Chunks as the PCA and CBPE calibrations cut them: 2 to 10, at least 50 rows each. */
export function referenceChunks(rows: number, wanted = 10): { chunks: number; chunkRows: number } | null {
  if (rows < 100) return null;
  const chunks = Math.max(2, Math.min(wanted, Math.floor(rows / 50)));
  return { chunks, chunkRows: Math.floor(rows / chunks) };
}

/**
 * Per-chunk statistics of a numeric feature (`values` in reference row order, NaN = missing).
 * Null below 100 rows.
 *
 * @example
 * ```ts
 * const calibration = calibrateNumeric(buildNumericProfile(ages), Float64Array.from(ages));
 * calibration?.statistics.wasserstein; // { mean, std }
 * ```
 */
export function calibrateNumeric(
  profile: NumericProfile,
  values: ArrayLike<number>,
): FeatureCalibration | null {
  return calibrate(values.length, (from, to) => {
    const sample = prepareNumeric(Array.prototype.slice.call(values, from, to) as number[]);
    return {
      missing: sample.missing,
      count: sample.values.length,
      test: (test) => compareNumeric('chunk', profile, sample, options(test)).test,
    };
  });
}

/**
 * Per-chunk statistics of a categorical feature (`values` in reference row order). Null below 100 rows.
 *
 * @example
 * ```ts
 * calibrateCategorical(buildCategoricalProfile(cities), cities)?.statistics.jensenshannon;
 * ```
 */
export function calibrateCategorical(
  profile: CategoricalProfile,
  values: ArrayLike<CategoryValue>,
): FeatureCalibration | null {
  return calibrate(values.length, (from, to) => {
    const chunk = Array.prototype.slice.call(values, from, to) as CategoryValue[];
    let missing = 0;
    for (const v of chunk)
      if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) missing++;
    return {
      missing,
      count: chunk.length - missing,
      test: (test) => compareCategorical('chunk', profile, chunk, options(test)).test,
    };
  });
}

function options(test: TestName) {
  return resolveDriftOptions({ test });
}

interface Chunk {
  missing: number;
  count: number;
  test: (test: TestName) => TestResult | null;
}

function calibrate(rows: number, chunkAt: (from: number, to: number) => Chunk): FeatureCalibration | null {
  const cut = referenceChunks(rows);
  if (cut === null) return null;
  const { chunks, chunkRows } = cut;
  const statistics = new Map<TestName, number[]>();
  const missingShares: number[] = [];
  let counted = 0;
  for (let c = 0; c < chunks; c++) {
    const chunk = chunkAt(c * chunkRows, (c + 1) * chunkRows);
    missingShares.push(chunk.missing / chunkRows);
    counted += chunk.count;
    if (chunk.count === 0) continue;
    for (const name of CALIBRATED_TESTS) {
      const result = chunk.test(name);
      if (result === null || result.test !== name || !Number.isFinite(result.statistic)) continue;
      const list = statistics.get(name) ?? [];
      list.push(Math.abs(result.statistic));
      statistics.set(name, list);
    }
  }
  const spreads: Partial<Record<TestName, ChunkSpread>> = {};
  // A test that could not run on every chunk has no band: too few chunks to trust one.
  for (const [name, list] of statistics) if (list.length === chunks) spreads[name] = spread(list);
  return {
    chunks,
    chunkRows,
    chunkCount: counted / chunks,
    statistics: spreads,
    missingShare: spread(missingShares),
  };
}

/** Mean and sample standard deviation (ddof = 1, as NannyML's chunk thresholds). */
export function spread(values: readonly number[]): ChunkSpread {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std };
}

/**
 * The calibrated band of one test for a window of `currentCount` values against a reference of
 * `referenceCount`, or null when the feature has no calibration for that test.
 *
 * @example
 * ```ts
 * const band = calibratedBand(calibration, 'wasserstein', 5000, 20000, 0.5, 'goodness-of-fit');
 * statistic > band.upper; // drift
 * ```
 */
export function calibratedBand(
  calibration: FeatureCalibration | null | undefined,
  test: TestName,
  referenceCount: number,
  currentCount: number,
  warningRatio: number,
  chiSquaredMethod: ChiSquaredMethod,
): CalibratedBand | null {
  const stats = calibration?.statistics[test];
  if (!calibration || !stats || !(currentCount > 0) || !(referenceCount > 0)) return null;
  const N = referenceCount;
  const n = currentCount;
  const c = Math.min(calibration.chunkCount, N / 2);
  if (!(c > 0)) return null;
  const ratio = (1 / n + 1 / N) / (1 / c - 1 / N);
  let scale: number;
  switch (test) {
    case 'psi':
      scale = ratio;
      break;
    case 'chisquare':
      scale = chiSquaredMethod === 'homogeneity' ? N / (N - c) : (1 + n / N) / (1 - c / N);
      break;
    case 'z':
      scale = Math.sqrt((N + c) / (N - c));
      break;
    default:
      scale = Math.sqrt(ratio);
  }
  const centre = stats.mean * scale;
  const width = 3 * stats.std * scale;
  return {
    mean: stats.mean,
    std: stats.std,
    chunks: calibration.chunks,
    chunk_size: calibration.chunkCount,
    scale,
    lower: Math.max(0, centre - width),
    upper: centre + width,
    warning: centre + warningRatio * width,
  };
}

/**
 * A share's band at a window of `rows`: the chunks' mean + 3 standard deviations scaled by
 * √(chunk rows / rows) (a proportion's sampling error), capped to [0, 1].
 *
 * @example
 * ```ts
 * calibratedShareUpper({ mean: 0.02, std: 0.01 }, 500, 2000); // 0.035
 * ```
 */
export function calibratedShareUpper(share: ChunkSpread, chunkRows: number, rows: number): number {
  const upper = share.mean + 3 * share.std * Math.sqrt(chunkRows / Math.max(1, rows));
  return Math.min(1, Math.max(0, upper));
}

/**
 * Re-judges a feature's test against its calibrated band when `options.calibrated` is on and the
 * reference has a band for the test; otherwise returns the feature unchanged (fixed threshold).
 *
 * @example
 * ```ts
 * const drift = applyCalibration(compareNumeric('age', profile, ages, options), calibration, options);
 * drift.test?.calibration?.upper;
 * ```
 */
export function applyCalibration(
  drift: FeatureDrift,
  calibration: FeatureCalibration | null | undefined,
  options: DriftOptions,
): FeatureDrift {
  const test = drift.test;
  if (!options.calibrated || test === null) return drift;
  const band = calibratedBand(
    calibration,
    test.test,
    drift.referenceCount,
    drift.currentCount,
    options.warningRatio,
    options.chiSquaredMethod,
  );
  if (band === null) return drift;
  const judged: TestResult = { ...test, calibration: band, drifted: Math.abs(test.statistic) > band.upper };
  return { ...drift, test: judged, verdict: verdictOf(judged, options.warningRatio) };
}
