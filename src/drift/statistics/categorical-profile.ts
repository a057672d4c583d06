/**
 * Building categorical profiles: counts per category, capped, the tail pooled as `other`.
 */
import type { CategoricalProfile } from './types.ts';

/** A raw categorical value. Numbers and booleans are keyed by `String(value)`. */
export type CategoryValue = string | number | boolean | null | undefined;

export const DEFAULT_MAX_CATEGORIES = 100;

export interface CategoricalProfileOptions {
  /** Categories named in the profile (default 100); the rest are pooled in `other`. */
  maxCategories?: number;
}

/**
 * Counts the values of a categorical column. null, undefined and NaN are missing; the empty
 * string is a category.
 *
 * @example
 * ```ts
 * countCategories(['a', 'b', 'a', null]); // { counts: Map { 'a' => 2, 'b' => 1 }, missing: 1 }
 * ```
 */
export function countCategories(values: ArrayLike<CategoryValue>): {
  counts: Map<string, number>;
  missing: number;
} {
  const counts = new Map<string, number>();
  let missing = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) {
      missing++;
      continue;
    }
    const key = typeof v === 'string' ? v : String(v);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return { counts, missing };
}

/**
 * Summarises a categorical column: the `maxCategories` most frequent categories with their counts
 * (most frequent first, ties by name), the rest pooled in `other`.
 *
 * @example
 * ```ts
 * buildCategoricalProfile(['a', 'b', 'a', 'c'], { maxCategories: 1 });
 * // { kind: 'categorical', count: 4, missing: 0, distinct: 3, categories: ['a'], counts: [2], other: 2 }
 * ```
 */
export function buildCategoricalProfile(
  values: ArrayLike<CategoryValue>,
  options: CategoricalProfileOptions = {},
): CategoricalProfile {
  const { counts, missing } = countCategories(values);
  return profileFromCounts(counts, missing, 0, counts.size, options.maxCategories ?? DEFAULT_MAX_CATEGORIES);
}

/**
 * A profile from a count map; `other` adds to the pooled tail, `distinct` is reported as given.
 *
 * @example
 * ```ts
 * profileFromCounts(new Map([['x', 3]]), 0, 0, 1, 100).categories; // ['x']
 * ```
 */
export function profileFromCounts(
  counts: ReadonlyMap<string, number>,
  missing: number,
  other: number,
  distinct: number,
  maxCategories: number,
): CategoricalProfile {
  if (!Number.isInteger(maxCategories) || maxCategories < 1) {
    throw new RangeError(`maxCategories must be a positive integer, got ${maxCategories}`);
  }
  const ranked = [...counts].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const kept = ranked.slice(0, maxCategories);
  let total = other;
  for (const [, c] of ranked) total += c;
  let pooled = other;
  for (let i = maxCategories; i < ranked.length; i++) pooled += ranked[i]?.[1] ?? 0;
  return {
    kind: 'categorical',
    count: total,
    missing,
    distinct,
    categories: kept.map(([name]) => name),
    counts: kept.map(([, c]) => c),
    other: pooled,
  };
}
