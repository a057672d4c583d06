/**
 * Merging profiles, so that per-hour summaries of a window add up to one profile for the window.
 * Counts, histograms, PSI bins, min/max and moments merge exactly; the sketch is re-compressed
 * (each merge of non-exact sketches can add up to 1/(2K) to the CDF error).
 */
import { profileFromCounts } from './categorical-profile.ts';
import { DISCRETE_LIMIT, PROFILE_QUANTILES } from './numeric-profile.ts';
import { DEFAULT_SKETCH_SIZE, mergeWeighted, midQuantiles, sketchQuantile } from './sketch.ts';
import { countDistinct, quantileSorted } from './sorted.ts';
import type { CategoricalProfile, NumericProfile } from './types.ts';

/**
 * Combines two numeric profiles built with the same binning (`buildNumericProfile(values,
 * { binning: reference })`). `distinct` becomes a lower bound once the values are sketched.
 *
 * @example
 * ```ts
 * const hour1 = buildNumericProfile(first, { binning: reference });
 * const hour2 = buildNumericProfile(second, { binning: reference });
 * mergeNumericProfiles(hour1, hour2).count; // hour1.count + hour2.count
 * ```
 */
export function mergeNumericProfiles(
  a: NumericProfile,
  b: NumericProfile,
  options: { sketchSize?: number } = {},
): NumericProfile {
  if (!sameNumbers(a.histogram.edges, b.histogram.edges) || !sameNumbers(a.psiBins.cuts, b.psiBins.cuts)) {
    throw new RangeError(
      'cannot merge numeric profiles with different bins; build both with the same binning',
    );
  }
  if (b.count === 0) return { ...a, missing: a.missing + b.missing };
  if (a.count === 0) return { ...b, missing: a.missing + b.missing };
  const sketchSize = options.sketchSize ?? DEFAULT_SKETCH_SIZE;
  const count = a.count + b.count;
  const min = Math.min(a.min ?? Number.NaN, b.min ?? Number.NaN);
  const max = Math.max(a.max ?? Number.NaN, b.max ?? Number.NaN);
  const meanA = a.mean ?? 0;
  const meanB = b.mean ?? 0;
  const delta = meanB - meanA;
  const mean = meanA + (delta * b.count) / count;
  const m2 =
    (a.std ?? 0) ** 2 * a.count + (b.std ?? 0) ** 2 * b.count + (delta * delta * a.count * b.count) / count;
  const atoms = mergeWeighted(
    a.sketch.values,
    a.count / a.sketch.values.length,
    b.sketch.values,
    b.count / b.sketch.values.length,
  );
  const exact = a.sketch.exact && b.sketch.exact && count <= sketchSize;
  const sketchValues = exact ? atoms.values : midQuantiles(atoms.values, atoms.weights, sketchSize);
  const discrete = mergeDiscrete(a.discrete, b.discrete);
  return {
    kind: 'numeric',
    count,
    missing: a.missing + b.missing,
    min,
    max,
    mean,
    std: Math.sqrt(m2 / count),
    distinct: discrete
      ? discrete.values.length
      : exact
        ? countDistinct(sketchValues)
        : Math.max(a.distinct, b.distinct),
    quantiles: PROFILE_QUANTILES.map((p) => ({
      p,
      value: exact ? quantileSorted(sketchValues, p) : sketchQuantile(sketchValues, min, max, p),
    })),
    discrete,
    histogram: {
      edges: [...a.histogram.edges],
      counts: addCounts(a.histogram.counts, b.histogram.counts),
      below: a.histogram.below + b.histogram.below,
      above: a.histogram.above + b.histogram.above,
    },
    psiBins: { cuts: [...a.psiBins.cuts], counts: addCounts(a.psiBins.counts, b.psiBins.counts) },
    sketch: { exact, values: Array.from(sketchValues) },
  };
}

/**
 * Combines two categorical profiles, re-applying the category cap. A category pooled in `other`
 * on one side stays pooled there, so its named count on the other side is a lower bound.
 *
 * @example
 * ```ts
 * mergeCategoricalProfiles(buildCategoricalProfile(['a']), buildCategoricalProfile(['a', 'b'])).counts; // [2, 1]
 * ```
 */
export function mergeCategoricalProfiles(
  a: CategoricalProfile,
  b: CategoricalProfile,
  options: { maxCategories?: number } = {},
): CategoricalProfile {
  const counts = new Map<string, number>();
  for (const profile of [a, b]) {
    profile.categories.forEach((name, i) => {
      counts.set(name, (counts.get(name) ?? 0) + (profile.counts[i] ?? 0));
    });
  }
  const maxCategories = options.maxCategories ?? Math.max(a.categories.length, b.categories.length, 1);
  const distinct = Math.max(counts.size, a.distinct, b.distinct);
  return profileFromCounts(counts, a.missing + b.missing, a.other + b.other, distinct, maxCategories);
}

function mergeDiscrete(
  a: NumericProfile['discrete'],
  b: NumericProfile['discrete'],
): NumericProfile['discrete'] {
  if (a === null || b === null) return null;
  const values: number[] = [];
  const counts: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.values.length || j < b.values.length) {
    const va = a.values[i] ?? Number.POSITIVE_INFINITY;
    const vb = b.values[j] ?? Number.POSITIVE_INFINITY;
    const v = Math.min(va, vb);
    let c = 0;
    if (va === v) c += a.counts[i++] ?? 0;
    if (vb === v) c += b.counts[j++] ?? 0;
    values.push(v);
    counts.push(c);
    if (values.length > DISCRETE_LIMIT) return null;
  }
  return { values, counts };
}

function addCounts(a: readonly number[], b: readonly number[]): number[] {
  return a.map((c, i) => c + (b[i] ?? 0));
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
