/**
 * `npm run model -- <command>`: publish and list models in a model repository bucket.
 *
 *   publish <file.onnx> --name <n> [--version <v>] [--config <config.json>] [--overwrite]
 *           [--reference <train.csv|train.jsonl> [--label-column <c>]]
 *   reference <train.csv|train.jsonl> --name <n> [--version <v>] [--label-column <c>]
 *   list
 *
 * Target: the local stack (`.local/stack.json`) by default; `--bucket <b>` targets a real bucket
 * with the usual AWS credential chain (`--region`, `--endpoint` optional).
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DriftConfigError } from '../src/drift/check/settings.ts';
import { referenceFromData } from '../src/drift/profiles/reference-from-data.ts';
import { ReferenceInputError } from '../src/drift/profiles/reference-table.ts';
import {
  REFERENCE_FILE,
  type ReferenceDocument,
  referenceKey,
} from '../src/drift/profiles/reference-types.ts';
import { ServingError } from '../src/errors.ts';
import { ExternalDataError, externalDataFiles } from '../src/onnx/external-data.ts';
import type { ObjectStore } from '../src/ports/object-store.ts';
import { ModelRepository } from '../src/repository/model-repository.ts';
import { listPublishedVersions, publishModel } from '../src/repository/publish.ts';
import { openCliTarget, type TargetFlags } from './local/stack-settings.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const USAGE = `usage:
  npm run model -- publish <file.onnx> --name <name> [--version <n>] [--config <config.json>] [--overwrite]
                          [--reference <train.csv|train.jsonl> [--label-column <column>]]
  npm run model -- reference <train.csv|train.jsonl> --name <name> [--version <n>] [--label-column <column>]
  npm run model -- list
target options (default: the local stack in .local/stack.json):
  --bucket <bucket> [--region <region>] [--endpoint <url>] [--path-style]`;

/** A mistake in how the CLI was called: printed with the usage, exit code 2. */
class UsageError extends Error {}

export async function main(argv: string[], print: (line: string) => void = console.log): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      name: { type: 'string' },
      version: { type: 'string' },
      config: { type: 'string' },
      overwrite: { type: 'boolean', default: false },
      reference: { type: 'string' },
      'label-column': { type: 'string' },
      bucket: { type: 'string' },
      region: { type: 'string' },
      endpoint: { type: 'string' },
      'path-style': { type: 'boolean', default: false },
      'state-dir': { type: 'string' },
    },
  });
  const [command, ...rest] = positionals;
  const store = await openStore(values);

  if (command === 'publish') {
    const [file] = rest;
    if (!file || rest.length > 1) throw new UsageError('publish takes exactly one model file');
    if (!values.name) throw new UsageError('publish needs --name');
    if (values['label-column'] !== undefined && values.reference === undefined) {
      throw new UsageError('--label-column goes with --reference');
    }
    const version = values.version === undefined ? undefined : Number(values.version);
    const config = values.config === undefined ? undefined : await readJsonFile(values.config);
    const model = await readFile(file);
    // Computed before anything is written: a reference that does not fit the model stops the publish.
    const reference =
      values.reference === undefined
        ? undefined
        : await computeReferenceFile(values.reference, {
            name: values.name,
            model,
            config: config ?? (await storedConfig(store, values.name)),
            labelColumn: values['label-column'],
          });
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
    const result = await publishModel(store, {
      name: values.name,
      version,
      model,
      config,
      overwrite: values.overwrite,
      versionFiles: [...dataFiles, ...(reference ? [referenceFile(reference)] : [])],
    });
    for (const { location } of external)
      print(`external data → models/${result.name}/${result.version}/${location}`);
    print(`published ${result.name} version ${result.version} (${result.bytes} bytes) → ${result.modelKey}`);
    if (result.configKey) print(`config → ${result.configKey}`);
    if (reference) print(describeReference(reference, referenceKey(result.name, result.version)));
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
    const reference = await computeReferenceFile(file, {
      name: values.name,
      model: modelObject.body,
      config: await storedConfig(store, values.name),
      labelColumn: values['label-column'],
    });
    const key = referenceKey(values.name, version);
    const { body, contentType } = referenceFile(reference);
    await store.put(key, body, { contentType });
    print(describeReference(reference, key));
    return;
  }
  if (command === 'list') {
    const repository = new ModelRepository({ store, refreshIntervalMs: 0 });
    const names = await repository.listModels();
    if (names.length === 0) print('no models');
    for (const name of names) {
      const versions = await repository.listVersions(name);
      print(`${name.padEnd(24)} versions ${versions.join(', ') || '(none)'}`);
    }
    return;
  }
  throw new UsageError(command ? `unknown command '${command}'` : 'missing command');
}

async function openStore(values: TargetFlags): Promise<ObjectStore> {
  const target = await openCliTarget(values, join(ROOT, '.local'));
  if (!target) throw new UsageError('no local stack found; run npm start first, or pass --bucket');
  return target.store;
}

/** Computes reference.json from a data file, for the model bytes given. */
async function computeReferenceFile(
  path: string,
  options: { name: string; model: Uint8Array; config: unknown; labelColumn?: string },
): Promise<ReferenceDocument> {
  const text = await readFile(path, 'utf8');
  return referenceFromData({
    model: options.name,
    modelBytes: options.model,
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
  return `reference → ${key} (${reference.rows} rows, ${reference.features.length} features${performance})`;
}

async function readJsonFile(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    if (
      error instanceof UsageError ||
      error instanceof ReferenceInputError ||
      error instanceof DriftConfigError ||
      (error instanceof TypeError && 'code' in error)
    ) {
      console.error(`error: ${error.message}\n${USAGE}`);
      process.exit(2);
    }
    console.error(
      `error: ${error instanceof ServingError || error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  });
}
