/**
 * Prediction drift: the model's outputs compared with the predictions it made on the reference.
 */
import { type CategoricalInput, compareCategorical } from './compare-categorical.ts';
import { compareNumeric, type NumericInput } from './compare-numeric.ts';
import type { DriftOptions, DriftOptionsInput } from './options.ts';
import type { CategoricalProfile, FeatureDrift, NumericProfile } from './types.ts';

/** Name under which prediction drift is reported. */
export const PREDICTION_FEATURE = 'prediction';

/**
 * Drift of the predicted labels (classification): the categorical tests on the label
 * distribution. Not part of the features' multiple-testing family; its verdict stands alone.
 *
 * @example
 * ```ts
 * predictionLabelDrift(buildCategoricalProfile(referenceLabels), windowLabels).verdict;
 * ```
 */
export function predictionLabelDrift(
  reference: CategoricalProfile,
  current: CategoricalInput,
  options: DriftOptionsInput | DriftOptions = {},
): FeatureDrift {
  return compareCategorical(PREDICTION_FEATURE, reference, current, options);
}

/**
 * Drift of the predicted scores (regression outputs or a class probability): the numeric tests.
 *
 * @example
 * ```ts
 * predictionScoreDrift(buildNumericProfile(referenceScores), windowScores).test?.statistic;
 * ```
 */
export function predictionScoreDrift(
  reference: NumericProfile,
  current: NumericInput,
  options: DriftOptionsInput | DriftOptions = {},
): FeatureDrift {
  return compareNumeric(PREDICTION_FEATURE, reference, current, options);
}
