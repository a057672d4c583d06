/**
 * The test files whose code can behave differently on another Node.js version: those that reach,
 * through their relative imports, onnxruntime-node (a native addon and the tensor types around
 * it), the AWS SDK (streams and sockets), the built bundles under dist/, the onnxruntime layer,
 * or a child process running Node. CI
 * runs these again on the Node version of the Lambda runtime (`.ci/run`).
 *
 * `tsx scripts/ci/runtime-tests.ts` prints one path per line, relative to the repository.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What in a file's text makes it runtime-sensitive. */
const MARKERS = [
  /from ['"]onnxruntime-node['"]/,
  /from ['"]@aws-sdk\//,
  /['"`/]dist\//,
  /\bDIST\b/,
  /layers\/onnxruntime/,
  /\bbuildLayer\b/,
  /node:child_process/,
  /node:worker_threads/,
];
const IMPORT =
  /(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function testFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) files.push(...testFiles(path));
    else if (entry.endsWith('.test.ts')) files.push(path);
  }
  return files;
}

/** Whether `file` or anything it imports relatively carries a marker. */
export function isRuntimeSensitive(file: string, seen = new Map<string, boolean>()): boolean {
  const known = seen.get(file);
  if (known !== undefined) return known;
  seen.set(file, false);
  const text = readFileSync(file, 'utf8');
  let sensitive = MARKERS.some((marker) => marker.test(text));
  if (!sensitive) {
    for (const match of text.matchAll(IMPORT)) {
      const target = resolve(dirname(file), match[1] ?? match[2] ?? '');
      if (!existsSync(target) || !/\.(ts|mts|js|mjs)$/.test(target)) continue;
      if (isRuntimeSensitive(target, seen)) {
        sensitive = true;
        break;
      }
    }
  }
  seen.set(file, sensitive);
  return sensitive;
}

/** The runtime-sensitive test files, sorted, relative to the repository. */
export function runtimeTestFiles(): string[] {
  const seen = new Map<string, boolean>();
  return testFiles(join(ROOT, 'test'))
    .filter((file) => isRuntimeSensitive(file, seen))
    .map((file) => relative(ROOT, file))
    .sort();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  for (const file of runtimeTestFiles()) console.log(file);
}
