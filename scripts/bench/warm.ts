/**
 * Warm sections: (1) the http handler bundle invoked in-process with API Gateway events vs raw
 * `session.run` on the same inputs; (2) JSON tensor payload decode/encode; (4) onnxruntime-node vs
 * onnxruntime-web (wasm).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as ortNode from 'onnxruntime-node';
import { decodeInputs } from '../../src/codec/decode.ts';
import { encodeOutputs } from '../../src/codec/encode.ts';
import { stringifyJson } from '../../src/codec/json.ts';
import { parseInferenceBody, parseInferenceRequest, parseJsonBody } from '../../src/codec/parse-request.ts';
import { readServingConfig } from '../../src/config/serving-config.ts';
import { DEFAULT_SESSION_OPTIONS } from '../../src/runtime/model-loader.ts';
import { deriveSignature } from '../../src/runtime/signature.ts';
import { createServing } from '../../src/serving.ts';
import { binaryEvent, binaryPayloadSpeed, binaryRequestBody } from './binary.ts';
import {
  BENCH_SESSION_OPTIONS,
  type BenchModel,
  type BenchS3,
  progress,
  ROOT,
  rampInput,
  randomFloats,
  summarize,
} from './common.ts';
import type { Row } from './report.ts';

/** The serving core's HTTP entry (`createServing(...).handle`). */
export type Core = ReturnType<typeof createServing>;
type Handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

export interface WarmOptions {
  /** Timed calls per side per round, and rounds (handler and raw alternate each round). */
  calls: number;
  rounds: number;
  warmup: number;
  batches: { model: string; batch: number }[];
}

export function apiEvent(path: string, body: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: {
      accountId: '000000000000',
      apiId: 'bench',
      domainName: 'bench.local',
      domainPrefix: 'bench',
      http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
      requestId: 'bench',
      routeKey: '$default',
      stage: '$default',
      time: '25/Nov/2026:00:00:00 +0000',
      timeEpoch: 0,
    },
    body,
    isBase64Encoded: false,
  };
}

export function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'onnx-serve-bench-http',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:onnx-serve-bench-http',
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/onnx-serve-bench-http',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => 29_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Runs `fn` with stdout discarded (the handler's log and capture lines), as if piped to /dev/null. */
async function quiet<T>(fn: () => Promise<T>): Promise<T> {
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = write;
  }
}

export function createCore(s3: BenchS3, env: Record<string, string> = {}): Core {
  return createServing(readServingConfig({ ...s3.env, CAPTURE_ENABLED: 'false', ...env }), {
    store: s3.store,
  });
}

/** The serving core with sessions in this process: the baseline of the isolation cost row. */
export function createInProcessCore(s3: BenchS3): Core {
  return createCore(s3, { INFERENCE_ISOLATION: 'none' });
}

export async function loadHttpHandler(s3: BenchS3): Promise<Handler> {
  Object.assign(process.env, s3.env);
  const url = pathToFileURL(join(ROOT, 'dist/http/index.mjs')).href;
  const module = (await import(url)) as { handler: Handler };
  return module.handler;
}

export function inputData(model: BenchModel, batch: number): { shape: number[]; data: Float32Array } {
  const shape = [batch, ...model.rowShape.slice(1)];
  const count = shape.reduce((a, b) => a * b, 1);
  const data = model.name.startsWith('resnet50') ? rampInput(count) : randomFloats(count, 42 + batch);
  return { shape, data };
}

export function requestBody(model: BenchModel, shape: number[], data: Float32Array): string {
  return JSON.stringify({ inputs: [{ name: model.input, shape, datatype: 'FP32', data: Array.from(data) }] });
}

