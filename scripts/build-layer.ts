/**
 * Builds the onnxruntime Lambda layer for one architecture from the installed onnxruntime-node:
 *
 *   layers/onnxruntime/<arm64|x86_64>/nodejs/node_modules/{onnxruntime-node,onnxruntime-common}
 *
 * keeping only Linux binaries for that CPU (scripts/deploy/layer-files.ts), then prints its size
 * unzipped and zipped, enforces the budgets (scripts/deploy/budgets.ts) and, when this machine has
 * the layer's CPU, checks that the layer loads and runs an ONNX conformance model.
 * `serverless.yml` packages `layers/onnxruntime/${param:architecture}`, so a layer can never be
 * deployed with functions of the other architecture.
 *
 *   npm run layer                      # arm64, the default architecture
 *   npm run layer -- --arch x86_64     # or --arch all; --force rebuilds an up-to-date layer
 */
import { cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { emulatedArm64Runner, hostNodeRunner, type NodeRunner } from './deploy/arm64-emulator.ts';
import {
  DEFAULT_ARCHITECTURE,
  formatMib,
  LAMBDA_ARCHITECTURES,
  LAMBDA_UNZIPPED_LIMIT_BYTES,
  LAYER_ZIPPED_BUDGET_BYTES,
  type LambdaArchitecture,
  parseArchitecture,
} from './deploy/budgets.ts';
import { highestVersions, neededVersions, versionsBeyond } from './deploy/elf-versions.ts';
import { runCaseWithLayer } from './deploy/layer-check.ts';
import { keepInLayer, LAYER_PACKAGES, LAYER_PLATFORM, type LayerPackageName } from './deploy/layer-files.ts';
import { zipSize } from './deploy/zip-size.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Parent of the per-architecture layer folders; `serverless.yml` names the same path. */
export const LAYERS_DIR = join(ROOT, 'layers', 'onnxruntime');
/** Inside the layer, beside `node_modules`: what was built from what (shipped as /opt/nodejs/…). */
export const MANIFEST_NAME = 'onnxruntime-layer.json';
/** Bumped when the selection of files changes, so older builds are not reused. */
const BUILDER_VERSION = 1;
/** The conformance case the load check runs: a real convolution, float tensors. */
export const CHECK_CASE = join('pytorch-operator', 'test_operator_conv');

export interface LayerManifest {
  builder: number;
  package: 'onnxruntime-node';
  version: string;
  architecture: LambdaArchitecture;
  platform: typeof LAYER_PLATFORM;
  nodeArch: string;
  files: { path: string; bytes: number }[];
  unzippedBytes: number;
  zippedBytes: number;
}

export interface LayerBuild extends LayerManifest {
  /** The layer's root (what Lambda extracts into /opt). */
  dir: string;
  /** `<dir>/nodejs/node_modules`: NODE_PATH in Lambda. */
  nodeModules: string;
  /** True when an up-to-date build was found and kept. */
  reused: boolean;
}

/** The layer folder of an architecture. */
export function layerDir(architecture: LambdaArchitecture): string {
  return join(LAYERS_DIR, architecture);
}

/**
 * Builds (or reuses, when up to date) the layer for `architecture` in `outDir`.
 *
 * @example
 * ```ts
 * const layer = await buildLayer({ architecture: 'arm64' });
 * assertLayerWithinBudget(layer);
 * ```
 */
export async function buildLayer(options: {
  architecture: LambdaArchitecture;
  outDir?: string;
  force?: boolean;
}): Promise<LayerBuild> {
  const { architecture } = options;
  const dir = resolve(options.outDir ?? layerDir(architecture));
  const nodeModules = join(dir, 'nodejs', 'node_modules');
  const nodeArch = LAMBDA_ARCHITECTURES[architecture];
  const sources = await locatePackages();
  const version = sources['onnxruntime-node'].version;

  const existing = await readManifest(dir);
  if (
    !options.force &&
    existing?.builder === BUILDER_VERSION &&
    existing.version === version &&
    existing.architecture === architecture &&
    (await filesIntact(nodeModules, existing.files))
  ) {
    return { ...existing, dir, nodeModules, reused: true };
  }

  // Built beside the target and swapped in whole, so an interrupted build never leaves half a layer.
  const staging = `${dir}.building-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  const files: LayerManifest['files'] = [];
  for (const name of LAYER_PACKAGES) {
    const source = sources[name].dir;
    for (const path of await listFiles(source)) {
      if (!keepInLayer(name, path, nodeArch)) continue;
      const target = join(staging, 'nodejs', 'node_modules', name, ...path.split('/'));
      await mkdir(dirname(target), { recursive: true });
      await cp(join(source, ...path.split('/')), target, { preserveTimestamps: true });
      files.push({ path: `${name}/${path}`, bytes: (await stat(target)).size });
    }
  }
  const binding = files.find(
    (file) =>
      file.path.startsWith(`onnxruntime-node/bin/napi-v`) && file.path.endsWith('/onnxruntime_binding.node'),
  );
  if (!binding) {
    await rm(staging, { recursive: true, force: true });
    throw new Error(
      `onnxruntime-node ${version} has no ${LAYER_PLATFORM}/${nodeArch} binding in ${sources['onnxruntime-node'].dir}`,
    );
  }
  const stagingModules = join(staging, 'nodejs', 'node_modules');
  const zippedBytes = await zipSize(
    files.map((file) => ({
      name: `nodejs/node_modules/${file.path}`,
      file: join(stagingModules, file.path),
    })),
  );
  const manifest: LayerManifest = {
    builder: BUILDER_VERSION,
    package: 'onnxruntime-node',
    version,
    architecture,
    platform: LAYER_PLATFORM,
    nodeArch,
    files,
    unzippedBytes: files.reduce((sum, file) => sum + file.bytes, 0),
    zippedBytes,
  };
  await writeFile(join(staging, 'nodejs', MANIFEST_NAME), `${JSON.stringify(manifest, null, 2)}\n`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dirname(dir), { recursive: true });
  await rename(staging, dir);
  return { ...manifest, dir, nodeModules, reused: false };
}

/** Throws when the layer is over its zipped budget or leaves no room under Lambda's 250 MB. */
export function assertLayerWithinBudget(layer: LayerManifest): void {
  const budget = LAYER_ZIPPED_BUDGET_BYTES[layer.architecture];
  if (layer.zippedBytes > budget) {
    throw new Error(
      `layer ${layer.architecture}: ${formatMib(layer.zippedBytes)} zipped, over its budget of ${formatMib(budget)}`,
    );
  }
  if (layer.unzippedBytes > LAMBDA_UNZIPPED_LIMIT_BYTES / 2) {
    throw new Error(
      `layer ${layer.architecture}: ${formatMib(layer.unzippedBytes)} unzipped, more than half of Lambda's 250 MB`,
    );
  }
}

