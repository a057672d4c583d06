/**
 * `npm run demo:traffic [-- --model <name>]`: drift monitoring in two minutes against the running
 * local stack (`npm start` in another terminal; `.local/stack.json`).
 *
 * 1. **normal**: the demo model's hold-out rows (`<state-dir>/demo-models/<name>/holdout.csv`) go
 *    to `POST /v2/models/{name}/infer` in batches with request ids, and their true labels to
 *    `POST /v2/models/{name}/outcomes`; once the capture pipeline has filed every prediction, the
 *    drift check runs over a window covering exactly this phase and its verdict is printed.
 * 2. **shifted**: the same rows with some features moved by `--sigma` (3) hold-out standard
 *    deviations, outcomes again, and a check over a window covering only this phase.
 *
 * The phases are told apart by time: each window starts just before the phase's first request and
 * ends just after its outcomes are stored and its captures filed, so neither check sees the other
 * phase's predictions or outcomes. A phase sends every hold-out row once; when they are fewer than
 * the check's `min_predictions` (iris, wine), twice that many rows, the hold-out rows repeated with
 * a little seeded noise. With `--rollout`, the rollout walk-through runs instead (scripts/demo-rollout.ts).
 * Enough features are shifted to reach the dataset's `drift_share` (0.5 by default: 2 of
 * iris's 4 features, 15 of breast-cancer's 30), unless `--shift` names them.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileEventPublisher } from '../src/adapters/file/file-event-publisher.ts';
import { captureOfStoredLine } from '../src/capture/log-line.ts';
import { type ModelRunOutcome, runDriftChecks } from '../src/drift/check/run.ts';
import { DRIFT_DEFAULTS, type DriftSettings, parseDriftSettings } from '../src/drift/check/settings.ts';
import type { DriftReport } from '../src/drift/report/report-types.ts';
import type { StreamingObjectStore } from '../src/ports/object-store.ts';
import { DEMO_MODEL_NAMES } from './demo-models.ts';
import { postJson, rolloutMain } from './demo-rollout.ts';
import { parseCli, runCli, UsageError } from './lib/cli.ts';
import { mulberry32 } from './lib/random.ts';
import { openLocalStore, readStackSettings, type StackSettings } from './local/stack-settings.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOUR_MS = 3_600_000;

const USAGE = `usage:
  npm run demo:traffic [-- --model breast-cancer|iris|wine] [--state-dir <dir>]
    [--batch-size <rows>] [--sigma <sd>] [--shift <feature,feature>] [--timeout-seconds <s>]
  npm run demo:traffic -- --rollout [--requests <per phase>] [--state-dir <dir>] [--timeout-seconds <s>]`;

export interface DemoPhase {
  name: 'normal' | 'shifted';
  /** The check's window: from just before the first request to just after the phase ended. */
  window: { start: Date; end: Date };
  /** Predictions sent (and outcomes posted). */
  rows: number;
  /** Features moved in this phase (none in the normal one). */
  shifted: string[];
  outcome: ModelRunOutcome;
  /** The check's report, when it ran. */
  report?: DriftReport;
  /** Where the report's HTML opens through the local S3 server. */
  link?: string;
}

export interface DemoTrafficResult {
  model: string;
  phases: [DemoPhase, DemoPhase];
}

interface Holdout {
  features: string[];
  rows: number[][];
  labels: number[];
}

/**
 * Runs both phases and prints what happened; resolves with each phase's check.
 *
 * @example
 * ```ts
 * const { phases } = await main(['--model', 'iris', '--state-dir', stack.stateDir]);
 * phases[1].report?.verdict; // 'drift'
 * ```
 */