/** Section 1: handler vs raw session.run, interleaved rounds, per-call durations. */
export async function warmOverhead(
  handler: Handler,
  core: Core,
  models: readonly BenchModel[],
  options: WarmOptions,
  inProcess?: Core,
): Promise<{ rows: Row[]; handlerMs: Record<string, number>; raw: Record<string, unknown> }> {
  const rows: Row[] = [];
  const handlerMs: Record<string, number> = {};
  const raw: Record<string, unknown> = {};
  for (const { model: name, batch } of options.batches) {
    const model = models.find((m) => m.name === name);
    if (model === undefined) continue;
    progress(`warm overhead: ${name} batch ${batch}`);
    const session = await ortNode.InferenceSession.create(model.bytes, BENCH_SESSION_OPTIONS);
    const { shape, data } = inputData(model, batch);
    const feeds = { [model.input]: new ortNode.Tensor('float32', data, shape) };
    const event = apiEvent(`/v2/models/${name}/infer`, requestBody(model, shape, data));
    const context = lambdaContext();
    const callHandler = async () => {
      const result = await handler(event, context);
      if (result.statusCode !== 200) throw new Error(`handler answered ${result.statusCode}: ${result.body}`);
    };
    // The serving core alone (routing, JSON decode, run, encode; no Lambda wrapper, no capture),
    // to split the handler's overhead into core and wrapper.
    const bodyBytes = Buffer.from(event.body ?? '', 'utf8');
    const callCore = async () => {
      const outcome = await core.handle({ method: 'POST', path: event.rawPath, body: bodyBytes });
      if (outcome.response.status !== 200) throw new Error(`core answered ${outcome.response.status}`);
    };
    // The same core with the model's session in this process (INFERENCE_ISOLATION=none): what
    // running each model in a process of its own costs per request.
    const callInProcess = async () => {
      if (inProcess === undefined) return;
      const outcome = await inProcess.handle({ method: 'POST', path: event.rawPath, body: bodyBytes });
      if (outcome.response.status !== 200)
        throw new Error(`in-process core answered ${outcome.response.status}`);
    };
    const inProcessTimes: number[] = [];
    // The same request with the input and every output as binary tensor data, as API Gateway
    // delivers it (base64 body) and takes the answer back (base64 body).
    const binary = binaryRequestBody(model.input, shape, data);
    const binaryEventOf = binaryEvent(event, binary.body, binary.jsonLength);
    const callBinary = async () => {
      const result = await handler(binaryEventOf, context);
      if (result.statusCode !== 200 || result.isBase64Encoded !== true) {
        throw new Error(`handler answered ${result.statusCode} to a binary request: ${result.body}`);
      }
    };
    const handlerTimes: number[] = [];
    const binaryTimes: number[] = [];
    const rawTimes: number[] = [];
    const coreTimes: number[] = [];
    await quiet(async () => {
      for (let i = 0; i < options.warmup; i++) {
        await callHandler();
        await callBinary();
        await callCore();
        await callInProcess();
        await session.run(feeds);
      }
      for (let round = 0; round < options.rounds; round++) {
        for (let i = 0; i < options.calls; i++) {
          const t = performance.now();
          await callHandler();
          handlerTimes.push(performance.now() - t);
        }
        for (let i = 0; i < options.calls; i++) {
          const t = performance.now();
          await callBinary();
          binaryTimes.push(performance.now() - t);
        }
        for (let i = 0; i < options.calls; i++) {
          const t = performance.now();
          await session.run(feeds);
          rawTimes.push(performance.now() - t);
        }
        for (let i = 0; i < Math.ceil(options.calls / 2); i++) {
          const t = performance.now();
          await callCore();
          coreTimes.push(performance.now() - t);
        }
        if (inProcess !== undefined) {
          for (let i = 0; i < Math.ceil(options.calls / 2); i++) {
            const t = performance.now();
            await callInProcess();
            inProcessTimes.push(performance.now() - t);
          }
        }
      }
    });
    await session.release();
    const h = summarize(handlerTimes);
    const r = summarize(rawTimes);
    handlerMs[`${name}@${batch}`] = h.median;
    const c = summarize(coreTimes);
    const b = summarize(binaryTimes);
    raw[`${name}@${batch}`] = {
      handler: h,
      binary: b,
      raw: r,
      core: c,
      bodyBytes: bodyBytes.byteLength,
      binaryBodyBytes: binary.body.byteLength,
    };
    // The core runs without capture, so the -nocapture models would repeat these rows.
    if (inProcessTimes.length > 0 && !name.includes('nocapture')) {
      const p = summarize(inProcessTimes);
      const cost = c.median - p.median;
      // A small model's request is where a fixed cost shows; larger tensors are reported.
      const small = name.startsWith('breast-cancer');
      rows.push({
        section: '1 warm overhead',
        what: `${name}, batch ${batch}, model in its own process vs in-process session`,
        ours: { summary: c, unit: 'ms' },
        baseline: { summary: p, unit: 'ms' },
        baselineName: 'core, session in process',
        ratioName: 'isolated/in-process',
        ratio: c.median / p.median,
        target: small ? 'isolation ≤ 0.1 ms a request' : undefined,
        met: small ? cost <= 0.1 : undefined,
        note: `isolation costs ${(cost * 1000).toFixed(0)} µs a request (IPC round trip, tensors cloned both ways)`,
      });
    }
    for (const [path, summary] of [
      ['JSON', h],
      ['binary tensors', b],
    ] as const) {
      const ratio = summary.median / r.median;
      const overhead = summary.median - r.median;
      const base = {
        section: '1 warm overhead',
        what: `${name}, batch ${batch}, ${path}`,
        ours: { summary, unit: 'ms' },
        baseline: { summary: r, unit: 'ms' },
        baselineName: 'raw session.run',
        ratioName: 'handler/raw',
        ratio,
      };
      const core = path === 'JSON' ? `; core without capture ${c.median.toFixed(3)} ms` : '';
      if (name.startsWith('breast-cancer')) {
        rows.push({
          ...base,
          target: 'overhead ≤ 0.3 ms',
          met: overhead <= 0.3,
          note: `overhead ${overhead.toFixed(3)} ms${core}`,
        });
      } else {
        rows.push({
          ...base,
          target: '≤ 1.10',
          met: ratio <= 1.1,
          note: `overhead ${overhead.toFixed(2)} ms${core}`,
        });
      }
    }
  }
  return { rows, handlerMs, raw };
}

