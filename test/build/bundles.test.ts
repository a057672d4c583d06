import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/paths.ts';

// `npm test` builds before it tests; these check what the build produced.
describe('handler bundles', () => {
  it('http: one ESM file under 1 MB, with onnxruntime-node left to the layer', async () => {
    const file = join(ROOT, 'dist', 'http', 'index.mjs');

    const { size } = await stat(file);
    const code = await readFile(file, 'utf8');

    assert.ok(size < 1024 * 1024, `${size} bytes`);
    assert.match(code, /\('onnxruntime-node'\)|\("onnxruntime-node"\)/, 'required at run time');
    assert.doesNotMatch(code, /onnxruntime_binding/, 'the native binding is not bundled');
    assert.doesNotMatch(code, /^#!|module\.exports\s*=\s*handler/m);
  });

  it('model-events: one ESM file under 1 MB, with onnxruntime-node left to the layer', async () => {
    const file = join(ROOT, 'dist', 'model-events', 'index.mjs');

    const { size } = await stat(file);
    const code = await readFile(file, 'utf8');

    assert.ok(size < 1024 * 1024, `${size} bytes`);
    assert.match(code, /\('onnxruntime-node'\)|\("onnxruntime-node"\)/, 'required at run time');
    assert.doesNotMatch(code, /onnxruntime_binding/, 'the native binding is not bundled');
  });
});