/**
 * The glibc / libstdc++ symbol versions the layer's native binaries need, checked against what
 * the Lambda runtime's OS provides (`LAMBDA_OS_MAX_VERSIONS`): the highest needed per family.
 * Throws naming every version beyond it, which Lambda would refuse at `require` time.
 */
export async function assertLayerLinksOnLambda(layer: LayerBuild): Promise<Record<string, string>> {
  const needed = [];
  for (const file of layer.files) {
    if (!/\.(node|so(\.\d+)*)$/.test(file.path)) continue;
    const versions = neededVersions(await readFile(join(layer.nodeModules, file.path)));
    if (versions === undefined)
      throw new Error(`layer ${layer.architecture}: ${file.path} is not an ELF64 object`);
    const beyond = versionsBeyond(versions);
    if (beyond.length > 0) {
      throw new Error(`layer ${layer.architecture}: ${file.path} needs ${beyond.join('; ')}`);
    }
    needed.push(...versions);
  }
  return highestVersions(needed);
}

/**
 * How to run Node for the layer of `architecture` here: this machine's Node when it is that
 * architecture, arm64 Node of the default Lambda runtime under qemu on x86-64 when the emulator
 * is installed (scripts/deploy/arm64-emulator.ts), or why it cannot be run.
 */
export async function layerRunner(
  architecture: LambdaArchitecture,
): Promise<{ runner: NodeRunner } | { skipped: string }> {
  if (hostArchitecture() === architecture) return { runner: hostNodeRunner() };
  if (architecture === 'arm64' && hostArchitecture() === 'x86_64') {
    return emulatedArm64Runner(await lambdaNodeMajor());
  }
  return {
    skipped: `no way to run linux/${LAMBDA_ARCHITECTURES[architecture]} on ${process.platform}/${process.arch}`,
  };
}

/** The Node major version of serverless.yml's default runtime (`nodejs24.x` → 24). */
export async function lambdaNodeMajor(): Promise<number> {
  const text = await readFile(join(ROOT, 'serverless.yml'), 'utf8');
  const match = /^ {4}runtime: nodejs(\d+)\.x/m.exec(text);
  if (match?.[1] === undefined) throw new Error('serverless.yml: no params.default.runtime nodejsNN.x');
  return Number(match[1]);
}

