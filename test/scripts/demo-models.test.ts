import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import {
  buildDemoModels,
  DEMO_MODEL_NAMES,
  type DemoModelSummary,
  formatSummaryTable,
  type TrainedDemoModel,
  trainDemoModel,
} from '../../scripts/demo-models.ts';
import { predictLabels, predictProbabilities } from '../../scripts/lib/training/linear-classifier.ts';
import { readModelInfo } from '../../src/onnx/model-info.ts';

const QUIET = { logSeverityLevel: 3 } as const;

/** Accuracy the brief asks for; a softmax regression reaches these on a 25 % hold-out. */
const MINIMUM_ACCURACY: Record<(typeof DEMO_MODEL_NAMES)[number], number> = {
  'breast-cancer': 0.93,
  iris: 0.9,
  wine: 0.9,
};
const EXPECTED_SHAPE = {
  'breast-cancer': { features: 30, classes: 2, rows: 569 },
  iris: { features: 4, classes: 3, rows: 150 },
  wine: { features: 13, classes: 3, rows: 178 },
};

let outDir: string;
let summaries: DemoModelSummary[];

before(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'demo-models-'));
  summaries = await buildDemoModels(outDir);
});

after(async () => {
  await rm(outDir, { recursive: true, force: true });
});

function parseCsv(text: string): { header: string[]; rows: number[][] } {
  const [head = '', ...lines] = text.trimEnd().split('\n');
  return { header: head.split(','), rows: lines.map((line) => line.split(',').map(Number)) };
}

describe('buildDemoModels', () => {
  it('builds the three models, with sizes that add up to the datasets', () => {
    assert.deepEqual(
      summaries.map((s) => s.name),
      ['breast-cancer', 'iris', 'wine'],
    );
    for (const summary of summaries) {
      const expected = EXPECTED_SHAPE[summary.name];
      assert.equal(summary.features, expected.features, summary.name);
      assert.equal(summary.classes, expected.classes, summary.name);
      assert.equal(summary.trainSize + summary.holdoutSize, expected.rows, summary.name);
      assert.ok(
        Math.abs(summary.holdoutSize / expected.rows - 0.25) < 0.02,
        `${summary.name} hold-out share`,
      );
    }
  });

  it('reaches the accuracy bars on the hold-out rows', () => {
    for (const summary of summaries) {
      assert.ok(
        summary.holdoutAccuracy >= MINIMUM_ACCURACY[summary.name],
        `${summary.name}: ${summary.holdoutAccuracy}`,
      );
    }
  });

  it('comes out byte for byte the same when built again', async () => {
    const again = await mkdtemp(join(tmpdir(), 'demo-models-again-'));
    try {
      await buildDemoModels(again);

      for (const name of DEMO_MODEL_NAMES) {
        for (const file of ['1/model.onnx', 'config.json', 'holdout.csv']) {
          assert.deepEqual(
            await readFile(join(again, name, file)),
            await readFile(join(outDir, name, file)),
            `${name}/${file}`,
          );
        }
      }
    } finally {
      await rm(again, { recursive: true, force: true });
    }
  });

  it('prints one table row per model', () => {
    const table = formatSummaryTable(summaries).split('\n');

    assert.equal(table.length, 2 + summaries.length);
    assert.match(table[0] ?? '', /model\s+features\s+classes\s+train\s+hold-out\s+hold-out accuracy/);
    assert.match(table[3] ?? '', /^iris\s+4\s+3\s+\d+\s+\d+\s+\d\.\d{3}$/);
  });

  for (const name of DEMO_MODEL_NAMES) {
    describe(name, () => {
      let trained: TrainedDemoModel;
      let summary: DemoModelSummary;
      let modelBytes: Buffer;
      let config: Record<string, unknown>;
      let holdout: { header: string[]; rows: number[][] };

      before(async () => {
        trained = await trainDemoModel(name);
        summary = summaries.find((s) => s.name === name) as DemoModelSummary;
        modelBytes = await readFile(join(outDir, name, '1', 'model.onnx'));
        config = JSON.parse(await readFile(join(outDir, name, 'config.json'), 'utf8')) as Record<
          string,
          unknown
        >;
        holdout = parseCsv(await readFile(join(outDir, name, 'holdout.csv'), 'utf8'));
      });

      it('writes config.json with task, labels, feature names and output roles', () => {
        assert.deepEqual(Object.keys(config), ['task', 'labels', 'feature_names', 'outputs', 'description']);
        assert.equal(config.task, 'classification');
        assert.deepEqual(config.labels, trained.classNames);
        assert.equal((config.labels as string[]).length, summary.classes);
        assert.equal((config.feature_names as string[]).length, summary.features);
        assert.ok((config.feature_names as string[]).every((feature) => /^[a-z][a-z0-9_]*$/.test(feature)));
        assert.deepEqual(config.outputs, { label: 'label', probabilities: 'probabilities' });
        assert.equal(typeof config.description, 'string');
      });

      it('writes the hold-out rows with a header of feature names and label', () => {
        assert.deepEqual(holdout.header, [...(config.feature_names as string[]), 'label']);
        assert.equal(holdout.rows.length, summary.holdoutSize);
        assert.deepEqual(
          holdout.rows.map((row) => row.slice(0, -1)),
          trained.holdoutRows,
        );
        assert.deepEqual(
          holdout.rows.map((row) => row.at(-1)),
          trained.holdoutLabels,
        );
      });

      it('declares the input, outputs and metadata of a classifier', () => {
        const info = readModelInfo(modelBytes);

        assert.deepEqual(info.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, summary.features] }]);
        assert.deepEqual(info.outputs, [
          { name: 'label', datatype: 'INT64', shape: [-1] },
          { name: 'probabilities', datatype: 'FP32', shape: [-1, summary.classes] },
        ]);
        assert.deepEqual(info.opsets, [{ domain: '', version: 17 }]);
        assert.equal(info.metadata.task, 'classification');
        assert.equal(Number(info.metadata.holdout_accuracy), Number(summary.holdoutAccuracy.toFixed(4)));
      });

      it("predicts in onnxruntime what the trainer's own JS prediction says, on every hold-out row", async () => {
        const session = await ort.InferenceSession.create(modelBytes, QUIET);
        const rows = holdout.rows.map((row) => row.slice(0, -1));
        const truth = holdout.rows.map((row) => row.at(-1));

        const results = await session.run({
          input: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, summary.features]),
        });

        const labels = Array.from(results.label?.data as BigInt64Array, Number);
        const probabilities = results.probabilities?.data as Float32Array;
        assert.deepEqual(results.probabilities?.dims, [rows.length, summary.classes]);
        assert.deepEqual(labels, predictLabels(trained.classifier, rows));
        for (const [i, expected] of predictProbabilities(trained.classifier, rows).flat().entries()) {
          assert.ok(Math.abs((probabilities[i] ?? Number.NaN) - expected) < 1e-4, `probability ${i}`);
        }
        const correct = labels.filter((label, i) => label === truth[i]).length;
        assert.equal(correct / rows.length, summary.holdoutAccuracy);
      });
    });
  }
});
