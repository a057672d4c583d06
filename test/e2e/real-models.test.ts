/**
 * The models people actually export, end to end in the local stack: every folder of
 * test/fixtures/real-models (a copy of shared/real-models: skl2onnx with and without ZipMap, a
 * per-column scikit-learn pipeline, XGBoost through onnxmltools, PyTorch CNN, FP16 and two-input
 * models) is published with the model CLI, validated, served over JSON and binary tensor data
 * with outputs equal to the framework's own within the fixture's tolerance, batch scored from
 * its hold-out rows when it is tabular, and drift-checked against its reference.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main as batch } from '../../scripts/batch-cli.ts';
import { main as drift } from '../../scripts/drift-cli.ts';
import { main as model } from '../../scripts/model-cli.ts';
import type { BatchSummary } from '../../src/batch/summary.ts';
import { captureOfStoredLine } from '../../src/capture/log-line.ts';
import type { ReferenceDocument } from '../../src/drift/profiles/reference-types.ts';
import type { ModelMetadata } from '../../src/repository/metadata.ts';
import { type BinaryTensor, inferBinary } from '../helpers/binary-tensors.ts';
import { requestJson } from '../helpers/http.ts';
import { type RunningStack, startStack } from '../helpers/local-stack.ts';
import { ROOT } from '../helpers/paths.ts';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'real-models');

/** Fixtures that cannot be loaded here, with the reason (shown as the test's skip message). */
const PENDING: Record<string, string> = {};

/** Whether references of non-tabular models are built from sample inputs (`--sample-inputs`). */
const SAMPLE_REFERENCES = true;

interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}
interface Fixture {
  name: string;
  dir: string;
  inputs: Tensor[];
  expected: { tolerance: number; outputs: Tensor[] };
  tabular: boolean;
}

const fixtures: Fixture[] = [];
for (const name of readdirSync(FIXTURES).sort()) {
  const dir = join(FIXTURES, name);
  if (!existsSync(join(dir, 'model.onnx'))) continue;
  fixtures.push({
    name,
    dir,
    inputs: [],
    expected: { tolerance: 0, outputs: [] },
    tabular: existsSync(join(dir, 'holdout.csv')),
  });
}

let stack: RunningStack;

before(async () => {
  stack = await startStack({ CAPTURE_FLUSH_SECONDS: '0.5' });
  for (const fixture of fixtures) {
    fixture.inputs = (
      JSON.parse(await readFile(join(fixture.dir, 'inputs.json'), 'utf8')) as { inputs: Tensor[] }
    ).inputs;
    fixture.expected = JSON.parse(
      await readFile(join(fixture.dir, 'expected.json'), 'utf8'),
    ) as Fixture['expected'];
  }
});

after(async () => {
  await stack?.stop();
});

function assertOutputs(fixture: Fixture, outputs: readonly Tensor[], how: string): void {
  const { tolerance } = fixture.expected;
  for (const expected of fixture.expected.outputs) {
    const actual = outputs.find((output) => output.name === expected.name);
    assert.ok(actual, `${fixture.name} (${how}): output '${expected.name}' is returned`);
    assert.equal(actual.datatype, expected.datatype, `${fixture.name} (${how}): '${expected.name}' datatype`);
    assert.deepEqual(actual.shape, expected.shape, `${fixture.name} (${how}): '${expected.name}' shape`);
    assert.equal(actual.data.length, expected.data.length);
    let worst = 0;
    expected.data.forEach((value, i) => {
      const got = actual.data[i];
      if (expected.datatype === 'INT64' || expected.datatype === 'BYTES') {
        assert.equal(String(got), String(value), `${fixture.name} (${how}): '${expected.name}'[${i}]`);
        return;
      }
      worst = Math.max(worst, Math.abs(Number(got) - Number(value)));
    });
    assert.ok(
      worst <= tolerance,
      `${fixture.name} (${how}): '${expected.name}' differs by ${worst} > tolerance ${tolerance}`,
    );
  }
}

async function cli(run: (argv: string[], print: (line: string) => void) => Promise<unknown>, argv: string[]) {
  const printed: string[] = [];
  const result = await run([...argv, '--state-dir', stack.stateDir], (line) => printed.push(line));
  return { printed, result };
}

