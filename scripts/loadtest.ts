/**
 * `npm run loadtest -- --url <base> --model <name> [--version v] [--connections N] [--duration s]
 *   [--rate r] [--amount n] [--batch n] [--reference file.json] [--sigv4 [--region r]] [--out file]`
 *
 * Load test of a running API (the local stack or a deployed URL). Inputs are synthetic but valid:
 * generated from the model's metadata (`GET /v2/models/{name}`), and, for tabular models with a
 * reference profile (`models/{name}/{v}/reference.json`, given with `--reference`), drawn from the
 * profile's per-feature distributions. Load comes from autocannon; the report (throughput, latency
 * p50/p90/p99/max, errors, status counts) is printed as a table and written as JSON.
 * `--sigv4` signs requests for an API that uses IAM authorisation (credentials from the usual
 * AWS chain); a signature lasts 15 minutes, so a signed run is limited to 900 s.
 */

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor } from 'onnxruntime-node';
import { BINARY_HEADER, tensorBytes } from '../src/codec/binary.ts';
import { ORT_TYPE_OF } from '../src/codec/datatypes.ts';
import { ELEMENT_CODECS } from '../src/codec/elements.ts';
import { SYNTHETIC_HEADER } from '../src/http/app.ts';
import type { Datatype } from '../src/types.ts';
import { parseCli, runCli, UsageError } from './lib/cli.ts';
import { mulberry32 } from './lib/random.ts';
import { signRequest } from './lib/sigv4.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAX_DURATION_S = 3600;
const MAX_CONNECTIONS = 1000;
const DISTINCT_BODIES = 16;

export interface LoadTestOptions {
  url: string;
  model: string;
  version?: string;
  connections?: number;
  durationSeconds?: number;
  /** Requests per second over all connections; unlimited when absent. */
  rate?: number;
  /** Stop after this many requests (also bounded by the duration). */
  amount?: number;
  /** Rows per request for a free batch dimension (default 1). */
  batch?: number;
  /** A reference profile document (reference.json) to draw tabular feature values from. */
  reference?: unknown;
  sigv4?: { region: string; service?: string };
  /** Autocannon's per-request timeout, seconds (default 10). */
  timeoutSeconds?: number;
  /** Send the inputs and ask for the outputs as binary tensor data instead of JSON. */
  binary?: boolean;
  /**
   * Mark every request synthetic (`x-onnx-serve-synthetic: 1`, default true): served as usual, not
   * captured, so a load test never lands in the drift windows. False sends ordinary traffic.
   */
  synthetic?: boolean;
}

interface TensorMeta {
  name: string;
  datatype: string;
  shape: number[];
}

interface ModelMetadata {
  name: string;
  versions?: string[];
  inputs: TensorMeta[];
  outputs: TensorMeta[];
}

export interface LoadTestReport {
  url: string;
  model: string;
  endpoint: string;
  startedAt: string;
  connections: number;
  durationSeconds: number;
  rate: number | null;
  inputSource: 'metadata' | 'reference';
  /** How tensors travelled: JSON, or binary tensor data. */
  bodyFormat: 'json' | 'binary';
  /** Whether the requests were marked synthetic (not captured). */
  synthetic: boolean;
  requests: number;
  throughput: { requestsPerSecond: number; bytesPerSecond: number };
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
}

const rng = mulberry32;

type Sampler = (next: () => number) => number | string | boolean;

/** Per-feature samplers from a reference document's profiles, by feature name. */
function referenceSamplers(reference: unknown): Map<string, Sampler> | undefined {
  if (typeof reference !== 'object' || reference === null) return undefined;
  const features = (reference as { features?: unknown }).features;
  if (!Array.isArray(features)) return undefined;
  const samplers = new Map<string, Sampler>();
  for (const feature of features as { name?: unknown; profile?: Record<string, unknown> }[]) {
    const profile = feature.profile;
    if (typeof feature.name !== 'string' || profile === undefined) continue;
    if (profile.kind === 'numeric') {
      const sketch = (profile.sketch as { values?: unknown } | undefined)?.values;
      const values = Array.isArray(sketch) ? (sketch.filter((v) => typeof v === 'number') as number[]) : [];
      const min = typeof profile.min === 'number' ? profile.min : 0;
      const max = typeof profile.max === 'number' ? profile.max : 1;
      samplers.set(feature.name, (next) =>
        values.length > 0 ? (values[Math.floor(next() * values.length)] ?? min) : min + next() * (max - min),
      );
    } else if (profile.kind === 'categorical') {
      const categories = Array.isArray(profile.categories) ? (profile.categories as string[]) : [];
      const counts = Array.isArray(profile.counts) ? (profile.counts as number[]) : [];
      const total = counts.reduce((a, b) => a + b, 0);
      samplers.set(feature.name, (next) => {
        let pick = next() * total;
        for (let i = 0; i < categories.length; i++) {
          pick -= counts[i] ?? 0;
          if (pick < 0) return categories[i] ?? '';
        }
        return categories[0] ?? '';
      });
    }
  }
  return samplers.size > 0 ? samplers : undefined;
}

