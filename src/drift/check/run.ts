/**
 * A drift run: the check of every model with captures (or of the models asked for), each
 * followed by its reports and, when it raised an alert, its `ModelDriftDetected` event. One
 * model's failure never stops the others; the caller sees every outcome.
 */

import type { DriftEventPublisher } from '../../ports/drift-event-publisher.ts';
import type { StreamingObjectStore } from '../../ports/object-store.ts';
import { MODEL_NAME_PATTERN } from '../../repository/names.ts';
import { buildDriftReport, latestKey, reportKeys } from '../report/report.ts';
import type { DriftReport } from '../report/report-types.ts';
import { readLatestPointer, writeLatestPointer, writeReportFiles } from '../report/report-writer.ts';
import { checkModel } from './check.ts';
import { claimDriftEvent, driftEventDetail, releaseDriftEvent, rolloutEventDetail } from './events.ts';
import { checkRollout } from './rollout.ts';
import type { DriftDefaults } from './settings.ts';

export interface DriftRunOptions {
  store: StreamingObjectStore;
  publisher: DriftEventPublisher;
  /**
   * Only these models (each checked, and reported, even without traffic); default: every model of
   * the repository with captures in the window.
   */
  models?: readonly string[];
  /** The clock: window end and report times (default: the system clock). */
  now?: () => Date;
  windowHours?: number;
  defaults?: DriftDefaults;
  concurrency?: number;
  /** Named in the event's report location. */
  bucket?: string;
  /** Epoch ms after which no further model is started (the rest fail as not checked). */
  deadline?: number;
  /**
   * Skip the models whose `latest.json` already names this time's report: for a retried
   * scheduled invocation, whose time is the schedule's.
   */
  resume?: boolean;
  /** Keep per-hour capture summaries and read only new capture objects (see `checkModel`). */
  summaries?: boolean;
}

/** What became of one model. */
export type ModelRunOutcome =
  | {
      model: string;
      status: 'checked';
      report: DriftReport;
      keys: { json: string; html: string; latest: string };
      /** True when a ModelDriftDetected event was published. */
      event: boolean;
    }
  | {
      model: string;
      status: 'skipped';
      reason: string;
      keys?: { json: string; html: string; latest: string };
    }
  | { model: string; status: 'failed'; error: unknown; report?: DriftReport };

/**
 * Checks the models and writes their reports and events. Per model: `drift.json` and
 * `drift.html`, then the event (when the alert is raised), then `latest.json`. With `resume`, a run
 * repeated for the same time (a retried scheduled invocation, whose time is the schedule's) skips
 * the models whose `latest.json` already names this time's report, so a retry redoes only what
 * failed and sends no event twice.
 *
 * @example
 * ```ts
 * const outcomes = await runDriftChecks({ store, publisher: new FileEventPublisher('.local/events.jsonl') });
 * for (const o of outcomes) if (o.status === 'checked') console.log(o.model, o.report.verdict, o.keys.html);
 * ```
 */
export async function runDriftChecks(options: DriftRunOptions): Promise<ModelRunOutcome[]> {
  const clock = options.now ?? (() => new Date());
  const end = clock();
  const explicit = options.models !== undefined;
  const models = options.models ?? (await repositoryModels(options.store));
  const outcomes: ModelRunOutcome[] = [];
  for (const model of models) {
    if (options.deadline !== undefined && Date.now() > options.deadline) {
      outcomes.push({
        model,
        status: 'failed',
        error: new Error('not checked: the invocation ran out of time'),
      });
      continue;
    }
    let report: DriftReport | undefined;
    try {
      const expected = reportKeys(model, clock());
      const done = options.resume ? await readLatestPointer(options.store, model) : undefined;
      if (done?.keys?.json === expected.json) {
        outcomes.push({
          model,
          status: 'skipped',
          reason: 'already reported for this time',
          keys: { ...expected, latest: latestKey(model) },
        });
        continue;
      }
      const result = await checkModel(model, {
        store: options.store,
        end,
        now: end,
        windowHours: options.windowHours,
        defaults: options.defaults,
        concurrency: options.concurrency,
        summaries: options.summaries,
      });
      if (!explicit && result.scan.records === 0) {
        outcomes.push({ model, status: 'skipped', reason: 'no captures in the window' });
        continue;
      }
      report = buildDriftReport(result, clock());
      const rollout = await checkRollout(options.store, model, result.config, result.window, end);
      if (rollout !== undefined) report.rollout = rollout;
      const files = await writeReportFiles(options.store, report);
      const latest = latestKey(model);
      let event = false;
      if (report.alert.raised) {
        const detail = driftEventDetail(report, options.bucket, latest);
        // One event per model, version and window, however many runs reach this point.
        if (await claimDriftEvent(options.store, detail)) {
          try {
            await options.publisher.publish(detail);
          } catch (error) {
            // Not delivered: the claim goes, so that the retry of this run can emit the event.
            await releaseDriftEvent(options.store, detail).catch(() => undefined);
            throw error;
          }
          event = true;
        }
      }
      const verdict = rolloutEventDetail(report, options.bucket, latest);
      if (verdict !== undefined && options.publisher.publishRollout !== undefined) {
        await options.publisher.publishRollout(verdict);
      }
      await writeLatestPointer(options.store, report);
      outcomes.push({ model, status: 'checked', report, keys: { ...files, latest }, event });
    } catch (error) {
      outcomes.push({ model, status: 'failed', error, ...(report ? { report } : {}) });
    }
  }
  return outcomes;
}

/**
 * The models of the repository (`models/{name}/…`), in name order: each is checked, and skipped
 * when its captures hold nothing in the window. Found from a full listing of `models/`, which is
 * small, rather than a delimited listing of `captures/`, which some S3-compatible servers get
 * wrong for folders holding only folders.
 */
export async function repositoryModels(store: StreamingObjectStore): Promise<string[]> {
  const { objects } = await store.list('models/');
  const names = new Set<string>();
  for (const { key } of objects) {
    const name = key.slice('models/'.length).split('/')[0] ?? '';
    if (key.includes('/', 'models/'.length) && MODEL_NAME_PATTERN.test(name) && !name.includes('..'))
      names.add(name);
  }
  return [...names].sort();
}