export async function main(
  argv: string[],
  print: (line: string) => void = console.log,
): Promise<DemoTrafficResult> {
  const { values, positionals } = parseCli(
    argv,
    USAGE,
    {
      model: { type: 'string', default: 'breast-cancer' },
      'state-dir': { type: 'string' },
      'batch-size': { type: 'string', default: '25' },
      sigma: { type: 'string', default: '3' },
      shift: { type: 'string' },
      'timeout-seconds': { type: 'string', default: '60' },
    },
    { allowPositionals: true },
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const model = values.model;
  if (!(DEMO_MODEL_NAMES as readonly string[]).includes(model))
    throw new UsageError(`--model must be one of ${DEMO_MODEL_NAMES.join(', ')}, got '${model}'`);
  const batchSize = positiveNumber('--batch-size', values['batch-size']);
  if (!Number.isInteger(batchSize)) throw new UsageError('--batch-size must be a whole number');
  const sigma = positiveNumber('--sigma', values.sigma);
  const timeoutMs = positiveNumber('--timeout-seconds', values['timeout-seconds']) * 1000;

  const stateDir = values['state-dir'] ?? join(ROOT, '.local');
  const stack = await readStackSettings(stateDir);
  if (!stack) throw new UsageError(`no local stack found in ${stateDir}; run npm start first`);
  const store = openLocalStore(stack.s3);
  const holdout = await readHoldout(join(stateDir, 'demo-models', model));
  const settings = await driftSettings(store, model);

  const shifted = values.shift === undefined ? undefined : values.shift.split(',').map((s) => s.trim());
  for (const name of shifted ?? []) {
    if (!holdout.features.includes(name))
      throw new UsageError(
        `--shift: '${name}' is not a feature of ${model} (${holdout.features.join(', ')})`,
      );
  }
  const shift =
    shifted ??
    holdout.features.slice(0, Math.max(1, Math.ceil(settings.options.driftShare * holdout.features.length)));
  // Enough predictions for the check (min_predictions); too few hold-out rows repeat, with noise.
  const count =
    holdout.rows.length >= settings.minPredictions ? holdout.rows.length : 2 * settings.minPredictions;
  const random = mulberry32(20240601);
  const normalRows = repeatRows(holdout, count, random);
  const labels = Array.from({ length: count }, (_, i) => holdout.labels[i % holdout.labels.length] ?? 0);
  const sd = holdout.features.map((_, f) => standardDeviation(holdout.rows.map((row) => row[f] ?? 0)));
  const shiftedRows = normalRows.map((row) =>
    row.map((value, f) => (shift.includes(holdout.features[f] ?? '') ? value + sigma * (sd[f] ?? 0) : value)),
  );
  const tag = `demo-${Date.now().toString(36)}`;
  const context: PhaseContext = {
    stack,
    store,
    stateDir,
    model,
    holdout,
    batchSize,
    sigma,
    timeoutMs,
    print,
  };

  print(
    `${model}: ${count} predictions per phase (${holdout.rows.length} hold-out rows${count > holdout.rows.length ? ', repeated with noise' : ''}), batches of ${batchSize}, against ${stack.apiUrl}`,
  );
  const normal = await runPhase(context, 'normal', `${tag}-normal`, normalRows, labels, []);
  // Report folders are named to the second: the next window must end in a later second.
  if (Math.floor(Date.now() / 1000) === Math.floor(normal.window.end.getTime() / 1000))
    await sleep(1001 - (Date.now() % 1000));
  const drifted = await runPhase(context, 'shifted', `${tag}-shifted`, shiftedRows, labels, shift);
  return { model, phases: [normal, drifted] };
}

interface PhaseContext {
  stack: StackSettings;
  store: StreamingObjectStore;
  stateDir: string;
  model: string;
  holdout: Holdout;
  batchSize: number;
  sigma: number;
  timeoutMs: number;
  print: (line: string) => void;
}

async function runPhase(
  context: PhaseContext,
  name: DemoPhase['name'],
  requestPrefix: string,
  rows: number[][],
  labels: number[],
  shifted: string[],
): Promise<DemoPhase> {
  const { stack, store, model, print } = context;
  print('');
  print(
    name === 'normal'
      ? `phase 1: normal traffic (hold-out rows)`
      : `phase 2: shifted traffic (${shifted.join(', ')} + ${context.sigma} hold-out standard deviations)`,
  );
  const start = new Date();
  const ids: string[] = [];
  for (let from = 0, batch = 0; from < rows.length; from += context.batchSize, batch++) {
    const chunk = rows.slice(from, from + context.batchSize);
    ids.push(...(await infer(context, `${requestPrefix}-${batch}`, chunk)));
  }
  print(`  sent      ${ids.length} predictions in ${Math.ceil(rows.length / context.batchSize)} requests`);
  for (let from = 0; from < ids.length; from += 1000) {
    await postOutcomes(
      context,
      ids.slice(from, from + 1000).map((id, i) => ({ id, value: labels[from + i] ?? 0 })),
    );
  }
  print(`  outcomes  ${ids.length} true labels posted`);
  await waitForCaptures(store, model, ids, context.timeoutMs);
  print(`  captured  all ${ids.length} predictions filed under captures/${model}/`);
  const end = new Date(Date.now() + 1);

  const windowHours = (end.getTime() - start.getTime()) / HOUR_MS;
  const [outcome] = await runDriftChecks({
    store,
    publisher: new FileEventPublisher(join(context.stateDir, 'events.jsonl')),
    models: [model],
    windowHours,
    defaults: { ...DRIFT_DEFAULTS, windowHours },
    bucket: stack.s3.bucket,
    now: () => end,
  });
  if (outcome === undefined) throw new Error(`the drift check returned nothing for ${model}`);
  const phase: DemoPhase = { name, window: { start, end }, rows: rows.length, shifted, outcome };
  print(`  window    ${start.toISOString()} → ${end.toISOString()}`);
  if (outcome.status === 'checked') {
    phase.report = outcome.report;
    phase.link = `${stack.s3.endpoint}/${stack.s3.bucket}/${outcome.keys.html}`;
    for (const line of describe(outcome.report)) print(`  ${line}`);
    print(`  report    ${outcome.keys.html}`);
    print(`            ${outcome.keys.json}`);
    print(`            open ${phase.link}`);
    if (outcome.event) print(`  event     ModelDriftDetected → ${join(context.stateDir, 'events.jsonl')}`);
  } else if (outcome.status === 'skipped') {
    print(`  check     skipped (${outcome.reason})`);
  } else {
    const message = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
    print(`  check     FAILED: ${message}`);
  }
  return phase;
}

function describe(report: DriftReport): string[] {
  const d = report.data_drift;
  const accuracy = report.performance.metrics.accuracy;
  return [
    `verdict   ${report.verdict.toUpperCase()} (${d.drifted} of ${d.tested} features drift${d.drifted_features.length > 0 ? `: ${d.drifted_features.join(', ')}` : ''})`,
    `          predictions ${report.prediction_drift?.verdict ?? 'n/a'}, performance ${report.performance.verdict}${typeof accuracy === 'number' ? ` (accuracy ${accuracy.toFixed(3)})` : ''}, ${report.counts.predictions} predictions, ${report.outcomes.joined} outcomes joined`,
  ];
}

async function infer(context: PhaseContext, id: string, rows: number[][]): Promise<string[]> {
  const { stack, model, holdout } = context;
  const body = await postJson(`${stack.apiUrl}/v2/models/${model}/infer`, {
    id,
    inputs: [{ name: 'input', shape: [rows.length, holdout.features.length], datatype: 'FP32', data: rows }],
  });
  const ids = (body as { parameters?: { prediction_ids?: unknown } }).parameters?.prediction_ids;
  if (rows.length === 1) return [id];
  if (!Array.isArray(ids) || ids.length !== rows.length)
    throw new Error(`infer ${id}: expected ${rows.length} prediction ids in the response`);
  return ids.map(String);
}

async function postOutcomes(context: PhaseContext, outcomes: { id: string; value: number }[]): Promise<void> {
  await postJson(`${context.stack.apiUrl}/v2/models/${context.model}/outcomes`, { outcomes });
}

/** Polls the bucket until every id is in a capture object (the local pipeline flushes on a timer). */
async function waitForCaptures(
  store: StreamingObjectStore,
  model: string,
  ids: readonly string[],
  timeoutMs: number,
): Promise<void> {
  const wanted = new Set(ids);
  const seen = new Set<string>();
  const read = new Set<string>();
  const deadline = Date.now() + timeoutMs;
  while (true) {
    for (const { key } of (await store.list(`captures/${model}/`)).objects) {
      if (read.has(key)) continue;
      const object = await store.get(key);
      if (object === undefined) continue;
      read.add(key);
      for (const line of new TextDecoder().decode(object.body).split('\n')) {
        const record = captureOfStoredLine(line);
        if (record && wanted.has(record.id)) seen.add(record.id);
      }
    }
    if (seen.size === wanted.size) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${wanted.size - seen.size} of ${wanted.size} predictions not captured after ${timeoutMs / 1000} s (is capture on for ${model}?)`,
      );
    }
    await sleep(250);
  }
}

async function readHoldout(dir: string): Promise<Holdout> {
  const file = join(dir, 'holdout.csv');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UsageError(`${file} not found: the local stack writes the demo models (DEMO_MODELS not false)`);
  }
  const [header = '', ...lines] = text.trim().split('\n');
  const columns = header.split(',');
  const parsed = lines.map((line) => line.split(',').map(Number));
  return {
    features: columns.slice(0, -1),
    rows: parsed.map((row) => row.slice(0, -1)),
    labels: parsed.map((row) => row.at(-1) ?? 0),
  };
}

/** The model's drift settings as the check will apply them (its config.json, else the defaults). */
async function driftSettings(store: StreamingObjectStore, model: string): Promise<DriftSettings> {
  const object = await store.get(`models/${model}/config.json`);
  const config = object
    ? (JSON.parse(new TextDecoder().decode(object.body)) as { drift?: Record<string, unknown> })
    : {};
  return parseDriftSettings(config.drift, model, DRIFT_DEFAULTS);
}

/**
 * `count` rows: the hold-out rows once as they are, then again with Gaussian noise of a tenth of
 * each feature's standard deviation (values that were never negative stay so).
 */
function repeatRows(holdout: Holdout, count: number, random: () => number): number[][] {
  const columns = holdout.features.map((_, f) => holdout.rows.map((row) => row[f] ?? 0));
  const sd = columns.map(standardDeviation);
  const nonNegative = columns.map((values) => values.every((v) => v >= 0));
  return Array.from({ length: count }, (_, i) => {
    const row = holdout.rows[i % holdout.rows.length] ?? [];
    if (i < holdout.rows.length) return [...row];
    return row.map((value, f) => {
      const noisy = value + 0.1 * (sd[f] ?? 0) * gaussian(random);
      return nonNegative[f] ? Math.max(0, noisy) : noisy;
    });
  });
}

function standardDeviation(values: readonly number[]): number {
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  return Math.sqrt(values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / values.length);
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function positiveNumber(option: string, text: string): number {
  const value = Number(text);
  if (!(value > 0 && Number.isFinite(value)))
    throw new UsageError(`${option} must be a positive number, got '${text}'`);
  return value;
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

runCli(import.meta.url, USAGE, async (argv) => {
  if (argv.includes('--rollout')) {
    const rollout = await rolloutMain(argv);
    if (rollout.rollout === undefined) process.exitCode = 1;
    return;
  }
  const result = await main(argv);
  const [normal, shifted] = result.phases;
  console.log('');
  console.log(
    `normal traffic: ${normal.report?.verdict ?? normal.outcome.status}; shifted traffic: ${shifted.report?.verdict ?? shifted.outcome.status}`,
  );
  return result.phases.some((phase) => phase.outcome.status !== 'checked') ? 1 : 0;
});
