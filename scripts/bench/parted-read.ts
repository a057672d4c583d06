/**
 * Section 3b: how to read a large model file from S3 — one GET against parallel ranged GETs of
 * several part sizes and concurrencies, through the S3 latency proxy, in this process. The
 * product's defaults (`DEFAULT_PARTED_READ`) come from this measurement.
 */
import { createS3Client, S3ObjectStore } from '../../src/adapters/aws/s3-store.ts';
import { DEFAULT_PARTED_READ, readInParts } from '../../src/runtime/parallel-read.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/s3-server.ts';
import { type BenchS3, progress, type Summary, summarize } from './common.ts';
import type { Row } from './report.ts';
import type { S3LatencyProxy } from './s3-latency-proxy.ts';

const MIB = 1024 * 1024;

export interface PartedReadVariant {
  label: string;
  partBytes?: number;
  concurrency?: number;
}

export const PARTED_READ_GRID: PartedReadVariant[] = [
  { label: 'one GET' },
  { label: '8 MiB × 4', partBytes: 8 * MIB, concurrency: 4 },
  { label: '8 MiB × 8', partBytes: 8 * MIB, concurrency: 8 },
  { label: '8 MiB × 16', partBytes: 8 * MIB, concurrency: 16 },
  { label: '4 MiB × 16', partBytes: 4 * MIB, concurrency: 16 },
  { label: '16 MiB × 8', partBytes: 16 * MIB, concurrency: 8 },
  { label: 'defaults (size / 16 within 2–8 MiB, × 16)' },
];

/** Times each variant reading `key` (of `size` bytes) through the proxy, in alternating rounds. */
export async function partedReadRows(
  s3: BenchS3,
  proxy: S3LatencyProxy,
  objects: { key: string; size: number; label: string }[],
  options: { rounds: number; variants?: PartedReadVariant[] },
): Promise<{ rows: Row[]; raw: Record<string, Record<string, Summary>> }> {
  const client = createS3Client({
    region: LOCAL_REGION,
    endpoint: proxy.endpoint,
    forcePathStyle: true,
    credentials: { ...LOCAL_CREDENTIALS },
  });
  const store = new S3ObjectStore({ client, bucket: s3.bucket });
  const variants = options.variants ?? PARTED_READ_GRID;
  const rows: Row[] = [];
  const raw: Record<string, Record<string, Summary>> = {};
  try {
    for (const object of objects) {
      const info = await store.head(object.key);
      const times = new Map<string, number[]>(variants.map((v) => [v.label, []]));
      for (let round = -1; round < options.rounds; round++) {
        for (const variant of variants) {
          const started = performance.now();
          const read =
            variant.label === 'one GET'
              ? await store.get(object.key)
              : await readInParts(
                  store,
                  object.key,
                  { size: object.size, etag: info?.etag },
                  variant.partBytes === undefined
                    ? DEFAULT_PARTED_READ
                    : {
                        thresholdBytes: 0,
                        minPartBytes: variant.partBytes,
                        maxPartBytes: variant.partBytes,
                        concurrency: variant.concurrency ?? 1,
                      },
                );
          if (read?.size !== object.size) throw new Error(`${variant.label}: read ${read?.size} bytes`);
          if (round >= 0) times.get(variant.label)?.push(performance.now() - started);
        }
        progress(`parted read ${object.label}: round ${round + 1}/${options.rounds}`);
      }
      const single = summarize(times.get('one GET') ?? []);
      const summaries: Record<string, Summary> = {};
      raw[object.label] = summaries;
      for (const variant of variants) {
        const summary = summarize(times.get(variant.label) ?? []);
        summaries[variant.label] = summary;
        if (variant.label === 'one GET') continue;
        rows.push({
          section: '3b model file read',
          what: `${object.label}, S3 latency on: ${variant.label}`,
          ours: { summary, unit: 'ms' },
          baseline: { summary: single, unit: 'ms' },
          baselineName: 'one GET',
          ratioName: 'one GET/parts',
          ratio: single.median / summary.median,
        });
      }
    }
  } finally {
    client.destroy();
  }
  return { rows, raw };
}
