import { captureSettings } from '../capture/api-capture.ts';
import { BadRequestError, ServingError } from '../errors.ts';
import type { BatchFanOut } from '../ports/batch-fan-out.ts';
import type { ObjectStream, StreamingObjectStore } from '../ports/object-store.ts';
import type { InferenceService } from '../protocol/service.ts';
import type { ModelRepository } from '../repository/model-repository.ts';
import { assertModelName, parseVersionSelector, type VersionSelector } from '../repository/names.ts';
import { assertServable, type LoadedModel, type ModelLoader } from '../runtime/model-loader.ts';
import { decodeText, newTextInputInfo, type TextInputInfo } from '../text/text-input.ts';
import { ESTIMATE_SAMPLE_BYTES, estimateDuration, mayNeedFanOut } from './duration-estimate.ts';
import {
  type BatchInputKey,
  type BatchOutputKeys,
  batchCaptureKey,
  batchOutputKeys,
  contentDigest,
  parseBatchInputKey,
  VERSION_METADATA_KEY,
} from './keys.ts';
import { captureContext, type RowCounts, RowWriters, readerCapture, scoreRows } from './row-writers.ts';
import { type RowReaderReport, readRows } from './rows.ts';
import { BatchScorer } from './scorer.ts';
import {
  type BatchSummary,
  isFinishedFor,
  parseSummary,
  SUMMARY_SCHEMA_VERSION,
  type VersionSource,
} from './summary.ts';
import { type TabularSchema, tabularSchema } from './tabular.ts';

export interface BatchSettings {
  /** Rows per micro-batch (one `session.run` for a tabular model). */
  batchSize: number;
  /** How often the summary is rewritten with progress while a file is scored. */
  progressIntervalMs: number;
  /** Longest CSV record, in characters. */
  maxRecordChars?: number;
  /** Longest JSON line, in characters. */
  maxLineChars?: number;
  /** Tensors larger than this are summarised in captures. */
  maxCapturedElements?: number;
  /**
   * Time one file may take, in milliseconds (`BATCH_FILE_BUDGET_SECONDS`); the request's own
   * `deadline` (the invocation's timeout less a margin) applies too, whichever comes first.
   * `undefined` or 0: no budget of its own.
   */
  fileBudgetMs?: number;
}

