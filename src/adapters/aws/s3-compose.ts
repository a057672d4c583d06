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
/** Part size when a store cannot copy parts and the bytes pass through this process instead. */
const FALLBACK_PART_BYTES = 8 * 1024 * 1024;

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
 * next source where needed. At most one part's worth of bytes is held at a time. A store that does
 * not implement `UploadPartCopy` (some S3-compatible servers) gets every part sent instead.
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
    const parts: CompletedPart[] = [];
    let copyParts = true;
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const nextNumber = (): number => {
      if (parts.length >= MAX_PARTS) {
        throw new Error(`composing ${objectKey} would take more than ${MAX_PARTS} parts`);
      }
      return parts.length + 1;
    };
    const send = async (body: Uint8Array): Promise<void> => {
      const PartNumber = nextNumber();
      const output = await client.send(
        new UploadPartCommand({ Bucket: bucket, Key: objectKey, UploadId: uploadId, PartNumber, Body: body }),
      );
      parts.push({ PartNumber, ETag: output.ETag });
    };
    const flushPending = async (): Promise<void> => {
      if (pendingBytes === 0) return;
      const body = Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      await send(body);
    };
    const copy = async (key: string, start: number, end: number): Promise<void> => {
      if (copyParts) {
        const PartNumber = nextNumber();
        try {
          const output = await client.send(
            new UploadPartCopyCommand({
              Bucket: bucket,
              Key: objectKey,
              UploadId: uploadId,
              PartNumber,
              CopySource: `${bucket}/${encodeURI(key)}`,
              CopySourceRange: `bytes=${start}-${end - 1}`,
            }),
          );
          parts.push({ PartNumber, ETag: output.CopyPartResult?.ETag });
          return;
        } catch (error) {
          if ((error as { name?: unknown }).name !== 'NotImplemented') throw error;
          copyParts = false;
        }
      }
      await send(await read(key, start, end));
    };

    for (const source of sources) {
      let at = 0;
      while (at < source.size) {
        const left = source.size - at;
        if (pendingBytes === 0 && left >= MIN_PART_BYTES) {
          const limit = copyParts ? MAX_COPY_PART_BYTES : FALLBACK_PART_BYTES;
          // Never leave a remainder that could not be a part of its own unless it is all that is left.
          let length = Math.min(left, limit);
          if (left - length > 0 && left - length < MIN_PART_BYTES) length = left - MIN_PART_BYTES;
          await copy(source.key, at, at + length);
          at += length;
          continue;
        }
        const take = Math.min(left, Math.max(MIN_PART_BYTES - pendingBytes, 0));
        pending.push(await read(source.key, at, at + take));
        pendingBytes += take;
        at += take;
        if (pendingBytes >= MIN_PART_BYTES) await flushPending();
      }
    }
    await flushPending();
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
