import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/paths.ts';

const HANDLERS = (await readdir(join(ROOT, 'handlers')))
  .filter((file) => file.endsWith('.ts'))
  .map((file) => basename(file, '.ts'));

// `npm test` builds before it tests; these check what the build produced, for every handler.
describe('handler bundles', () => {
  it('there is one bundle per handler', () => {
    assert.ok(HANDLERS.includes('http') && HANDLERS.includes('batch') && HANDLERS.includes('model-events'));
  });

  for (const name of HANDLERS) {
    it(`${name}: one ESM file under 1 MB, with onnxruntime-node left to the layer`, async () => {
      const file = join(ROOT, 'dist', name, 'index.mjs');

      const { size } = await stat(file);
      const code = await readFile(file, 'utf8');

      assert.ok(size < 1024 * 1024, `${size} bytes`);
      assert.doesNotMatch(code, /onnxruntime_binding/, 'the native binding is not bundled');
      assert.doesNotMatch(code, /^#!|module\.exports\s*=\s*handler/m);
      if (code.includes('onnxruntime-node')) {
        assert.match(
          code,
          /\('onnxruntime-node'\)|\("onnxruntime-node"\)/,
          'required at run time, from the layer',
        );
      }
    });
  }
});
