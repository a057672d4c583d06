import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/env.ts';
import { readServingConfig } from '../../src/config/serving-config.ts';

describe('readServingConfig', () => {
  it('applies defaults when only the bucket is set', () => {
    const config = readServingConfig({ MODEL_BUCKET: 'models-bucket' });

    assert.equal(config.bucket, 'models-bucket');
    assert.equal(config.region, 'us-east-1');
    assert.equal(config.refreshIntervalMs, 30_000);
    assert.equal(config.s3ForcePathStyle, false);
    assert.equal(config.cacheBytes, undefined);
    assert.deepEqual(config.preload, []);
    assert.equal(config.maxBodyBytes, 6 * 1024 * 1024);
    assert.equal(config.captureEnabled, true);
  });

  it('reads every variable', () => {
    const config = readServingConfig({
      MODEL_BUCKET: 'b',
      AWS_REGION: 'eu-west-1',
      S3_ENDPOINT: 'http://127.0.0.1:4569',
      S3_FORCE_PATH_STYLE: 'true',
      MODEL_REFRESH_SECONDS: '5',
      MODEL_CACHE_MB: '256',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '2048',
      PRELOAD_MODELS: 'iris, wine:2,,',
      MAX_BODY_BYTES: '1000',
      CAPTURE_ENABLED: 'false',
    });

    assert.equal(config.region, 'eu-west-1');
    assert.equal(config.s3Endpoint, 'http://127.0.0.1:4569');
    assert.equal(config.s3ForcePathStyle, true);
    assert.equal(config.refreshIntervalMs, 5000);
    assert.equal(config.cacheBytes, 256 * 1024 * 1024);
    assert.equal(config.functionMemoryMb, 2048);
    assert.deepEqual(config.preload, ['iris', 'wine:2']);
    assert.equal(config.maxBodyBytes, 1000);
    assert.equal(config.captureEnabled, false);
  });

  const invalid: [Record<string, string>, RegExp][] = [
    [{}, /MODEL_BUCKET/],
    [{ MODEL_BUCKET: 'b', MODEL_REFRESH_SECONDS: 'soon' }, /MODEL_REFRESH_SECONDS.*'soon'/],
    [{ MODEL_BUCKET: 'b', S3_FORCE_PATH_STYLE: 'maybe' }, /S3_FORCE_PATH_STYLE: expected true or false/],
    [{ MODEL_BUCKET: 'b', MAX_BODY_BYTES: '99999999' }, /MAX_BODY_BYTES/],
  ];
  for (const [env, message] of invalid) {
    it(`fails naming the variable: ${message}`, () => {
      assert.throws(
        () => readServingConfig(env),
        (error: unknown) => error instanceof ConfigError && message.test(error.message),
      );
    });
  }
});