/** Structured log sink; Powertools' Logger fits. */
export interface BatchLog {
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

export interface BatchJobDeps {
  /** The bucket holding the input; outputs, summaries and captures are written beside it. */
  store: StreamingObjectStore;
  repository: ModelRepository;
  loader: ModelLoader;
  service: InferenceService;
  settings: BatchSettings;
  /** Where files too large for one invocation go (docs/batch.md, "Large files"); absent: never. */
  fanOut?: BatchFanOut;
  /** Wall clock in epoch milliseconds (default `Date.now`). */
  clock?: () => number;
  log?: BatchLog;
}

/** An object to score, as an S3 notification names it. */
export interface BatchFileRequest {
  key: string;
  /** The ETag the notification carries: a finished run for it means there is nothing to do. */
  etag?: string;
  /** Epoch milliseconds after which the run gives up cleanly (the function's own timeout follows). */
  deadline?: number;
  /** The bucket holding the input: a file that fans out names it to the workflow. */
  bucket?: string;
}

/** When a run must stop, and what set that time (for the summary's message). */
interface RunDeadline {
  at: number;
  set: string;
}

export type BatchFileOutcome =
  | { status: 'ignored'; key: string; reason: string }
  | { status: 'skipped'; key: string; summary: BatchSummary }
  | { status: 'succeeded' | 'partial'; key: string; summary: BatchSummary }
  | { status: 'fanned-out'; key: string; summary: BatchSummary }
  | { status: 'failed'; key: string; summary: BatchSummary; error: unknown };

/**
 * A `running` fanned-out summary not rewritten for this long belongs to a run that died (its
 * steps rewrite it at least every range, and a range takes at most one invocation, 15 minutes).
 */
export const FAN_OUT_STALE_MS = 30 * 60 * 1000;

/** The input was replaced while this run scored it: the run for the new content owns the outputs. */
class SupersededError extends Error {}

const SUPERSEDED =
  'the input was replaced while it was being scored; the run for the new content writes the output';

/** The run stopped because the invocation is about to time out. */
export class DeadlineExceededError extends ServingError {
  constructor(message: string) {
    super(504, 'DeadlineExceeded', message);
  }
}

/**
 * Scores one batch input object end to end: rows are streamed from the store, scored in
 * micro-batches with one pinned model version, and streamed out to
 * `batch/output/{model}/{relative}.out.jsonl` (plus `.errors.jsonl` when rows failed, and a
 * capture object), each appearing only when complete; the summary is written last.
 *
 * Idempotent: the keys derive from the input key, so a redelivered event for an input ETag that
 * already has a finished summary is `skipped`, and a run that died half way left nothing but a
 * `running` summary, which the next delivery replaces.
 *
 * Never throws for a file problem: a file that cannot be processed comes back as `failed` with a
 * failed summary written (the caller decides to fail the invocation).
 *
 * @example
 * ```ts
 * const outcome = await scoreBatchFile({ key: 'batch/input/iris/june.csv', etag }, deps);
 * if (outcome.status === 'failed') throw outcome.error;
 * ```
 */
export async function scoreBatchFile(
  request: BatchFileRequest,
  deps: BatchJobDeps,
): Promise<BatchFileOutcome> {
  const input = parseBatchInputKey(request.key);
  if (input === undefined) {
    return {
      status: 'ignored',
      key: request.key,
      reason: 'not a batch input file (batch/input/{model}/{file})',
    };
  }
  return new BatchFileRun(input, request, deps).run();
}

class BatchFileRun {
  readonly #input: BatchInputKey;
  readonly #request: BatchFileRequest;
  readonly #deps: BatchJobDeps;
  readonly #keys: BatchOutputKeys;
  readonly #clock: () => number;
  readonly #startedAt: number;
  #writers: RowWriters | undefined;
  readonly #text: TextInputInfo = newTextInputInfo();
  readonly #report: RowReaderReport = { ignoredColumns: [] };
  #summary: BatchSummary;
  #object: ObjectStream | undefined;
  #captureKey: string | undefined;
  #lastProgressAt: number;
  /** The run has written its `running` summary: from here on, a failure is recorded. */
  #claimed = false;
  readonly #deadline: RunDeadline | undefined;
  /** Set when the deadline passed while the run was busy: the rest of it stops at its next step. */
  #expired: DeadlineExceededError | undefined;

  constructor(input: BatchInputKey, request: BatchFileRequest, deps: BatchJobDeps) {
    this.#input = input;
    this.#request = request;
    this.#deps = deps;
    this.#keys = batchOutputKeys(input);
    this.#clock = deps.clock ?? Date.now;
    this.#startedAt = this.#clock();
    this.#lastProgressAt = this.#startedAt;
    this.#deadline = runDeadline(this.#startedAt, request.deadline, deps.settings.fileBudgetMs);
    const started = new Date(this.#startedAt).toISOString();
    this.#summary = {
      schema: SUMMARY_SCHEMA_VERSION,
      status: 'running',
      model: input.model,
      version: null,
      version_from: null,
      input: { key: input.key, etag: request.etag ?? null, size: null, format: null, compression: null },
      output: null,
      errors: null,
      captures: null,
      counts: { total: 0, ok: 0, failed: 0 },
      started_at: started,
      updated_at: started,
      finished_at: null,
      duration_ms: 0,
      rows_per_second: 0,
      batch_size: deps.settings.batchSize,
      warnings: [],
    };
  }

