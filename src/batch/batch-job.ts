import { captureSettings } from '../capture/api-capture.ts';
import { addInputStats } from '../capture/input-stats.ts';
import {
  captureRecordLine,
  captureTensor,
  type FeatureKeys,
  featureInputsJson,
  featureKeys,
  isSampled,
  MAX_CAPTURED_ELEMENTS,
  toJsonLine,
} from '../capture/record.ts';
import { parseInferenceRequest } from '../codec/parse-request.ts';
import { BadRequestError, ServingError } from '../errors.ts';
import type { ObjectStream, ObjectWriter, StreamingObjectStore } from '../ports/object-store.ts';
import type { InferenceService } from '../protocol/service.ts';
import type { ModelRepository } from '../repository/model-repository.ts';
import { assertModelName, parseVersionSelector, type VersionSelector } from '../repository/names.ts';
import { assertServable, type LoadedModel, type ModelLoader } from '../runtime/model-loader.ts';
import { decodeText, newTextInputInfo, type TextInputInfo } from '../text/text-input.ts';
import {
  type BatchInputKey,
  type BatchOutputKeys,
  batchCaptureKey,
  batchOutputKeys,
  parseBatchInputKey,
  VERSION_METADATA_KEY,
} from './keys.ts';
import { type BatchRow, type RowReaderReport, readRows } from './rows.ts';
import { BatchScorer, type RowResult } from './scorer.ts';
import {
  type BatchErrorLine,
  type BatchSummary,
  isFinishedFor,
  parseSummary,
  SUMMARY_SCHEMA_VERSION,
  type VersionSource,
} from './summary.ts';
import { type TabularSchema, tabularSchema } from './tabular.ts';

const JSONL = 'application/x-ndjson';

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
  | { status: 'failed'; key: string; summary: BatchSummary; error: unknown };

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

interface Writers {
  output?: ObjectWriter;
  errors?: ObjectWriter;
  captures?: ObjectWriter;
}

