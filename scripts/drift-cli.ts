/**
 * `npm run drift [-- --model <name>]`: runs the drift check now and prints each model's verdict
 * and where its report went.
 *
 * Target: the local stack (`.local/stack.json`) by default, whose drift events go to
 * `.local/events.jsonl`; `--bucket <b>` checks a real bucket with the usual AWS credential chain
 * and puts events on EventBridge (`--event-bus`, default `default`; `--no-events` for none).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventBridgePublisher } from '../src/adapters/aws/eventbridge-publisher.ts';
import { FileEventPublisher } from '../src/adapters/file/file-event-publisher.ts';
import { type ModelRunOutcome, runDriftChecks } from '../src/drift/check/run.ts';
import { DRIFT_DEFAULTS } from '../src/drift/check/settings.ts';
import { formatPercent } from '../src/drift/report/html/format.ts';
import type { DriftReport } from '../src/drift/report/report-types.ts';
import type { DriftEventPublisher } from '../src/ports/drift-event-publisher.ts';
import type { StreamingObjectStore } from '../src/ports/object-store.ts';
import { parseCli, runCli, UsageError } from './lib/cli.ts';
import { openCliTarget, type TargetFlags } from './local/stack-settings.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const USAGE = `usage:
  npm run drift [-- --model <name> …] [--window-hours <h>] [--end <ISO time>]
target options (default: the local stack in .local/stack.json, events to .local/events.jsonl):
  --bucket <bucket> [--region <region>] [--endpoint <url>] [--path-style] [--event-bus <name> | --no-events]`;

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
  const { values, positionals } = parseCli(
    argv,
    USAGE,
    {
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
    { allowPositionals: true },
  );
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

async function openTarget(
  values: TargetFlags & { 'event-bus'?: string; 'no-events'?: boolean },
): Promise<Target> {
  const none: DriftEventPublisher = { publish: async () => {} };
  if (!values.bucket && values['event-bus'] !== undefined)
    throw new UsageError('--event-bus goes with --bucket');
  // A capture object streams for a while; an API-sized timeout would cut it.
  const target = await openCliTarget(values, join(ROOT, '.local'), {
    requestTimeoutMs: 60_000,
    socketTimeoutMs: 60_000,
  });
  if (!target) throw new UsageError('no local stack found; run npm start first, or pass --bucket');
  if (target.kind === 'bucket') {
    const eventBusName = values['event-bus'] ?? 'default';
    return {
      store: target.store,
      publisher: values['no-events']
        ? none
        : new EventBridgePublisher({ eventBusName, region: target.region }),
      bucket: target.bucket,
      events: values['no-events'] ? 'not sent (--no-events)' : `EventBridge bus '${eventBusName}'`,
    };
  }
  const { stack } = target;
  const eventsFile = join(target.stateDir, 'events.jsonl');
  return {
    store: target.store,
    publisher: values['no-events'] ? none : new FileEventPublisher(eventsFile),
    bucket: target.bucket,
    events: values['no-events'] ? 'not sent (--no-events)' : eventsFile,
    link: (key) => `${stack.s3.endpoint}/${stack.s3.bucket}/${key}`,
  };
}

runCli(import.meta.url, USAGE, async (argv) => {
  const outcomes = await main(argv);
  return outcomes.some((outcome) => outcome.status === 'failed') ? 1 : 0;
});
