/**
 * ROC and calibration (reliability) curves of a classifier's scores against outcomes, as
 * aggregates a report can hold: at most `maxPoints` ROC points and 10 probability bins.
 */

/** A ROC curve: (false positive rate, true positive rate) from (0, 0) to (1, 1), and its area. */
export interface RocCurve {
  auc: number | null;
  positives: number;
  negatives: number;
  /** [fpr, tpr] pairs, one per distinct score (thinned to at most `maxPoints`), ties as one step. */
  points: [number, number][];
}

/** One bin of a reliability diagram. */
export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  /** Mean predicted probability of the bin's rows. */
  mean_predicted: number;
  /** Share of the bin's rows that were positive. */
  observed: number;
}

/**
 * The ROC curve of `scores` (higher = more positive) for rows where `positive[i]` is 1 or 0;
 * rows with a non-finite score are skipped. The area is the trapezoid sum over every distinct
 * score (ties count ½, equal to the Mann–Whitney AUC); the points are thinned for drawing.
 *
 * @example
 * ```ts
 * rocCurve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]).auc; // 0.75
 * ```
 */
export function rocCurve(scores: ArrayLike<number>, positive: ArrayLike<number>, maxPoints = 101): RocCurve {
  const order: number[] = [];
  let positives = 0;
  let negatives = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] as number;
    if (!Number.isFinite(s)) continue;
    order.push(i);
    if (positive[i] === 1) positives++;
    else negatives++;
  }
  if (positives === 0 || negatives === 0) return { auc: null, positives, negatives, points: [] };
  order.sort((a, b) => (scores[b] as number) - (scores[a] as number));
  const all: [number, number][] = [[0, 0]];
  let tp = 0;
  let fp = 0;
  let auc = 0;
  for (let j = 0; j < order.length; ) {
    const s = scores[order[j] as number] as number;
    const fpBefore = fp;
    const tpBefore = tp;
    while (j < order.length && scores[order[j] as number] === s) {
      if (positive[order[j] as number] === 1) tp++;
      else fp++;
      j++;
    }
    auc += ((fp - fpBefore) * (tp + tpBefore)) / 2;
    all.push([fp / negatives, tp / positives]);
  }
  return { auc: auc / (positives * negatives), positives, negatives, points: thin(all, maxPoints) };
}

/** Keeps the ends and evenly spaced points in between (the curve stays monotone). */
function thin(points: [number, number][], maxPoints: number): [number, number][] {
  if (points.length <= maxPoints) return points;
  const out: [number, number][] = [];
  const step = (points.length - 1) / (maxPoints - 1);
  for (let k = 0; k < maxPoints; k++) out.push(points[Math.round(k * step)] as [number, number]);
  return out;
}

/**
 * A reliability diagram: `bins` equal-width probability bins, each with its mean predicted
 * probability and the observed share of positives (empty bins left out).
 *
 * @example
 * ```ts
 * reliabilityCurve([0.05, 0.15, 0.95], [0, 0, 1])[0]; // { lower: 0, upper: 0.1, count: 1, mean_predicted: 0.05, observed: 0 }
 * ```
 */
export function reliabilityCurve(
  probabilities: ArrayLike<number>,
  positive: ArrayLike<number>,
  bins = 10,
): ReliabilityBin[] {
  const count = new Array<number>(bins).fill(0);
  const sum = new Array<number>(bins).fill(0);
  const hits = new Array<number>(bins).fill(0);
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i] as number;
    if (!Number.isFinite(p)) continue;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    count[b] = (count[b] as number) + 1;
    sum[b] = (sum[b] as number) + p;
    if (positive[i] === 1) hits[b] = (hits[b] as number) + 1;
  }
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    const n = count[b] as number;
    if (n === 0) continue;
    out.push({
      lower: b / bins,
      upper: (b + 1) / bins,
      count: n,
      mean_predicted: (sum[b] as number) / n,
      observed: (hits[b] as number) / n,
    });
  }
  return out;
}