  async run(): Promise<BatchFileOutcome> {
    const key = this.#input.key;
    try {
      const previous = await this.#previousSummary();
      if (isFinishedFor(previous, this.#request.etag) && previous !== undefined) {
        return { status: 'skipped', key, summary: previous };
      }
      const fannedOut = await this.#fanOut(previous);
      if (fannedOut !== undefined) return fannedOut;
      this.#object = await this.#deps.store.getStream(key);
      const object = this.#object;
      if (object === undefined)
        return { status: 'ignored', key, reason: 'the input object no longer exists' };
      if (
        object.etag !== this.#request.etag &&
        isFinishedFor(previous, object.etag) &&
        previous !== undefined
      ) {
        // Replaced since the notification, and the new content was already scored.
        return { status: 'skipped', key, summary: previous };
      }
      this.#summary.input = { ...this.#summary.input, etag: object.etag ?? null, size: object.size };
      await this.#writeSummary();
      this.#claimed = true;

      const status = await this.#withinDeadline(this.#loadAndScore(object));
      return { status, key, summary: this.#summary };
    } catch (error) {
      // Replacing the input can also break the read of the old content under way.
      if (error instanceof SupersededError || (this.#claimed && (await this.#superseded()))) {
        await this.#abortWriters();
        return { status: 'ignored', key, reason: SUPERSEDED };
      }
      return { status: 'failed', key, summary: await this.#fail(error), error };
    } finally {
      this.#object?.close();
    }
  }

  /**
   * Hands a file to the fan-out workflow when it will not fit one invocation — at least
   * `fanOut.minBytes`, or estimated from the model's validated latency to take more than half of
   * the run's time budget — claims it with a `running` summary naming the run, and starts the
   * workflow. `undefined` when the file is scored here (small and quick, gzip — a gzip stream
   * cannot be entered half way —, or no workflow configured).
   */
  async #fanOut(previous: BatchSummary | undefined): Promise<BatchFileOutcome | undefined> {
    const { fanOut, store } = this.#deps;
    const { bucket } = this.#request;
    const key = this.#input.key;
    if (fanOut === undefined || bucket === undefined) return undefined;
    const info = await store.head(key);
    if (info === undefined || info.etag === undefined) return undefined;
    const bySize = info.size >= fanOut.minBytes;
    const latencyMs = bySize ? undefined : await this.#validatedLatency(info.metadata);
    const budgetMs = this.#deadline === undefined ? undefined : this.#deadline.at - this.#clock();
    const mayEstimate =
      latencyMs !== undefined && budgetMs !== undefined && mayNeedFanOut(info.size, latencyMs, budgetMs);
    if (!bySize && !mayEstimate) return undefined;
    if (isFinishedFor(previous, info.etag) && previous !== undefined) {
      return { status: 'skipped', key, summary: previous };
    }
    if (
      previous?.status === 'running' &&
      previous.fan_out !== undefined &&
      previous.input.etag === info.etag &&
      this.#clock() - Date.parse(previous.updated_at) < FAN_OUT_STALE_MS
    ) {
      // The same content delivered again while its run is under way.
      return { status: 'skipped', key, summary: previous };
    }
    const sample = await this.#readStart(key, bySize ? 2 : Math.min(info.size, ESTIMATE_SAMPLE_BYTES));
    if (sample[0] === 0x1f && sample[1] === 0x8b) return undefined;
    let rangeBytes: number | undefined;
    if (!bySize && latencyMs !== undefined && budgetMs !== undefined) {
      const estimate = estimateDuration(sample, info.size, latencyMs, budgetMs);
      if (!estimate.fanOut) return undefined;
      rangeBytes = estimate.rangeBytes;
      this.#deps.log?.info('batch file fans out on its estimated duration', {
        key,
        estimatedRows: estimate.rows,
        estimatedSeconds: Math.round(estimate.ms / 1000),
        budgetSeconds: Math.round(budgetMs / 1000),
        rangeBytes,
      });
    }

    const run = `${contentDigest(key, info.etag)}-${this.#startedAt.toString(36)}`;
    this.#summary.input = { ...this.#summary.input, etag: info.etag, size: info.size };
    this.#summary.fan_out = { run, execution: null, ranges: { total: null, done: 0 } };
    await this.#writeSummary();
    this.#claimed = true;
    const { execution } = await fanOut.start({
      bucket,
      key,
      etag: info.etag,
      run,
      range_bytes: rangeBytes ?? 0,
    });
    this.#summary.fan_out = { run, execution, ranges: { total: null, done: 0 } };
    await this.#assertCurrent();
    await this.#writeSummary();
    return { status: 'fanned-out', key, summary: this.#summary };
  }

  /** The first `bytes` bytes of the input (fewer when it is shorter). */
  async #readStart(key: string, bytes: number): Promise<Uint8Array> {
    const start = new Uint8Array(bytes);
    if (bytes === 0) return start;
    const head = await this.#deps.store.getStream(key, { range: { start: 0, end: bytes } });
    let filled = 0;
    for await (const chunk of head?.body ?? []) {
      const take = Math.min(chunk.byteLength, bytes - filled);
      start.set(chunk.subarray(0, take), filled);
      filled += take;
    }
    return start.subarray(0, filled);
  }

  /**
   * The validated one-row latency of the version this file would be scored with; `undefined` when
   * there is none (not validated, or the file names no servable version: the run reports that).
   */
  async #validatedLatency(metadata: Record<string, string> | undefined): Promise<number | undefined> {
    try {
      const { selector } = versionSelectorOf(this.#input, metadata);
      const ref = await this.#deps.repository.resolve(this.#input.model, selector, {
        routingKey: this.#input.key,
      });
      return ref.validatedLatencyMs;
    } catch (error) {
      if (error instanceof ServingError) return undefined;
      throw error;
    }
  }