/** The Lambda architecture of this machine, when Lambda has one like it. */
export function hostArchitecture(): LambdaArchitecture | undefined {
  if (process.platform !== LAYER_PLATFORM) return undefined;
  return (Object.keys(LAMBDA_ARCHITECTURES) as LambdaArchitecture[]).find(
    (architecture) => LAMBDA_ARCHITECTURES[architecture] === process.arch,
  );
}

/** Where the installed packages are, and their versions. */
async function locatePackages(): Promise<Record<LayerPackageName, { dir: string; version: string }>> {
  const require = createRequire(import.meta.url);
  const nodeDir = dirname(require.resolve('onnxruntime-node/package.json'));
  // onnxruntime-common's `exports` hides its package.json: find it above its entry point, as seen
  // from onnxruntime-node (the copy it would load).
  const commonEntry = createRequire(join(nodeDir, 'package.json')).resolve('onnxruntime-common');
  let commonDir = dirname(commonEntry);
  while (!(await isPackageRoot(commonDir, 'onnxruntime-common'))) {
    const parent = dirname(commonDir);
    if (parent === commonDir) throw new Error(`onnxruntime-common: no package.json above ${commonEntry}`);
    commonDir = parent;
  }
  return {
    'onnxruntime-node': { dir: nodeDir, version: (await readPackageJson(nodeDir)).version },
    'onnxruntime-common': { dir: commonDir, version: (await readPackageJson(commonDir)).version },
  };
}

async function isPackageRoot(dir: string, name: string): Promise<boolean> {
  try {
    return (await readPackageJson(dir)).name === name;
  } catch {
    return false;
  }
}

async function readPackageJson(dir: string): Promise<{ name: string; version: string }> {
  return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { name: string; version: string };
}

async function readManifest(dir: string): Promise<LayerManifest | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'nodejs', MANIFEST_NAME), 'utf8')) as LayerManifest;
  } catch {
    return undefined;
  }
}

async function filesIntact(nodeModules: string, files: LayerManifest['files']): Promise<boolean> {
  try {
    for (const file of files) {
      if ((await stat(join(nodeModules, file.path))).size !== file.bytes) return false;
    }
    return files.length > 0;
  } catch {
    return false;
  }
}

/** Every file under `dir`, relative, `/`-separated. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      arch: { type: 'string', default: DEFAULT_ARCHITECTURE },
      force: { type: 'boolean', default: false },
    },
  });
  const requested = values.arch ?? DEFAULT_ARCHITECTURE;
  const architectures =
    requested === 'all'
      ? (Object.keys(LAMBDA_ARCHITECTURES) as LambdaArchitecture[])
      : [parseArchitecture(requested, '--arch')];
  const conformance = resolve(process.env.CONFORMANCE_DIR ?? join(ROOT, 'test', 'fixtures', 'conformance'));
  let failed = false;
  for (const architecture of architectures) {
    const layer = await buildLayer({ architecture, force: values.force });
    const budget = LAYER_ZIPPED_BUDGET_BYTES[architecture];
    console.log(
      [
        `layer ${architecture.padEnd(6)} onnxruntime-node ${layer.version} ${LAYER_PLATFORM}/${layer.nodeArch}`,
        `${layer.files.length} files`,
        `unzipped ${formatMib(layer.unzippedBytes)}`,
        `zipped ${formatMib(layer.zippedBytes)} (budget ${formatMib(budget)})`,
        `${relative(ROOT, layer.dir)}${layer.reused ? ' (up to date)' : ''}`,
      ].join('  '),
    );
    try {
      assertLayerWithinBudget(layer);
      const highest = await assertLayerLinksOnLambda(layer);
      console.log(
        `  symbol versions: ${['GLIBC', 'GLIBCXX', 'CXXABI'].map((family) => `${family}_${highest[family] ?? '–'}`).join(', ')} at most: within Amazon Linux 2023's`,
      );
    } catch (error) {
      console.error((error as Error).message);
      failed = true;
    }
    const runner = await layerRunner(architecture);
    if ('skipped' in runner) {
      console.log(`  load check: skipped: ${runner.skipped}`);
      continue;
    }
    try {
      const run = await runCaseWithLayer(
        layer.nodeModules,
        join(conformance, 'onnx-backend', CHECK_CASE),
        runner.runner,
      );
      console.log(
        `  load check: ${run.caseName} ran on ${runner.runner.label} with onnxruntime-node ${run.version} from the layer; outputs match`,
      );
    } finally {
      await runner.runner.dispose();
    }
  }
  if (failed) process.exitCode = 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  await main();
}
