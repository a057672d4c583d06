/**
 * `npm run model -- <command>`: publish and list models in a model repository bucket.
 *
 *   publish <file.onnx> --name <n> [--version <v>] [--config <config.json>] [--overwrite]
 *           [--reference <holdout.csv|holdout.jsonl> [--label-column <c>] | --sample-inputs <requests.json>]
 *           [--no-wait | --wait-seconds <s>]
 *   reference <holdout.csv|holdout.jsonl|requests.json> --name <n> [--version <v>] [--label-column <c>]
 *   config <config.json> --name <n>
 *   list
 *
 * Target: the local stack (`.local/stack.json`) by default; `--bucket <b>` targets a real bucket
 * with the usual AWS credential chain (`--region`, `--endpoint` optional).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DriftConfigError } from '../src/drift/check/settings.ts';
import type { ModelDataFile } from '../src/drift/profiles/model-runner.ts';
import { referenceFromData } from '../src/drift/profiles/reference-from-data.ts';
import { referenceFromSamples } from '../src/drift/profiles/reference-from-samples.ts';
import { ReferenceInputError } from '../src/drift/profiles/reference-table.ts';
import {
  REFERENCE_FILE,
  type ReferenceDocument,
  referenceKey,
} from '../src/drift/profiles/reference-types.ts';
import { ExternalDataError, externalDataFiles } from '../src/onnx/external-data.ts';
import type { ObjectStore } from '../src/ports/object-store.ts';
import type { ModelMetadata } from '../src/repository/metadata.ts';
import { parseModelConfig } from '../src/repository/model-config.ts';
import { ModelRepository } from '../src/repository/model-repository.ts';
import { listPublishedVersions, publishModel } from '../src/repository/publish.ts';
import { parseCli, runCli, UsageError } from './lib/cli.ts';
import { openCliTarget, type TargetFlags } from './local/stack-settings.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const USAGE = `usage:
  npm run model -- publish <file.onnx> --name <name> [--version <n>] [--config <config.json>] [--overwrite]
                          [--reference <holdout.csv|holdout.jsonl> [--label-column <column>] | --sample-inputs <requests.json>]
                          [--no-wait | --wait-seconds <s>]   (waits for the validation verdict by default)
  npm run model -- reference <holdout.csv|holdout.jsonl|requests.json> --name <name> [--version <n>] [--label-column <column>]
  npm run model -- config <config.json> --name <name>      (replace the config of a published model)
  npm run model -- list                                    (versions and their validation status)
target options (default: the local stack in .local/stack.json):
  --bucket <bucket> [--region <region>] [--endpoint <url>] [--path-style]`;

/** The command ran but its outcome is a failure (an invalid model, no verdict): exit code 1. */
export class CliFailure extends Error {}

/** How long `publish` waits for the validation verdict by default. */
const DEFAULT_WAIT_SECONDS = 120;