  /**
   * Throws `SupersededError` when the input no longer holds the content this run reads: a newer
   * upload of the same key has its own run, whose summary and outputs this one must not replace.
   * Checked before every summary write and before the outputs are completed; a deleted input does
   * not count (nothing newer to protect).
   */
  async #assertCurrent(): Promise<void> {
    const etag = this.#summary.input.etag;
    if (etag === null) return;
    const now = await this.#deps.store.head(this.#input.key);
    if (now !== undefined && now.etag !== undefined && now.etag !== etag)
      throw new SupersededError(SUPERSEDED);
  }

  /** Whether the input was replaced; a store that cannot tell counts as not. */
  async #superseded(): Promise<boolean> {
    try {
      await this.#assertCurrent();
      return false;
    } catch (error) {
      return error instanceof SupersededError;
    }
  }

  async #abortWriters(): Promise<void> {
    await this.#writers?.abort();
  }

  async #previousSummary(): Promise<BatchSummary | undefined> {
    const stored = await this.#deps.store.get(this.#keys.summary);
    return stored === undefined ? undefined : parseSummary(stored.body);
  }

  async #loadAndScore(object: ObjectStream): Promise<'succeeded' | 'partial'> {
    const { model, schema, notTabular, sampleRate } = await this.#loadModel(object);
    return this.#score(object, model, schema, notTabular, sampleRate);
  }

  /**
   * Settles with `work`, or rejects with `DeadlineExceededError` as soon as the run's deadline
   * passes, even in the middle of a model run or of a long stretch of input without rows. The
   * abandoned work stops at its next step (`#checkDeadline`), writing nothing more.
   */
  async #withinDeadline<T>(work: Promise<T>): Promise<T> {
    const deadline = this.#deadline;
    if (deadline === undefined) return work;
    work.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => {
          this.#expired = this.#deadlineError();
          reject(this.#expired);
        },
        Math.max(0, deadline.at - this.#clock()),
      );
    });
    try {
      return await Promise.race([work, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #loadModel(object: ObjectStream) {
    const loaded = await loadBatchModel(
      this.#deps,
      this.#input,
      versionSelectorOf(this.#input, object.metadata),
    );
    this.#summary.version = String(loaded.model.version);
    this.#summary.version_from = loaded.from;
    return loaded;
  }

  async #score(
    object: ObjectStream,
    model: LoadedModel,
    schema: TabularSchema | undefined,
    notTabular: string | undefined,
    sampleRate: number,
  ): Promise<'succeeded' | 'partial'> {
    const { settings, service, store } = this.#deps;
    const etag = object.etag ?? this.#request.etag ?? '';
    const written = object.lastModified ?? new Date(this.#startedAt);
    const capture = captureContext(this.#input.key, etag, sampleRate, written, schema);
    const writers = new RowWriters({
      store,
      inputKey: this.#input.key,
      model,
      schema,
      capture,
      keys: {
        output: this.#keys.output,
        errors: this.#keys.errors,
        captures: () => batchCaptureKey(model.name, this.#input.key, etag, written),
      },
      maxCapturedElements: settings.maxCapturedElements,
    });
    this.#writers = writers;
    const rows = readRows(
      decodeText(object.body, this.#text),
      {
        key: this.#input.key,
        schema,
        notTabular,
        maxRecordChars: settings.maxRecordChars,
        maxLineChars: settings.maxLineChars,
        capture: readerCapture(capture),
      },
      this.#report,
    );
    await scoreRows(rows, {
      scorer: new BatchScorer({ model, service, schema, checkpoint: () => this.#checkDeadline() }),
      batchSize: settings.batchSize,
      write: (results) => {
        // A batch that finished past the deadline is not written: the file fails as a whole.
        this.#checkDeadline();
        return writers.write(results, new Date(this.#clock()));
      },
      beforeBatch: () => this.#checkDeadline(),
      afterBatch: () => this.#progress(),
    });
    return this.#finish(writers);
  }

  async #progress(): Promise<void> {
    if (this.#clock() - this.#lastProgressAt < this.#deps.settings.progressIntervalMs) return;
    this.#lastProgressAt = this.#clock();
    await this.#assertCurrent();
    await this.#writeSummary();
    this.#deps.log?.info('batch progress', { key: this.#input.key, ...this.#summary.counts });
  }

  get #rowCounts(): RowCounts {
    return this.#writers?.counts ?? { total: 0, ok: 0, failed: 0, captured: 0 };
  }

  #checkDeadline(): void {
    if (this.#expired !== undefined) throw this.#expired;
    const deadline = this.#deadline;
    if (deadline !== undefined && this.#clock() > deadline.at) throw this.#deadlineError();
  }

  #deadlineError(): DeadlineExceededError {
    const { total, ok, failed } = this.#rowCounts;
    return new DeadlineExceededError(
      `the run ran out of time after ${total} rows (${ok} scored, ${failed} failed): it reached ${this.#deadline?.set}; split the input into smaller files`,
    );
  }

  async #finish(writers: RowWriters): Promise<'succeeded' | 'partial'> {
    this.#checkDeadline();
    await this.#assertCurrent();
    const { output: written, errors: errorsWritten } = await writers.complete();
    // No failed row this time: an errors object left by an earlier run of this key is stale.
    if (errorsWritten === undefined) await this.#deps.store.delete(this.#keys.errors);
    this.#captureKey = writers.capturesKey;

    const { total, ok, failed, captured } = this.#rowCounts;
    this.#summary.output = {
      key: this.#keys.output,
      etag: written?.etag ?? null,
      bytes: written?.bytes ?? 0,
    };
    this.#summary.errors =
      errorsWritten === undefined
        ? null
        : { key: this.#keys.errors, etag: errorsWritten.etag ?? null, count: failed };
    this.#summary.captures =
      this.#captureKey === undefined ? null : { key: this.#captureKey, count: captured };
    const status = failed === 0 ? 'succeeded' : 'partial';
    this.#checkDeadline();
    this.#summary.status = status;
    this.#summary.counts = { total, ok, failed };
    await this.#assertCurrent();
    await this.#writeSummary(true);
    return status;
  }

  async #fail(error: unknown): Promise<BatchSummary> {
    await this.#abortWriters();
    const known = error instanceof ServingError;
    if (!known) {
      this.#deps.log?.error('batch file failed unexpectedly', { key: this.#input.key, error });
    }
    this.#summary.status = 'failed';
    this.#summary.output = null;
    this.#summary.errors = null;
    this.#summary.captures = null;
    this.#summary.error = {
      kind: known ? error.kind : 'Internal',
      message: known ? error.message : 'internal error; see the batch function logs',
      // 503s pass (a store outage, a model not validated yet, a model process that stopped).
      retryable: known && error.status === 503,
    };
    // Before the run claimed the file, the store itself failed (reading the summary or opening the
    // input): what an earlier run wrote stays untouched, and the retry decides.
    if (!this.#claimed) return this.#summary;
    try {
      // A newer upload of this key has its own run: its outputs and summary stay.
      await this.#assertCurrent();
      // Outputs of an earlier run of this key do not belong to the content that just failed.
      await this.#deps.store.delete(this.#keys.output);
      await this.#deps.store.delete(this.#keys.errors);
      await this.#writeSummary(true);
    } catch (cleanupError) {
      if (cleanupError instanceof SupersededError) return this.#summary;
      this.#deps.log?.warn('could not record the failed batch run', {
        key: this.#input.key,
        error: cleanupError,
      });
    }
    return this.#summary;
  }

  async #writeSummary(final = false): Promise<void> {
    // A run past its deadline leaves the summary to its failure (a progress write must not follow).
    if (!final && this.#expired !== undefined) throw this.#expired;
    const now = this.#clock();
    const duration = now - this.#startedAt;
    const { total, ok, failed } = this.#rowCounts;
    Object.assign(this.#summary, {
      counts: { total, ok, failed },
      updated_at: new Date(now).toISOString(),
      finished_at: final ? new Date(now).toISOString() : null,
      duration_ms: duration,
      rows_per_second: duration > 0 ? Math.round((total / duration) * 1000) : 0,
      warnings: this.#warnings(),
    });
    this.#summary.input = {
      ...this.#summary.input,
      format: this.#report.format ?? null,
      compression: this.#text.bytesIn > 0 ? this.#text.compression : null,
    };
    await this.#deps.store.put(this.#keys.summary, `${JSON.stringify(this.#summary, null, 2)}\n`, {
      contentType: 'application/json',
    });
  }

  #warnings(): string[] {
    return ignoredColumnsWarnings(this.#report.ignoredColumns);
  }
}

