/**
 * Area under the ROC curve by ranks (the Mann–Whitney statistic), ties counted as one half.
 */

/**
 * ROC AUC = P(score of a positive > score of a negative) + ½·P(tie), from the two groups'
 * scores, in O(n log n) by sorting each group and merging. null when a group is empty.
 *
 * @example
 * ```ts
 * rocAucFromGroups(Float64Array.of(0.35, 0.8), Float64Array.of(0.1, 0.4)); // 0.75
 * ```
 */
export function rocAucFromGroups(positives: Float64Array, negatives: Float64Array): number | null {
  const p = positives.length;
  const n = negatives.length;
  if (p === 0 || n === 0) return null;
  const pos = Float64Array.from(positives).sort();
  const neg = Float64Array.from(negatives).sort();
  let below = 0;
  let atOrBelow = 0;
  let wins = 0;
  for (let i = 0; i < p; i++) {
    const s = pos[i] ?? Number.NaN;
    while (below < n && (neg[below] ?? Number.NaN) < s) below++;
    if (atOrBelow < below) atOrBelow = below;
    while (atOrBelow < n && (neg[atOrBelow] ?? Number.NaN) <= s) atOrBelow++;
    wins += below + 0.5 * (atOrBelow - below);
  }
  return wins / p / n;
}
