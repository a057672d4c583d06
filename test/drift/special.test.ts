import { describe, it } from 'node:test';
import {
  chiSquaredSurvival,
  kolmogorovSurvival,
  logGamma,
  normalTwoSided,
  regularizedGammaP,
  regularizedGammaQ,
} from '../../src/drift/statistics/special.ts';
import { assertClose } from './helpers.ts';

// Expected values: SciPy 1.17.1 (scipy.special.gammaincc / gammainc / gammaln / kolmogorov,
// scipy.stats.chi2.sf, 2 * scipy.stats.norm.sf), printed with repr(); recomputed by
// test/drift/reference-values/scipy_values.py.

describe('logGamma', () => {
  it('matches scipy.special.gammaln', () => {
    assertClose(logGamma(0.5), 0.5723649429247, 1e-13);
    assertClose(logGamma(1), 0, 0, 1e-15);
    assertClose(logGamma(5), 3.1780538303479458, 1e-14);
    assertClose(logGamma(10.3), 13.482036786138359, 1e-14);
    assertClose(logGamma(1000.5), 5908.674175848678, 1e-14);
    assertClose(logGamma(0.1), 2.252712651734206, 1e-13);
  });
});

describe('regularized incomplete gamma', () => {
  const cases: [number, number, number][] = [
    // a, x, Q(a, x) = scipy.special.gammaincc(a, x)
    [0.5, 0.1, 0.6547208460185768],
    [0.5, 2, 0.04550026389635857],
    [1, 1, 0.36787944117144245],
    [2.5, 1.5, 0.6999858358786276],
    [5, 20, 1.694474393006737e-5],
    [10, 3, 0.9988975118698845],
    [50, 45, 0.7531979655998298],
    [100, 150, 5.924540335483916e-6],
    [0.5, 50, 1.5239706048320995e-23],
    [3, 0.001, 0.9999999998334583],
    [200, 260, 4.750012444300866e-5],
  ];
  for (const [a, x, q] of cases) {
    it(`Q(${a}, ${x}) = ${q}`, () => {
      assertClose(regularizedGammaQ(a, x), q, 1e-11);
      assertClose(regularizedGammaP(a, x), 1 - q, 1e-11, 1e-15);
    });
  }

  it('keeps precision in the lower tail of P', () => {
    assertClose(regularizedGammaP(3, 0.001), 1.6654171665278094e-10, 1e-10);
    assertClose(regularizedGammaP(10, 3), 0.0011024881301154815, 1e-11);
  });

  it('handles the ends and rejects bad arguments', () => {
    assertClose(regularizedGammaQ(2, 0), 1);
    assertClose(regularizedGammaQ(2, Number.POSITIVE_INFINITY), 0);
    for (const bad of [
      () => regularizedGammaQ(0, 1),
      () => regularizedGammaQ(1, -1),
      () => regularizedGammaQ(Number.NaN, 1),
    ]) {
      try {
        bad();
        throw new Error('expected a RangeError');
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
      }
    }
  });
});

describe('chiSquaredSurvival', () => {
  it('matches scipy.stats.chi2.sf, including a far tail', () => {
    assertClose(chiSquaredSurvival(3.841458820694124, 1), 0.05, 1e-12);
    assertClose(chiSquaredSurvival(11.070497693516351, 5), 0.05, 1e-12);
    assertClose(chiSquaredSurvival(20, 2), 4.539992976248486e-5, 1e-12);
    assertClose(chiSquaredSurvival(100, 100), 0.48119168452795674, 1e-11);
    assertClose(chiSquaredSurvival(300, 10), 1.5546747543803087e-58, 1e-10);
    assertClose(chiSquaredSurvival(1e-3, 5), 0.9999999983185123, 1e-13);
    assertClose(chiSquaredSurvival(0, 3), 1);
  });
});

describe('normalTwoSided', () => {
  it('matches 2 * scipy.stats.norm.sf(|z|)', () => {
    assertClose(normalTwoSided(0), 1);
    assertClose(normalTwoSided(1), 0.31731050786291415, 1e-13);
    assertClose(normalTwoSided(-1.959963984540054), 0.05, 1e-12);
    assertClose(normalTwoSided(3), 0.0026997960632601866, 1e-12);
    assertClose(normalTwoSided(8), 1.244192114854348e-15, 1e-10);
  });
});

describe('kolmogorovSurvival', () => {
  const cases: [number, number][] = [
    // λ, scipy.special.kolmogorov(λ); 1.1799 / 1.18 straddle the switch between the two series
    [0.05, 1],
    [0.3, 0.9999906941986655],
    [0.5, 0.9639452436648751],
    [0.8, 0.5441424115741981],
    [1, 0.26999967167735456],
    [1.1799, 0.12351204971188676],
    [1.18, 0.1234538094297657],
    [1.3580986393225507, 0.049999999999999975],
    [2, 0.0006709252557796953],
    [3, 3.045995948942526e-8],
  ];
  for (const [lambda, q] of cases) {
    it(`Q_KS(${lambda}) = ${q}`, () => assertClose(kolmogorovSurvival(lambda), q, 1e-12));
  }

  it('is 1 at and below zero', () => {
    assertClose(kolmogorovSurvival(0), 1);
    assertClose(kolmogorovSurvival(-1), 1);
  });
});
