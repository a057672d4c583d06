/**
 * reference.json: computed from a demo model's training rows with onnxruntime, checked against
 * direct computations on the same rows, and published by `npm run model -- publish --reference`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../scripts/model-cli.ts';
import { computeReference } from '../../src/drift/profiles/reference.ts';
import { referenceFromData } from '../../src/drift/profiles/reference-from-data.ts';
import { parseReferenceTable, ReferenceInputError } from '../../src/drift/profiles/reference-table.ts';
import type { ReferenceDocument } from '../../src/drift/profiles/reference-types.ts';
import type { CategoricalProfile, NumericProfile } from '../../src/drift/statistics/index.ts';
import { ROOT } from '../helpers/paths.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { assertClose } from './helpers.ts';
import { type DemoFixture, decodeJson, demoFixture, predict } from './monitoring-fixtures.ts';

let iris: DemoFixture;
let reference: ReferenceDocument;

before(async () => {
  iris = await demoFixture('iris');
  reference = await referenceFromData({
    model: 'iris',
    modelBytes: iris.bytes,
    config: iris.config,
    text: iris.trainCsv,
    fileName: 'train.csv',
    labelColumn: 'label',
    now: new Date('2026-06-01T00:00:00Z'),
  });
});

describe('reference profile of a demo model', () => {
  it('profiles every feature from the training rows: counts, moments, extremes', () => {
    // Prepare: the training rows, by column.
    const columns = iris.featureNames.map((_, f) => iris.trainRows.map((row) => row[f] as number));

    // Assess
    assert.deepEqual(
      reference.features.map((feature) => feature.name),
      iris.featureNames,
    );
    reference.features.forEach((feature, f) => {
      const values = columns[f] as number[];
      const profile = feature.profile as NumericProfile;
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
      assert.equal(profile.kind, 'numeric', feature.name);
      assert.equal(profile.count, iris.trainRows.length);
      assert.equal(profile.missing, 0);
      assert.equal(profile.min, Math.min(...values));
      assert.equal(profile.max, Math.max(...values));
      assertClose(profile.mean, mean, 1e-12);
      assertClose(profile.std, std, 1e-12);
      // Fewer values than the sketch size: the sketch is the data itself, sorted.
      assert.deepEqual(profile.sketch, { exact: true, values: [...values].sort((a, b) => a - b) });
    });
    assert.equal(reference.rows, iris.trainRows.length);
    assert.deepEqual(reference.source, {
      file: 'train.csv',
      format: 'csv',
      rows: iris.trainRows.length,
      unscored_rows: 0,
      label_column: 'label',
    });
    assert.equal(reference.created_at, '2026-06-01T00:00:00.000Z');
  });

  it("records the distribution of the model's own predictions, by class name", async () => {
    // Prepare: onnxruntime run directly on the training rows.
    const direct = await predict(iris, iris.trainRows);
    const expected = new Map<string, number>();
    for (const { label } of direct) {
      const name = iris.classNames[label] as string;
      expected.set(name, (expected.get(name) ?? 0) + 1);
    }

    // Assess
    assert.equal(reference.task, 'classification');
    assert.equal(reference.prediction?.kind, 'label');
    const profile = reference.prediction?.profile as CategoricalProfile;
    const actual = new Map(profile.categories.map((name, i) => [name, profile.counts[i]]));
    assert.deepEqual(actual, expected);
    assert.deepEqual(reference.prediction?.kind === 'label' && reference.prediction.labels, iris.classNames);
  });

  it('measures performance on the labelled rows exactly as a direct computation does', async () => {
    // Prepare
    const direct = await predict(iris, iris.trainRows);
    const correct = direct.filter((p, i) => p.label === iris.trainLabels[i]).length;
    const logLoss =
      -direct.reduce(
        (sum, p, i) => sum + Math.log(p.probabilities[iris.trainLabels[i] as number] as number),
        0,
      ) / direct.length;

    // Assess
    const metrics = reference.performance?.classification;
    assert.ok(metrics, 'classification metrics');
    assert.equal(metrics.count, iris.trainRows.length);
    assertClose(metrics.accuracy, correct / direct.length, 1e-12);
    assertClose(metrics.logLoss, logLoss, 1e-9);
    assert.equal(
      metrics.confusion.flat().reduce((a, b) => a + b, 0),
      iris.trainRows.length,
    );
  });

  it('reads JSON lines as well as CSV, with the same result', async () => {
    // Prepare
    const jsonl = iris.trainRows
      .map((row, i) =>
        JSON.stringify({
          ...Object.fromEntries(iris.featureNames.map((name, f) => [name, row[f]])),
          label: iris.classNames[iris.trainLabels[i] as number],
        }),
      )
      .join('\n');

    // Act
    const fromJson = await referenceFromData({
      model: 'iris',
      modelBytes: iris.bytes,
      config: iris.config,
      text: jsonl,
      fileName: 'train.jsonl',
      labelColumn: 'label',
      now: new Date('2026-06-01T00:00:00Z'),
    });

    // Assess: labels given by name or by index mean the same classes.
    assert.deepEqual(fromJson.features, reference.features);
    assert.deepEqual(fromJson.prediction, reference.prediction);
    assert.equal(
      fromJson.performance?.classification?.accuracy,
      reference.performance?.classification?.accuracy,
    );
  });

  it('profiles text columns as categories, and a column listed in drift.categorical_features too', async () => {
    // Prepare: a word column, a numeric code column, a measurement; no model to run.
    const table = parseReferenceTable('colour,code,size\nred,1,2.5\nblue,2,3.5\nred,1,\n', 'train.csv');

    // Act
    const result = await computeReference({
      model: 'tabular',
      table,
      fileName: 'train.csv',
      config: {},
      categoricalFeatures: ['code'],
    });

    // Assess
    const [colour, code, size] = result.features.map((feature) => feature.profile);
    assert.deepEqual(colour, {
      kind: 'categorical',
      count: 3,
      missing: 0,
      distinct: 2,
      categories: ['red', 'blue'],
      counts: [2, 1],
      other: 0,
    });
    assert.equal(code?.kind, 'categorical');
    assert.deepEqual((code as CategoricalProfile).categories, ['1', '2']);
    assert.equal(size?.kind, 'numeric');
    assert.equal((size as NumericProfile).count, 2);
    assert.equal((size as NumericProfile).missing, 1, 'an empty cell is a missing value');
    assert.equal(result.prediction, null);
    assert.equal(result.performance, null);
  });

  it('names the missing columns when the file does not fit config.json feature_names', async () => {
    // Act
    const error = await referenceFromData({
      model: 'iris',
      modelBytes: iris.bytes,
      config: iris.config,
      text: 'sepal_length_cm,sepal_width_cm,label\n1,2,0\n',
      fileName: 'train.csv',
      labelColumn: 'label',
    }).catch((caught: unknown) => caught);

    // Assess
    assert.ok(error instanceof ReferenceInputError);
    assert.match(error.message, /'petal_length_cm', 'petal_width_cm'/);
  });

  it('refuses a label column that is not in the file', async () => {
    const error = await referenceFromData({
      model: 'iris',
      modelBytes: iris.bytes,
      config: iris.config,
      text: iris.trainCsv,
      fileName: 'train.csv',
      labelColumn: 'species',
    }).catch((caught: unknown) => caught);

    assert.ok(error instanceof ReferenceInputError);
    assert.match(error.message, /no label column 'species'/);
  });
});

describe('npm run model -- publish --reference', () => {
  let s3: TestS3Server;
  let stateDir: string;

  before(async () => {
    s3 = await startS3Server();
    stateDir = await mkdtemp(join(tmpdir(), 'reference-cli-'));
    await writeFile(
      join(stateDir, 'stack.json'),
      JSON.stringify({
        apiUrl: 'http://127.0.0.1:1',
        s3: { endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, ...s3.credentials },
      }),
    );
    await writeFile(join(stateDir, 'model.onnx'), iris.bytes);
    await writeFile(join(stateDir, 'config.json'), JSON.stringify(iris.config));
    await writeFile(join(stateDir, 'train.csv'), iris.trainCsv);
  });

  after(async () => {
    await s3?.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  const run = async (...args: string[]) => {
    const printed: string[] = [];
    // No validation function listens to this bucket: publish does not wait for a verdict here.
    const wait = args[0] === 'publish' ? ['--no-wait'] : [];
    await main([...args, ...wait, '--state-dir', stateDir], (line) => printed.push(line));
    return printed;
  };

  it('stores reference.json in the version folder, written before the model', async () => {
    // Act
    const printed = await run(
      'publish',
      join(stateDir, 'model.onnx'),
      '--name',
      'iris',
      '--config',
      join(stateDir, 'config.json'),
      '--reference',
      join(stateDir, 'train.csv'),
      '--label-column',
      'label',
    );

    // Assess
    const stored = decodeJson<ReferenceDocument>((await s3.store.get('models/iris/1/reference.json'))?.body);
    assert.equal(stored.schema, 1);
    assert.equal(stored.source.file, 'train.csv', 'the file name only, never a local path');
    assert.deepEqual(stored.features, reference.features);
    assert.equal(
      stored.performance?.classification?.accuracy,
      reference.performance?.classification?.accuracy,
    );
    const puts = s3.requests.filter((request) => request.method === 'PUT').map((request) => request.key);
    assert.ok(puts.indexOf('models/iris/1/reference.json') < puts.indexOf('models/iris/1/model.onnx'));
    assert.match(
      printed.find((line) => line.startsWith('reference →')) ?? '',
      /reference → models\/iris\/1\/reference\.json \(111 rows, 4 features, predictions of 'label', accuracy 0\.\d{3}\)/,
    );
  });

  it('attaches a reference to a version already published, with the stored config', async () => {
    // Prepare
    await run('publish', join(stateDir, 'model.onnx'), '--name', 'iris');

    // Act
    const printed = await run('reference', join(stateDir, 'train.csv'), '--name', 'iris', '--version', '2');

    // Assess
    const stored = decodeJson<ReferenceDocument>((await s3.store.get('models/iris/2/reference.json'))?.body);
    assert.deepEqual(stored.features, reference.features);
    assert.equal(stored.performance, null, 'no --label-column, no performance');
    assert.match(printed[0] ?? '', /models\/iris\/2\/reference\.json/);
  });

  it('recomputes the reference of an existing version of a model that is not tabular, from sample requests', async () => {
    const fixture = join(ROOT, 'test', 'fixtures', 'real-models', 'torch-two-inputs');
    await run('publish', join(fixture, 'model.onnx'), '--name', 'two-inputs');

    const printed = await run('reference', join(fixture, 'inputs.json'), '--name', 'two-inputs');

    const stored = decodeJson<ReferenceDocument>(
      (await s3.store.get('models/two-inputs/1/reference.json'))?.body,
    );
    assert.equal(stored.inputs_profiled, 'input_summaries');
    assert.equal(stored.rows, 10, 'one prediction per row of the [10, …] request');
    assert.deepEqual(
      stored.features.map((feature) => feature.name),
      ['item_ids', 'user_features'].flatMap((input) =>
        ['mean', 'std', 'min', 'max', 'l2', 'nan_share'].map((stat) => `${input}.${stat}`),
      ),
    );
    assert.equal(stored.prediction?.kind, 'label');
    assert.equal(stored.prediction?.kind === 'label' ? stored.prediction.probabilities : null, 'logits');
    assert.match(printed.join('\n'), /12 input summaries .*predictions of 'argmax logits'/);
  });

  it('names the features of an [N, F] model without feature_names after the reference file, and writes them to config.json', async () => {
    const fixture = join(ROOT, 'test', 'fixtures', 'real-models', 'sklearn-rf-nozipmap');
    await run('publish', join(fixture, 'model.onnx'), '--name', 'forest');

    const printed = await run(
      'reference',
      join(fixture, 'holdout.csv'),
      '--name',
      'forest',
      '--label-column',
      'label',
    );

    const stored = decodeJson<ReferenceDocument>(
      (await s3.store.get('models/forest/1/reference.json'))?.body,
    );
    const names = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
    assert.deepEqual(
      stored.features.map((feature) => feature.name),
      names,
    );
    assert.equal(stored.feature_names_from, 'reference');
    assert.deepEqual(
      decodeJson<{ feature_names: string[] }>((await s3.store.get('models/forest/config.json'))?.body),
      {
        feature_names: names,
      },
    );
    assert.ok(
      printed.some((line) => line.startsWith('config → models/forest/config.json (feature_names from')),
    );
  });

  it('publishes nothing when the reference file does not fit the model', async () => {
    // Prepare
    await writeFile(join(stateDir, 'bad.csv'), 'a,b\n1,2\n');
    s3.resetRequests();

    // Act
    const error = await run(
      'publish',
      join(stateDir, 'model.onnx'),
      '--name',
      'iris-bad',
      '--config',
      join(stateDir, 'config.json'),
      '--reference',
      join(stateDir, 'bad.csv'),
    ).catch((caught: unknown) => caught);

    // Assess
    assert.ok(error instanceof ReferenceInputError);
    assert.equal(s3.count('PutObject'), 0);
    assert.equal((await s3.store.list('models/iris-bad/')).objects.length, 0);
  });
});
