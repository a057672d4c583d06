/**
 * One drift check in a fresh process (so its peak RSS is its own): reads the model, the bucket and
 * the window end from the environment (`BENCH_SUMMARIES=1`: through the per-hour summaries), runs
 * `checkModel`, and reports time, peak RSS and what was on over IPC.
 */
import { readFileSync } from 'node:fs';
import { createS3Client, S3ObjectStore } from '../../src/adapters/aws/s3-store.ts';
import { checkModel } from '../../src/drift/check/check.ts';

const env = process.env;
const client = createS3Client({
  region: env.AWS_REGION ?? 'us-east-1',
  endpoint: env.S3_ENDPOINT,
  forcePathStyle: true,
  requestTimeoutMs: 120_000,
  socketTimeoutMs: 120_000,
});
const store = new S3ObjectStore({ client, bucket: env.MODEL_BUCKET ?? '' });
const end = new Date(env.BENCH_END ?? '');

/**
 * Peak RSS of this process image. `resourceUsage().maxRSS` cannot be used: on Linux it keeps the
 * forking parent's high-water mark across exec. `VmHWM` belongs to the new image; sampling is the
 * fallback elsewhere.
 */
let sampledPeak = process.memoryUsage().rss;
const sampler = setInterval(() => {
  sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss);
}, 20);
function peakRssMb(): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match?.[1]) return (Number(match[1]) * 1024) / 1e6;
  } catch {
    // not Linux
  }
  return Math.max(sampledPeak, process.memoryUsage().rss) / 1e6;
}

const rssBeforeMb = process.memoryUsage().rss / 1e6;
const started = performance.now();
const result = await checkModel(env.BENCH_MODEL ?? '', {
  store,
  end,
  now: end,
  windowHours: 24,
  summaries: env.BENCH_SUMMARIES === '1',
});
const ms = performance.now() - started;
const maxRssMb = peakRssMb();
clearInterval(sampler);
process.send?.({
  ms,
  maxRssMb,
  rssBeforeMb,
  verdict: result.primary?.dataDrift.verdict ?? null,
  predictions: result.primary?.predictions ?? 0,
  joined: result.primary?.joined ?? 0,
  objectsRead: 'objectsRead' in result.scan ? result.scan.objectsRead : result.scan.objects,
  summariesWritten: 'summariesWritten' in result.scan ? result.scan.summariesWritten : 0,
  calibratedFeatures:
    result.primary?.dataDrift.features.filter((f) => f.test?.calibration !== undefined).length ?? 0,
  estimated: result.primary?.estimatedPerformance.verdict ?? null,
  multivariate: result.primary?.multivariateDrift.verdict ?? null,
  dataQuality: result.primary?.dataQuality.verdict ?? null,
  curves: result.primary?.performance.curves?.roc.length ?? 0,
  hours: result.primary?.estimatedPerformance.hourly.length ?? 0,
});
client.destroy();
process.disconnect?.();
