/** Deterministic shuffling and stratified train/hold-out splits. */

/**
 * A seeded pseudo-random generator of numbers in [0, 1) (xorshift32). Same seed, same sequence,
 * on every machine: the demo models must come out identical on each build.
 */
export function seededRandom(seed: number): () => number {
  // Mixing the seed keeps small seeds (0, 1, 2…) away from xorshift's weak all-zero-ish states.
  let state = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) >>> 0 || 0x6d2b79f5;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
}

/** A shuffled copy of `items` (Fisher–Yates). */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const picked = copy[j] as T;
    copy[j] = copy[i] as T;
    copy[i] = picked;
  }
  return copy;
}

/** Row indices of a split; every index appears in exactly one of the two. */
export interface Split {
  train: number[];
  holdout: number[];
}

/**
 * Splits row indices so that each class keeps its share in both parts: per class,
 * `round(count × holdoutFraction)` rows go to the hold-out set. Both parts come out shuffled.
 *
 * @example
 * ```ts
 * const { train, holdout } = stratifiedSplit(dataset.labels, 0.25, 42);
 * ```
 */
export function stratifiedSplit(labels: readonly number[], holdoutFraction: number, seed: number): Split {
  if (!(holdoutFraction > 0 && holdoutFraction < 1)) {
    throw new RangeError(`holdoutFraction must be between 0 and 1, got ${holdoutFraction}`);
  }
  const random = seededRandom(seed);
  const byClass = new Map<number, number[]>();
  labels.forEach((label, index) => {
    const members = byClass.get(label) ?? [];
    members.push(index);
    byClass.set(label, members);
  });
  const train: number[] = [];
  const holdout: number[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = shuffled(byClass.get(label) ?? [], random);
    const holdoutCount = Math.round(members.length * holdoutFraction);
    holdout.push(...members.slice(0, holdoutCount));
    train.push(...members.slice(holdoutCount));
  }
  return { train: shuffled(train, random), holdout: shuffled(holdout, random) };
}