/**
 * Section 2: JSON decode (parse + validate + typed array) and encode (tensor → JSON text) of
 * 1×3×224×224 FP32, and the same through the binary tensor data extension.
 */
export async function payloadSpeed(
  resnet: BenchModel,
  repeats: number,
): Promise<{
  rows: Row[];
  decodeMs: number;
  fastDecodeMs: number;
  encodeMs: number;
  bodyBytes: number;
  binaryDecodeMs: number;
  binaryEncodeMs: number;
}> {
  progress('payload: 1×3×224×224 FP32 JSON and binary decode/encode');
  const session = await ortNode.InferenceSession.create(resnet.bytes, DEFAULT_SESSION_OPTIONS);
  const { signature } = deriveSignature(session.inputMetadata, session.outputMetadata);
  await session.release();
  const { shape, data } = inputData(resnet, 1);
  const body = requestBody(resnet, shape, data);
  const bodyBytes = Buffer.byteLength(body);
  const tensor = new ortNode.Tensor('float32', data, shape);
  const decodeTimes: number[] = [];
  const fastTimes: number[] = [];
  const encodeTimes: number[] = [];
  for (let i = 0; i < repeats + 2; i++) {
    let t = performance.now();
    const request = parseInferenceRequest(parseJsonBody(body));
    const feeds = decodeInputs(request.inputs, signature.inputs);
    const decoded = performance.now() - t;
    if (feeds[resnet.input]?.size !== data.length) throw new Error('decode lost elements');
    // What the HTTP API does: flat numeric data scanned straight into a Float32Array.
    t = performance.now();
    const fastFeeds = decodeInputs(parseInferenceRequest(parseInferenceBody(body)).inputs, signature.inputs);
    const fast = performance.now() - t;
    const a = feeds[resnet.input]?.data as Float32Array;
    const b = fastFeeds[resnet.input]?.data as Float32Array;
    if (b.length !== a.length || b.some((value, k) => !Object.is(value, a[k]))) {
      throw new Error('the JSON fast path decoded other values than the general parser');
    }
    t = performance.now();
    const text = stringifyJson({ model_name: 'resnet50', outputs: encodeOutputs({ out: tensor }) });
    const encoded = performance.now() - t;
    if (text.length < data.length) throw new Error('encode lost elements');
    if (i >= 2) {
      decodeTimes.push(decoded);
      fastTimes.push(fast);
      encodeTimes.push(encoded);
    }
  }
  const d = summarize(decodeTimes);
  const f = summarize(fastTimes);
  const e = summarize(encodeTimes);
  const spec = signature.inputs.find((input) => input.name === resnet.input);
  if (spec === undefined) throw new Error(`resnet input ${resnet.input} not in the signature`);
  const binary = binaryPayloadSpeed(spec, shape, data, repeats);
  const mb = bodyBytes / 1e6;
  const rows: Row[] = [
    {
      section: '2 payload',
      what: `JSON decode, 1×3×224×224 FP32 (${mb.toFixed(2)} MB body)`,
      ours: { summary: summarize(decodeTimes.map((ms) => mb / (ms / 1000))), unit: 'MB/s' },
      note: `${d.median.toFixed(1)} ms per request; JSON.parse, then the typed array`,
    },
    {
      section: '2 payload',
      what: `JSON decode with the flat-array fast path (what the API does), same body`,
      ours: { summary: summarize(fastTimes.map((ms) => mb / (ms / 1000))), unit: 'MB/s' },
      baseline: { summary: summarize(decodeTimes.map((ms) => mb / (ms / 1000))), unit: 'MB/s' },
      baselineName: 'JSON.parse path',
      ratioName: 'general/fast time',
      ratio: d.median / f.median,
      note: `${f.median.toFixed(1)} ms per request; same float32 values checked`,
    },
    {
      section: '2 payload',
      what: 'JSON encode, same tensor as an output',
      ours: { summary: summarize(encodeTimes.map((ms) => mb / (ms / 1000))), unit: 'MB/s' },
      note: `${e.median.toFixed(1)} ms per response`,
    },
    ...binary.rows,
  ];
  return {
    rows,
    decodeMs: d.median,
    fastDecodeMs: f.median,
    encodeMs: e.median,
    bodyBytes,
    binaryDecodeMs: binary.decodeMs,
    binaryEncodeMs: binary.encodeMs,
  };
}

