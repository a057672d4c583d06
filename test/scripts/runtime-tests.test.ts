import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runtimeTestFiles } from '../../scripts/ci/runtime-tests.ts';

describe('tests CI runs again on the Lambda runtime Node (scripts/ci/runtime-tests.ts)', () => {
  const files = runtimeTestFiles();

  it('include what reaches onnxruntime, the AWS SDK, the bundles or the layer, directly or through imports', () => {
    for (const file of [
      'test/runtime/model-loader.test.ts', // imports onnxruntime-node
      'test/codec/decode.test.ts', // through src/codec/decode.ts
      'test/adapters/aws/s3-store.test.ts', // the AWS SDK
      'test/deploy/layer.test.ts', // the layer
      'test/e2e/serving.test.ts', // the built http bundle, through the local stack
    ]) {
      assert.ok(files.includes(file), file);
    }
  });

  it('leave out pure code, and list each file once, sorted', () => {
    for (const file of [
      'test/text/lines.test.ts',
      'test/drift/ks-wasserstein.test.ts',
      'test/errors.test.ts',
    ]) {
      assert.ok(!files.includes(file), file);
    }
    assert.deepEqual(files, [...new Set(files)].sort());
  });
});
