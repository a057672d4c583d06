/**
 * `npm run model -- <command>`: publish and list models in a model repository bucket.
 *
 *   publish <file.onnx> --name <n> [--version <v>] [--config <config.json>] [--overwrite]
 *   list
 *
 * Target: the local stack (`.local/stack.json`) by default; `--bucket <b>` targets a real bucket
 * with the usual AWS credential chain (`--region`, `--endpoint` optional).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ServingError } from '../src/errors.ts';
import { ModelRepository } from '../src/repository/model-repository.ts';
import { publishModel } from '../src/repository/publish.ts';
import type { ObjectStore } from '../src/store/object-store.ts';
import { createS3Client, S3ObjectStore } from '../src/store/s3-store.ts';
import { openLocalStore, readStackSettings } from './local/stack-settings.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const USAGE = `usage:
  npm run model -- publish <file.onnx> --name <name> [--version <n>] [--config <config.json>] [--overwrite]
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
    const version = values.version === undefined ? undefined : Number(values.version);
    const config = values.config === undefined ? undefined : await readJsonFile(values.config);
    const result = await publishModel(store, {
      name: values.name,
      version,
      model: await readFile(file),
      config,
      overwrite: values.overwrite,
    });
    print(`published ${result.name} version ${result.version} (${result.bytes} bytes) → ${result.modelKey}`);
    if (result.configKey) print(`config → ${result.configKey}`);
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

async function openStore(values: {
  bucket?: string;
  region?: string;
  endpoint?: string;
  'path-style'?: boolean;
  'state-dir'?: string;
}): Promise<ObjectStore> {
  if (values.bucket) {
    const client = createS3Client({
      region: values.region ?? process.env.AWS_REGION ?? 'us-east-1',
      endpoint: values.endpoint,
      forcePathStyle: values['path-style'] ?? false,
    });
    return new S3ObjectStore({ client, bucket: values.bucket });
  }
  const stateDir = values['state-dir'] ?? join(ROOT, '.local');
  const stack = await readStackSettings(stateDir);
  if (!stack)
    throw new UsageError(`no local stack found in ${stateDir}; run npm start first, or pass --bucket`);
  return openLocalStore(stack.s3);
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
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error)) {
      console.error(`error: ${error.message}\n${USAGE}`);
      process.exit(2);
    }
    console.error(
      `error: ${error instanceof ServingError || error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  });
}
