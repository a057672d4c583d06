/**
 * Shared pieces of the benchmark suite: statistics, the synthetic models (deterministic weights,
 * built with the project's own graph builder), and the local S3 server the models are served from.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import type { InferenceSession } from 'onnxruntime-node';
import { STREAMING_TIMEOUTS } from '../../handlers/commons/clients.ts';
import { createS3Client, S3ObjectStore } from '../../src/adapters/aws/s3-store.ts';
import { DEFAULT_SESSION_OPTIONS } from '../../src/runtime/model-loader.ts';
import {
  chooseSessionTuning,
  detectCpuEnvironment,
  sessionOptionsOf,
} from '../../src/runtime/session-options.ts';
import { buildDemoModels } from '../demo-models.ts';
import { buildOnnxModel, type Initializer, type NodeSpec } from '../lib/onnx/graph-builder.ts';
import { mulberry32 } from '../lib/random.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/s3-server.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The memory size the benchmarked functions are told they have (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`). */
export const BENCH_MEMORY_MB = 1024;
/** Lambda arm64 price (us-east-1) per GB-second. */
export const PRICE_GB_SECOND_ARM64 = 0.0000133334;

/**
 * The session options the product chooses at `BENCH_MEMORY_MB` on this machine: raw `session.run`
 * baselines use them too, so handler/raw ratios measure the product's overhead, not a difference
 * in thread settings (section 1b compares the settings themselves).
 */
export const BENCH_SESSION_OPTIONS: InferenceSession.SessionOptions = {
  ...DEFAULT_SESSION_OPTIONS,
  ...sessionOptionsOf(chooseSessionTuning(detectCpuEnvironment(BENCH_MEMORY_MB)).tuning),
};
export const RESNET_PATH = join(ROOT, 'test/fixtures/conformance/onnx-backend/light/light_resnet50.onnx');

/** Median and spread of a sample of durations (or rates). */
export interface Summary {
  median: number;
  p10: number;
  p90: number;
  min: number;
  max: number;
  n: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => {
    if (sorted.length === 0) return Number.NaN;
    const pos = (sorted.length - 1) * q;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    const a = sorted[lo] ?? Number.NaN;
    const b = sorted[hi] ?? Number.NaN;
    return a + (b - a) * (pos - lo);
  };
  return {
    median: at(0.5),
    p10: at(0.1),
    p90: at(0.9),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    n: sorted.length,
  };
}

/** Progress lines go to stderr so stdout stays the result. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Deterministic pseudo-random numbers in [0, 1). */
export const random = mulberry32;