export async function main(argv: string[], print: (line: string) => void = console.log): Promise<void> {
  const { values, positionals } = parseCli(
    argv,
    USAGE,
    {
      name: { type: 'string' },
      version: { type: 'string' },
      config: { type: 'string' },
      overwrite: { type: 'boolean', default: false },
      reference: { type: 'string' },
      'sample-inputs': { type: 'string' },
      'label-column': { type: 'string' },
      bucket: { type: 'string' },
      region: { type: 'string' },
      endpoint: { type: 'string' },
      'path-style': { type: 'boolean', default: false },
      'state-dir': { type: 'string' },
      'no-wait': { type: 'boolean', default: false },
      'wait-seconds': { type: 'string' },
    },
    { allowPositionals: true },
  );
  const waitSeconds =
    values['wait-seconds'] === undefined ? DEFAULT_WAIT_SECONDS : Number(values['wait-seconds']);
  if (!(Number.isFinite(waitSeconds) && waitSeconds > 0)) {
    throw new UsageError(`--wait-seconds must be a positive number; got '${values['wait-seconds']}'`);
  }
  const [command, ...rest] = positionals;
  const store = await openStore(values);

  if (command === 'publish') {
    const [file] = rest;
    if (!file || rest.length > 1) throw new UsageError('publish takes exactly one model file');
    if (!values.name) throw new UsageError('publish needs --name');
    if (values['label-column'] !== undefined && values.reference === undefined) {
      throw new UsageError('--label-column goes with --reference');
    }
    if (values.reference !== undefined && values['sample-inputs'] !== undefined) {
      throw new UsageError(
        'give --reference (rows of features) or --sample-inputs (inference requests), not both',
      );
    }
    const version = values.version === undefined ? undefined : Number(values.version);
    const config = values.config === undefined ? undefined : await readJsonFile(values.config);
    const model = await readFile(file);
    const referencePath = values.reference ?? values['sample-inputs'];
    // External data files the model names, read from beside the model file (never elsewhere).
    let external: ReturnType<typeof externalDataFiles>;
    try {
      external = externalDataFiles(model);
    } catch (error) {
      if (error instanceof ExternalDataError) throw new UsageError(`${file}: ${error.message}`);
      throw error;
    }
    const dataFiles = [];
    for (const { location } of external) {
      const path = join(dirname(file), location);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile())
        throw new UsageError(`${file} needs its external data file ${path}, which is missing`);
      dataFiles.push({
        name: location,
        body: { stream: () => createReadStream(path) },
        contentType: 'application/octet-stream',
      });
    }
    // A reference runs the model here, with its external data in memory.
    const externalData =
      referencePath === undefined
        ? undefined
        : await Promise.all(
            external.map(async ({ location }) => ({
              path: location,
              data: await readFile(join(dirname(file), location)),
            })),
          );
    // Computed before anything is written: a reference that does not fit the model stops the publish.
    const reference =
      referencePath === undefined
        ? undefined
        : await computeReferenceFile(referencePath, {
            name: values.name,
            model,
            config: config ?? (await storedConfig(store, values.name)),
            labelColumn: values['label-column'],
            externalData,
          });
    const result = await publishModel(store, {
      name: values.name,
      version,
      model,
      config: reference ? await configWithReferenceNames(store, values.name, config, reference) : config,
      overwrite: values.overwrite,
      versionFiles: [...dataFiles, ...(reference ? [referenceFile(reference)] : [])],
    });
    for (const { location } of external)
      print(`external data → models/${result.name}/${result.version}/${location}`);
    print(`published ${result.name} version ${result.version} (${result.bytes} bytes) → ${result.modelKey}`);
    if (result.configKey) print(`config → ${result.configKey}`);
    if (reference) {
      print(describeReference(reference, referenceKey(result.name, result.version)));
      for (const warning of referenceWarnings(reference)) print(`warning: ${warning}`);
    }
    if (values['no-wait']) {
      print(`validation: not waited for (--no-wait); see npm run model -- list`);
      return;
    }
    const verdict = await waitForVerdict(store, result.name, result.version, model, waitSeconds);
    if (verdict === undefined) {
      throw new CliFailure(
        `validation: no verdict after ${waitSeconds} s (models/${result.name}/${result.version}/metadata.json not written for this file): is model validation running (the modelEvents function; npm start locally)? Check later with npm run model -- list`,
      );
    }
    for (const line of describeVerdict(verdict)) print(line);
    if (verdict.status === 'invalid') {
      throw new CliFailure(
        `model '${result.name}' version ${result.version} is invalid and will not be served: ${verdict.reason}`,
      );
    }
    return;
  }
  if (command === 'reference') {
    const [file] = rest;
    if (!file || rest.length > 1) throw new UsageError('reference takes exactly one data file');
    if (!values.name) throw new UsageError('reference needs --name');
    const versions = await listPublishedVersions(store, values.name);
    const version = values.version === undefined ? versions.at(-1) : Number(values.version);
    if (version === undefined || !versions.includes(version)) {
      const which = values.version === undefined ? 'published version' : `version ${values.version}`;
      throw new UsageError(
        `model '${values.name}' has no ${which} (published: ${versions.join(', ') || 'none'})`,
      );
    }
    const modelObject = await store.get(`models/${values.name}/${version}/model.onnx`);
    if (modelObject === undefined)
      throw new UsageError(`models/${values.name}/${version}/model.onnx is gone`);
    // External data of a published version: only files inside its own version folder.
    const externalData = [];
    for (const { location } of externalDataFiles(modelObject.body)) {
      const data = await store.get(`models/${values.name}/${version}/${location}`);
      if (data === undefined) throw new UsageError(`models/${values.name}/${version}/${location} is missing`);
      externalData.push({ path: location, data: data.body });
    }
    const reference = await computeReferenceFile(file, {
      name: values.name,
      model: modelObject.body,
      config: await storedConfig(store, values.name),
      labelColumn: values['label-column'],
      externalData,
    });
    const key = referenceKey(values.name, version);
    const { body, contentType } = referenceFile(reference);
    await store.put(key, body, { contentType });
    const named = await configWithReferenceNames(store, values.name, undefined, reference);
    if (named !== undefined) {
      await store.put(`models/${values.name}/config.json`, `${JSON.stringify(named, null, 2)}\n`, {
        contentType: 'application/json',
      });
      print(`config → models/${values.name}/config.json (feature_names from ${file})`);
    }
    print(describeReference(reference, key));
    for (const warning of referenceWarnings(reference)) print(`warning: ${warning}`);
    return;
  }
  if (command === 'list') {
    const repository = new ModelRepository({ store, refreshIntervalMs: 0 });
    const names = await repository.listModels();
    if (names.length === 0) print('no models');
    for (const name of names) {
      const versions = await repository.listVersions(name);
      print(`${name.padEnd(24)} versions ${versions.join(', ') || '(none)'}`);
      for (const version of versions)
        print(`  ${String(version).padStart(4)}  ${await versionStatus(store, name, version)}`);
    }
    return;
  }
  if (command === 'config') {
    const [file] = rest;
    if (!file || rest.length > 1) throw new UsageError('config takes exactly one config.json file');
    if (!values.name) throw new UsageError('config needs --name');
    const versions = await listPublishedVersions(store, values.name);
    if (versions.length === 0) throw new UsageError(`model '${values.name}' has no published version`);
    const config = await readJsonFile(file);
    // Checked before it is written: a bad config never replaces a good one.
    parseModelConfig(config, values.name);
    const key = `models/${values.name}/config.json`;
    await store.put(key, `${JSON.stringify(config, null, 2)}\n`, { contentType: 'application/json' });
    print(
      `config → ${key} (applies to versions ${versions.join(', ')}; serving picks it up within MODEL_REFRESH_SECONDS)`,
    );
    return;
  }
  throw new UsageError(command ? `unknown command '${command}'` : 'missing command');
}

