/**
 * Classification performance on predictions joined with outcomes. Classes are integer indices
 * 0..k−1 (map labels to indices first). Degenerate inputs give null with a reason, never NaN.
 */
import { rocAucFromGroups } from './roc.ts';

/** Probabilities are clipped to [ε, 1 − ε] before the logarithm (scikit-learn's historical 1e-15). */
export const LOG_LOSS_EPSILON = 1e-15;

export interface ClassificationInput {
  /** True class index per row. */
  actual: ArrayLike<number>;
  /** Predicted class index per row. */
  predicted: ArrayLike<number>;
  /** Number of classes; by default one more than the largest index seen. */
  classes?: number;
  /** Binary only: probability (or any score, for AUC) of class 1 per row. */
  scores?: ArrayLike<number>;
  /** Row-major n × classes probabilities, for log loss and AUC (multiclass: one-vs-rest). */
  probabilities?: ArrayLike<number>;
}

export interface ClassMetrics {
  label: number;
  /** Rows whose true class is this one. */
  support: number;
  /** Rows predicted as this class. */
  predicted: number;
  /** null when the class was never predicted. */
  precision: number | null;
  /** null when the class never occurs in the outcomes. */
  recall: number | null;
  /** 2TP / (2TP + FP + FN); null when the class occurs on neither side. */
  f1: number | null;
}

export interface ClassificationMetrics {
  /** Rows used. */
  count: number;
  /** Rows left out because a class index was not an integer in [0, classes). */
  skipped: number;
  classes: number;
  accuracy: number | null;
  /** confusion[actual][predicted]. */
  confusion: number[][];
  perClass: ClassMetrics[];
  /**
   * Unweighted means over the classes present in outcomes or predictions, an undefined precision
   * or recall counting as 0 (scikit-learn's `average='macro'`, `zero_division=0`).
   */
  macro: { precision: number | null; recall: number | null; f1: number | null };
  rocAuc: number | null;
  logLoss: number | null;
  /** Why a metric is null. */
  reasons: Partial<Record<'accuracy' | 'macro' | 'rocAuc' | 'logLoss', string>>;
}

/**
 * Accuracy, confusion matrix, per-class and macro precision/recall/F1, ROC AUC (binary, ranks
 * with ties as ½) and log loss (clipped), in O(n log n).
 *
 * @example
 * ```ts
 * const m = classificationMetrics({ actual: [0, 1, 2, 0, 1, 2], predicted: [0, 2, 1, 0, 0, 1] });
 * m.accuracy; // 1/3
 * m.macro.f1; // 0.2666…
 * ```
 */
export function classificationMetrics(input: ClassificationInput): ClassificationMetrics {
  const { actual, predicted } = input;
  const n = actual.length;
  if (predicted.length !== n) {
    throw new RangeError(`actual has ${n} rows but predicted has ${predicted.length}`);
  }
  const k = input.classes ?? inferClasses(actual, predicted);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`classes must be a positive integer, got ${k}`);
  if (input.scores !== undefined && input.scores.length !== n) {
    throw new RangeError(`scores has ${input.scores.length} rows, expected ${n}`);
  }
  if (input.probabilities !== undefined && input.probabilities.length !== n * k) {
    throw new RangeError(`probabilities has ${input.probabilities.length} values, expected ${n} × ${k}`);
  }

  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const valid = new Uint8Array(n);
  let count = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const a = actual[i] ?? -1;
    const p = predicted[i] ?? -1;
    if (!isClass(a, k) || !isClass(p, k)) continue;
    valid[i] = 1;
    count++;
    const row = confusion[a];
    if (row) row[p] = (row[p] ?? 0) + 1;
    if (a === p) correct++;
  }

  const reasons: ClassificationMetrics['reasons'] = {};
  const perClass = classMetrics(confusion);
  const macro = macroAverages(perClass);
  if (count === 0) {
    reasons.accuracy = 'no rows with valid classes';
    reasons.macro = 'no rows with valid classes';
  }
  const rocAuc = binaryAuc(input, valid, k, reasons);
  const logLoss = clippedLogLoss(input, valid, k, reasons);
  return {
    count,
    skipped: n - count,
    classes: k,
    accuracy: count === 0 ? null : correct / count,
    confusion,
    perClass,
    macro: count === 0 ? { precision: null, recall: null, f1: null } : macro,
    rocAuc,
    logLoss,
    reasons,
  };
}

function classMetrics(confusion: number[][]): ClassMetrics[] {
  const k = confusion.length;
  return confusion.map((row, c) => {
    const tp = row[c] ?? 0;
    let support = 0;
    for (const v of row) support += v;
    let predictedAs = 0;
    for (let r = 0; r < k; r++) predictedAs += confusion[r]?.[c] ?? 0;
    const denominator = support + predictedAs;
    return {
      label: c,
      support,
      predicted: predictedAs,
      precision: predictedAs === 0 ? null : tp / predictedAs,
      recall: support === 0 ? null : tp / support,
      f1: denominator === 0 ? null : (2 * tp) / denominator,
    };
  });
}

