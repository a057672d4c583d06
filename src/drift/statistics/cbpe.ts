/**
 * Confidence-based performance estimation (CBPE, the method NannyML documents): a classifier's
 * accuracy, precision, recall, F1 and ROC AUC estimated on a window **without outcomes**, from its
 * predicted probabilities once they are calibrated on the labelled reference.
 *
 * If the calibrated probability p̂ᵢ(c) is right, row i belongs to class c with probability p̂ᵢ(c),
 * so each confusion-matrix cell has the expected value E[C(a, b)] = Σ_{i: ŷᵢ = b} p̂ᵢ(a), and the
 * metrics follow from the expected counts. These are sums, so windows (and per-hour summaries)
 * merge by adding them. ROC AUC (binary) uses the expected positives and negatives over 1000 score
 * bins (ties within a bin count ½).
 *
 * Calibration: isotonic regression of each class's indicator on its score (pool-adjacent-violators,
 * one-vs-rest), evaluated with linear interpolation and clipped at the ends as scikit-learn's
 * `IsotonicRegression(out_of_bounds='clip')`, whose use NannyML documents; rows renormalised to sum
 * to 1 for more than two classes.
 *
 * Confidence band and thresholds: the reference rows are cut into chunks; the realised metric's
 * mean and standard deviation over the chunks give the sampling error at the chunk size, scaled by
 * √(chunk / n) to a window of n predictions. The band is estimate ± 3 sampling errors; the alert
 * threshold is the reference mean − 3 sampling errors (NannyML's default of mean ± 3σ).
 */
import { classificationMetrics, OVR_MAX_CLASSES } from './classification.ts';

/** A monotone map from a score to a calibrated probability: sorted knots, linear in between. */
export interface IsotonicMap {
  x: number[];
  y: number[];
}

/** Metrics CBPE estimates. */
export const CBPE_METRICS = ['accuracy', 'precision_macro', 'recall_macro', 'f1_macro', 'roc_auc'] as const;
export type CbpeMetric = (typeof CBPE_METRICS)[number];

/** What the reference stores for CBPE (`reference.json` → `performance.cbpe`). */
export interface CbpeModel {
  classes: number;
  /** Whether any class's scores were recalibrated (else the maps are the identity). */
  calibrated: boolean;
  /** One map per class (one-vs-rest). */
  calibration: IsotonicMap[];
  /** Reference rows per chunk, and the realised metric's mean and std over the chunks. */
  chunkSize: number;
  chunks: number;
  reference: Partial<Record<CbpeMetric, { mean: number; std: number }>>;
}

/** Mergeable sums over a window's predictions. */
export interface CbpeSums {
  classes: number;
  rows: number;
  /** k × k, row = class a, column = predicted b: Σ over rows predicted b of p̂(a). */
  expected: number[];
  /** Binary only: per score bin, rows and Σ p̂(positive). */
  binRows: number[];
  binPositive: number[];
}

const BINS = 1000;

/**
 * Pool-adjacent-violators: the non-decreasing fit of `y` on `x` (least squares), as knots.
 *
 * @example
 * ```ts
 * isotonicFit([0.1, 0.2, 0.3], [0, 1, 0]); // { x: [0.1, 0.2, 0.3], y: [0, 0.5, 0.5] }
 * ```
 */
