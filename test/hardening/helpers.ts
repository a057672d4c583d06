/**
 * Shared set-up of the hardening tests: the serving core wired as in Lambda (createServing) over a
 * real S3-compatible server behind the fault proxy, plus the checks every hostile answer must pass.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { S3ObjectStore } from '../../src/adapters/aws/s3-store.ts';
import { readServingConfig } from '../../src/config/serving-config.ts';
import type { HttpOutcome } from '../../src/http/app.ts';
import { createServing } from '../../src/serving.ts';
import { conformanceDir } from '../helpers/paths.ts';
import type { ClientSettings, TestS3Server } from '../helpers/s3-server.ts';

/** Small retries and timeouts, so that every injected fault resolves within a few seconds. */
export const FAST_CLIENT: ClientSettings = {
  maxAttempts: 1,
  connectionTimeoutMs: 300,
  requestTimeoutMs: 800,
  socketTimeoutMs: 800,
};

export type Serving = ReturnType<typeof createServing>;

export async function reluModel(): Promise<Uint8Array> {
  return readFile(join(conformanceDir(), 'onnx-backend', 'simple', 'test_single_relu_model', 'model.onnx'));
}

/** Patient timeouts, for tests that inject no store faults and must not fail on a busy machine. */
export const PATIENT_CLIENT: ClientSettings = {
  maxAttempts: 3,
  connectionTimeoutMs: 3_000,
  requestTimeoutMs: 10_000,
  socketTimeoutMs: 10_000,
};

/**
 * `createServing` over `s3`, with environment overrides (`MAX_BODY_BYTES`, `MODEL_CACHE_MB`, …)
 * and the S3 client's settings (`FAST_CLIENT` by default, for the fault-injection tests).
 */
export function servingOver(
  s3: TestS3Server,
  env: Record<string, string> = {},
  client: ClientSettings = FAST_CLIENT,
): Serving {
  return createServing(readServingConfig({ MODEL_BUCKET: s3.bucket, REQUIRE_VALIDATION: 'false', ...env }), {
    store: new S3ObjectStore({ client: s3.createClient(client), bucket: s3.bucket }),
  });
}

const encoder = new TextEncoder();

export function bodyOf(value: unknown): Uint8Array {
  return encoder.encode(typeof value === 'string' ? value : JSON.stringify(value));
}

export const validReluRequest = (values: number[] = [-1, 2]) => ({
  inputs: [{ name: 'x', shape: [1, values.length], datatype: 'FP32', data: values }],
});

/**
 * The checks of every refused request: a 4xx, a JSON body that is exactly `{"error": "<text>"}`,
 * and nothing an attacker could learn from: no stack trace, no file path, no S3 key, nothing longer
 * than the bounded quotes of `describe.ts` from the payload (`secret`, when given).
 */
export function assertCleanRejection(outcome: HttpOutcome, secret?: string): void {
  const { status, body, headers } = outcome.response;
  assert.ok(status >= 400 && status < 500, `expected a 4xx, got ${status}: ${body.slice(0, 300)}`);
  assert.equal(headers['content-type'], 'application/json');
  const parsed = JSON.parse(body) as Record<string, unknown>;
  assert.deepEqual(Object.keys(parsed), ['error']);
  assert.equal(typeof parsed.error, 'string');
  assertNoLeak(body, secret);
}

/** No stack frame, no source path, no S3 key of the repository, no long echo of `secret`. */
export function assertNoLeak(text: string, secret?: string): void {
  assert.doesNotMatch(text, /\n\s+at |\bat .*:\d+:\d+/, `stack trace in ${text.slice(0, 300)}`);
  assert.doesNotMatch(
    text,
    /\/(work|home|tmp|var|opt)\/|node_modules|\.[cm]?[jt]s:\d/,
    `path in ${text.slice(0, 300)}`,
  );
  assert.doesNotMatch(
    text,
    /models\/[^ ]*\/model\.onnx|outcomes\/|captures\//,
    `S3 key in ${text.slice(0, 300)}`,
  );
  if (secret !== undefined) assert.ok(!text.includes(secret), `payload echoed in ${text.slice(0, 300)}`);
}

let collect: (() => void) | undefined;

/** A full, synchronous garbage collection (`--expose-gc` switched on at run time). */
export function gc(): void {
  if (collect === undefined) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
}

/** Heap in use after a full collection. */
export function settledHeap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Collects unhandled rejections and uncaught exceptions while `run` runs. */
export async function withoutStrayErrors<T>(run: () => Promise<T>): Promise<{ result: T; stray: unknown[] }> {
  const stray: unknown[] = [];
  const onError = (error: unknown) => stray.push(error);
  process.on('unhandledRejection', onError);
  process.on('uncaughtException', onError);
  try {
    const result = await run();
    // Let rejections of promises nobody awaited surface before looking.
    await new Promise((resolve) => setImmediate(resolve));
    return { result, stray };
  } finally {
    process.off('unhandledRejection', onError);
    process.off('uncaughtException', onError);
  }
}
