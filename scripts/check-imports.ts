/**
 * The import rule of the architecture (docs/architecture.md): the core (`src/` but its adapters)
 * depends on ports only — never on the AWS SDK, Lambda's types or middleware, the adapters, the
 * handlers or the scripts; adapters never import handlers or scripts; handlers never import
 * scripts. `npm run check:imports` prints every violation and exits 1 when there is one; the
 * tests run it on the tree.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One import that breaks a rule. */
export interface ImportViolation {
  file: string;
  line: number;
  specifier: string;
  rule: string;
}

/**
 * Packages only adapters and composition roots may import: the AWS SDK and Lambda's, and the
 * serving platform off Lambda (a socket server, a metrics client).
 */
const PLATFORM_PACKAGES = [
  /^@aws-sdk\//,
  /^aws-lambda$/,
  /^@aws-lambda-powertools\//,
  /^@middy\//,
  /^@smithy\//,
  /^prom-client$/,
  /^node:(http|https|http2|net)$/,
];

/** The layers a file can be in, by path from the repository root. */
type Layer = 'core' | 'adapter' | 'handler' | 'script' | 'other';

function layerOf(path: string): Layer {
  const parts = path.split(sep);
  if (parts[0] === 'src') return parts[1] === 'adapters' ? 'adapter' : 'core';
  if (parts[0] === 'handlers') return 'handler';
  if (parts[0] === 'scripts') return 'script';
  return 'other';
}

/** Which layers each layer must not import (relative imports), and whether platform packages are banned. */
const RULES: Record<Layer, { banned: Layer[]; platform: boolean }> = {
  core: { banned: ['adapter', 'handler', 'script'], platform: true },
  adapter: { banned: ['handler', 'script'], platform: false },
  handler: { banned: ['script'], platform: false },
  script: { banned: [], platform: false },
  other: { banned: [], platform: false },
};

const SPECIFIER =
  /(?:^|[\s;])(?:import|export)\s(?:[^'"]*?\sfrom\s)?\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every import specifier of a TypeScript source, with its line. */
export function importsOf(source: string): { specifier: string; line: number }[] {
  const found: { specifier: string; line: number }[] = [];
  for (const match of source.matchAll(SPECIFIER)) {
    const specifier = match[1] ?? match[2];
    if (specifier === undefined) continue;
    const line = source.slice(0, match.index).split('\n').length;
    found.push({ specifier, line: line + (match[0].startsWith('\n') ? 1 : 0) });
  }
  return found;
}

/** The violations of one file (`path` relative to `root`). */
export function checkFile(root: string, path: string, source: string): ImportViolation[] {
  const layer = layerOf(path);
  const rule = RULES[layer];
  const violations: ImportViolation[] = [];
  for (const { specifier, line } of importsOf(source)) {
    if (specifier.startsWith('.')) {
      const target = relative(root, resolve(root, dirname(path), specifier));
      const targetLayer = layerOf(target);
      if (rule.banned.includes(targetLayer)) {
        violations.push({
          file: path,
          line,
          specifier,
          rule: `${layer} code must not import ${targetLayer} code`,
        });
      }
    } else if (rule.platform && PLATFORM_PACKAGES.some((pattern) => pattern.test(specifier))) {
      violations.push({
        file: path,
        line,
        specifier,
        rule: `${layer} code must not import a platform package (only adapters and handlers may)`,
      });
    }
  }
  return violations;
}

/** Checks every `.ts` file under `src/`, `handlers/` and `scripts/` of `root`. */
export async function checkImports(root: string): Promise<ImportViolation[]> {
  const violations: ImportViolation[] = [];
  for (const top of ['src', 'handlers', 'scripts']) {
    for (const file of await tsFiles(join(root, top))) {
      const path = relative(root, file);
      violations.push(...checkFile(root, path, await readFile(file, 'utf8')));
    }
  }
  return violations;
}

async function tsFiles(dir: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await tsFiles(path)));
    else if (entry.name.endsWith('.ts')) files.push(path);
  }
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const violations = await checkImports(root);
  for (const v of violations) console.error(`${v.file}:${v.line}: '${v.specifier}': ${v.rule}`);
  if (violations.length > 0) process.exit(1);
  console.log(
    'imports follow the architecture: the core imports no adapter, handler, script or platform package',
  );
}
