import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { ComposeSource, WriterOptions } from '../../ports/object-store.ts';
import { MIN_PART_BYTES } from '../../ports/object-store.ts';
import { storageError } from './s3-errors.ts';
import { readBody } from './s3-store.ts';

/** Most parts of one multipart upload (S3). */
export const MAX_PARTS = 10_000;
/** Largest part `UploadPartCopy` copies in one request (S3: 5 GiB). */
export const MAX_COPY_PART_BYTES = 5 * 1024 ** 3;
/**
 * Copied parts are planned at this size, doubled as often as the plan needs to stay within
 * `MAX_PARTS` (very large objects, or thousands of sources just over a piece): far below S3's
 * 5 GiB, so that a store without `UploadPartCopy`, whose parts are then read and sent, holds a
 * bounded part in memory and sends it well within a request's timeout.
 */
export const COPY_PIECE_BYTES = 64 * 1024 * 1024;
/**
 * Parts copied at the same time: a copy runs inside S3 and holds nothing here, so the assembly of
 * a large output (thousands of parts) is bound by how many are in flight.
 */
const COPIES_IN_FLIGHT = 32;
/** Parts read and sent at the same time (each held in memory while it goes). */
const SENDS_IN_FLIGHT = 8;

interface Piece {
  key: string;
  start: number;
  end: number;
}

/** A part: a copy of one piece of a source, or pieces of small sources joined and sent. */
export interface PlannedPart {
  kind: 'copy' | 'send';
  pieces: Piece[];
}

/**
 * Cuts the concatenation of `sources` into multipart parts: a source (or what is left of it) of at
 * least `MIN_PART_BYTES` is copied, in pieces of `COPY_PIECE_BYTES` (doubled, up to 5 GiB, until
 * the plan has at most `MAX_PARTS` parts) that never leave a remainder under 5 MiB; smaller sources
 * are gathered with what follows until at least 5 MiB (or the end), then sent. Every part but the
 * last is at least 5 MiB. More than `MAX_PARTS` parts only when even 5 GiB pieces cannot avoid it
 * (the caller refuses those).
 */
export function planParts(sources: readonly ComposeSource[]): PlannedPart[] {
  let pieceBytes = COPY_PIECE_BYTES;
  for (;;) {
    const parts = planWith(sources, pieceBytes);
    if (parts.length <= MAX_PARTS || pieceBytes >= MAX_COPY_PART_BYTES) return parts;
    pieceBytes = Math.min(MAX_COPY_PART_BYTES, pieceBytes * 2);
  }
}