function macroAverages(perClass: ClassMetrics[]): ClassificationMetrics['macro'] {
  const present = perClass.filter((c) => c.support > 0 || c.predicted > 0);
  if (present.length === 0) return { precision: null, recall: null, f1: null };
  const mean = (pick: (c: ClassMetrics) => number | null) =>
    present.reduce((sum, c) => sum + (pick(c) ?? 0), 0) / present.length;
  return { precision: mean((c) => c.precision), recall: mean((c) => c.recall), f1: mean((c) => c.f1) };
}

function binaryAuc(
  input: ClassificationInput,
  valid: Uint8Array,
  k: number,
  reasons: ClassificationMetrics['reasons'],
): number | null {
  if (k > 2) return oneVsRestAuc(input, valid, k, reasons);
  if (k !== 2) {
    reasons.rocAuc = 'ROC AUC needs at least two classes';
    return null;
  }
  const score = positiveScore(input);
  if (score === null) {
    reasons.rocAuc = 'no scores or probabilities given';
    return null;
  }
  const positives: number[] = [];
  const negatives: number[] = [];
  for (let i = 0; i < valid.length; i++) {
    const s = score(i);
    if (valid[i] !== 1 || !Number.isFinite(s)) continue;
    if (input.actual[i] === 1) positives.push(s);
    else negatives.push(s);
  }
  const auc = rocAucFromGroups(Float64Array.from(positives), Float64Array.from(negatives));
  if (auc === null) reasons.rocAuc = 'the outcomes hold a single class; ROC AUC needs both';
  return auc;
}

/** Most classes for which a multiclass ROC AUC is computed (one-vs-rest). */
export const OVR_MAX_CLASSES = 10;

/**
 * Multiclass ROC AUC as scikit-learn's `roc_auc_score(multi_class='ovr', average='macro')`: the
 * mean over classes of the AUC of that class's probability, the class against the rest. Classes
 * absent from the outcomes (or always present) are left out of the mean (scikit-learn raises).
 */
function oneVsRestAuc(
  input: ClassificationInput,
  valid: Uint8Array,
  k: number,
  reasons: ClassificationMetrics['reasons'],
): number | null {
  const probabilities = input.probabilities;
  if (probabilities === undefined) {
    reasons.rocAuc = 'no probabilities given (multiclass ROC AUC is one-vs-rest on them)';
    return null;
  }
  if (k > OVR_MAX_CLASSES) {
    reasons.rocAuc = `ROC AUC is computed for up to ${OVR_MAX_CLASSES} classes`;
    return null;
  }
  let total = 0;
  let counted = 0;
  for (let c = 0; c < k; c++) {
    const positives: number[] = [];
    const negatives: number[] = [];
    for (let i = 0; i < valid.length; i++) {
      const s = probabilities[i * k + c] as number;
      if (valid[i] !== 1 || !Number.isFinite(s)) continue;
      if (input.actual[i] === c) positives.push(s);
      else negatives.push(s);
    }
    const auc = rocAucFromGroups(Float64Array.from(positives), Float64Array.from(negatives));
    if (auc === null) continue;
    total += auc;
    counted++;
  }
  if (counted === 0) {
    reasons.rocAuc = 'the outcomes hold a single class; ROC AUC needs two';
    return null;
  }
  return total / counted;
}

function clippedLogLoss(
  input: ClassificationInput,
  valid: Uint8Array,
  k: number,
  reasons: ClassificationMetrics['reasons'],
): number | null {
  const probabilities = input.probabilities;
  const score = k === 2 ? positiveScore(input) : null;
  if (probabilities === undefined && score === null) {
    reasons.logLoss = k === 2 ? 'no scores or probabilities given' : 'no probabilities given';
    return null;
  }
  let total = 0;
  let rows = 0;
  for (let i = 0; i < valid.length; i++) {
    if (valid[i] !== 1) continue;
    const a = input.actual[i] ?? 0;
    const p =
      probabilities !== undefined ? (probabilities[i * k + a] ?? Number.NaN) : classProbability(score, i, a);
    if (!Number.isFinite(p)) continue;
    total -= Math.log(Math.min(1 - LOG_LOSS_EPSILON, Math.max(LOG_LOSS_EPSILON, p)));
    rows++;
  }
  if (rows === 0) {
    reasons.logLoss = 'no rows with a valid class and a finite probability';
    return null;
  }
  return total / rows;
}

function classProbability(score: ((i: number) => number) | null, i: number, actualClass: number): number {
  if (score === null) return Number.NaN;
  const s = score(i);
  return actualClass === 1 ? s : 1 - s;
}

function positiveScore(input: ClassificationInput): ((i: number) => number) | null {
  const { scores, probabilities } = input;
  if (scores !== undefined) return (i) => scores[i] ?? Number.NaN;
  if (probabilities !== undefined) return (i) => probabilities[i * 2 + 1] ?? Number.NaN;
  return null;
}

function inferClasses(actual: ArrayLike<number>, predicted: ArrayLike<number>): number {
  let max = -1;
  for (const values of [actual, predicted]) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i] ?? -1;
      if (Number.isInteger(v) && v > max) max = v;
    }
  }
  return Math.max(1, max + 1);
}

function isClass(value: number, k: number): boolean {
  return Number.isInteger(value) && value >= 0 && value < k;
}