export function isotonicFit(x: ArrayLike<number>, y: ArrayLike<number>): IsotonicMap {
  const order = Array.from({ length: x.length }, (_, i) => i)
    .filter((i) => Number.isFinite(x[i] as number) && Number.isFinite(y[i] as number))
    .sort((a, b) => (x[a] as number) - (x[b] as number));
  // Equal x values are pooled first (scikit-learn fits on the unique x values, y averaged).
  const xs: number[] = [];
  const sums: number[] = [];
  const weights: number[] = [];
  for (const i of order) {
    const xi = x[i] as number;
    if (xs.length > 0 && xs[xs.length - 1] === xi) {
      sums[sums.length - 1] = (sums[sums.length - 1] as number) + (y[i] as number);
      weights[weights.length - 1] = (weights[weights.length - 1] as number) + 1;
    } else {
      xs.push(xi);
      sums.push(y[i] as number);
      weights.push(1);
    }
  }
  // Blocks: start index, total, weight.
  const start: number[] = [];
  const total: number[] = [];
  const weight: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    start.push(i);
    total.push(sums[i] as number);
    weight.push(weights[i] as number);
    while (total.length > 1) {
      const last = total.length - 1;
      if (
        (total[last - 1] as number) / (weight[last - 1] as number) <=
        (total[last] as number) / (weight[last] as number)
      )
        break;
      total[last - 1] = (total[last - 1] as number) + (total[last] as number);
      weight[last - 1] = (weight[last - 1] as number) + (weight[last] as number);
      total.pop();
      weight.pop();
      start.pop();
    }
  }
  const fitted = new Array<number>(xs.length);
  for (let b = 0; b < start.length; b++) {
    const end = b + 1 < start.length ? (start[b + 1] as number) : xs.length;
    const value = (total[b] as number) / (weight[b] as number);
    for (let i = start[b] as number; i < end; i++) fitted[i] = value;
  }
  // Keep the knots where the fit changes (block ends), enough to interpolate exactly.
  const kx: number[] = [];
  const ky: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    const first = i === 0 || fitted[i] !== fitted[i - 1];
    const last = i === xs.length - 1 || fitted[i] !== fitted[i + 1];
    if (first || last) {
      kx.push(xs[i] as number);
      ky.push(fitted[i] as number);
    }
  }
  return { x: kx, y: ky };
}

/** The map at `s`: linear between knots, clipped to the end values outside them. */
export function isotonicPredict(map: IsotonicMap, s: number): number {
  const { x, y } = map;
  const n = x.length;
  if (n === 0 || !Number.isFinite(s)) return Number.NaN;
  if (s <= (x[0] as number)) return y[0] as number;
  if (s >= (x[n - 1] as number)) return y[n - 1] as number;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((x[mid] as number) <= s) lo = mid;
    else hi = mid;
  }
  const x0 = x[lo] as number;
  const x1 = x[hi] as number;
  const y0 = y[lo] as number;
  const y1 = y[hi] as number;
  return x1 === x0 ? y1 : y0 + ((y1 - y0) * (s - x0)) / (x1 - x0);
}

/** Calibrated probabilities of one row (`scores`: the model's k probabilities). */
export function calibrate(model: CbpeModel, scores: ArrayLike<number>, out: Float64Array): boolean {
  const k = model.classes;
  let sum = 0;
  for (let c = 0; c < k; c++) {
    const p = isotonicPredict(model.calibration[c] as IsotonicMap, scores[c] as number);
    if (!Number.isFinite(p)) return false;
    out[c] = p;
    sum += p;
  }
  if (k > 2) {
    if (!(sum > 0)) return false;
    for (let c = 0; c < k; c++) out[c] = (out[c] as number) / sum;
  } else if (k === 2) {
    // Binary: the positive class's map decides; the other is its complement.
    out[0] = 1 - (out[1] as number);
  }
  return true;
}

/**
 * Fits CBPE on the labelled reference: calibration maps and the realised metrics over reference
 * chunks. `probabilities` holds `classes` values per row. Returns null with fewer than 2 classes,
 * or fewer than 100 rows (too few to calibrate).
 *
 * @example
 * ```ts
 * const model = fitCbpe({ actual, predicted, probabilities, classes: 2 });
 * ```
 */
