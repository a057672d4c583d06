/**
 * Where scored rows go: the output (one line per row, in order), the errors object (failed rows)
 * and the capture object (sampled scored rows), each a streamed write that appears only when
 * completed. Shared by a whole-file run (`batch-job.ts`) and a range of a fanned-out file
 * (`fan-out.ts`), so both write the same lines.
 */
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
import type { ObjectWriter, StreamingObjectStore } from '../ports/object-store.ts';
import type { LoadedModel } from '../runtime/model-loader.ts';
import type { BatchRow, RowReaderOptions } from './rows.ts';
import type { BatchScorer, RowResult } from './scorer.ts';
import type { BatchErrorLine } from './summary.ts';
import type { TabularSchema } from './tabular.ts';

export const JSONL = 'application/x-ndjson';

/** How a file's rows are captured. */
export interface CaptureContext {
  /** Sampling rate (0 to 1) and the seed that makes it deterministic for the file. */
  rate: number;
  seed: string;
  /** Names the capture object by the input's time. */
  written: Date;
  /** The model's feature names, prepared once for the records' inputs (tabular models). */
  features?: FeatureKeys;
}

/** The capture context of a run over `key` with this ETag (the seed depends on both only). */
export function captureContext(
  key: string,
  etag: string,
  rate: number,
  written: Date,
  schema: TabularSchema | undefined,
): CaptureContext {
  return {
    rate,
    seed: `${key}\n${etag}`,
    written,
    features: schema === undefined ? undefined : featureKeys(schema.featureNames),
  };
}

/** The row reader's capture option: which rows get their capture inputs prepared as read. */
export function readerCapture(capture: CaptureContext): RowReaderOptions['capture'] {
  return capture.features === undefined || capture.rate <= 0
    ? undefined
    : { features: capture.features, isCaptured: (line) => isSampled(capture.rate, capture.seed, line) };
}

export interface RowCounts {
  total: number;
  ok: number;
  failed: number;
  captured: number;
}

export interface RowWritersOptions {
  store: StreamingObjectStore;
  /** The input key (the capture records' origin). */
  inputKey: string;
  model: LoadedModel;
  schema: TabularSchema | undefined;
  capture: CaptureContext;
  /** Keys of the output and errors objects, and of the capture object (asked for when needed). */
  keys: { output: string; errors: string; captures: () => string };
  maxCapturedElements?: number;
}

/** Writes scored rows to their three streamed objects and counts them. */
export class RowWriters {
  readonly counts: RowCounts = { total: 0, ok: 0, failed: 0, captured: 0 };
  readonly #options: RowWritersOptions;
  readonly #output: ObjectWriter;
  #errors: ObjectWriter | undefined;
  #captures: ObjectWriter | undefined;

  constructor(options: RowWritersOptions) {
    this.#options = options;
    this.#output = options.store.createWriter(options.keys.output, { contentType: JSONL });
  }

  /** The key of the capture object, once a row was captured. */
  get capturesKey(): string | undefined {
    return this.#captures?.key;
  }

  /** Appends the results of one micro-batch, in order. */
  async write(results: RowResult[], now: Date): Promise<void> {
    const { model, capture, store, keys } = this.#options;
    let output = '';
    let errors = '';
    let captures = '';
    for (const result of results) {
      this.counts.total += 1;
      if (result.error !== undefined) {
        this.counts.failed += 1;
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
      this.counts.ok += 1;
      output += `${toJsonLine(result.response)}\n`;
      if (isSampled(capture.rate, capture.seed, result.row.line)) {
        this.counts.captured += 1;
        captures += this.#captureLine(result, now);
      }
    }
    await this.#output.write(output);
    if (errors !== '') {
      this.#errors ??= store.createWriter(keys.errors, { contentType: JSONL });
      await this.#errors.write(errors);
    }
    if (captures !== '') {
      this.#captures ??= store.createWriter(keys.captures(), { contentType: JSONL });
      await this.#captures.write(captures);
    }
  }

  /** Completes the objects written to; `errors` and `captures` are undefined when nothing went there. */
  async complete(): Promise<{
    output: { etag?: string; bytes: number };
    errors?: { etag?: string; bytes: number };
    captures?: { etag?: string; bytes: number };
  }> {
    const output = await this.#output.complete();
    const errors = this.#errors === undefined ? undefined : await this.#errors.complete();
    const captures = this.#captures === undefined ? undefined : await this.#captures.complete();
    return { output, errors, captures };
  }

  async abort(): Promise<void> {
    await Promise.all([this.#output.abort(), this.#errors?.abort(), this.#captures?.abort()]);
  }

  #captureLine(result: RowResult & { response: object }, now: Date): string {
    const { model, schema, capture, inputKey } = this.#options;
    const max = this.#options.maxCapturedElements ?? MAX_CAPTURED_ELEMENTS;
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
        origin: { key: inputKey, line: row.line },
      },
      capturedInputs(row, schema, capture.features, max),
    );
  }
}

/**
 * Scores rows in micro-batches of `batchSize` and hands each batch's results on, in order.
 * `beforeBatch` runs before each batch is scored (deadline checks), `afterBatch` after its results
 * were written (progress).
 *
 * One batch is scored while the next is read: the model runs in its own process (or in
 * onnxruntime's threads), so reading and parsing rows overlaps the inference instead of waiting
 * for it. At most two batches are in hand at a time, and results are written strictly in order;
 * the first failure (of scoring or writing) stops the run and is what this rejects with.
 */
export async function scoreRows(
  rows: AsyncIterable<BatchRow>,
  options: {
    scorer: BatchScorer;
    batchSize: number;
    write: (results: RowResult[]) => Promise<void>;
    beforeBatch?: () => void;
    afterBatch?: () => Promise<void>;
  },
): Promise<void> {
  /** The batch before: scored and written once this settles. */
  let previous: Promise<void> = Promise.resolve();
  const flush = async (batch: BatchRow[]): Promise<void> => {
    options.beforeBatch?.();
    if (batch.length === 0) return;
    const scoring = options.scorer.score(batch);
    // Handled here so that a failure while the batch before is still being written is not an
    // unhandled rejection; it is still what `written` rejects with.
    scoring.catch(() => {});
    const written = previous.then(async () => {
      await options.write(await scoring);
      await options.afterBatch?.();
    });
    written.catch(() => {});
    await previous;
    previous = written;
  };
  let pending: BatchRow[] = [];
  for await (const row of rows) {
    pending.push(row);
    if (pending.length >= options.batchSize) {
      await flush(pending);
      pending = [];
    }
  }
  await flush(pending);
  await previous;
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
