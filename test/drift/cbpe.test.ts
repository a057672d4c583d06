/**
 * CBPE: performance estimated without outcomes. The documented case (NannyML's "how it works":
 * CBPE is unbiased when the model is calibrated and only the inputs' distribution shifts): a
 * model whose scores equal P(y = 1 | x), traffic moved in x. The estimate must follow the realised
 * value, which differs from the reference's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addCbpeRow,
  CBPE_METRICS,
  type CbpeModel,
  emptyCbpeSums,
  estimateCbpe,
  fitCbpe,
  isotonicFit,
  isotonicPredict,
  mergeCbpeSums,
} from '../../src/drift/statistics/cbpe.ts';
import { classificationMetrics } from '../../src/drift/statistics/classification.ts';
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

/** x ~ N(mean, std²); the model's score is exactly P(y = 1 | x) = σ(2x − 0.5); y drawn from it. */
function traffic(n: number, mean: number, seed: number, std = 1, overconfidence = 1) {
  const u = rng(seed);
  const actual: number[] = [];
  const predicted: number[] = [];
  const probabilities: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = mean + std * Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
    const p = 1 / (1 + Math.exp(-(2 * x - 0.5)));
    actual.push(u() < p ? 1 : 0);
    // An overconfident model reports σ(k·(2x − 0.5)) instead of the true probability.
    const score = 1 / (1 + Math.exp(-overconfidence * (2 * x - 0.5)));
    predicted.push(score >= 0.5 ? 1 : 0);
    probabilities.push(1 - score, score);
  }
  return { actual, predicted, probabilities };
}

function sumsOf(model: CbpeModel, data: ReturnType<typeof traffic>) {
  const sums = emptyCbpeSums(2);
  const scratch = new Float64Array(2);
  data.predicted.forEach((label, i) => {
    addCbpeRow(model, sums, label, data.probabilities.slice(2 * i, 2 * i + 2), scratch);
  });
  return sums;
}

describe('isotonic calibration (pool-adjacent-violators)', () => {
  it('pools violators into their mean (worked by hand) and interpolates between knots', () => {
    const map = isotonicFit([1, 2, 3, 4, 5, 6], [1, 3, 2, 4, 3, 5]);
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((x) => isotonicPredict(map, x)),
      [1, 2.5, 2.5, 3.5, 3.5, 5],
    );
    assertClose(isotonicPredict(map, 5.5), 4.25, 1e-15);
    assert.equal(isotonicPredict(map, 0), 1, 'clipped below');
    assert.equal(isotonicPredict(map, 9), 5, 'clipped above');
    // Equal x values are averaged first.
    const ties = isotonicFit([0.2, 0.2, 0.7], [0, 1, 1]);
    assert.equal(isotonicPredict(ties, 0.2), 0.5);
  });
});

