/**
 * Multivariate drift (PCA reconstruction error, NannyML's method): a change in the correlation
 * between features with unchanged marginals is caught; unchanged traffic is not flagged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitPca, multivariateDrift, reconstructionError } from '../../src/drift/statistics/multivariate.ts';
import { assertClose } from './helpers.ts';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Two standard normal features with correlation rho, plus a third independent one. */
function sample(n: number, rho: number, seed: number): Float64Array[] {
  const u = rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = normal();
    x[i] = a;
    y[i] = rho * a + Math.sqrt(1 - rho * rho) * normal();
    w[i] = 5 + 2 * normal();
  }
  return [x, y, w];
}

function windowError(model: NonNullable<ReturnType<typeof fitPca>>, columns: Float64Array[]) {
  let sum = 0;
  const n = columns[0]?.length ?? 0;
  for (let i = 0; i < n; i++)
    sum += reconstructionError(
      model,
      columns.map((c) => c[i] as number),
    );
  return multivariateDrift(model, sum, n);
}

describe('multivariate drift: PCA reconstruction error', () => {
  const model = fitPca([0, 1, 2], sample(5000, 0.9, 1));
  assert.ok(model);

  it('keeps the components for 65 % of the variance, and reconstructs a row on them exactly', () => {
    // Standardised variances: 1 + 0.9 and 1 on the diagonal; the first component explains 1.9 / 3.
    assert.equal(model.components.length, 2);
    assert.ok(model.explainedVariance >= 0.65);
    // A row on the span of the kept components has no error.
    const [c0, c1] = model.components as [number[], number[]];
    const row = [0, 1, 2].map(
      (f) =>
        (model.means[f] as number) + (model.stds[f] as number) * (2 * (c0[f] as number) - (c1[f] as number)),
    );
    assertClose(reconstructionError(model, row), 0, 0, 1e-12);
  });

  it('flags a correlation change that leaves every marginal unchanged, and not the same traffic', () => {
    const same = windowError(model, sample(2000, 0.9, 2));
    assert.equal(same.drifted, false, JSON.stringify(same));
    const decorrelated = windowError(model, sample(2000, -0.9, 3));
    assert.equal(decorrelated.drifted, true, JSON.stringify(decorrelated));
    assert.ok((decorrelated.statistic as number) > (decorrelated.upper as number));
  });

  it('imputes a missing value with the reference mean', () => {
    const row = [Number.NaN, model.means[1] as number, model.means[2] as number];
    assertClose(reconstructionError(model, row), 0, 0, 1e-12);
  });
});
