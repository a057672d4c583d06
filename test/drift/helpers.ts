import assert from 'node:assert/strict';
import { mulberry32 } from '../../scripts/lib/random.ts';

/** Deterministic uniform [0, 1) generator, so statistical tests never flake. */
export const seededRandom = mulberry32;

/** n draws from N(mean, sd²) by Box–Muller. */
export function normalSample(n: number, mean: number, sd: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - random();
    const v = random();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = mean + sd * r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = mean + sd * r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** n categorical draws with the given weights over the labels. */
export function categoricalSample(n: number, labels: string[], weights: number[], seed: number): string[] {
  const random = seededRandom(seed);
  const total = weights.reduce((a, b) => a + b, 0);
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    let u = random() * total;
    let k = 0;
    while (k < weights.length - 1 && u >= (weights[k] ?? 0)) {
      u -= weights[k] ?? 0;
      k++;
    }
    out[i] = labels[k] ?? '';
  }
  return out;
}

/** Asserts |actual − expected| <= max(abs, rel·|expected|). */
export function assertClose(actual: number | null | undefined, expected: number, rel = 1e-12, abs = 0): void {
  assert.ok(typeof actual === 'number', `expected a number close to ${expected}, got ${actual}`);
  const tolerance = Math.max(abs, rel * Math.abs(expected));
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `expected ${expected} ± ${tolerance}, got ${actual} (off by ${Math.abs(actual - expected)})`,
  );
}

/** Asserts element-wise closeness of two equally long lists. */
export function assertAllClose(
  actual: readonly (number | null | undefined)[],
  expected: readonly number[],
  rel = 1e-12,
  abs = 0,
): void {
  assert.equal(actual.length, expected.length, `expected ${expected.length} values, got ${actual.length}`);
  for (let i = 0; i < expected.length; i++) assertClose(actual[i], expected[i] ?? Number.NaN, rel, abs);
}
