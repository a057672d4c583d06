/**
 * Shapes shared by the drift statistics: reference profiles (stored as JSON in `reference.json`),
 * test results and verdicts.
 */

import type { CalibratedBand } from './calibration.ts';

/** Names of the drift tests, as they appear in reports and in `config.json` overrides. */
export type TestName = 'ks' | 'chisquare' | 'z' | 'wasserstein' | 'jensenshannon' | 'psi';

/** Tests that decide by a p-value (drift when p < threshold); the others decide by a distance. */
export const P_VALUE_TESTS: readonly TestName[] = ['ks', 'chisquare', 'z'];

/** One test's outcome. `p_value` is present for p-value tests only. */
export interface TestResult {
  test: TestName;
  statistic: number;
  p_value?: number;
  /** p-value threshold (alpha) for p-value tests, distance threshold otherwise. */
  threshold: number;
  drifted: boolean;
  /** Degrees of freedom, for the chi-squared test. */
  df?: number;
  /**
   * How the p-value was computed: `exact` or `asymp` for KS (as SciPy's `ks_2samp(method='auto')`),
   * `goodness-of-fit` or `homogeneity` for chi-squared.
   */
  method?: 'exact' | 'asymp' | 'goodness-of-fit' | 'homogeneity';
  /**
   * Set when the threshold is calibrated on the reference chunks: the test then decides by its
   * statistic (|z| for z) against `calibration.upper`, and `threshold` is the fixed one not used.
   */
  calibration?: CalibratedBand;
}

/** Three-level verdict, for a feature, the prediction or a whole dataset. */
export type Verdict = 'ok' | 'warning' | 'drift';

/** Fixed-edge histogram: bins are [e_i, e_i+1), the last one closed; values outside are counted apart. */
export interface Histogram {
  edges: number[];
  counts: number[];
  /** Values below the first edge. */
  below: number;
  /** Values above the last edge. */
  above: number;
}

/**
 * Compact, JSON-serialisable summary of one numeric column. Non-finite values (NaN, ±Infinity,
 * null) are counted as missing and left out of everything else.
 */
export interface NumericProfile {
  kind: 'numeric';
  /** Finite values. */
  count: number;
  missing: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  /** Population standard deviation (ddof = 0), as Evidently normalises Wasserstein by it. */
  std: number | null;
  /** Distinct finite values: exact when built from data, a lower bound after merging. */
  distinct: number;
  /** Type-7 (NumPy default) quantiles at fixed probabilities; read off the sketch after merging. */
  quantiles: { p: number; value: number }[];
  /** Exact value counts when there are at most `DISCRETE_LIMIT` distinct values, else null. */
  discrete: { values: number[]; counts: number[] } | null;
  /** Equal-width histogram between the reference min and max (for reports and JS on bins). */
  histogram: Histogram;
  /**
   * PSI bins: right-closed intervals (-∞, c0], (c0, c1], …, (c_last, ∞) cut at the reference
   * deciles (deduplicated), with exact counts.
   */
  psiBins: { cuts: number[]; counts: number[] };
  /**
   * The distribution itself, sorted. `exact`: every finite value (count <= sketch size). Otherwise
   * `values.length` equal-mass atoms at the mid-quantiles (i + ½)/K, each standing for count/K
   * values: KS and Wasserstein run on it with the CDF off by at most 1/(2K).
   */
  sketch: { exact: boolean; values: number[] };
}

/**
 * Counts per category, at most `maxCategories` named; the rest are pooled in `other`. Categories
 * are kept as parallel arrays (not an object) so any string, `__proto__` included, is safe.
 */
export interface CategoricalProfile {
  kind: 'categorical';
  count: number;
  missing: number;
  /** Distinct categories: exact when built from data, a lower bound after merging. */
  distinct: number;
  /** Most frequent first, ties by name. */
  categories: string[];
  counts: number[];
  /** Values of categories beyond the cap. */
  other: number;
}

/** Outcome of the drift comparison for one feature (or the prediction). */
export interface FeatureDrift {
  feature: string;
  kind: 'numeric' | 'categorical';
  /** Non-missing values on each side. */
  referenceCount: number;
  currentCount: number;
  currentMissing: number;
  /** Distinct values in reference and current together (Evidently's `n_unique`); a lower bound when sketched. */
  nUnique: number;
  /** The deciding test; null when it could not run (see `reason`). */
  test: TestResult | null;
  /** PSI, reported next to the deciding test (and deciding only when chosen as the test). */
  psi: TestResult | null;
  /** Set by `assessDataset` for p-value tests, after the multiple-testing correction. */
  adjusted_p_value?: number;
  verdict: Verdict;
  reason?: string;
}
