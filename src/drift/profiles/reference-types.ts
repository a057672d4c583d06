/**
 * `models/{name}/{version}/reference.json`: what the model saw in training, summarised, so that
 * drift checks can compare recent traffic with it without the training rows. Schema documented
 * in docs/monitoring.md.
 */
import type { Task } from '../../repository/model-config.ts';
import type {
  CategoricalProfile,
  CbpeModel,
  ClassificationMetrics,
  FeatureCalibration,
  NumericProfile,
  PcaModel,
  RegressionMetrics,
} from '../statistics/index.ts';

/** Version of the reference layout, written as `schema`. */
export const REFERENCE_SCHEMA_VERSION = 1;
export const REFERENCE_FILE = 'reference.json';

/** `models/{name}/{version}/reference.json`. */
export function referenceKey(model: string, version: string | number): string {
  return `models/${model}/${version}/${REFERENCE_FILE}`;
}

export type FeatureProfile = NumericProfile | CategoricalProfile;

/** One input feature, in the model's feature order. */
export interface ReferenceFeature {
  name: string;
  profile: FeatureProfile;
  /**
   * Statistics of the reference's chunks against the whole reference, for thresholds calibrated
   * on the reference (absent in older references, null below 100 rows).
   */
  calibration?: FeatureCalibration | null;
}

/**
 * The model's predictions on the reference rows: the distribution of predicted labels
 * (classification) or of the score (regression).
 */
export type ReferencePrediction =
  | {
      kind: 'label';
      /** Output holding the label; null when the label is the argmax of `probabilities`. */
      output: string | null;
      /** Output holding the class probabilities, when the model has one. */
      probabilities: string | null;
      /** Class names by index (config.json `labels`); labels are reported by name when known. */
      labels: string[] | null;
      profile: CategoricalProfile;
    }
  | { kind: 'score'; output: string; profile: NumericProfile };

/** Performance of the model on the labelled reference rows. */
export interface ReferencePerformance {
  label_column: string;
  classification?: ClassificationMetrics;
  regression?: RegressionMetrics;
  /** Calibration and reference-chunk statistics for performance estimation without outcomes. */
  cbpe?: CbpeModel;
}

export interface ReferenceDocument {
  schema: typeof REFERENCE_SCHEMA_VERSION;
  model: string;
  created_at: string;
  task: Task;
  source: {
    /** File name only (never a local path). */
    file: string;
    format: 'csv' | 'jsonl';
    /** Rows read. */
    rows: number;
    /** Rows the model could not be run on (missing or invalid values); profiled all the same. */
    unscored_rows: number;
    label_column: string | null;
  };
  /** Rows profiled. */
  rows: number;
  features: ReferenceFeature[];
  /**
   * Where the feature names came from: config.json (`config`), the model's column inputs
   * (`inputs`), the reference file's columns for an `[N, F]` model without `feature_names`
   * (`reference`: the publish CLI then writes them to config.json), or `f0…` (`default`).
   */
  feature_names_from?: 'config' | 'inputs' | 'reference' | 'default';
  /**
   * What the features are: the model's named input features (`features`, the default), or
   * per-input summaries of tensor inputs (`input_summaries`: `{input}.mean`, `.std`, `.min`,
   * `.max`, `.l2`, `.nan_share` per prediction) for models whose inputs are not features.
   */
  inputs_profiled?: 'features' | 'input_summaries';
  prediction: ReferencePrediction | null;
  performance: ReferencePerformance | null;
  /** PCA fitted on the numeric features, for multivariate drift (absent in older references). */
  multivariate?: PcaModel | null;
}

/**
 * Parses a stored reference.json, checking only what the drift check relies on.
 *
 * @throws Error naming what is wrong.
 */
export function parseReferenceDocument(json: unknown, key: string): ReferenceDocument {
  const fail = (what: string): never => {
    throw new Error(`${key}: ${what}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('not a JSON object');
  const doc = json as Partial<ReferenceDocument>;
  if (doc.schema !== REFERENCE_SCHEMA_VERSION) {
    return fail(`schema ${String(doc.schema)} is not supported (expected ${REFERENCE_SCHEMA_VERSION})`);
  }
  if (!Array.isArray(doc.features)) return fail("'features' must be an array");
  for (const feature of doc.features) {
    const kind = (feature as Partial<ReferenceFeature>)?.profile?.kind;
    if (typeof feature?.name !== 'string' || (kind !== 'numeric' && kind !== 'categorical')) {
      return fail("every feature needs a 'name' and a numeric or categorical 'profile'");
    }
  }
  return doc as ReferenceDocument;
}
