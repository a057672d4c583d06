/**
 * `npm run demo:traffic -- --rollout`: the rollout walk-through of docs/model-repository.md against
 * the running local stack. A two-feature classifier `rollout-demo` is published as version 1
 * (argmax of the features) and a challenger as version 2 (argmax of x0 and 2·x1); the true class of
 * a row is argmax of (x0, 1.5·x1), so each version is wrong on its own band of rows and the
 * challenger on half as many (1/12 of uniform rows against 1/6).
 *
 * 1. **shadow**: version 2 runs on a copy of every request, captured, never answering.
 * 2. **canary**: 10 % of the request ids are answered by version 2.
 * Outcomes are posted for every prediction, then a drift run compares the versions and prints its
 * verdicts (and writes the ModelRolloutVerdict event to `<state-dir>/events.jsonl`).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FileEventPublisher } from '../src/adapters/file/file-event-publisher.ts';
import { captureOfStoredLine } from '../src/capture/log-line.ts';
import type { RolloutResult } from '../src/drift/check/rollout.ts';
import { runDriftChecks } from '../src/drift/check/run.ts';
import type { ObjectStore, StreamingObjectStore } from '../src/ports/object-store.ts';
import { mulberry32 } from './lib/random.ts';
import { expectedLabel, TWO_CLASS_CONFIG, twoClassModel } from './lib/rollout-models.ts';
import { openLocalStore, readStackSettings, type StackSettings } from './local/stack-settings.ts';

export const ROLLOUT_DEMO_MODEL = 'rollout-demo';
const CHAMPION = [1, 1] as const;
const CHALLENGER = [1, 2] as const;
const TRUTH = [1, 1.5] as const;

export interface RolloutDemoResult {
  /** Share of the canary phase's requests answered by version 2. */
  canaryShare: number;
  /** Shadow predictions captured in the shadow phase. */
  shadowCaptured: number;
  rollout?: RolloutResult;
}

/**
 * Runs the walk-through; `requests` per phase.
 *
 * @example
 * ```ts
 * const result = await runRolloutDemo({ stack, store, stateDir, requests: 1000, print: console.log });
 * result.rollout?.comparisons; // canary and shadow verdicts
 * ```
 */
export async function runRolloutDemo(options: {
  stack: StackSettings;
  store: StreamingObjectStore;
  stateDir: string;
  requests: number;
  timeoutMs: number;
  print: (line: string) => void;
}): Promise<RolloutDemoResult> {
  const { stack, store, print } = options;
  const model = ROLLOUT_DEMO_MODEL;
  const random = mulberry32(19);
  const tag = Date.now().toString(36);
  const putConfig = (extra: Record<string, unknown>) =>
    store.put(`models/${model}/config.json`, JSON.stringify({ ...TWO_CLASS_CONFIG, ...extra }));

  print(`${model}: version 1 answers; version 2 (the challenger) is published and pinned out of the default`);
  await putConfig({ default_version: 1 });
  await store.put(`models/${model}/1/model.onnx`, twoClassModel(CHAMPION));
  await store.put(`models/${model}/2/model.onnx`, twoClassModel(CHALLENGER));
  // Versions are served once the stack's validation has passed them.
  for (const version of [1, 2]) await waitUntilValidated(store, model, version, options.timeoutMs);
  const refreshMs = Number(process.env.MODEL_REFRESH_SECONDS ?? '5') * 1000;
  const truth = new Map<string, number>();
  const phase = async (name: string) => {
    const answers: { id: string; version: string }[] = [];
    for (let at = 0; at < options.requests; at += 16) {
      const batch = Array.from({ length: Math.min(16, options.requests - at) }, (_, k) => {
        const row: [number, number] = [random(), random()];
        const id = `${name}-${tag}-${at + k}`;
        truth.set(id, expectedLabel(TRUTH, row));
        return { id, row };
      });
      answers.push(
        ...(await Promise.all(
          batch.map(async ({ id, row }) => {
            const body = (await postJson(`${stack.apiUrl}/v2/models/${model}/infer`, {
              id,
              inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP32', data: [row] }],
            })) as { model_version: string };
            return { id, version: body.model_version };
          }),
        )),
      );
    }
    return answers;
  };

  print(`shadow: {"default_version": 1, "shadow": [2]}; waiting ${refreshMs / 1000} s for the refresh`);
  await putConfig({ default_version: 1, shadow: [2] });
  await sleep(refreshMs + 500);
  const shadowed = await phase('shadow');
  print(
    `  ${shadowed.length} requests, answered by version(s) ${[...new Set(shadowed.map((a) => a.version))].join(', ')}`,
  );

  print(`canary: {"traffic": {"1": 90, "2": 10}}; waiting ${refreshMs / 1000} s for the refresh`);
  await putConfig({ traffic: { '1': 90, '2': 10 } });
  await sleep(refreshMs + 500);
  const canary = await phase('canary');
  const canaryShare = canary.filter((a) => a.version === '2').length / canary.length;
  print(`  ${canary.length} requests, ${(canaryShare * 100).toFixed(1)} % answered by version 2`);

  // Every answer is captured; a shadow run is captured when it finished within SHADOW_BUDGET_MS
  // (on a busy machine some do not), in the same record batch as its request's answer.
  const answered = shadowed.length + canary.length;
  const captured = await waitForCaptures(store, model, answered, options.timeoutMs);
  const missed = shadowed.length - captured.shadow;
  print(
    `captured ${captured.total} predictions (${captured.shadow} of them shadow predictions${missed > 0 ? `; ${missed} shadow runs missed SHADOW_BUDGET_MS and were not captured` : ''})`,
  );
  await postJson(`${stack.apiUrl}/v2/models/${model}/outcomes`, {
    outcomes: [...truth].map(([id, value]) => ({ id, value })),
  });
  print(`posted ${truth.size} outcomes`);

  const [outcome] = await runDriftChecks({
    store,
    publisher: new FileEventPublisher(join(options.stateDir, 'events.jsonl')),
    models: [model],
  });
  const rollout = outcome?.status === 'checked' ? outcome.report.rollout : undefined;
  for (const version of rollout?.versions ?? []) {
    print(
      `  version ${version.version} (${version.role}): ${version.predictions} predictions, ${version.joined} with outcome, accuracy ${version.accuracy === null ? '–' : `${(version.accuracy * 100).toFixed(1)} %`}${version.agreement ? `, agrees with the primary on ${((version.agreement.label_agreement ?? 0) * 100).toFixed(1)} %` : ''}`,
    );
  }
  for (const c of rollout?.comparisons ?? []) {
    print(
      `  version ${c.challenger} as ${c.kind} vs ${c.primary}: ${c.verdict} (${c.test}, p = ${c.p_value?.toPrecision(3) ?? '–'})`,
    );
  }
  if (outcome?.status === 'checked') print(`  report: ${outcome.keys.html}`);
  return { canaryShare, shadowCaptured: captured.shadow, ...(rollout ? { rollout } : {}) };
}

