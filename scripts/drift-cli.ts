/**
 * `npm run drift [-- --model <name>]`: runs the drift check now and prints each model's verdict
 * and where its report went.
 *
 * Target: the local stack (`.local/stack.json`) by default, whose drift events go to
 * `.local/events.jsonl`; `--bucket <b>` checks a real bucket with the usual AWS credential chain
 * and puts events on EventBridge (`--event-bus`, default `default`; `--no-events` for none).
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DRIFT_DEFAULTS } from '../src/drift/drift-config.ts';
import { EventBridgePublisher } from '../src/drift/eventbridge-publisher.ts';
import type { DriftEventPublisher } from '../src/drift/events.ts';
import { FileEventPublisher } from '../src/drift/file-publisher.ts';
import { formatPercent } from '../src/drift/html/format.ts';
import type { DriftReport } from '../src/drift/report-types.ts';
import { type ModelRunOutcome, runDriftChecks } from '../src/drift/run.ts';
import type { StreamingObjectStore } from '../src/store/object-store.ts';
import { createS3Client, S3ObjectStore } from '../src/store/s3-store.ts';
import { openLocalStore, readStackSettings } from './local/stack-settings.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const USAGE = `usage:
  npm run drift [-- --model <name> …] [--window-hours <h>] [--end <ISO time>]
target options (default: the local stack in .local/stack.json, events to .local/events.jsonl):
  --bucket <bucket> [--region <region>] [--endpoint <url>] [--path-style] [--event-bus <name> | --no-events]`;

/** A mistake in how the CLI was called: printed with the usage, exit code 2. */
class UsageError extends Error {}

interface Target {
  store: StreamingObjectStore;
  publisher: DriftEventPublisher;
  bucket: string;
  /** Where events went, for the printout. */
  events: string;
  /** How to open a report's key in a browser, when the store serves it (the local S3 server). */
  link?: (key: string) => string;
}

/**
 * Runs the check and prints the outcome; resolves with the outcomes (a failed model sets the
 * exit code in the command-line entry point).
 */
export async function main(
  argv: string[],
  print: (line: string) => void = console.log,
): Promise<ModelRunOutcome[]> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      model: { type: 'string', multiple: true },
      'window-hours': { type: 'string' },
      end: { type: 'string' },
      bucket: { type: 'string' },
      region: { type: 'string' },
      endpoint: { type: 'string' },
      'path-style': { type: 'boolean', default: false },
      'event-bus': { type: 'string' },
      'no-events': { type: 'boolean', default: false },
      'state-dir': { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const windowHours = values['window-hours'] === undefined ? undefined : Number(values['window-hours']);
  if (windowHours !== undefined && !(windowHours > 0 && Number.isFinite(windowHours))) {
    throw new UsageError(`--window-hours must be a positive number, got '${values['window-hours']}'`);
  }
  const end = values.end === undefined ? undefined : new Date(values.end);
  if (end !== undefined && Number.isNaN(end.getTime()))
    throw new UsageError(`--end is not a time: '${values.end}'`);
  const target = await openTarget(values);

  const outcomes = await runDriftChecks({
    store: target.store,
    publisher: target.publisher,
    models: values.model,
    windowHours,
    defaults: { ...DRIFT_DEFAULTS, windowHours: windowHours ?? DRIFT_DEFAULTS.windowHours },
    bucket: target.bucket,
    ...(end ? { now: () => end } : {}),
  });
  if (outcomes.length === 0) print('no models in the bucket');
  for (const outcome of outcomes) {
    if (outcome.status === 'skipped') {
      print(`${outcome.model}: skipped (${outcome.reason})`);
      continue;
    }
    if (outcome.status === 'failed') {
      print(
        `${outcome.model}: FAILED: ${outcome.error instanceof Error ? outcome.error.message : String(outcome.error)}`,
      );
      continue;
    }
    print(describe(outcome.report));
    print(`  report  ${outcome.keys.html}${target.link ? `  (open ${target.link(outcome.keys.html)})` : ''}`);
    print(`          ${outcome.keys.json}`);
    if (outcome.event) print(`  event   ModelDriftDetected → ${target.events}`);
  }
  return outcomes;
}

function describe(report: DriftReport): string {
  const d = report.data_drift;
  const data =
    d.tested > 0 ? `${report.verdict} (${d.drifted} of ${d.tested} features drift)` : report.verdict;
  const accuracy = report.performance.metrics.accuracy;
  const rmse = report.performance.metrics.rmse;
  const metric =
    typeof accuracy === 'number'
      ? `, accuracy ${accuracy.toFixed(3)}`
      : typeof rmse === 'number'
        ? `, RMSE ${rmse.toPrecision(4)}`
        : '';
  return [
    `${report.model}${report.version ? ` v${report.version}` : ''}: data drift ${data}`,
    `predictions ${report.prediction_drift?.verdict ?? 'n/a'}`,
    `performance ${report.performance.verdict}${metric}`,
    `${report.counts.predictions} predictions, outcome coverage ${formatPercent(report.outcomes.coverage)}`,
  ].join('; ');
}

async function openTarget(values: {
  bucket?: string;
  region?: string;
  endpoint?: string;
  'path-style'?: boolean;
  'event-bus'?: string;
  'no-events'?: boolean;
  'state-dir'?: string;
}): Promise<Target> {
  const none: DriftEventPublisher = { publish: async () => {} };
  if (values.bucket) {
    const region = values.region ?? process.env.AWS_REGION ?? 'us-east-1';
    const client = createS3Client({
      region,
      endpoint: values.endpoint,
      forcePathStyle: values['path-style'] ?? false,
      requestTimeoutMs: 60_000,
      socketTimeoutMs: 60_000,
    });
    const eventBusName = values['event-bus'] ?? 'default';
    return {
      store: new S3ObjectStore({ client, bucket: values.bucket }),
      publisher: values['no-events'] ? none : new EventBridgePublisher({ eventBusName, region }),
      bucket: values.bucket,
      events: values['no-events'] ? 'not sent (--no-events)' : `EventBridge bus '${eventBusName}'`,
    };
  }
  if (values['event-bus'] !== undefined) throw new UsageError('--event-bus goes with --bucket');
  const stateDir = values['state-dir'] ?? join(ROOT, '.local');
  const stack = await readStackSettings(stateDir);
  if (!stack)
    throw new UsageError(`no local stack found in ${stateDir}; run npm start first, or pass --bucket`);
  const eventsFile = join(stateDir, 'events.jsonl');
  return {
    store: openLocalStore(stack.s3),
    publisher: values['no-events'] ? none : new FileEventPublisher(eventsFile),
    bucket: stack.s3.bucket,
    events: values['no-events'] ? 'not sent (--no-events)' : eventsFile,
    link: (key) => `${stack.s3.endpoint}/${stack.s3.bucket}/${key}`,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (outcomes) => {
      if (outcomes.some((outcome) => outcome.status === 'failed')) process.exitCode = 1;
    },
    (error: unknown) => {
      if (error instanceof UsageError || (error instanceof TypeError && 'code' in error)) {
        console.error(`error: ${error.message}\n${USAGE}`);
        process.exit(2);
      }
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