/**
 * The earlier of the request's deadline (the invocation's timeout less its margin) and the file's
 * own budget from `startedAt`; `undefined` when neither is set.
 */
function runDeadline(
  startedAt: number,
  requested: number | undefined,
  budgetMs: number | undefined,
): RunDeadline | undefined {
  const byBudget: RunDeadline | undefined =
    budgetMs === undefined || budgetMs <= 0
      ? undefined
      : {
          at: startedAt + budgetMs,
          set: `the file's time budget of ${budgetMs / 1000} s (BATCH_FILE_BUDGET_SECONDS)`,
        };
  const byInvocation: RunDeadline | undefined =
    requested === undefined
      ? undefined
      : { at: requested, set: "the function's timeout less BATCH_DEADLINE_MARGIN_SECONDS" };
  if (byBudget === undefined || byInvocation === undefined) return byBudget ?? byInvocation;
  return byBudget.at <= byInvocation.at ? byBudget : byInvocation;
}

/** The summary's warning about CSV columns that are not features (capped: 100k columns stay small). */
export function ignoredColumnsWarnings(ignored: string[]): string[] {
  if (ignored.length === 0) return [];
  const shown = ignored
    .slice(0, MAX_LISTED_COLUMNS)
    .map((name) => (name.length > 64 ? `${name.slice(0, 63)}…` : name));
  const more = ignored.length - shown.length;
  return [
    `CSV columns that are not features of the model were ignored: ${shown.join(', ')}${more > 0 ? ` … and ${more} more (${ignored.length} in all)` : ''}`,
  ];
}

