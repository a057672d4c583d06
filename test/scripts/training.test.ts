import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseDatasetCsv } from '../../scripts/lib/training/dataset.ts';
import {
  accuracy,
  predictLabels,
  trainLinearClassifier,
} from '../../scripts/lib/training/linear-classifier.ts';
import { argMax, softmaxProbabilities } from '../../scripts/lib/training/softmax-regression.ts';
import { seededRandom, shuffled, stratifiedSplit } from '../../scripts/lib/training/split.ts';
import { fitStandardizer, standardize } from '../../scripts/lib/training/standardizer.ts';

describe('parseDatasetCsv', () => {
  it('reads the header metadata, drops empty class-name padding and splits features from labels', () => {
    const text = '3,2,no,yes,,,\n1.5,2,0\n-3,4e-2,1\n0,0,1\n';

    const dataset = parseDatasetCsv(text);

    assert.deepEqual(dataset.classNames, ['no', 'yes']);
    assert.equal(dataset.featureCount, 2);
    assert.deepEqual(dataset.rows, [
      [1.5, 2],
      [-3, 0.04],
      [0, 0],
    ]);
    assert.deepEqual(dataset.labels, [0, 1, 1]);
  });

  const broken: [string, string, RegExp][] = [
    ['an empty file', '', /test.csv: empty file/],
    ['a sample count that does not match', '3,1,a,b\n1,0\n', /announces 3 samples, found 1/],
    ['a short row', '1,2,a,b\n1,0\n', /line 2: expected 3 fields, found 2/],
    ['a non-numeric value', '1,1,a,b\nx,0\n', /line 2 column 1: 'x' is not a number/],
    ['an empty value', '1,1,a,b\n,0\n', /line 2 column 1: '' is not a number/],
    ['a label out of range', '1,1,a,b\n1,2\n', /label 2 is not one of 0..1/],
    ['a fractional label', '1,1,a,b\n1,0.5\n', /label 0.5/],
    ['a header without class names', '1,1\n1,0\n', /at least 2 class names/],
  ];
  for (const [what, text, message] of broken) {
    it(`rejects ${what}`, () => {
      assert.throws(() => parseDatasetCsv(text, 'test.csv'), message);
    });
  }
});

describe('seeded shuffling and stratified split', () => {
  it('gives the same sequence for the same seed and another for another seed', () => {
    const a = seededRandom(1);
    const b = seededRandom(1);
    const c = seededRandom(2);

    const [sa, sb, sc] = [a, b, c].map((random) => Array.from({ length: 5 }, random));

    assert.deepEqual(sa, sb);
    assert.notDeepEqual(sa, sc);
    assert.ok(sa?.every((x) => x >= 0 && x < 1));
  });

  it('shuffles into a permutation', () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), fc.integer(), (items, seed) => {
        const result = shuffled(items, seededRandom(seed));

        assert.deepEqual(
          [...result].sort((x, y) => x - y),
          [...items].sort((x, y) => x - y),
        );
      }),
    );
  });

  it('puts every row in exactly one part and keeps each class share', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 300 }),
        fc.integer(),
        (labels, seed) => {
          const { train, holdout } = stratifiedSplit(labels, 0.25, seed);

          assert.deepEqual(
            [...train, ...holdout].sort((x, y) => x - y),
            labels.map((_, i) => i),
          );
          for (const label of new Set(labels)) {
            const total = labels.filter((l) => l === label).length;
            const held = holdout.filter((i) => labels[i] === label).length;
            assert.equal(held, Math.round(total * 0.25), `class ${label}`);
          }
        },
      ),
    );
  });

  it('is deterministic for a seed', () => {
    const labels = Array.from({ length: 100 }, (_, i) => i % 3);

    assert.deepEqual(stratifiedSplit(labels, 0.25, 9), stratifiedSplit(labels, 0.25, 9));
    assert.notDeepEqual(stratifiedSplit(labels, 0.25, 9), stratifiedSplit(labels, 0.25, 10));
  });
});

describe('standardization', () => {
  it('gives the fitted columns mean 0 and standard deviation 1, and leaves constant columns at 0', () => {
    const rows = [
      [1, 10, 5],
      [2, 30, 5],
      [3, 20, 5],
      [6, 0, 5],
    ];

    const z = standardize(fitStandardizer(rows), rows);

    for (const column of [0, 1]) {
      const values = z.map((row) => row[column] ?? Number.NaN);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
      assert.ok(Math.abs(mean) < 1e-12, `column ${column} mean ${mean}`);
      assert.ok(Math.abs(variance - 1) < 1e-12, `column ${column} variance ${variance}`);
    }
    assert.deepEqual(
      z.map((row) => row[2]),
      [0, 0, 0, 0],
    );
  });
});

describe('softmax regression', () => {
  it('separates three well-separated clusters it was trained on', () => {
    const random = seededRandom(3);
    const centres = [
      [0, 0],
      [10, 0],
      [0, 10],
    ];
    const rows: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 90; i++) {
      const label = i % 3;
      const [cx = 0, cy = 0] = centres[label] ?? [];
      rows.push([cx + random() * 2 - 1, cy + random() * 2 - 1]);
      labels.push(label);
    }

    const classifier = trainLinearClassifier(rows, labels, 3, { epochs: 300 });

    assert.equal(accuracy(predictLabels(classifier, rows), labels), 1);
    assert.deepEqual(
      predictLabels(classifier, [
        [10, 0.5],
        [0.5, 9],
        [-1, -1],
      ]),
      [1, 2, 0],
    );
  });

  it('computes probabilities that sum to 1 and survive huge scores', () => {
    const model = { weights: [[1000], [-1000]], bias: [0, 0] };

    const probabilities = softmaxProbabilities(model, [5]);

    assert.deepEqual(probabilities, [1, 0]);
    assert.equal(argMax([0.2, 0.5, 0.5]), 1);
  });

  it('stores float32-representable parameters, as the ONNX initializers will hold them', () => {
    const classifier = trainLinearClassifier(
      [
        [0.1, 5],
        [0.7, 3],
        [0.3, 1],
      ],
      [0, 1, 0],
      2,
      { epochs: 10 },
    );

    for (const value of [
      ...classifier.mean,
      ...classifier.scale,
      ...classifier.weights.flat(),
      ...classifier.bias,
    ]) {
      assert.equal(Math.fround(value), value);
    }
  });
});
