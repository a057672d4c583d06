/**
 * `S3ObjectStore.compose` against s3rver: sources above and below S3's 5 MiB part minimum are
 * concatenated in order, byte for byte (s3rver has no UploadPartCopy: the parts are sent instead,
 * which is the fallback for S3-compatible stores), and a small result is one PutObject.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import fc from 'fast-check';
import {
  COPY_PIECE_BYTES,
  MAX_COPY_PART_BYTES,
  MAX_PARTS,
  planParts,
} from '../../../src/adapters/aws/s3-compose.ts';
import { MIN_PART_BYTES } from '../../../src/ports/object-store.ts';
import { startS3Server, type TestS3Server } from '../../helpers/s3-server.ts';

let s3: TestS3Server;

before(async () => {
  s3 = await startS3Server({ client: { maxAttempts: 2, requestTimeoutMs: 20_000, socketTimeoutMs: 20_000 } });
});

after(async () => {
  await s3?.close();
});

async function put(key: string, bytes: number): Promise<{ key: string; size: number; body: Buffer }> {
  const body = randomBytes(bytes);
  await s3.store.put(key, body);
  return { key, size: bytes, body };
}

it('concatenates large and small sources in order, every byte once', async () => {
  const sources = [
    await put('parts/a', MIN_PART_BYTES + 1024 * 1024),
    await put('parts/b', 100),
    await put('parts/c', MIN_PART_BYTES + 2 * 1024 * 1024),
    await put('parts/empty', 0),
    await put('parts/d', 3 * 1024 * 1024),
  ];
  s3.resetRequests();
  const written = await s3.store.compose('joined/all', sources, { contentType: 'application/x-ndjson' });

  const expected = Buffer.concat(sources.map((source) => source.body));
  assert.equal(written.bytes, expected.length);
  const stored = await s3.store.get('joined/all');
  assert.ok(stored);
  assert.ok(Buffer.from(stored.body).equals(expected), 'the composed object is the sources, in order');
  const parts = s3.requests.filter(
    (request) => request.method === 'PUT' && request.query.includes('partNumber='),
  );
  assert.ok(parts.length >= 4, `${parts.length} part uploads`);
});

it('a result under one part is a single PutObject of the sources', async () => {
  const sources = [await put('small/a', 10), await put('small/b', 2000), await put('small/c', 1)];
  s3.resetRequests();
  await s3.store.compose('joined/small', sources);

  const stored = await s3.store.get('joined/small');
  assert.ok(Buffer.from(stored?.body ?? []).equals(Buffer.concat(sources.map((source) => source.body))));
  assert.equal(
    s3.requests.filter((request) => request.query.includes('uploads')).length,
    0,
    'no multipart upload',
  );
});

/** Bytes of a planned part. */
const partBytes = (part: { pieces: { start: number; end: number }[] }) =>
  part.pieces.reduce((sum, piece) => sum + piece.end - piece.start, 0);

it('copies parts of 64 MiB, and larger only where the plan would pass 10,000 parts', () => {
  const MiB = 1024 * 1024;
  const largest = (parts: ReturnType<typeof planParts>) => Math.max(...parts.map(partBytes));
  // 2.3 GiB of captures in 4 ranges: 64 MiB copies.
  const small = planParts(Array.from({ length: 4 }, (_, i) => ({ key: `r${i}`, size: 600 * MiB + i })));
  assert.equal(largest(small), COPY_PIECE_BYTES);
  // Thousands of sources just over a piece: each would leave a remainder part at 64 MiB.
  const uneven = Array.from({ length: 4990 }, (_, i) => ({ key: `r${i}`, size: COPY_PIECE_BYTES + 1 }));
  uneven.push(...Array.from({ length: 30 }, (_, i) => ({ key: `s${i}`, size: 5 * MiB })));
  const planned = planParts(uneven);
  assert.ok(planned.length <= MAX_PARTS, `${planned.length} parts`);
  assert.ok(largest(planned) > COPY_PIECE_BYTES);
  // 10 TiB in 1000 uneven ranges.
  const huge = Array.from({ length: 1000 }, (_, i) => ({ key: `h${i}`, size: 10 * 1024 ** 3 + 7 * i + 1 }));
  const hugePlan = planParts(huge);
  assert.ok(hugePlan.length <= MAX_PARTS, `${hugePlan.length} parts`);
  assert.ok(largest(hugePlan) <= MAX_COPY_PART_BYTES, 'never past the 5 GiB of one UploadPartCopy');
});

it('planned parts cover the sources in order, every part but the last at least 5 MiB', () => {
  const MiB = 1024 * 1024;
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.integer({ min: 0, max: 6 * MiB }), fc.integer({ min: 0, max: 1200 * MiB })), {
        maxLength: 30,
      }),
      (sizes) => {
        const sources = sizes.map((size, i) => ({ key: `s${i}`, size }));
        const parts = planParts(sources);
        const pieces = parts.flatMap((part) => part.pieces);
        // Contiguous, in order, every byte once.
        const expected = sources.filter((source) => source.size > 0);
        let source = 0;
        let at = 0;
        for (const piece of pieces) {
          assert.equal(piece.key, expected[source]?.key);
          assert.equal(piece.start, at);
          at = piece.end;
          if (at === expected[source]?.size) {
            source += 1;
            at = 0;
          }
        }
        assert.equal(source, expected.length);
        for (const part of parts.slice(0, -1)) assert.ok(partBytes(part) >= MIN_PART_BYTES);
        for (const part of parts) {
          if (part.kind !== 'copy') continue;
          assert.equal(part.pieces.length, 1);
          assert.ok(partBytes(part) <= COPY_PIECE_BYTES, 'a copied part within the planned size');
        }
        assert.ok(parts.length <= MAX_PARTS);
      },
    ),
  );
});