describe('CBPE', () => {
  const reference = traffic(6000, 0, 1);
  const model = fitCbpe({ ...reference, classes: 2 });
  assert.ok(model);

  it('estimates the expected confusion matrix exactly from calibrated probabilities', () => {
    // Identity calibration: the estimate is Σ p over rows, computed here directly.
    const identity: CbpeModel = {
      classes: 2,
      calibrated: false,
      calibration: [
        { x: [0, 1], y: [0, 1] },
        { x: [0, 1], y: [0, 1] },
      ],
      chunkSize: 100,
      chunks: 10,
      reference: {},
    };
    const data = traffic(500, 0.3, 7);
    const sums = sumsOf(identity, data);
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let tn = 0;
    data.predicted.forEach((label, i) => {
      const p = data.probabilities[2 * i + 1] as number;
      if (label === 1) {
        tp += p;
        fp += 1 - p;
      } else {
        fn += p;
        tn += 1 - p;
      }
    });
    const estimated = estimateCbpe(identity, sums);
    assertClose(estimated.accuracy.estimate, (tp + tn) / 500, 1e-12);
    const precision = (tp / (tp + fp) + tn / (tn + fn)) / 2;
    const recall = (tp / (tp + fn) + tn / (tn + fp)) / 2;
    assertClose(estimated.precision_macro.estimate, precision, 1e-12);
    assertClose(estimated.recall_macro.estimate, recall, 1e-12);
    const f1 = ((2 * tp) / (2 * tp + fp + fn) + (2 * tn) / (2 * tn + fn + fp)) / 2;
    assertClose(estimated.f1_macro.estimate, f1, 1e-12);
  });

  it('tracks the realised performance under covariate shift, within its band', () => {
    for (const [mean, seed] of [
      [0, 11],
      [1.2, 12],
      [-1, 13],
    ] as const) {
      const window = traffic(4000, mean, seed);
      const estimated = estimateCbpe(model as CbpeModel, sumsOf(model as CbpeModel, window));
      const realised = classificationMetrics({ ...window, classes: 2 });
      const values = {
        accuracy: realised.accuracy,
        precision_macro: realised.macro.precision,
        recall_macro: realised.macro.recall,
        f1_macro: realised.macro.f1,
        roc_auc: realised.rocAuc,
      };
      for (const metric of CBPE_METRICS) {
        const e = estimated[metric];
        const r = values[metric] as number;
        assert.ok(e.lower !== null && e.upper !== null, metric);
        assert.ok(
          r >= e.lower && r <= e.upper,
          `shift ${mean}, ${metric}: realised ${r} outside [${e.lower}, ${e.upper}] (estimate ${e.estimate})`,
        );
        assert.ok(
          Math.abs((e.estimate as number) - r) < 0.03,
          `shift ${mean}, ${metric}: ${e.estimate} vs ${r}`,
        );
      }
    }
  });

  it('multiclass: estimates the one-vs-rest ROC AUC and tracks it under covariate shift', () => {
    // Three classes, scores exactly P(y | x) = softmax(0, 1.5x, −1.5x), x ~ N(mean, 1).
    const three = (n: number, mean: number, seed: number) => {
      const u = rng(seed);
      const actual: number[] = [];
      const predicted: number[] = [];
      const probabilities: number[] = [];
      for (let i = 0; i < n; i++) {
        const x = mean + Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
        const e = [1, Math.exp(1.5 * x), Math.exp(-1.5 * x)];
        const t = (e[0] as number) + (e[1] as number) + (e[2] as number);
        const p = e.map((v) => v / t);
        const r = u();
        actual.push(r < (p[0] as number) ? 0 : r < (p[0] as number) + (p[1] as number) ? 1 : 2);
        predicted.push(p.indexOf(Math.max(...p)));
        probabilities.push(...p);
      }
      return { actual, predicted, probabilities };
    };
    const multi = fitCbpe({ ...three(6000, 0, 21), classes: 3 });
    assert.ok(multi?.reference.roc_auc, 'the reference chunks have a realised one-vs-rest AUC');
    for (const [mean, seed] of [
      [0, 22],
      [0.8, 23],
    ] as const) {
      const window = three(4000, mean, seed);
      const sums = emptyCbpeSums(3);
      const scratch = new Float64Array(3);
      window.predicted.forEach((label, i) => {
        addCbpeRow(multi, sums, label, window.probabilities.slice(3 * i, 3 * i + 3), scratch);
      });
      const estimated = estimateCbpe(multi, sums).roc_auc;
      const realised = classificationMetrics({ ...window, classes: 3 }).rocAuc as number;
      assert.ok(estimated.estimate !== null && estimated.lower !== null && estimated.upper !== null);
      assert.ok(
        realised >= estimated.lower && realised <= estimated.upper,
        `shift ${mean}: realised ${realised} outside [${estimated.lower}, ${estimated.upper}]`,
      );
      assert.ok(
        Math.abs(estimated.estimate - realised) < 0.03,
        `shift ${mean}: ${estimated.estimate} vs ${realised}`,
      );
    }
  });

  it('sees a drop the reference did not have, and flags it as degraded', () => {
    // Traffic gathered near the decision boundary (σ(2x − 0.5) = ½ at x = 0.25) lowers accuracy.
    const window = traffic(4000, 0.25, 21, 0.3);
    const estimated = estimateCbpe(model as CbpeModel, sumsOf(model as CbpeModel, window));
    const realised = classificationMetrics({ ...window, classes: 2 });
    const referenceAccuracy = (model as CbpeModel).reference.accuracy?.mean as number;
    assert.ok(
      (realised.accuracy as number) < referenceAccuracy - 0.05,
      `${realised.accuracy} vs ${referenceAccuracy}`,
    );
    assert.ok(Math.abs((estimated.accuracy.estimate as number) - (realised.accuracy as number)) < 0.03);
    assert.equal(estimated.accuracy.degraded, true);
    const calm = estimateCbpe(model as CbpeModel, sumsOf(model as CbpeModel, traffic(4000, 0, 22)));
    assert.equal(calm.accuracy.degraded, false);
  });

  it('keeps the scores of a calibrated model, recalibrates an overconfident one', () => {
    assert.equal((model as CbpeModel).calibrated, false);
    const overconfident = fitCbpe({ ...traffic(6000, 0, 41, 1, 3), classes: 2 });
    assert.equal(overconfident?.calibrated, true);
    const window = traffic(4000, 0.6, 42, 1, 3);
    const estimated = estimateCbpe(overconfident as CbpeModel, sumsOf(overconfident as CbpeModel, window));
    const realised = classificationMetrics({ ...window, classes: 2 });
    assert.ok(Math.abs((estimated.accuracy.estimate as number) - (realised.accuracy as number)) < 0.03);
    // Without calibration the overconfident scores would promise far more than is delivered.
    const naive = estimateCbpe(
      {
        ...(overconfident as CbpeModel),
        calibration: [
          { x: [0, 1], y: [0, 1] },
          { x: [0, 1], y: [0, 1] },
        ],
      },
      sumsOf(
        {
          ...(overconfident as CbpeModel),
          calibration: [
            { x: [0, 1], y: [0, 1] },
            { x: [0, 1], y: [0, 1] },
          ],
        },
        window,
      ),
    );
    assert.ok((naive.accuracy.estimate as number) > (realised.accuracy as number) + 0.05);
  });

  it('merges: the sums of two halves estimate what the whole does', () => {
    const window = traffic(2000, 0.5, 31);
    const half = (from: number, to: number) => ({
      actual: window.actual.slice(from, to),
      predicted: window.predicted.slice(from, to),
      probabilities: window.probabilities.slice(2 * from, 2 * to),
    });
    const m = model as CbpeModel;
    const merged = mergeCbpeSums(sumsOf(m, half(0, 700)), sumsOf(m, half(700, 2000)));
    const whole = sumsOf(m, window);
    assert.equal(merged.rows, whole.rows);
    for (const metric of CBPE_METRICS) {
      assertClose(
        estimateCbpe(m, merged)[metric].estimate,
        estimateCbpe(m, whole)[metric].estimate as number,
        1e-12,
      );
    }
  });
});
