import type { ObjectStore } from '../../ports/object-store.ts';
import { latestKey, latestPointer } from './report.ts';
import { renderDriftHtml } from './report-html.ts';
import type { DriftReport, LatestReportPointer } from './report-types.ts';

/**
 * Writes a report's `drift.json` and `drift.html`.
 *
 * @example
 * ```ts
 * await writeReportFiles(store, report);
 * await writeLatestPointer(store, report); // once everything else about the report is done
 * ```
 */
export async function writeReportFiles(
  store: ObjectStore,
  report: DriftReport,
): Promise<DriftReport['keys']> {
  await store.put(report.keys.json, `${JSON.stringify(report, null, 2)}\n`, {
    contentType: 'application/json',
  });
  await store.put(report.keys.html, renderDriftHtml(report), { contentType: 'text/html; charset=utf-8' });
  return report.keys;
}

/**
 * Points `reports/{model}/latest.json` at the report. Written last, so the pointer never names a
 * report that is not there, and its presence says the report was fully handled (event included).
 */
export async function writeLatestPointer(store: ObjectStore, report: DriftReport): Promise<string> {
  const key = latestKey(report.model);
  await store.put(key, `${JSON.stringify(latestPointer(report), null, 2)}\n`, {
    contentType: 'application/json',
  });
  return key;
}

/** The current `latest.json` of a model, if any (unreadable counts as none). */
export async function readLatestPointer(
  store: ObjectStore,
  model: string,
): Promise<LatestReportPointer | undefined> {
  const object = await store.get(latestKey(model));
  if (object === undefined) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(object.body)) as LatestReportPointer;
  } catch {
    return undefined;
  }
}