/**
 * `demo:traffic --rollout [--requests N] [--state-dir DIR] [--timeout-seconds S]`.
 *
 * @example
 * ```ts
 * const result = await rolloutMain(['--rollout', '--requests', '500', '--state-dir', stack.stateDir]);
 * ```
 */
export async function rolloutMain(
  argv: string[],
  print: (line: string) => void = console.log,
): Promise<RolloutDemoResult> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      rollout: { type: 'boolean' },
      requests: { type: 'string', default: '1000' },
      'state-dir': { type: 'string' },
      'timeout-seconds': { type: 'string', default: '60' },
    },
  });
  const requests = Number(values.requests);
  const timeout = Number(values['timeout-seconds']);
  if (!(Number.isInteger(requests) && requests > 0))
    throw new Error('--requests must be a positive whole number');
  if (!(timeout > 0)) throw new Error('--timeout-seconds must be a positive number');
  const stateDir = values['state-dir'] ?? join(fileURLToPath(new URL('..', import.meta.url)), '.local');
  const stack = await readStackSettings(stateDir);
  if (!stack) throw new Error(`no local stack found in ${stateDir}; run npm start first`);
  return runRolloutDemo({
    stack,
    store: openLocalStore(stack.s3),
    stateDir,
    requests,
    timeoutMs: timeout * 1000,
    print,
  });
}

/** POSTs `body` as JSON and returns the parsed answer; any status but 2xx throws with its text. */
export async function postJson(url: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as unknown;
}

async function waitForCaptures(
  store: StreamingObjectStore,
  model: string,
  count: number,
  timeoutMs: number,
): Promise<{ total: number; shadow: number }> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    let total = 0;
    let shadow = 0;
    for (const { key } of (await store.list(`captures/${model}/`)).objects) {
      for (const line of new TextDecoder().decode((await store.get(key))?.body).split('\n')) {
        const record = captureOfStoredLine(line);
        if (record === undefined) continue;
        total++;
        if (record.shadow === true) shadow++;
      }
    }
    if (total - shadow >= count) return { total, shadow };
    if (Date.now() > deadline)
      throw new Error(`${total - shadow} of ${count} answers captured after ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** Waits for the validation verdict of an upload (metadata.json describing its current ETag). */
async function waitUntilValidated(
  store: Pick<ObjectStore, 'get' | 'head'>,
  model: string,
  version: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const upload = await store.head(`models/${model}/${version}/model.onnx`);
    const metadata = await store.get(`models/${model}/${version}/metadata.json`);
    if (upload !== undefined && metadata !== undefined) {
      try {
        const record = JSON.parse(new TextDecoder().decode(metadata.body)) as { etag?: string };
        if (record.etag === upload.etag) return;
      } catch {
        // Caught mid-write: read again.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`model '${model}' version ${version} has no validation verdict after ${timeoutMs} ms`);
}