export function fitCbpe(input: {
  actual: ArrayLike<number>;
  predicted: ArrayLike<number>;
  probabilities: ArrayLike<number>;
  classes: number;
  chunks?: number;
}): CbpeModel | null {
  const k = input.classes;
  const n = input.actual.length;
  if (k < 2 || n < 100) return null;
  const calibration: IsotonicMap[] = [];
  let calibrated = false;
  for (let c = 0; c < k; c++) {
    const scores = new Float64Array(n);
    const indicator = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      scores[i] = input.probabilities[i * k + c] as number;
      indicator[i] = input.actual[i] === c ? 1 : 0;
    }
    if (needsCalibration(scores, indicator)) {
      calibration.push(isotonicFit(scores, indicator));
      calibrated = true;
    } else {
      calibration.push({ x: [0, 1], y: [0, 1] });
    }
  }
  const chunks = Math.max(2, Math.min(input.chunks ?? 10, Math.floor(n / 50)));
  const chunkSize = Math.floor(n / chunks);
  const values: Record<CbpeMetric, number[]> = {
    accuracy: [],
    precision_macro: [],
    recall_macro: [],
    f1_macro: [],
    roc_auc: [],
  };
  for (let j = 0; j < chunks; j++) {
    const from = j * chunkSize;
    const metrics = classificationMetrics({
      actual: Array.from({ length: chunkSize }, (_, i) => input.actual[from + i] as number),
      predicted: Array.from({ length: chunkSize }, (_, i) => input.predicted[from + i] as number),
      classes: k,
      probabilities: Array.from(
        { length: chunkSize * k },
        (_, i) => input.probabilities[from * k + i] as number,
      ),
    });
    const realised = realisedOf(metrics);
    for (const metric of CBPE_METRICS) {
      const value = realised[metric];
      if (value !== null && Number.isFinite(value)) values[metric].push(value);
    }
  }
  const reference: CbpeModel['reference'] = {};
  for (const metric of CBPE_METRICS) {
    const v = values[metric];
    if (v.length < 2) continue;
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1);
    reference[metric] = { mean, std: Math.sqrt(variance) };
  }
  return { classes: k, calibrated, calibration, chunkSize, chunks, reference };
}

const FOLDS = 3;

/**
 * Whether isotonic calibration helps, judged as NannyML does (calibrate only when it makes the
 * probabilities better on rows it was not fitted on): the Brier score of the scores against that of
 * the isotonic map fitted on the other folds, over 3 interleaved folds. A model that is already
 * calibrated keeps its scores (an isotonic map fitted on a finite sample is a staircase, and its
 * flat end steps would read high scores as certainties under covariate shift).
 */
function needsCalibration(scores: Float64Array, indicator: Float64Array): boolean {
  const n = scores.length;
  let raw = 0;
  let fitted = 0;
  for (let fold = 0; fold < FOLDS; fold++) {
    const trainX: number[] = [];
    const trainY: number[] = [];
    for (let i = 0; i < n; i++) {
      if (i % FOLDS === fold) continue;
      trainX.push(scores[i] as number);
      trainY.push(indicator[i] as number);
    }
    const map = isotonicFit(trainX, trainY);
    for (let i = fold; i < n; i += FOLDS) {
      const y = indicator[i] as number;
      const s = scores[i] as number;
      raw += (s - y) ** 2;
      fitted += (isotonicPredict(map, s) - y) ** 2;
    }
  }
  return fitted < raw;
}

function realisedOf(metrics: ReturnType<typeof classificationMetrics>): Record<CbpeMetric, number | null> {
  return {
    accuracy: metrics.accuracy,
    precision_macro: metrics.macro.precision,
    recall_macro: metrics.macro.recall,
    f1_macro: metrics.macro.f1,
    roc_auc: metrics.rocAuc,
  };
}

/** Score bins kept for ROC AUC: the positive class's (binary), each class's (one-vs-rest), or none. */
function aucBins(classes: number): number {
  if (classes === 2) return BINS;
  return classes <= OVR_MAX_CLASSES ? classes * BINS : 0;
}

/** Empty sums for a model with `classes` classes. */
export function emptyCbpeSums(classes: number): CbpeSums {
  return {
    classes,
    rows: 0,
    expected: new Array(classes * classes).fill(0),
    binRows: new Array(aucBins(classes)).fill(0),
    binPositive: new Array(aucBins(classes)).fill(0),
  };
}