async function waitForMetadata(name: string): Promise<ModelMetadata> {
  const deadline = Date.now() + 60_000;
  while (true) {
    const object = await stack.store.get(`models/${name}/1/metadata.json`);
    if (object !== undefined) return JSON.parse(new TextDecoder().decode(object.body)) as ModelMetadata;
    if (Date.now() > deadline) throw new Error(`no metadata.json for ${name} after 60 s`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

/** Waits until `count` capture records of `name` are in the bucket (the log pipeline flushes every 0.5 s). */
async function waitForCaptures(name: string, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (true) {
    let seen = 0;
    for (const { key } of (await stack.store.list(`captures/${name}/`)).objects) {
      const text = new TextDecoder().decode((await stack.store.get(key))?.body);
      for (const line of text.split('\n')) if (captureOfStoredLine(line)) seen++;
    }
    if (seen >= count) return;
    if (Date.now() > deadline) throw new Error(`${name}: ${seen} of ${count} captures after 30 s`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

describe('real-world exports: published, served, batch scored and drift-checked', () => {
  for (const fixture of fixtures) {
    const pending = PENDING[fixture.name];
    it(fixture.name, { skip: pending }, async () => {
      const { name, dir } = fixture;

      // Publish (with the reference from its training rows when tabular) and wait for validation.
      // Fixtures have a few dozen hold-out rows: the check may decide on 20 predictions.
      const config = join(stack.stateDir, `${name}.config.json`);
      await writeFile(config, JSON.stringify({ drift: { min_predictions: 20 } }));
      const published = await cli(model, [
        'publish',
        join(dir, 'model.onnx'),
        '--name',
        name,
        '--config',
        config,
        ...(fixture.tabular
          ? ['--reference', join(dir, 'reference.csv'), '--label-column', 'label']
          : SAMPLE_REFERENCES
            ? ['--sample-inputs', join(dir, 'inputs.json')]
            : []),
      ]);
      assert.ok(published.printed.some((line) => line.startsWith(`published ${name} version 1`)));
      // publish waited for the validation verdict and printed it.
      assert.ok(
        published.printed.some((line) => line.startsWith('validation: valid')),
        published.printed.join('\n'),
      );
      const metadata = await waitForMetadata(name);
      assert.equal(metadata.status, 'valid', `${name}: ${metadata.reason}`);

      // Served over JSON: outputs equal to the framework's.
      const url = `${stack.apiUrl}/v2/models/${name}/infer`;
      const json = await requestJson(url, { body: { id: 'fixture', inputs: fixture.inputs } });
      assert.equal(json.status, 200, `${name}: ${json.text}`);
      assertOutputs(fixture, (json.body as { outputs: Tensor[] }).outputs, 'JSON');

      // And over binary tensor data.
      const binary = await inferBinary(url, fixture.inputs as BinaryTensor[]);
      assert.equal(binary.status, 200, `${name}: ${binary.text}`);
      assertOutputs(fixture, binary.outputs as Tensor[], 'binary');

      const metadataResponse = await requestJson(`${stack.apiUrl}/v2/models/${name}`);
      const served = metadataResponse.body as { outputs: Tensor[]; parameters?: { rewrites?: unknown[] } };
      if (metadata.rewrites && metadata.rewrites.length > 0) {
        // ZipMap: probabilities served as FP32 [N, C], the rewrite shown in both metadata documents.
        assert.equal(served.parameters?.rewrites?.length, metadata.rewrites.length);
        assert.equal(metadata.inferred?.task, 'classification');
        assert.ok(
          published.printed.some((line) =>
            /^ {2}output '.+' \(ZipMap, a sequence of maps\) is served as FP32 \[N, \d+\]/.test(line),
          ),
        );
      }

      let holdoutRows = 0;
      if (fixture.tabular) {
        const reference = JSON.parse(
          new TextDecoder().decode((await stack.store.get(`models/${name}/1/reference.json`))?.body),
        ) as ReferenceDocument;
        assert.ok(reference.prediction, `${name}: the reference profiles the model's predictions`);
        holdoutRows = (await readFile(join(dir, 'holdout.csv'), 'utf8')).trim().split('\n').length - 1;

        // Batch scored from the hold-out rows: one prediction per row, none failed.
        const scored = await cli(
          (argv, print) => batch(argv, { print, pollIntervalMs: 100 }),
          [join(dir, 'holdout.csv'), '--model', name, '--json'],
        );
        assert.equal(scored.result, 0, scored.printed.join('\n'));
        const start = scored.printed.findIndex((line) => line.startsWith('{'));
        const summary = JSON.parse(scored.printed.slice(start).join('\n')) as BatchSummary;
        assert.equal(summary.counts.ok, holdoutRows, `${name}: every hold-out row scored`);
        assert.equal(summary.counts.failed, 0);
      }

      if (!fixture.tabular && !SAMPLE_REFERENCES) return;
      // Every prediction captured: the request rows (JSON and binary), and the batch's rows.
      const rowsPerRequest = fixture.inputs[0]?.shape[0] ?? 1;
      await waitForCaptures(name, 2 * rowsPerRequest + holdoutRows);
      // Drift check against the reference: something meaningful was compared.
      const checked = await cli(drift, ['--model', name]);
      const outcome = (
        checked.result as {
          status: string;
          report?: import('../../src/drift/report/report-types.ts').DriftReport;
        }[]
      )[0];
      assert.equal(outcome?.status, 'checked', checked.printed.join('\n'));
      const report = outcome.report;
      assert.ok(report);
      assert.notEqual(report.data_drift.verdict, 'no_reference', `${name}: ${report.data_drift.reason}`);
      assert.notEqual(report.data_drift.verdict, 'insufficient_data', `${name}: ${report.data_drift.reason}`);
      assert.ok(report.data_drift.tested > 0, `${name}: features tested`);
      assert.ok(report.prediction_drift, `${name}: predictions compared`);
      // What was compared: the model's features, or per-input summaries for tensor models.
      const compared = report.data_drift.features.map((feature) => feature.name);
      if (name === 'torch-cnn') {
        assert.equal(report.reference?.compared, 'input_summaries');
        assert.ok(compared.includes('image.mean') && compared.includes('image.l2'), compared.join(', '));
      }
      if (name === 'torch-two-inputs') {
        assert.ok(
          compared.includes('item_ids.mean') && compared.includes('user_features.std'),
          compared.join(', '),
        );
      }
      if (name === 'sklearn-pipeline-columns') {
        assert.equal(
          report.data_drift.features.find((feature) => feature.name === 'city')?.kind,
          'categorical',
        );
      }
    });
  }
});
