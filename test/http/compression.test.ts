import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { PayloadTooLargeError, ServingError } from '../../src/errors.ts';
import {
  chooseCoding,
  compressBody,
  decodeContent,
  MIN_COMPRESSIBLE_BYTES,
} from '../../src/http/compression.ts';

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

describe('decodeContent', () => {
  const payload = Buffer.from('{"inputs": []}'.repeat(20));

  it('inflates gzip, zlib deflate, raw deflate and stacked codings; identity or none leaves it', () => {
    assert.equal(text(decodeContent(gzipSync(payload), 'gzip', 1e6)), payload.toString());
    assert.equal(text(decodeContent(gzipSync(payload), 'x-gzip', 1e6)), payload.toString());
    assert.equal(text(decodeContent(deflateSync(payload), 'deflate', 1e6)), payload.toString());
    assert.equal(text(decodeContent(deflateRawSync(payload), 'Deflate', 1e6)), payload.toString());
    assert.equal(
      text(decodeContent(gzipSync(deflateSync(payload)), 'deflate, gzip', 1e6)),
      payload.toString(),
    );
    assert.equal(decodeContent(payload, 'identity', 10), payload);
    assert.equal(decodeContent(payload, undefined, 10), payload);
  });

  it('stops at the ceiling with 413, whatever the coding', () => {
    const big = Buffer.alloc(50_000, 65);
    for (const [coding, bytes] of [
      ['gzip', gzipSync(big)],
      ['deflate', deflateSync(big)],
    ] as const) {
      assert.throws(() => decodeContent(bytes, coding, 49_999), PayloadTooLargeError, coding);
      assert.equal(decodeContent(bytes, coding, 50_000).byteLength, 50_000);
    }
  });

  it('corrupt data is 400, an unknown coding 415', () => {
    assert.throws(
      () => decodeContent(payload, 'gzip', 1e6),
      (error: unknown) => error instanceof ServingError && error.status === 400,
    );
    assert.throws(
      () => decodeContent(payload, 'br', 1e6),
      (error: unknown) => error instanceof ServingError && error.status === 415 && /'br'/.test(error.message),
    );
  });

  it('never throws anything but a ServingError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom('gzip', 'deflate'), (bytes, coding) => {
        try {
          decodeContent(bytes, coding, 10_000);
        } catch (error) {
          assert.ok(error instanceof ServingError, String(error));
        }
      }),
    );
  });
});

describe('chooseCoding', () => {
  it('prefers gzip, honours q-values and q=0, and * ', () => {
    assert.equal(chooseCoding('gzip, deflate, br'), 'gzip');
    assert.equal(chooseCoding('deflate'), 'deflate');
    assert.equal(chooseCoding('deflate;q=1, gzip;q=0.5'), 'deflate');
    assert.equal(chooseCoding('gzip;q=0, deflate;q=0'), undefined);
    assert.equal(chooseCoding('gzip;q=0'), undefined);
    assert.equal(chooseCoding('*'), 'gzip');
    assert.equal(chooseCoding('identity'), undefined);
    assert.equal(chooseCoding(''), undefined);
    assert.equal(chooseCoding(undefined), undefined);
  });
});

describe('compressBody', () => {
  it('compresses what is large enough and shrinks, leaves the rest', () => {
    const repetitive = Buffer.from('0.5,'.repeat(1000));
    // Random bytes do not compress: the deflate stream would be larger.
    const random = randomBytes(2000);

    assert.ok((compressBody(repetitive, 'gzip')?.byteLength ?? Infinity) < repetitive.byteLength / 10);
    assert.equal(compressBody(Buffer.alloc(MIN_COMPRESSIBLE_BYTES - 1, 48), 'gzip'), undefined);
    assert.equal(compressBody(random, 'deflate'), undefined);
  });
});