function syntheticValue(datatype: string, next: () => number): number | string | boolean {
  switch (datatype) {
    case 'BOOL':
      return next() < 0.5;
    case 'BYTES':
      return `text-${Math.floor(next() * 1000)}`;
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
    case 'UINT64':
      return Math.floor(next() * 10);
    case 'INT8':
    case 'INT16':
    case 'INT32':
    case 'INT64':
      return Math.floor(next() * 10) - 5;
    default:
      return Math.round((next() * 2 - 1) * 1e4) / 1e4;
  }
}

/**
 * A valid inference request body for the model: free dimensions become `batch` (first) or 1; a
 * tabular input (`[N, F]`) takes its features from the reference profile when one is given.
 */
export function syntheticRequest(
  metadata: ModelMetadata,
  options: { batch: number; seed: number; reference?: unknown },
): { body: string; source: 'metadata' | 'reference' } {
  const next = rng(options.seed);
  const samplers = referenceSamplers(options.reference);
  const names = Array.isArray((options.reference as { features?: { name: string }[] } | undefined)?.features)
    ? ((options.reference as { features: { name: string }[] }).features.map((f) => f.name) ?? [])
    : [];
  let source: 'metadata' | 'reference' = 'metadata';
  const inputs = metadata.inputs.map((input) => {
    const shape = input.shape.map((d, i) => (d >= 0 ? d : i === 0 ? options.batch : 1));
    const count = shape.reduce((a, b) => a * b, 1);
    const tabular =
      samplers !== undefined &&
      metadata.inputs.length === 1 &&
      shape.length === 2 &&
      shape[1] === names.length;
    const data: (number | string | boolean)[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const sampler = tabular ? samplers.get(names[i % names.length] ?? '') : undefined;
      const value = sampler ? sampler(next) : syntheticValue(input.datatype, next);
      data[i] = value;
    }
    if (tabular) source = 'reference';
    return { name: input.name, shape, datatype: input.datatype, data };
  });
  return { body: JSON.stringify({ inputs }), source };
}

/**
 * The same request with every input as binary tensor data and every output asked for as binary
 * data: the JSON part, then the inputs' bytes (the binary tensor data extension).
 */
export function binaryRequest(jsonBody: string): { body: Buffer; headers: Record<string, string> } {
  const request = JSON.parse(jsonBody) as {
    inputs: { name: string; shape: number[]; datatype: Datatype; data: unknown[] }[];
  };
  const chunks: Uint8Array[] = [];
  const inputs = request.inputs.map(({ data, ...input }) => {
    const codec = ELEMENT_CODECS[input.datatype];
    const storage = codec.allocate(data.length);
    if (codec.fill(data, storage, 0) !== -1)
      throw new Error(`input ${input.name}: a value does not fit ${input.datatype}`);
    const bytes = tensorBytes(new Tensor(ORT_TYPE_OF[input.datatype], storage, input.shape));
    chunks.push(bytes);
    return { ...input, parameters: { binary_data_size: bytes.byteLength } };
  });
  const json = Buffer.from(JSON.stringify({ inputs, parameters: { binary_data_output: true } }));
  return {
    body: Buffer.concat([json, ...chunks]),
    headers: { 'content-type': 'application/octet-stream', [BINARY_HEADER]: String(json.byteLength) },
  };
}

interface AutocannonResult {
  requests: { average: number; total: number };
  throughput: { average: number };
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats?: Record<string, { count: number }>;
}

type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult> & { stop?: () => void };

function bounded(
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
  name: string,
): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < min || v > max)
    throw new Error(`--${name} must be between ${min} and ${max}`);
  return v;
}