/**
 * Quiet time before each measured block of section 4. Both runtimes leave a pool thread spinning
 * for about 30–45 ms after their last run (measured: one core busy, then idle), which on a small
 * machine steals a core from the other runtime's next call; 100 ms lets it park.
 */
export const RUNTIME_BLOCK_PAUSE_MS = 100;

/**
 * Section 4: onnxruntime-node vs onnxruntime-web (wasm, same thread count) on the same inputs.
 *
 * Each runtime is measured in blocks, never call by call: alternating single calls put one
 * runtime's run next to the other's still-spinning threads and slowed both 2–3× (mlp-3m batch 64:
 * node 7 ms interleaved vs 2.4 ms alone). Each round runs one block per runtime, which one goes
 * first alternates between rounds, and every block starts after a pause and a few discarded calls.
 */
export async function runtimeChoice(
  models: readonly BenchModel[],
  cases: { model: string; batch: number }[],
  options: { calls: number; rounds: number; warmup: number; threads: number },
): Promise<Row[]> {
  const ortWeb = await import('onnxruntime-web');
  ortWeb.env.wasm.numThreads = options.threads;
  ortWeb.env.logLevel = 'error';
  const rows: Row[] = [];
  for (const { model: name, batch } of cases) {
    const model = models.find((m) => m.name === name);
    if (model === undefined) continue;
    progress(`runtime choice: ${name} batch ${batch}`);
    const { shape, data } = inputData(model, batch);
    const nodeSession = await ortNode.InferenceSession.create(model.bytes, {
      ...DEFAULT_SESSION_OPTIONS,
      intraOpNumThreads: options.threads,
    });
    const webSession = await ortWeb.InferenceSession.create(model.bytes, {
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
    const nodeFeeds = { [model.input]: new ortNode.Tensor('float32', data, shape) };
    const webFeeds = { [model.input]: new ortWeb.Tensor('float32', data, shape) };
    const nodeTimes: number[] = [];
    const webTimes: number[] = [];
    const block = async (run: () => Promise<unknown>, times: number[]) => {
      await sleep(RUNTIME_BLOCK_PAUSE_MS);
      for (let i = 0; i < options.warmup; i++) await run();
      for (let i = 0; i < options.calls; i++) {
        const t = performance.now();
        await run();
        times.push(performance.now() - t);
      }
    };
    const runNode = () => nodeSession.run(nodeFeeds);
    const runWeb = () => webSession.run(webFeeds);
    for (let round = 0; round < options.rounds; round++) {
      if (round % 2 === 0) {
        await block(runNode, nodeTimes);
        await block(runWeb, webTimes);
      } else {
        await block(runWeb, webTimes);
        await block(runNode, nodeTimes);
      }
    }
    await nodeSession.release();
    await webSession.release();
    const n = summarize(nodeTimes);
    const w = summarize(webTimes);
    const ratio = w.median / n.median;
    rows.push({
      section: '4 runtime',
      what: `${name}, batch ${batch}`,
      ours: { summary: n, unit: 'ms' },
      baseline: { summary: w, unit: 'ms' },
      baselineName: 'onnxruntime-web (wasm)',
      ratioName: 'web/node',
      ratio,
      target: batch >= 64 ? '≥ 3 (expected)' : undefined,
      met: batch >= 64 ? ratio >= 3 : undefined,
    });
  }
  return rows;
}
