import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { s3ClientFor } from '../../src/adapters/aws/s3-store.ts';
import { ConfigError } from '../../src/config/env.ts';
import { readServerConfig, SERVER_DEFAULT_MAX_BODY_BYTES } from '../../src/config/server-config.ts';
import { readServingConfig } from '../../src/config/serving-config.ts';
import { readStoreConnection } from '../../src/config/store-config.ts';

const BASE = { MODEL_BUCKET: 'models' };

describe('server configuration', () => {
  it('has server defaults: port 8080 on every interface, 64 MiB bodies, keep-alive past 60 s', () => {
    const config = readServerConfig(BASE);

    assert.equal(config.port, 8080);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.maxBodyBytes, SERVER_DEFAULT_MAX_BODY_BYTES);
    assert.equal(config.keepAliveTimeoutMs, 65_000);
    assert.equal(config.requestTimeoutMs, 300_000);
    assert.equal(config.shutdownTimeoutMs, 25_000);
    assert.equal(config.webhookToken, undefined);
  });

  it('allows bodies beyond Lambda’s 6 MB off Lambda only', () => {
    const env = { ...BASE, MAX_BODY_BYTES: String(200 * 1024 * 1024) };

    assert.equal(readServerConfig(env).maxBodyBytes, 200 * 1024 * 1024);
    assert.throws(() => readServingConfig(env), /MAX_BODY_BYTES/);
    assert.throws(
      () => readServerConfig({ ...BASE, MAX_BODY_BYTES: String(2 * 1024 ** 3) }),
      /MAX_BODY_BYTES/,
    );
  });

  it('reads the timeouts and settings in seconds, and names a wrong variable', () => {
    const config = readServerConfig({
      ...BASE,
      PORT: '9000',
      KEEP_ALIVE_TIMEOUT_SECONDS: '5',
      REQUEST_TIMEOUT_SECONDS: '30',
      HEADERS_TIMEOUT_SECONDS: '10',
      SHUTDOWN_TIMEOUT_SECONDS: '8',
      CAPTURE_FLUSH_SECONDS: '2.5',
      WEBHOOK_TOKEN: ' t0ken ',
    });

    assert.deepEqual(
      [
        config.port,
        config.keepAliveTimeoutMs,
        config.requestTimeoutMs,
        config.headersTimeoutMs,
        config.shutdownTimeoutMs,
      ],
      [9000, 5_000, 30_000, 10_000, 8_000],
    );
    assert.equal(config.captureFlushMs, 2_500);
    assert.equal(config.webhookToken, 't0ken');
    assert.throws(
      () => readServerConfig({ ...BASE, PORT: '70000' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /PORT/);
        return true;
      },
    );
    assert.throws(() => readServerConfig({ ...BASE, CAPTURE_FLUSH_SECONDS: '0' }), /CAPTURE_FLUSH_SECONDS/);
  });
});

describe('S3-compatible store settings', () => {
  it('defaults both checksum modes to WHEN_REQUIRED, which S3-compatible stores need', async () => {
    const connection = readStoreConnection(BASE);
    const client = s3ClientFor(connection);

    assert.equal(connection.s3RequestChecksum, 'WHEN_REQUIRED');
    assert.equal(await client.config.requestChecksumCalculation(), 'WHEN_REQUIRED');
    assert.equal(await client.config.responseChecksumValidation(), 'WHEN_REQUIRED');
    client.destroy();
  });

  it('passes the endpoint, region, path style and checksum modes of the environment to the client', async () => {
    const connection = readStoreConnection({
      ...BASE,
      AWS_REGION: 'auto',
      S3_ENDPOINT: 'https://account.r2.example',
      S3_FORCE_PATH_STYLE: 'true',
      S3_REQUEST_CHECKSUM_CALCULATION: 'when_supported',
      S3_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_SUPPORTED',
    });
    const client = s3ClientFor(connection);

    assert.equal(await client.config.region(), 'auto');
    assert.equal(client.config.forcePathStyle, true);
    assert.equal(await client.config.requestChecksumCalculation(), 'WHEN_SUPPORTED');
    assert.equal(await client.config.responseChecksumValidation(), 'WHEN_SUPPORTED');
    const endpoint = await client.config.endpoint?.();
    assert.equal(endpoint?.hostname, 'account.r2.example');
    client.destroy();
  });

  it('refuses an unknown checksum mode, naming the variable', () => {
    assert.throws(
      () => readStoreConnection({ ...BASE, S3_REQUEST_CHECKSUM_CALCULATION: 'ALWAYS' }),
      /S3_REQUEST_CHECKSUM_CALCULATION: expected WHEN_REQUIRED or WHEN_SUPPORTED, got 'ALWAYS'/,
    );
  });
});
