/**
 * Class labels as the drift check handles them: a model outputs class indices (or names), outcomes
 * arrive as names or indices, and both are mapped onto one list of class names.
 */

/**
 * The index of a class given by name (a member of `labels`) or by index (an integer, or its
 * decimal text, below `labels.length`); -1 when it is neither.
 *
 * @example
 * ```ts
 * classIndexOf('virginica', ['setosa', 'versicolor', 'virginica']); // 2
 * classIndexOf(1, ['setosa', 'versicolor', 'virginica']); // 1
 * classIndexOf('7', ['a', 'b']); // -1
 * ```
 */
export function classIndexOf(value: unknown, labels: readonly string[]): number {
  if (typeof value === 'string') {
    const byName = labels.indexOf(value);
    if (byName !== -1) return byName;
    if (!/^\s*[0-9]+\s*$/.test(value)) return -1;
    return indexInRange(Number(value), labels.length);
  }
  if (typeof value === 'number') return indexInRange(value, labels.length);
  if (typeof value === 'bigint') return value >= 0n && value < BigInt(labels.length) ? Number(value) : -1;
  if (typeof value === 'boolean') return indexInRange(value ? 1 : 0, labels.length);
  return -1;
}

/**
 * The name of a predicted class: `labels[index]` for an index, the value itself for a name.
 *
 * @example
 * ```ts
 * labelName(0, ['setosa', 'versicolor']); // 'setosa'
 * labelName('versicolor', ['setosa', 'versicolor']); // 'versicolor'
 * labelName(5, ['a', 'b']); // '5'
 * ```
 */
export function labelName(value: number | string, labels: readonly string[] | null): string {
  if (
    typeof value === 'number' &&
    labels !== null &&
    Number.isInteger(value) &&
    value >= 0 &&
    value < labels.length
  ) {
    return labels[value] as string;
  }
  return String(value);
}

/** Index of the largest value among `width` values starting at `offset`; -1 when none is finite. */
export function argmax(values: ArrayLike<number>, offset: number, width: number): number {
  let best = -1;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < width; k++) {
    const v = values[offset + k] ?? Number.NaN;
    if (Number.isFinite(v) && v > bestValue) {
      bestValue = v;
      best = k;
    }
  }
  return best;
}

function indexInRange(value: number, count: number): number {
  return Number.isInteger(value) && value >= 0 && value < count ? value : -1;
}
