/**
 * Drift-check settings, with Evidently's defaults, as a model's `config.json` may override them.
 */
import type { ChiSquaredMethod } from './chi-squared.ts';
import type { TestName } from './types.ts';

export type Correction = 'benjamini-hochberg' | 'bonferroni' | 'none';

export interface DriftOptions {
  /**
   * Threshold per test: the p-value level (alpha) for `ks`, `chisquare` and `z`; the distance at
   * or above which `wasserstein`, `jensenshannon` and `psi` report drift.
   */
  thresholds: Record<TestName, number>;
  /**
   * Where the warning level starts, as a fraction of the way to drift: a distance from
   * `warningRatio × threshold`, a p-value below `alpha / warningRatio`. The default 0.5 gives the
   * customary PSI levels (warning 0.1, drift 0.2) and p-value warnings between alpha and 2·alpha.
   */
  warningRatio: number;
  /** Multiple-testing correction across the features' p-value tests. */
  correction: Correction;
  /** Dataset drift when at least this share of the tested features drift (Evidently: 0.5). */
  driftShare: number;
  /** Force this test instead of the automatic choice. */
  test?: TestName;
  /** Proportion given to empty PSI buckets. */
  psiEpsilon: number;
  /**
   * The chi-squared test: `goodness-of-fit` of current against the reference proportions
   * (Evidently's, the default) or the `homogeneity` test of the 2 × k table.
   */
  chiSquaredMethod: ChiSquaredMethod;
  /**
   * Judge the statistic against the band calibrated on the reference chunks (mean ± 3σ, NannyML's
   * default) instead of the fixed threshold, when the reference has one for the test.
   */
  calibrated: boolean;
}

export const DEFAULT_THRESHOLDS: Readonly<Record<TestName, number>> = {
  ks: 0.05,
  chisquare: 0.05,
  z: 0.05,
  wasserstein: 0.1,
  jensenshannon: 0.1,
  psi: 0.2,
};

export const DEFAULT_DRIFT_OPTIONS: Readonly<DriftOptions> = {
  thresholds: DEFAULT_THRESHOLDS,
  warningRatio: 0.5,
  correction: 'benjamini-hochberg',
  driftShare: 0.5,
  psiEpsilon: 1e-4,
  chiSquaredMethod: 'goodness-of-fit',
  calibrated: false,
};

/** Partial settings as they come from configuration. */
export type DriftOptionsInput = Partial<Omit<DriftOptions, 'thresholds'>> & {
  thresholds?: Partial<Record<TestName, number>>;
};

const TEST_NAMES: readonly TestName[] = ['ks', 'chisquare', 'z', 'wasserstein', 'jensenshannon', 'psi'];
/** The multiple-testing corrections a model may choose. */
export const CORRECTIONS = [
  'benjamini-hochberg',
  'bonferroni',
  'none',
] as const satisfies readonly Correction[];
/** The chi-squared tests a model may choose. */
export const CHI_SQUARED_METHODS = [
  'goodness-of-fit',
  'homogeneity',
] as const satisfies readonly ChiSquaredMethod[];

/**
 * Fills in defaults and checks every value, throwing a `RangeError` that names the bad setting.
 *
 * @example
 * ```ts
 * resolveDriftOptions({ thresholds: { wasserstein: 0.2 } }).thresholds.wasserstein; // 0.2
 * ```
 */
export function resolveDriftOptions(input: DriftOptionsInput = {}): DriftOptions {
  const thresholds = { ...DEFAULT_THRESHOLDS, ...definedOnly(input.thresholds ?? {}) };
  for (const name of TEST_NAMES) {
    const t = thresholds[name];
    if (!(t > 0) || !Number.isFinite(t) || (isPValueThreshold(name) && t >= 1)) {
      throw new RangeError(
        `threshold for '${name}' must be ${isPValueThreshold(name) ? 'in (0, 1)' : '> 0'}, got ${t}`,
      );
    }
  }
  const options: DriftOptions = {
    thresholds,
    warningRatio: input.warningRatio ?? DEFAULT_DRIFT_OPTIONS.warningRatio,
    correction: input.correction ?? DEFAULT_DRIFT_OPTIONS.correction,
    driftShare: input.driftShare ?? DEFAULT_DRIFT_OPTIONS.driftShare,
    psiEpsilon: input.psiEpsilon ?? DEFAULT_DRIFT_OPTIONS.psiEpsilon,
    chiSquaredMethod: input.chiSquaredMethod ?? DEFAULT_DRIFT_OPTIONS.chiSquaredMethod,
    calibrated: input.calibrated ?? DEFAULT_DRIFT_OPTIONS.calibrated,
  };
  if (!CHI_SQUARED_METHODS.includes(options.chiSquaredMethod)) {
    throw new RangeError(
      `chisquare_method must be one of ${CHI_SQUARED_METHODS.join(', ')}, got '${options.chiSquaredMethod}'`,
    );
  }
  if (!(options.warningRatio > 0 && options.warningRatio <= 1)) {
    throw new RangeError(`warningRatio must be in (0, 1], got ${options.warningRatio}`);
  }
  if (!CORRECTIONS.includes(options.correction)) {
    throw new RangeError(`correction must be one of ${CORRECTIONS.join(', ')}, got '${options.correction}'`);
  }
  if (!(options.driftShare > 0 && options.driftShare <= 1)) {
    throw new RangeError(`driftShare must be in (0, 1], got ${options.driftShare}`);
  }
  if (!(options.psiEpsilon > 0 && options.psiEpsilon < 1)) {
    throw new RangeError(`psiEpsilon must be in (0, 1), got ${options.psiEpsilon}`);
  }
  if (input.test !== undefined) {
    if (!TEST_NAMES.includes(input.test)) {
      throw new RangeError(`test must be one of ${TEST_NAMES.join(', ')}, got '${input.test}'`);
    }
    options.test = input.test;
  }
  return options;
}

function isPValueThreshold(name: TestName): boolean {
  return name === 'ks' || name === 'chisquare' || name === 'z';
}

function definedOnly(values: Partial<Record<TestName, number>>): Partial<Record<TestName, number>> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
}