/** Ignored columns named in a summary's warning; the rest are counted. */
export const MAX_LISTED_COLUMNS = 20;

/**
 * The model version a file is scored with: its key's version folder, else its `model-version`
 * metadata (they must agree when both are given), else the model's default.
 *
 * @throws BadRequestError when the folder and the metadata disagree, or the metadata is not a
 *   version or alias.
 */
export function versionSelectorOf(
  input: BatchInputKey,
  metadata: Record<string, string> | undefined,
): { selector: VersionSelector; from: VersionSource } {
  const given = metadata?.[VERSION_METADATA_KEY]?.trim() || undefined;
  const { pathVersion } = input;
  if (pathVersion !== undefined) {
    if (given !== undefined && given !== String(pathVersion)) {
      throw new BadRequestError(
        `the key's folder 'v${pathVersion}' asks for version ${pathVersion} but the object's metadata ${VERSION_METADATA_KEY} asks for '${given.slice(0, 64)}'`,
      );
    }
    return { selector: { kind: 'number', version: pathVersion }, from: 'path' };
  }
  if (given !== undefined) {
    try {
      return { selector: parseVersionSelector(given), from: 'metadata' };
    } catch (error) {
      if (error instanceof BadRequestError) {
        throw new BadRequestError(`object metadata ${VERSION_METADATA_KEY}: ${error.message}`);
      }
      throw error;
    }
  }
  return { selector: { kind: 'default' }, from: 'default' };
}

/** The model a file is scored with, loaded and servable, and how its rows are read and captured. */
export interface BatchModel {
  model: LoadedModel;
  schema: TabularSchema | undefined;
  notTabular: string | undefined;
  sampleRate: number;
  from: VersionSource;
}

/**
 * Resolves and loads the model of a batch input (a file naming no version is routed as a whole by
 * the model's traffic split, on its key).
 */
export async function loadBatchModel(
  deps: Pick<BatchJobDeps, 'repository' | 'loader'>,
  input: BatchInputKey,
  { selector, from }: { selector: VersionSelector; from: VersionSource },
): Promise<BatchModel> {
  assertModelName(input.model);
  const ref = await deps.repository.resolve(input.model, selector, { routingKey: input.key });
  const { model } = await deps.loader.get(ref);
  assertServable(model);
  const { schema, reason } = tabularSchema(model.name, model.signature, ref.config.feature_names);
  return { model, schema, notTabular: reason, sampleRate: captureSettings(ref.config).sampleRate, from };
}