/**
 * Adds one prediction: its predicted class and the model's raw probabilities. Rows whose
 * probabilities are missing or not finite are left out (and not counted in `rows`). `also`
 * receives the same row (e.g. its hour's sums), calibrated once.
 */
export function addCbpeRow(
  model: CbpeModel,
  sums: CbpeSums,
  predicted: number,
  scores: ArrayLike<unknown> | undefined,
  scratch: Float64Array,
  also?: CbpeSums,
): boolean {
  const k = model.classes;
  if (scores === undefined || !(predicted >= 0 && predicted < k) || !Number.isInteger(predicted))
    return false;
  if (rawScratch.length < k) rawScratch = new Float64Array(k);
  const raw = rawScratch;
  for (let c = 0; c < k; c++) {
    const v = Number(scores[c]);
    if (!Number.isFinite(v)) return false;
    raw[c] = v;
  }
  if (!calibrate(model, raw, scratch)) return false;
  addCalibrated(sums, k, predicted, raw, scratch);
  if (also !== undefined) addCalibrated(also, k, predicted, raw, scratch);
  return true;
}

function addCalibrated(
  sums: CbpeSums,
  k: number,
  predicted: number,
  raw: Float64Array,
  scratch: Float64Array,
): void {
  sums.rows++;
  for (let a = 0; a < k; a++)
    sums.expected[a * k + predicted] = (sums.expected[a * k + predicted] as number) + (scratch[a] as number);
  if (k === 2) {
    const bin = Math.min(BINS - 1, Math.max(0, Math.floor((raw[1] as number) * BINS)));
    sums.binRows[bin] = (sums.binRows[bin] as number) + 1;
    sums.binPositive[bin] = (sums.binPositive[bin] as number) + (scratch[1] as number);
  } else if (sums.binRows.length === k * BINS) {
    // One-vs-rest: class c ranked by its raw score, expected positive by its calibrated one.
    for (let c = 0; c < k; c++) {
      const bin = c * BINS + Math.min(BINS - 1, Math.max(0, Math.floor((raw[c] as number) * BINS)));
      sums.binRows[bin] = (sums.binRows[bin] as number) + 1;
      sums.binPositive[bin] = (sums.binPositive[bin] as number) + (scratch[c] as number);
    }
  }
}

let rawScratch = new Float64Array(0);

/** Sum of two windows' sums. */
export function mergeCbpeSums(a: CbpeSums, b: CbpeSums): CbpeSums {
  // Sums kept before multiclass bins existed have none: the merged ROC AUC is then unknown.
  const sameBins = a.binRows.length === b.binRows.length;
  return {
    classes: a.classes,
    rows: a.rows + b.rows,
    expected: a.expected.map((v, i) => v + (b.expected[i] ?? 0)),
    binRows: sameBins ? a.binRows.map((v, i) => v + (b.binRows[i] ?? 0)) : [],
    binPositive: sameBins ? a.binPositive.map((v, i) => v + (b.binPositive[i] ?? 0)) : [],
  };
}

/** One estimated metric with its band and threshold. */
export interface EstimatedMetric {
  estimate: number | null;
  /** estimate ± 3 sampling errors (null without reference chunks). */
  lower: number | null;
  upper: number | null;
  /** Reference chunks' mean − 3 sampling errors at this window's size: below it, degraded. */
  threshold: number | null;
  sampling_error: number | null;
  degraded: boolean;
}

/**
 * The estimated metrics of a window from its sums. Thresholds are calibrated on the reference
 * chunks unless `fixedThresholds` gives one for the metric.
 *
 * @example
 * ```ts
 * estimateCbpe(model, sums).accuracy.estimate; // e.g. 0.91
 * ```
 */
