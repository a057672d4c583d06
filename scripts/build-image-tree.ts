/**
 * Assembles the file tree of the container image's runtime stage (the Dockerfile's build stage
 * runs this; the tests run it too, and start the server from the result):
 *
 *   <out>/server/index.mjs                          the bundled server (scripts/serve.ts)
 *   <out>/server/sandbox-child.mjs                  the process each model runs in
 *   <out>/node_modules/onnxruntime-node, -common    Linux binaries of one CPU only
 *
 * Nothing else: no dev dependencies, no sources. `node <out>/server/index.mjs` runs it.
 *
 *   tsx scripts/build-image-tree.ts --arch <amd64|arm64|x64|x86_64> --out <dir>
 */
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildServer } from './build.ts';
import { buildLayer } from './build-layer.ts';
import type { LambdaArchitecture } from './deploy/budgets.ts';

/** Docker's `TARGETARCH` and Node's `process.arch` names → the layer builder's. */
const ARCHITECTURES: Record<string, LambdaArchitecture> = {
  amd64: 'x86_64',
  x64: 'x86_64',
  x86_64: 'x86_64',
  arm64: 'arm64',
  aarch64: 'arm64',
};

export interface ImageTree {
  dir: string;
  architecture: LambdaArchitecture;
  /** Every file of the tree, relative, `/`-separated, with its size. */
  files: { path: string; bytes: number }[];
}

/** Builds the runtime tree into `out` (replaced whole). */
export async function buildImageTree(options: { arch: string; out: string }): Promise<ImageTree> {
  const architecture = ARCHITECTURES[options.arch];
  if (architecture === undefined) {
    throw new Error(
      `--arch: expected one of ${Object.keys(ARCHITECTURES).join(', ')}, got '${options.arch}'`,
    );
  }
  const dir = resolve(options.out);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await buildServer(join(dir, 'server'));
  const layerDir = join(dir, '.layer');
  const layer = await buildLayer({ architecture, outDir: layerDir, force: true });
  await rename(layer.nodeModules, join(dir, 'node_modules'));
  await rm(layerDir, { recursive: true, force: true });
  return { dir, architecture, files: await listTree(dir) };
}

async function listTree(root: string): Promise<ImageTree['files']> {
  const files: ImageTree['files'] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.push({ path: relative(root, path).split('\\').join('/'), bytes: (await stat(path)).size });
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const { values } = parseArgs({
    options: {
      arch: { type: 'string', default: process.arch },
      out: { type: 'string', default: 'dist/image' },
    },
  });
  const tree = await buildImageTree({ arch: values.arch ?? process.arch, out: values.out ?? 'dist/image' });
  const total = tree.files.reduce((sum, file) => sum + file.bytes, 0);
  console.log(
    `image tree for linux/${tree.architecture}: ${tree.files.length} files, ${(total / 1024 / 1024).toFixed(1)} MiB in ${tree.dir}`,
  );
}