async function openStore(values: TargetFlags): Promise<ObjectStore> {
  const target = await openCliTarget(values, join(ROOT, '.local'));
  if (!target) throw new UsageError('no local stack found; run npm start first, or pass --bucket');
  return target.store;
}

/**
 * Whether a reference file holds inference requests (sample inputs: a request body with
 * `inputs`, an array or JSON lines of them) rather than rows of named features.
 */
function isSampleInputs(text: string): boolean {
  return (
    /^\s*[[{]/.test(text) &&
    /^\s*\[?\s*\{\s*(?:"[^"]*"\s*:\s*(?:"[^"]*"|[^,{}[\]]*)\s*,\s*)*"inputs"\s*:/.test(text.slice(0, 65536))
  );
}

/** Computes reference.json from a data file (rows of features, or sample inputs), for the model bytes given. */
async function computeReferenceFile(
  path: string,
  options: {
    name: string;
    model: Uint8Array;
    config: unknown;
    labelColumn?: string;
    externalData?: readonly ModelDataFile[];
  },
): Promise<ReferenceDocument> {
  const text = await readFile(path, 'utf8');
  if (isSampleInputs(text)) {
    if (options.labelColumn !== undefined) {
      throw new UsageError(`${basename(path)} holds inference requests, which have no --label-column`);
    }
    return referenceFromSamples({
      model: options.name,
      modelBytes: options.model,
      externalData: options.externalData,
      config: options.config,
      text,
      fileName: basename(path),
    });
  }
  return referenceFromData({
    model: options.name,
    modelBytes: options.model,
    externalData: options.externalData,
    config: options.config,
    text,
    fileName: basename(path),
    labelColumn: options.labelColumn,
  });
}

/** The model's config.json already in the bucket, if any. */
async function storedConfig(store: ObjectStore, name: string): Promise<unknown> {
  const object = await store.get(`models/${name}/config.json`);
  return object === undefined ? undefined : (JSON.parse(new TextDecoder().decode(object.body)) as unknown);
}

/**
 * The config to write when the reference named the features of an `[N, F]` model that has no
 * `feature_names` (from the file's columns): the given or stored config with those names, so that
 * serving, captures and batch rows use the names the reference profiles. `undefined` when nothing
 * needs writing beyond `given`.
 */
async function configWithReferenceNames(
  store: ObjectStore,
  name: string,
  given: unknown,
  reference: ReferenceDocument,
): Promise<unknown> {
  if (reference.feature_names_from !== 'reference') return given;
  const base = (given ?? (await storedConfig(store, name)) ?? {}) as Record<string, unknown>;
  return { ...base, feature_names: reference.features.map((feature) => feature.name) };
}

/**
 * What a reference's owner should know: a perfect score on labelled rows means they are most
 * likely the model's training rows, so live performance will look worse than the reference's
 * from the first day (the drift report says so too).
 */
export function referenceWarnings(reference: ReferenceDocument): string[] {
  const warnings: string[] = [];
  const performance = reference.performance;
  const accuracy = performance?.classification?.accuracy;
  const rmse = performance?.regression?.rmse;
  if (accuracy === 1 || rmse === 0) {
    warnings.push(
      `the model is perfect on ${reference.source.file} (${accuracy === 1 ? 'accuracy 1.000' : 'RMSE 0'}): these look like its training rows. Live performance will compare worse from the first day; build the reference from hold-out rows (rows kept out of training) instead`,
    );
  }
  return warnings;
}

function referenceFile(reference: ReferenceDocument) {
  return { name: REFERENCE_FILE, body: `${JSON.stringify(reference)}\n`, contentType: 'application/json' };
}

function describeReference(reference: ReferenceDocument, key: string): string {
  const accuracy = reference.performance?.classification?.accuracy;
  const rmse = reference.performance?.regression?.rmse;
  const performance =
    typeof accuracy === 'number'
      ? `, accuracy ${accuracy.toFixed(3)}`
      : typeof rmse === 'number'
        ? `, RMSE ${rmse.toPrecision(4)}`
        : '';
  const what =
    reference.inputs_profiled === 'input_summaries'
      ? `${reference.features.length} input summaries (mean, std, min, max, L2 norm, NaN share per input)`
      : `${reference.features.length} features`;
  const prediction =
    reference.prediction === null
      ? ', no prediction profile'
      : `, predictions of '${reference.prediction.kind === 'score' ? reference.prediction.output : (reference.prediction.output ?? `argmax ${reference.prediction.probabilities}`)}'`;
  return `reference → ${key} (${reference.rows} ${reference.inputs_profiled === 'input_summaries' ? 'predictions' : 'rows'}, ${what}${prediction}${performance})`;
}

/**
 * Polls `metadata.json` of the version until it describes `model` (same SHA-256), or `seconds`
 * pass. Validation runs on the upload's S3 notification (the modelEvents function, or the local
 * stack's wiring of it).
 */
async function waitForVerdict(
  store: ObjectStore,
  name: string,
  version: number,
  model: Uint8Array,
  seconds: number,
): Promise<ModelMetadata | undefined> {
  const sha256 = createHash('sha256').update(model).digest('hex');
  const deadline = Date.now() + seconds * 1000;
  while (true) {
    const metadata = await readMetadata(store, name, version);
    if (metadata?.sha256 === sha256) return metadata;
    if (Date.now() >= deadline) return undefined;
    await new Promise((done) => setTimeout(done, 250));
  }
}

async function readMetadata(
  store: ObjectStore,
  name: string,
  version: number,
): Promise<ModelMetadata | undefined> {
  const object = await store.get(`models/${name}/${version}/metadata.json`);
  if (object === undefined) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(object.body)) as ModelMetadata;
  } catch {
    return undefined;
  }
}

/** The verdict as printed: status and reason, then what was rewritten to serve it. */
function describeVerdict(metadata: ModelMetadata): string[] {
  if (metadata.status === 'invalid') return [`validation: invalid: ${metadata.reason}`];
  const timing = [
    metadata.load_ms === null ? '' : `load ${metadata.load_ms} ms`,
    metadata.latency_ms === null ? '' : `median run ${metadata.latency_ms.median} ms`,
  ].filter(Boolean);
  const lines = [`validation: valid${timing.length > 0 ? ` (${timing.join(', ')})` : ''}`];
  for (const rewrite of metadata.rewrites ?? []) {
    lines.push(
      `  output '${rewrite.output}' (ZipMap, a sequence of maps) is served as FP32 [N, ${rewrite.labels.length}]: column c is the probability of class ${rewrite.labels.map((label, c) => `${c}=${label}`).join(', ')}`,
    );
  }
  const inferred = metadata.inferred;
  if (inferred && (inferred.task || inferred.outputs)) {
    lines.push(`  inferred (config.json wins): ${JSON.stringify(inferred)}`);
  }
  return lines;
}

/** A version's validation status for `list`: valid, invalid (reason), stale, or pending. */
async function versionStatus(store: ObjectStore, name: string, version: number): Promise<string> {
  const metadata = await readMetadata(store, name, version);
  if (metadata === undefined) return 'pending: not validated yet (no metadata.json); served meanwhile';
  const head = await store.head(`models/${name}/${version}/model.onnx`);
  if (head?.etag !== undefined && metadata.etag !== null && metadata.etag !== head.etag) {
    return 'pending: model.onnx was replaced since its last verdict';
  }
  return metadata.status === 'valid'
    ? `valid${metadata.rewrites && metadata.rewrites.length > 0 ? ` (served with ${metadata.rewrites.length} ZipMap output(s) as tensors)` : ''}`
    : `invalid: ${metadata.reason}`;
}

async function readJsonFile(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

runCli(import.meta.url, USAGE, (argv) => main(argv), {
  usageErrors: [ReferenceInputError, DriftConfigError],
});