export function estimateCbpe(
  model: CbpeModel,
  sums: CbpeSums,
  fixedThresholds?: Partial<Record<CbpeMetric, number>>,
): Record<CbpeMetric, EstimatedMetric> {
  const k = sums.classes;
  const n = sums.rows;
  const cell = (a: number, b: number) => sums.expected[a * k + b] as number;
  let correct = 0;
  const precision: number[] = [];
  const recall: number[] = [];
  const f1: number[] = [];
  for (let c = 0; c < k; c++) {
    correct += cell(c, c);
    let predictedC = 0;
    let actualC = 0;
    for (let o = 0; o < k; o++) {
      predictedC += cell(o, c);
      actualC += cell(c, o);
    }
    const tp = cell(c, c);
    // scikit-learn's zero_division=0, over the classes present on either side.
    if (predictedC <= 0 && actualC <= 0) continue;
    precision.push(predictedC > 0 ? tp / predictedC : 0);
    recall.push(actualC > 0 ? tp / actualC : 0);
    f1.push(predictedC + actualC > 0 ? (2 * tp) / (predictedC + actualC) : 0);
  }
  const mean = (v: number[]) => (v.length > 0 ? v.reduce((a, b) => a + b, 0) / v.length : null);
  const estimates: Record<CbpeMetric, number | null> = {
    accuracy: n > 0 ? correct / n : null,
    precision_macro: n > 0 ? mean(precision) : null,
    recall_macro: n > 0 ? mean(recall) : null,
    f1_macro: n > 0 ? mean(f1) : null,
    roc_auc: n > 0 ? estimatedAuc(sums) : null,
  };
  const out = {} as Record<CbpeMetric, EstimatedMetric>;
  for (const metric of CBPE_METRICS) {
    const estimate = estimates[metric];
    const ref = model.reference[metric];
    // Chunks that all score the same (a perfect score on training rows) give no spread to
    // calibrate on: no band, and no calibrated threshold (a fixed one still applies).
    const se = ref && ref.std > 0 && n > 0 ? ref.std * Math.sqrt(model.chunkSize / n) : null;
    const fixed = fixedThresholds?.[metric];
    const threshold = fixed !== undefined ? fixed : ref && se !== null ? ref.mean - 3 * se : null;
    out[metric] = {
      estimate,
      lower: estimate !== null && se !== null ? estimate - 3 * se : null,
      upper: estimate !== null && se !== null ? estimate + 3 * se : null,
      threshold,
      sampling_error: se,
      degraded: estimate !== null && threshold !== null && estimate < threshold,
    };
  }
  return out;
}

/**
 * Expected ROC AUC: binary, of the positive class; multiclass, the mean over classes of each
 * class against the rest (scikit-learn's `multi_class='ovr', average='macro'`, as NannyML does).
 * Null when the sums hold no bins (more than `OVR_MAX_CLASSES` classes).
 */
function estimatedAuc(sums: CbpeSums): number | null {
  const k = sums.classes;
  if (k === 2) return sums.binRows.length === BINS ? binnedAuc(sums, 0) : null;
  if (sums.binRows.length !== k * BINS) return null;
  let total = 0;
  let counted = 0;
  for (let c = 0; c < k; c++) {
    const auc = binnedAuc(sums, c * BINS);
    if (auc === null) continue;
    total += auc;
    counted++;
  }
  return counted > 0 ? total / counted : null;
}

/** Expected ROC AUC from the binned expected positives/negatives (ties within a bin count ½). */
function binnedAuc(sums: CbpeSums, offset: number): number | null {
  let positives = 0;
  let negatives = 0;
  for (let b = offset; b < offset + BINS; b++) {
    positives += sums.binPositive[b] as number;
    negatives += (sums.binRows[b] as number) - (sums.binPositive[b] as number);
  }
  if (!(positives > 0 && negatives > 0)) return null;
  let area = 0;
  let negativesBelow = 0;
  for (let b = offset; b < offset + BINS; b++) {
    const pos = sums.binPositive[b] as number;
    const neg = (sums.binRows[b] as number) - pos;
    // Each positive here outranks the negatives in lower bins and ties half of those in its own.
    area += pos * (negativesBelow + neg / 2);
    negativesBelow += neg;
  }
  return area / (positives * negatives);
}
