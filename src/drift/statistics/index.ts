/**
 * Pure statistics of the drift check: reference profiles, drift tests, verdicts and performance
 * metrics. No I/O; typed arrays in, JSON-serialisable results out.
 */
export { type AlignedCounts, bucketTest, nonEmpty } from './buckets.ts';
export {
  applyCalibration,
  type CalibratedBand,
  type ChunkSpread,
  calibrateCategorical,
  calibratedBand,
  calibratedShareUpper,
  calibrateNumeric,
  type FeatureCalibration,
  referenceChunks,
} from './calibration.ts';
export {
  buildCategoricalProfile,
  type CategoricalProfileOptions,
  type CategoryValue,
  countCategories,
  DEFAULT_MAX_CATEGORIES,
} from './categorical-profile.ts';
export {
  addCbpeRow,
  CBPE_METRICS,
  type CbpeMetric,
  type CbpeModel,
  type CbpeSums,
  type EstimatedMetric,
  emptyCbpeSums,
  estimateCbpe,
  fitCbpe,
  isotonicFit,
  isotonicPredict,
  mergeCbpeSums,
} from './cbpe.ts';
export { type ChiSquaredMethod, chiSquaredHomogeneityTest, chiSquaredTest, zTest } from './chi-squared.ts';
export { CATEGORICAL_UNIQUE_LIMIT, chooseTest, SMALL_REFERENCE_LIMIT } from './choose.ts';
export {
  type ClassificationInput,
  type ClassificationMetrics,
  type ClassMetrics,
  classificationMetrics,
  LOG_LOSS_EPSILON,
} from './classification.ts';
export { alignCategories, type CategoricalInput, compareCategorical } from './compare-categorical.ts';
export { compareNumeric, type NumericInput } from './compare-numeric.ts';
export { type ReliabilityBin, type RocCurve, reliabilityCurve, rocCurve } from './curves.ts';
export {
  DEFAULT_PSI_EPSILON,
  jensenShannonDistance,
  jensenShannonTest,
  populationStabilityIndex,
  psiTest,
} from './divergence.ts';
export { type Distribution, ksPValue, ksStatistic, ksTest } from './ks.ts';
export {
  KS_EXACT_LIMIT,
  kolmogorovSmirnovSf,
  ksTwoSampleExactSf,
  ksTwoSamplePValue,
  smirnovSf,
} from './ks-distribution.ts';
export { mergeCategoricalProfiles, mergeNumericProfiles } from './merge.ts';
export {
  fitPca,
  multivariateDrift,
  PCA_VARIANCE,
  type PcaModel,
  reconstructionError,
} from './multivariate.ts';
export {
  binCounts,
  buildNumericProfile,
  DEFAULT_HISTOGRAM_BINS,
  DEFAULT_PSI_BINS,
  DISCRETE_LIMIT,
  equalWidthEdges,
  histogramOf,
  type NumericBinning,
  type NumericProfileOptions,
  PROFILE_QUANTILES,
  quantileCuts,
} from './numeric-profile.ts';
export {
  CHI_SQUARED_METHODS,
  CORRECTIONS,
  type Correction,
  DEFAULT_DRIFT_OPTIONS,
  DEFAULT_THRESHOLDS,
  type DriftOptions,
  type DriftOptionsInput,
  resolveDriftOptions,
} from './options.ts';
export { PREDICTION_FEATURE, predictionLabelDrift, predictionScoreDrift } from './prediction.ts';
export { type RegressionMetrics, regressionMetrics } from './regression.ts';
export { rocAucFromGroups } from './roc.ts';
export { DEFAULT_SKETCH_SIZE, midQuantiles, sketchQuantile } from './sketch.ts';
export { prepareNumeric, quantileSorted, type SortedSample } from './sorted.ts';
export {
  chiSquaredSurvival,
  kolmogorovSurvival,
  logGamma,
  normalTwoSided,
  regularizedGammaP,
  regularizedGammaQ,
} from './special.ts';
export type {
  CategoricalProfile,
  FeatureDrift,
  Histogram,
  NumericProfile,
  TestName,
  TestResult,
  Verdict,
} from './types.ts';
export { P_VALUE_TESTS } from './types.ts';
export { adjustPValues, assessDataset, type DatasetDrift, isPValueTest, verdictOf } from './verdict.ts';
export { MIN_WASSERSTEIN_NORM, wasserstein1, wassersteinTest } from './wasserstein.ts';
