/**
 * Bundles each handler in `handlers/` into one minified ESM file, `dist/<name>/index.mjs`, and the
 * plain HTTP server off Lambda (`scripts/serve.ts`) into `dist/server/index.mjs`.
 *
 * onnxruntime-node is never bundled: it is a native addon shipped in the Lambda layer. Lambda
 * resolves layer packages through NODE_PATH (`/opt/nodejs/node_modules`), which only `require`
 * honours, so the bundle reaches it through `createRequire` instead of an ESM import. Locally the
 * same `require` finds it in the project's node_modules.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DIST = join(ROOT, 'dist');
/** Entry of the process a model runs in. */
const SANDBOX_CHILD = join(ROOT, 'src/runtime/sandbox-child.mjs');

const ortFromRequire: Plugin = {
  name: 'onnxruntime-node-from-require',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^onnxruntime-node$/ }, () => ({
      path: 'onnxruntime-node',
      namespace: 'ort-require',
    }));
    pluginBuild.onLoad({ filter: /.*/, namespace: 'ort-require' }, () => ({
      loader: 'js',
      contents: [
        "import { createRequire } from 'node:module';",
        "const ort = createRequire(import.meta.url)('onnxruntime-node');",
        'export const { InferenceSession, Tensor, env } = ort;',
        'export default ort;',
      ].join('\n'),
    }));
  },
};

/** Handler entry points: every `handlers/*.ts` file. */
export async function handlerEntries(): Promise<string[]> {
  const dir = join(ROOT, 'handlers');
  const files = await readdir(dir);
  return files.filter((file) => file.endsWith('.ts')).map((file) => join(dir, file));
}

/** The esbuild settings of every bundle: one minified ESM file, onnxruntime-node left outside. */
async function bundle(entry: string, outfile: string): Promise<number> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: true,
    sourcemap: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    legalComments: 'none',
    plugins: [ortFromRequire],
    // CommonJS dependencies inside an ESM bundle still call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  return (await stat(outfile)).size;
}

export async function buildHandlers(): Promise<{ name: string; file: string; bytes: number }[]> {
  const results = [];
  for (const entry of await handlerEntries()) {
    const name = basename(entry, '.ts');
    const outfile = join(DIST, name, 'index.mjs');
    results.push({ name, file: outfile, bytes: await bundle(entry, outfile) });
    const child = await buildSandboxChild(join(DIST, name));
    results.push({ name: `${name} (model process)`, ...child });
  }
  return results;
}

/**
 * Bundles the process each model runs in (`src/runtime/sandbox-child.mjs`) into `<dir>/`, where
 * `src/runtime/sandbox.ts` finds it next to the bundle that starts it.
 */
async function buildSandboxChild(dir: string): Promise<{ file: string; bytes: number }> {
  const file = join(dir, 'sandbox-child.mjs');
  await build({
    entryPoints: [SANDBOX_CHILD],
    outfile: file,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    legalComments: 'none',
    external: ['onnxruntime-node'],
    logLevel: 'warning',
  });
  return { file, bytes: (await stat(file)).size };
}

/** The entry of the plain HTTP server and its commands. */
export const SERVER_ENTRY = join(ROOT, 'scripts', 'serve.ts');

/**
 * Bundles the plain HTTP server into `<outDir>/index.mjs` (default `dist/server/`): it needs only
 * onnxruntime-node beside it at run time (`node_modules/` of a parent folder).
 */
export async function buildServer(
  outDir = join(DIST, 'server'),
): Promise<{ name: string; file: string; bytes: number }> {
  const outfile = join(outDir, 'index.mjs');
  const bytes = await bundle(SERVER_ENTRY, outfile);
  await buildSandboxChild(outDir);
  return { name: 'server', file: outfile, bytes };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  for (const { name, file, bytes } of [...(await buildHandlers()), await buildServer()]) {
    console.log(
      `${name.padEnd(12)} ${(bytes / 1024).toFixed(1).padStart(8)} KiB  ${file.slice(ROOT.length)}`,
    );
  }
}
