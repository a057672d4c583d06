/**
 * Object keys of batch scoring (docs/batch.md: `batch/input/{name}/…` → `batch/output/{name}/…`).
 * Every key derives from the input key alone, so a redelivered event finds what an earlier run
 * wrote.
 */
import { createHash } from 'node:crypto';
import { captureFolder } from '../capture/record.ts';

export const BATCH_INPUT_PREFIX = 'batch/input/';
export const BATCH_OUTPUT_PREFIX = 'batch/output/';
/** Suffixes appended to the input's relative name under `batch/output/{model}/`. */
export const OUTPUT_SUFFIX = '.out.jsonl';
export const SUMMARY_SUFFIX = '.summary.json';
export const ERRORS_SUFFIX = '.errors.jsonl';
/** Object metadata naming the model version (`x-amz-meta-model-version` on the wire). */
export const VERSION_METADATA_KEY = 'model-version';

/** An input key taken apart. */
export interface BatchInputKey {
  /** The whole key, `batch/input/{model}/{relative}`. */
  key: string;
  model: string;
  /** Everything after `{model}/`, including a version folder. */
  relative: string;
  /** The version of a leading `v{N}/` folder of `relative`, if any. */
  pathVersion?: number;
}

export interface BatchOutputKeys {
  /** Scored rows, JSON lines. */
  output: string;
  /** Status and counts of the run; written last. */
  summary: string;
  /** Failed rows, JSON lines; only when a row failed. */
  errors: string;
}

/**
 * Takes an input key apart, or `undefined` when it is not a batch input file (outside the prefix,
 * no model folder, no file name, or a folder marker ending in `/`).
 *
 * @example
 * ```ts
 * parseBatchInputKey('batch/input/iris/v2/2026/june.csv');
 * // { key: '…', model: 'iris', relative: 'v2/2026/june.csv', pathVersion: 2 }
 * ```
 */
export function parseBatchInputKey(key: string): BatchInputKey | undefined {
  if (!key.startsWith(BATCH_INPUT_PREFIX) || key.endsWith('/')) return undefined;
  const rest = key.slice(BATCH_INPUT_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const model = rest.slice(0, slash);
  const relative = rest.slice(slash + 1);
  if (relative === '') return undefined;
  const [first, ...deeper] = relative.split('/');
  const match = deeper.length > 0 ? /^v([1-9][0-9]{0,15})$/.exec(first ?? '') : null;
  const pathVersion = match?.[1] === undefined ? undefined : Number(match[1]);
  return {
    key,
    model,
    relative,
    ...(pathVersion !== undefined && Number.isSafeInteger(pathVersion) ? { pathVersion } : {}),
  };
}

/**
 * Where the results of an input go: `batch/output/{model}/{relative}` plus a suffix. The input's
 * whole relative name is kept (extension and version folder included), so two inputs never share
 * an output.
 *
 * @example
 * ```ts
 * batchOutputKeys({ key: 'batch/input/iris/june.csv', model: 'iris', relative: 'june.csv' });
 * // { output: 'batch/output/iris/june.csv.out.jsonl', summary: '….summary.json', errors: '….errors.jsonl' }
 * ```
 */
export function batchOutputKeys(input: BatchInputKey): BatchOutputKeys {
  const base = `${BATCH_OUTPUT_PREFIX}${input.model}/${input.relative}`;
  return { output: base + OUTPUT_SUFFIX, summary: base + SUMMARY_SUFFIX, errors: base + ERRORS_SUFFIX };
}

/**
 * The capture object of one run over an input: filed under the hour the input object was written
 * and named after the input key and ETag, so a redelivered event rewrites the same object
 * instead of adding a second copy of its rows.
 *
 * @example
 * ```ts
 * batchCaptureKey('iris', 'batch/input/iris/june.csv', 'abc', new Date('2026-06-01T10:20:00Z'));
 * // 'captures/iris/2026/06/01/10/batch-3f1c….jsonl'
 * ```
 */
export function batchCaptureKey(model: string, inputKey: string, etag: string, written: Date): string {
  return `${captureFolder(model, written)}batch-${contentDigest(inputKey, etag)}.jsonl`;
}

/** 20 hex digits naming one content of one input key (its key and ETag). */
export function contentDigest(inputKey: string, etag: string): string {
  return createHash('sha256').update(`${inputKey}\n${etag}`).digest('hex').slice(0, 20);
}

/** Where the ranges of fanned-out runs keep their parts until the output is assembled. */
export const BATCH_WORK_PREFIX = 'batch/work/';

/**
 * The folder of one fanned-out run's range parts: `batch/work/{model}/{relative}/{run}/`. Each run
 * has its own, so a retried range overwrites only its own parts and two runs never mix theirs.
 */
export function batchWorkFolder(input: BatchInputKey, run: string): string {
  return `${BATCH_WORK_PREFIX}${input.model}/${input.relative}/${run}/`;
}

/** The objects of one range of a fanned-out run, in its work folder. */
export function batchRangeKeys(folder: string, index: number) {
  const base = `${folder}range-${String(index).padStart(6, '0')}`;
  return {
    output: `${base}${OUTPUT_SUFFIX}`,
    errors: `${base}${ERRORS_SUFFIX}`,
    captures: `${base}.captures.jsonl`,
    result: `${base}.result.json`,
  };
}