export function randomFloats(count: number, seed: number, scale = 1): Float32Array {
  const next = random(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (next() * 2 - 1) * scale;
  return out;
}

/**
 * A multi-layer perceptron: Gemm + Relu per hidden layer, then Gemm + Softmax. Input `input`
 * `[batch, layers[0]]`, output `probabilities` `[batch, last]`. Weights are uniform in
 * ±1/sqrt(fan-in) from a fixed seed, so the same call gives the same bytes.
 */
export function buildMlp(layers: readonly number[], seed = 7): { bytes: Uint8Array; parameters: number } {
  const initializers: Initializer[] = [];
  const nodes: NodeSpec[] = [];
  let previous = 'input';
  let parameters = 0;
  for (let i = 0; i + 1 < layers.length; i++) {
    const fanIn = layers[i] ?? 0;
    const fanOut = layers[i + 1] ?? 0;
    const last = i + 2 === layers.length;
    initializers.push({
      name: `w${i}`,
      elemType: 'float32',
      dims: [fanOut, fanIn],
      data: randomFloats(fanIn * fanOut, seed + i, 1 / Math.sqrt(fanIn)),
    });
    initializers.push({
      name: `b${i}`,
      elemType: 'float32',
      dims: [fanOut],
      data: randomFloats(fanOut, seed + 1000 + i, 0.01),
    });
    parameters += fanIn * fanOut + fanOut;
    const gemm = last ? 'logits' : `h${i}`;
    nodes.push({
      opType: 'Gemm',
      inputs: [previous, `w${i}`, `b${i}`],
      outputs: [gemm],
      attributes: { transB: { int: 1 } },
    });
    if (last) {
      nodes.push({
        opType: 'Softmax',
        inputs: [gemm],
        outputs: ['probabilities'],
        attributes: { axis: { int: -1 } },
      });
    } else {
      nodes.push({ opType: 'Relu', inputs: [gemm], outputs: [`r${i}`] });
      previous = `r${i}`;
    }
  }
  const bytes = buildOnnxModel({
    inputs: [{ name: 'input', elemType: 'float32', shape: ['batch', layers[0] ?? 0] }],
    outputs: [
      { name: 'probabilities', elemType: 'float32', shape: ['batch', layers[layers.length - 1] ?? 0] },
    ],
    initializers,
    nodes,
  });
  return { bytes, parameters };
}

/** The ~3 M parameter MLP (about 12.6 MB): 512 → 1536 → 1536 → 10. Also the ~12 MB cold-start model. */
export const MLP3M_LAYERS = [512, 1536, 1536, 10] as const;
/** The ~100 MB model for cold start: 512 → 4096 → 4096 → 1536 → 10 (about 25 M parameters). */
export const MLP100MB_LAYERS = [512, 4096, 4096, 1536, 10] as const;

/** Suffix of the model copies served with capture off. */
export const NO_CAPTURE = '-nocapture';

export interface BenchModel {
  name: string;
  bytes: Uint8Array;
  config?: Record<string, unknown>;
  /** Input name, shape at batch 1 (the first dimension is the batch). */
  input: string;
  rowShape: number[];
  parameters?: number;
}

export async function benchModels(options: { large: boolean }): Promise<BenchModel[]> {
  const models: BenchModel[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'bench-demo-'));
  try {
    await buildDemoModels(dir);
    const bytes = new Uint8Array(await readFile(join(dir, 'breast-cancer', '1', 'model.onnx')));
    const config = JSON.parse(await readFile(join(dir, 'breast-cancer', 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    models.push({ name: 'breast-cancer', bytes, config, input: 'input', rowShape: [1, 30] });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const mlp = buildMlp(MLP3M_LAYERS);
  models.push({
    name: 'mlp-3m',
    bytes: mlp.bytes,
    parameters: mlp.parameters,
    input: 'input',
    rowShape: [1, 512],
    config: { task: 'other', feature_names: Array.from({ length: 512 }, (_, i) => `f${i}`) },
  });
  models.push({
    name: 'resnet50',
    bytes: new Uint8Array(await readFile(RESNET_PATH)),
    input: 'gpu_0/data_0',
    rowShape: [1, 3, 224, 224],
  });
  // The same models with prediction capture off (config.json `capture.enabled: false`), to show what capture costs.
  for (const name of ['breast-cancer', 'mlp-3m', 'resnet50']) {
    const model = models.find((m) => m.name === name);
    if (model) {
      models.push({
        ...model,
        name: `${name}${NO_CAPTURE}`,
        config: { ...model.config, capture: { enabled: false } },
      });
    }
  }
  if (options.large) {
    const big = buildMlp(MLP100MB_LAYERS, 11);
    models.push({
      name: 'mlp-100mb',
      bytes: big.bytes,
      parameters: big.parameters,
      input: 'input',
      rowShape: [1, 512],
    });
  }
  return models;
}

/** The conformance input of the light models: element i of n is i / n. */
export function rampInput(count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = i / count;
  return out;
}

export interface BenchS3 {
  endpoint: string;
  bucket: string;
  client: S3Client;
  /** A client with the batch function's timeouts for streaming whole objects. */
  streamingClient: S3Client;
  store: S3ObjectStore;
  /** Environment for a handler bundle served from this bucket. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * The bench's S3-compatible server, in a process of its own (`s3-child.ts`): on AWS S3 is remote,
 * so its request handling must not run on the thread of what is timed here.
 */
export async function startBenchS3(): Promise<BenchS3> {
  const directory = await mkdtemp(join(tmpdir(), 'bench-s3-'));
  const bucket = 'bench-bucket';
  const s3 = await startS3Process(directory, bucket).catch(async (error: unknown) => {
    await rm(directory, { recursive: true, force: true });
    throw error;
  });
  const clientWith = (timeouts: { requestTimeoutMs?: number; socketTimeoutMs?: number } = {}) =>
    createS3Client({
      region: LOCAL_REGION,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { ...LOCAL_CREDENTIALS },
      ...timeouts,
    });
  const client = clientWith();
  const streamingClient = clientWith(STREAMING_TIMEOUTS);
  const store = new S3ObjectStore({ client, bucket });
  return {
    endpoint: s3.endpoint,
    bucket,
    client,
    streamingClient,
    store,
    env: {
      MODEL_BUCKET: bucket,
      // The benchmark publishes straight to its bucket, without the validation function.
      REQUIRE_VALIDATION: 'false',
      AWS_REGION: LOCAL_REGION,
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      POWERTOOLS_SERVICE_NAME: 'onnx-serve',
      POWERTOOLS_METRICS_NAMESPACE: 'OnnxServeBench',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(BENCH_MEMORY_MB),
    },
    async close() {
      client.destroy();
      streamingClient.destroy();
      await s3.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

async function startS3Process(
  directory: string,
  bucket: string,
): Promise<{ endpoint: string; close(): Promise<void> }> {
  const child = fork(join(ROOT, 'scripts/bench/s3-child.ts'), [directory, bucket], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  const endpoint = await new Promise<string>((ready, fail) => {
    child.once('message', (message: { endpoint: string }) => ready(message.endpoint));
    child.once('error', fail);
    child.once('exit', (code, signal) =>
      fail(new Error(`the bench's S3 server exited (${code ?? signal}) before listening`)),
    );
  });
  return {
    endpoint,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.disconnect();
      // Ends on its own once disconnected; killed if it has not within 10 s.
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function publish(s3: BenchS3, model: BenchModel): Promise<void> {
  await s3.store.put(`models/${model.name}/1/model.onnx`, model.bytes);
  if (model.config) await s3.store.put(`models/${model.name}/config.json`, JSON.stringify(model.config));
}