/** Runs the load test; throws for a URL or model the server does not know. */
export async function runLoadTest(options: LoadTestOptions): Promise<LoadTestReport> {
  const base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
  const connections = bounded(options.connections, 10, 1, MAX_CONNECTIONS, 'connections');
  const maxDuration = options.sigv4 ? 900 : MAX_DURATION_S;
  const durationSeconds = bounded(options.durationSeconds, 10, 0.1, maxDuration, 'duration');
  const batch = bounded(options.batch, 1, 1, 65_536, 'batch');
  const modelPath = `v2/models/${encodeURIComponent(options.model)}${
    options.version ? `/versions/${encodeURIComponent(options.version)}` : ''
  }`;
  const metadataUrl = new URL(modelPath, base);
  const inferUrl = new URL(`${modelPath}/infer`, base);
  const sign = options.sigv4;
  const metadataHeaders = sign
    ? await signRequest('GET', metadataUrl, '', {
        region: sign.region,
        service: sign.service ?? 'execute-api',
      })
    : {};
  const response = await fetch(metadataUrl, {
    headers: metadataHeaders,
    signal: AbortSignal.timeout(30_000),
  });
  if (!response.ok) throw new Error(`GET ${metadataUrl}: ${response.status} ${await response.text()}`);
  const metadata = (await response.json()) as ModelMetadata;

  let source: 'metadata' | 'reference' = 'metadata';
  const requests = [];
  for (let i = 0; i < DISTINCT_BODIES; i++) {
    const request = syntheticRequest(metadata, { batch, seed: 1 + i, reference: options.reference });
    source = request.source;
    const plain = options.binary
      ? binaryRequest(request.body)
      : { body: request.body, headers: { 'content-type': 'application/json' } };
    const wire =
      options.synthetic === false
        ? plain
        : { ...plain, headers: { ...plain.headers, [SYNTHETIC_HEADER]: '1' } };
    const headers = sign
      ? await signRequest(
          'POST',
          inferUrl,
          wire.body,
          { region: sign.region, service: sign.service ?? 'execute-api' },
          wire.headers,
        )
      : wire.headers;
    requests.push({
      method: 'POST',
      path: `${inferUrl.pathname}${inferUrl.search}`,
      headers,
      body: wire.body,
    });
  }
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const startedAt = new Date().toISOString();
  const result = await autocannon({
    url: inferUrl.origin,
    connections,
    duration: durationSeconds,
    ...(options.rate ? { overallRate: options.rate } : {}),
    ...(options.amount ? { amount: options.amount } : {}),
    timeout: options.timeoutSeconds ?? 10,
    requests,
  });
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stats.count;
  return {
    url: base.href,
    model: options.model,
    endpoint: inferUrl.href,
    startedAt,
    connections,
    durationSeconds,
    rate: options.rate ?? null,
    inputSource: source,
    bodyFormat: options.binary ? 'binary' : 'json',
    synthetic: options.synthetic !== false,
    requests: result.requests.total,
    throughput: { requestsPerSecond: result.requests.average, bytesPerSecond: result.throughput.average },
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.mean,
    },
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes,
  };
}

export function formatReport(report: LoadTestReport): string {
  const rows: [string, string][] = [
    ['endpoint', report.endpoint],
    [
      'connections / duration',
      `${report.connections} / ${report.durationSeconds} s${report.rate ? ` @ ${report.rate} req/s` : ''}`,
    ],
    ['inputs', report.inputSource === 'reference' ? 'from the reference profile' : 'from the model metadata'],
    ['tensors as', report.bodyFormat === 'binary' ? 'binary tensor data' : 'JSON'],
    ['traffic', report.synthetic ? 'synthetic (not captured)' : 'ordinary (captured)'],
    ['requests', String(report.requests)],
    ['throughput', `${report.throughput.requestsPerSecond.toFixed(1)} req/s`],
    [
      'latency p50 / p90 / p99 / max',
      `${report.latencyMs.p50} / ${report.latencyMs.p90} / ${report.latencyMs.p99} / ${report.latencyMs.max} ms`,
    ],
    ['errors / timeouts / non-2xx', `${report.errors} / ${report.timeouts} / ${report.non2xx}`],
    [
      'status codes',
      Object.entries(report.statusCodes)
        .map(([c, n]) => `${c}: ${n}`)
        .join(', ') || '–',
    ],
  ];
  return `${rows.map(([k, v]) => `${k.padEnd(30)} ${v}`).join('\n')}\n`;
}

const USAGE = `usage:
  npm run loadtest -- --url <base> --model <name> [--version v] [--connections N] [--duration s]
                      [--rate r] [--amount n] [--batch n] [--reference reference.json] [--binary]
                      [--sigv4 --region r] [--out file.json] [--real-traffic]
Requests are marked synthetic (header x-onnx-serve-synthetic: 1): served as usual, never captured.
--real-traffic sends them unmarked, so that they are captured like any client's.`;

async function main(argv: string[]): Promise<void> {
  const { values } = parseCli(argv, USAGE, {
    url: { type: 'string' },
    model: { type: 'string' },
    version: { type: 'string' },
    connections: { type: 'string' },
    duration: { type: 'string' },
    rate: { type: 'string' },
    amount: { type: 'string' },
    batch: { type: 'string' },
    reference: { type: 'string' },
    sigv4: { type: 'boolean', default: false },
    binary: { type: 'boolean', default: false },
    region: { type: 'string' },
    out: { type: 'string' },
    'real-traffic': { type: 'boolean', default: false },
  });
  if (values.url === undefined) throw new UsageError('--url is required');
  if (values.model === undefined) throw new UsageError('--model is required');
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const reference = values.reference ? JSON.parse(await readFile(values.reference, 'utf8')) : undefined;
  const report = await runLoadTest({
    url: values.url,
    model: values.model,
    version: values.version,
    connections: num(values.connections),
    durationSeconds: num(values.duration),
    rate: num(values.rate),
    amount: num(values.amount),
    batch: num(values.batch),
    reference,
    binary: values.binary,
    synthetic: !values['real-traffic'],
    sigv4: values.sigv4 ? { region: values.region ?? process.env.AWS_REGION ?? 'us-east-1' } : undefined,
  });
  const out = resolve(
    values.out ??
      join(ROOT, '.local/loadtest', `${values.model}-${report.startedAt.replace(/[:.]/g, '-')}.json`),
  );
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(formatReport(report));
  process.stdout.write(`report: ${out}\n`);
}

runCli(import.meta.url, USAGE, (argv) => main(argv));