class BatchFileRun {
  readonly #input: BatchInputKey;
  readonly #request: BatchFileRequest;
  readonly #deps: BatchJobDeps;
  readonly #keys: BatchOutputKeys;
  readonly #clock: () => number;
  readonly #startedAt: number;
  readonly #writers: Writers = {};
  readonly #text: TextInputInfo = newTextInputInfo();
  readonly #report: RowReaderReport = { ignoredColumns: [] };
  readonly #counts = { total: 0, ok: 0, failed: 0, captured: 0 };
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
    await Promise.all(Object.values(this.#writers).map((writer: ObjectWriter) => writer.abort()));
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
    const { model: name } = this.#input;
    assertModelName(name);
    const { selector, from } = this.#versionSelector(object.metadata);
    // A file naming no version is routed as a whole by the model's traffic split, on its key.
    const ref = await this.#deps.repository.resolve(name, selector, { routingKey: this.#input.key });
    const { model } = await this.#deps.loader.get(ref);
    assertServable(model);
    this.#summary.version = String(model.version);
    this.#summary.version_from = from;
    const { schema, reason } = tabularSchema(model.name, model.signature, ref.config.feature_names);
    return { model, schema, notTabular: reason, sampleRate: captureSettings(ref.config).sampleRate };
  }

  #versionSelector(metadata: Record<string, string> | undefined): {
    selector: VersionSelector;
    from: VersionSource;
  } {
    const given = metadata?.[VERSION_METADATA_KEY]?.trim() || undefined;
    const { pathVersion } = this.#input;
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

  async #score(
    object: ObjectStream,
    model: LoadedModel,
    schema: TabularSchema | undefined,
    notTabular: string | undefined,
    sampleRate: number,
  ): Promise<'succeeded' | 'partial'> {
    const { settings, service, store } = this.#deps;
    const etag = object.etag ?? this.#request.etag ?? '';
    const scorer = new BatchScorer({ model, service, schema, checkpoint: () => this.#checkDeadline() });
    const capture: CaptureContext = {
      rate: sampleRate,
      seed: `${this.#input.key}\n${etag}`,
      written: object.lastModified ?? new Date(this.#startedAt),
      features: schema === undefined ? undefined : featureKeys(schema.featureNames),
    };
    this.#writers.output = store.createWriter(this.#keys.output, { contentType: JSONL });
    const rows = readRows(
      decodeText(object.body, this.#text),
      {
        key: this.#input.key,
        schema,
        notTabular,
        maxRecordChars: settings.maxRecordChars,
        maxLineChars: settings.maxLineChars,
        capture:
          capture.features === undefined || capture.rate <= 0
            ? undefined
            : {
                features: capture.features,
                isCaptured: (line) => isSampled(capture.rate, capture.seed, line),
              },
      },
      this.#report,
    );
    let pending: BatchRow[] = [];
    for await (const row of rows) {
      pending.push(row);
      if (pending.length >= settings.batchSize) {
        await this.#flush(scorer, pending, model, schema, capture, etag);
        pending = [];
      }
    }
    await this.#flush(scorer, pending, model, schema, capture, etag);
    return this.#finish();
  }

  async #flush(
    scorer: BatchScorer,
    rows: BatchRow[],
    model: LoadedModel,
    schema: TabularSchema | undefined,
    capture: CaptureContext,
    etag: string,
  ): Promise<void> {
    this.#checkDeadline();
    if (rows.length === 0) return;
    const results = await scorer.score(rows);
    this.#checkDeadline();
    const now = new Date(this.#clock());
    let output = '';
    let errors = '';
    let captures = '';
    for (const result of results) {
      this.#counts.total += 1;
      if (result.error !== undefined) {
        this.#counts.failed += 1;
        const { id, line } = result.row;
        output += `${toJsonLine({
          id,
          model_name: model.name,
          model_version: String(model.version),
          error: result.error,
        })}\n`;
        errors += `${JSON.stringify({ line, id, error: result.error } satisfies BatchErrorLine)}\n`;
        continue;
      }
      this.#counts.ok += 1;
      output += `${toJsonLine(result.response)}\n`;
      if (isSampled(capture.rate, capture.seed, result.row.line)) {
        this.#counts.captured += 1;
        captures += this.#captureLine(result, model, schema, capture.features, now);
      }
    }
    await this.#writers.output?.write(output);
    if (errors !== '') {
      this.#writers.errors ??= this.#deps.store.createWriter(this.#keys.errors, { contentType: JSONL });
      await this.#writers.errors.write(errors);
    }
    if (captures !== '') {
      this.#captureKey ??= batchCaptureKey(model.name, this.#input.key, etag, capture.written);
      this.#writers.captures ??= this.#deps.store.createWriter(this.#captureKey, { contentType: JSONL });
      await this.#writers.captures.write(captures);
    }
    if (this.#clock() - this.#lastProgressAt >= this.#deps.settings.progressIntervalMs) {
      this.#lastProgressAt = this.#clock();
      await this.#assertCurrent();
      await this.#writeSummary();
      this.#deps.log?.info('batch progress', { key: this.#input.key, ...this.#summary.counts });
    }
  }

  #captureLine(
    result: RowResult & { response: object },
    model: LoadedModel,
    schema: TabularSchema | undefined,
    features: FeatureKeys | undefined,
    now: Date,
  ): string {
    const max = this.#deps.settings.maxCapturedElements ?? MAX_CAPTURED_ELEMENTS;
    const { row, response, latencyMs } = result;
    return captureRecordLine(
      {
        id: row.id,
        ts: now,
        model: model.name,
        version: String(model.version),
        source: 'batch',
        outputs: response.outputs.map((output) => captureTensor(output, max)),
        latencyMs,
        origin: { key: this.#input.key, line: row.line },
      },
      capturedInputs(row, schema, features, max),
    );
  }

  #checkDeadline(): void {
    if (this.#expired !== undefined) throw this.#expired;
    const deadline = this.#deadline;
    if (deadline !== undefined && this.#clock() > deadline.at) throw this.#deadlineError();
  }

  #deadlineError(): DeadlineExceededError {
    const { total, ok, failed } = this.#counts;
    return new DeadlineExceededError(
      `the run ran out of time after ${total} rows (${ok} scored, ${failed} failed): it reached ${this.#deadline?.set}; split the input into smaller files`,
    );
  }

  async #finish(): Promise<'succeeded' | 'partial'> {
    this.#checkDeadline();
    const { output, errors, captures } = this.#writers;
    await this.#assertCurrent();
    const written = output === undefined ? undefined : await output.complete();
    const errorsWritten = errors === undefined ? undefined : await errors.complete();
    // No failed row this time: an errors object left by an earlier run of this key is stale.
    if (errors === undefined) await this.#deps.store.delete(this.#keys.errors);
    if (captures !== undefined) await captures.complete();

    const { total, ok, failed, captured } = this.#counts;
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
    const { total, ok, failed } = this.#counts;
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
    const { ignoredColumns } = this.#report;
    if (ignoredColumns.length === 0) return [];
    // Capped: a file with 100k extra columns must not make a megabyte of summary.
    const shown = ignoredColumns
      .slice(0, MAX_LISTED_COLUMNS)
      .map((name) => (name.length > 64 ? `${name.slice(0, 63)}…` : name));
    const more = ignoredColumns.length - shown.length;
    return [
      `CSV columns that are not features of the model were ignored: ${shown.join(', ')}${more > 0 ? ` … and ${more} more (${ignoredColumns.length} in all)` : ''}`,
    ];
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

/** Ignored columns named in a summary's warning; the rest are counted. */
export const MAX_LISTED_COLUMNS = 20;

/** How a file's rows are captured. */
interface CaptureContext {
  /** Sampling rate (0 to 1) and the seed that makes it deterministic for the file. */
  rate: number;
  seed: string;
  /** Names the capture object by the input's time. */
  written: Date;
  /** The model's feature names, prepared once for the records' inputs (tabular models). */
  features?: FeatureKeys;
}

/**
 * A row's inputs for its capture record, as JSON: features by name, or the request's tensors
 * (`truncated` when any was summarised).
 */
function capturedInputs(
  row: BatchRow,
  schema: TabularSchema | undefined,
  features: FeatureKeys | undefined,
  max: number,
): { json: string; truncated: boolean; stats?: Record<string, number | null> } {
  if (row.kind === 'features' && features !== undefined) {
    return { json: row.inputsJson ?? featureInputsJson(features, row.values), truncated: false };
  }
  if (row.kind !== 'request') return { json: '{}', truncated: false };
  const request = parseInferenceRequest(row.body);
  const [only] = request.inputs;
  if (
    features !== undefined &&
    schema !== undefined &&
    request.inputs.length === 1 &&
    only?.name === schema.inputName
  ) {
    const values = flatten(only.data);
    if (values.length === schema.featureNames.length) {
      return { json: featureInputsJson(features, values), truncated: false };
    }
  }
  const stats: Record<string, number | null> = {};
  const tensors = request.inputs.map((input) => {
    const data = flatten(input.data);
    addInputStats(stats, input.name, data, 0, data.length);
    return captureTensor({ name: input.name, datatype: input.datatype, shape: input.shape, data }, max);
  });
  return {
    json: toJsonLine(tensors),
    truncated: tensors.some((tensor) => tensor.truncated === true),
    stats,
  };
}

function flatten(data: unknown): unknown[] {
  return Array.isArray(data) ? data.flat(Number.POSITIVE_INFINITY) : [data];
}
