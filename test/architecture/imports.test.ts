/**
 * The import rule of docs/architecture.md, checked on the tree, and shown to fail on each kind of
 * break (so a green run means the rule held, not that the checker saw nothing).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkFile, checkImports, importsOf } from '../../scripts/check-imports.ts';
import { ROOT } from '../helpers/paths.ts';

describe('architecture: import rule', () => {
  it('holds for every file of src/, handlers/ and scripts/', async () => {
    const violations = await checkImports(ROOT);
    assert.deepEqual(
      violations.map((v) => `${v.file}:${v.line} ${v.specifier} (${v.rule})`),
      [],
    );
  });

  it('finds static, type-only, re-exported, side-effect and dynamic imports, across lines', () => {
    const source = [
      "import { a } from './a.ts';",
      "import type {\n  B,\n} from '../b.ts';",
      "export { c } from './c.ts';",
      "import './d.ts';",
      "const e = await import('./e.ts');",
    ].join('\n');
    assert.deepEqual(
      importsOf(source).map((i) => i.specifier),
      ['./a.ts', '../b.ts', './c.ts', './d.ts', './e.ts'],
    );
  });

  const cases: { name: string; path: string; source: string; rule: RegExp }[] = [
    {
      name: 'the core importing the AWS SDK',
      path: 'src/repository/x.ts',
      source: "import { S3Client } from '@aws-sdk/client-s3';",
      rule: /core code must not import a platform package/,
    },
    {
      name: "the core importing Lambda's event types",
      path: 'src/batch/x.ts',
      source: "import type { S3Event } from 'aws-lambda';",
      rule: /platform package/,
    },
    {
      name: 'the core importing the Prometheus client',
      path: 'src/http/x.ts',
      source: "import { Registry } from 'prom-client';",
      rule: /platform package/,
    },
    {
      name: 'the core opening sockets itself',
      path: 'src/protocol/x.ts',
      source: "import { createServer } from 'node:http';",
      rule: /platform package/,
    },
    {
      name: 'the core importing an adapter',
      path: 'src/drift/check/x.ts',
      source: "import { S3ObjectStore } from '../../adapters/aws/s3-store.ts';",
      rule: /core code must not import adapter code/,
    },
    {
      name: 'the core importing a handler',
      path: 'src/serving.ts',
      source: "import { handler } from '../handlers/http.ts';",
      rule: /core code must not import handler code/,
    },
    {
      name: 'the core importing a script',
      path: 'src/x.ts',
      source: "const m = await import('../scripts/lib/random.ts');",
      rule: /core code must not import script code/,
    },
    {
      name: 'an adapter importing a handler',
      path: 'src/adapters/aws/x.ts',
      source: "import { logger } from '../../../handlers/commons/powertools.ts';",
      rule: /adapter code must not import handler code/,
    },
    {
      name: 'a handler importing a script',
      path: 'handlers/functions/x.ts',
      source: "import { openLocalStore } from '../../scripts/local/stack-settings.ts';",
      rule: /handler code must not import script code/,
    },
  ];
  for (const { name, path, source, rule } of cases) {
    it(`fails on ${name}`, () => {
      const violations = checkFile(ROOT, path, source);
      assert.equal(violations.length, 1, JSON.stringify(violations));
      assert.match(violations[0]?.rule ?? '', rule);
    });
  }

  it('lets adapters import the SDK and the core, and the core import onnxruntime and its ports', () => {
    assert.deepEqual(
      checkFile(
        ROOT,
        'src/adapters/aws/x.ts',
        "import { S3Client } from '@aws-sdk/client-s3';\nimport type { ObjectStore } from '../../ports/object-store.ts';",
      ),
      [],
    );
    assert.deepEqual(
      checkFile(
        ROOT,
        'src/runtime/x.ts',
        "import { InferenceSession } from 'onnxruntime-node';\nimport type { ObjectStore } from '../ports/object-store.ts';",
      ),
      [],
    );
  });
});

describe('architecture: declared packages', () => {
  it('declares every package the code imports in package.json', async () => {
    const { readFile, readdir } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const declared = new Set([
      ...Object.keys(manifest.dependencies),
      ...Object.keys(manifest.devDependencies),
    ]);
    const undeclared = new Set<string>();
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (entry.name !== 'fixtures') await walk(path);
        } else if (/\.(ts|mjs)$/.test(entry.name)) {
          for (const { specifier } of importsOf(await readFile(path, 'utf8'))) {
            if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
            const parts = specifier.split('/');
            const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? '');
            // `aws-lambda` is a types-only import, declared as @types/aws-lambda.
            const pkg = name === 'aws-lambda' ? '@types/aws-lambda' : name;
            if (!declared.has(pkg)) undeclared.add(`${pkg} (${path.slice(ROOT.length)})`);
          }
        }
      }
    };
    for (const top of ['src', 'handlers', 'scripts', 'test']) await walk(join(ROOT, top));
    assert.deepEqual([...undeclared], []);
  });
});