function planWith(sources: readonly ComposeSource[], pieceBytes: number): PlannedPart[] {
  const parts: PlannedPart[] = [];
  let pending: Piece[] = [];
  let pendingBytes = 0;
  for (const source of sources) {
    let at = 0;
    while (at < source.size) {
      const left = source.size - at;
      if (pendingBytes === 0 && left >= MIN_PART_BYTES) {
        let length = Math.min(left, pieceBytes);
        if (left - length > 0 && left - length < MIN_PART_BYTES) length = left - MIN_PART_BYTES;
        parts.push({ kind: 'copy', pieces: [{ key: source.key, start: at, end: at + length }] });
        at += length;
        continue;
      }
      const take = Math.min(left, MIN_PART_BYTES - pendingBytes);
      pending.push({ key: source.key, start: at, end: at + take });
      pendingBytes += take;
      at += take;
      if (pendingBytes >= MIN_PART_BYTES) {
        parts.push({ kind: 'send', pieces: pending });
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes > 0) parts.push({ kind: 'send', pieces: pending });
  return parts;
}

export interface ComposeTarget {
  client: S3Client;
  bucket: string;
  /** The target's key in the bucket, and each source's, as stored (any prefix applied). */
  objectKey: string;
  sources: readonly ComposeSource[];
  options?: WriterOptions;
}

/**
 * Concatenates objects into one with a multipart upload. Every source (or piece of one) of at
 * least `MIN_PART_BYTES` becomes an `UploadPartCopy` part, copied inside S3; sources smaller than
 * that cannot be parts of their own (all parts but the last must be 5 MiB or more), so runs of
 * them are read and sent as one `UploadPart` of at least 5 MiB, topped up from the start of the
 * next source where needed (`planParts`). Up to 32 parts are copied at a time, and up to 8 of them
 * read and sent (each held in memory while it goes: 5 MiB, or a copy piece where copies are refused).
 * A store that does not implement `UploadPartCopy` (some S3-compatible servers) gets every part
 * sent instead.
 * The object appears on `CompleteMultipartUpload`, whole; any failure aborts the upload.
 *
 * @throws StorageUnavailableError when the store fails, or when the parts would exceed 10,000.
 */
export async function composeObject(target: ComposeTarget): Promise<{ etag?: string; bytes: number }> {
  const { client, bucket, objectKey, sources, options = {} } = target;
  const total = sources.reduce((sum, source) => sum + source.size, 0);
  const read = async (key: string, start: number, end: number): Promise<Uint8Array> => {
    if (end <= start) return new Uint8Array(0);
    const output = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end - 1}` }),
    );
    return readBody(output.Body, output.ContentLength);
  };
  if (total < MIN_PART_BYTES) {
    try {
      const pieces = await Promise.all(sources.map((source) => read(source.key, 0, source.size)));
      const output = await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: objectKey,
          Body: Buffer.concat(pieces),
          ContentType: options.contentType,
          Metadata: options.metadata,
        }),
      );
      return { etag: output.ETag?.replaceAll('"', ''), bytes: total };
    } catch (error) {
      throw storageError('PutObject', objectKey, error);
    }
  }

  let uploadId: string | undefined;
  try {
    const created = await client.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: objectKey,
        ContentType: options.contentType,
        Metadata: options.metadata,
      }),
    );
    uploadId = created.UploadId;
    const plan = planParts(sources);
    if (plan.length > MAX_PARTS) {
      throw new Error(`composing ${objectKey} would take ${plan.length} parts, more than ${MAX_PARTS}`);
    }
    let copyParts = true;
    const sending = new Slots(SENDS_IN_FLIGHT);
    const upload = async (PartNumber: number, part: PlannedPart): Promise<CompletedPart> => {
      if (part.kind === 'copy' && copyParts) {
        try {
          const output = await client.send(
            new UploadPartCopyCommand({
              Bucket: bucket,
              Key: objectKey,
              UploadId: uploadId,
              PartNumber,
              CopySource: `${bucket}/${encodeURI(part.pieces[0]?.key ?? '')}`,
              CopySourceRange: `bytes=${part.pieces[0]?.start}-${(part.pieces[0]?.end ?? 0) - 1}`,
            }),
          );
          return { PartNumber, ETag: output.CopyPartResult?.ETag };
        } catch (error) {
          if ((error as { name?: unknown }).name !== 'NotImplemented') throw error;
          copyParts = false;
        }
      }
      await sending.acquire();
      try {
        const body = Buffer.concat(
          await Promise.all(part.pieces.map((piece) => read(piece.key, piece.start, piece.end))),
        );
        const output = await client.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: objectKey,
            UploadId: uploadId,
            PartNumber,
            Body: body,
          }),
        );
        return { PartNumber, ETag: output.ETag };
      } finally {
        sending.release();
      }
    };
    // Parts are independent: up to 32 in flight, of which 8 at most are read and sent.
    const parts = new Array<CompletedPart>(plan.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(COPIES_IN_FLIGHT, plan.length) }, async () => {
        while (next < plan.length) {
          const index = next++;
          parts[index] = await upload(index + 1, plan[index] as PlannedPart);
        }
      }),
    );
    const completed = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: objectKey,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    return { etag: completed.ETag?.replaceAll('"', ''), bytes: total };
  } catch (error) {
    if (uploadId !== undefined) {
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: objectKey, UploadId: uploadId }))
        .catch(() => {});
    }
    throw storageError('UploadPartCopy', objectKey, error);
  }
}

/** At most `size` holders at a time; the others wait in order. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next();
    else this.#free += 1;
  }
}
