import type { Tensor } from 'onnxruntime-node';
import { decodeInputs } from '../codec/decode.ts';
import { encodeOutputs } from '../codec/encode.ts';
import { ServingError } from '../errors.ts';
import { type InferenceService, runtimeReason } from '../protocol/service.ts';
import type { LoadedModel } from '../runtime/model-loader.ts';
import type { InferenceResponse, ResponseOutput } from '../types.ts';
import type { BatchRow } from './rows.ts';
import { type TabularSchema, tabularInputs } from './tabular.ts';

/** What became of one row: a protocol response, or the reason it could not be scored. */
export type RowResult =
  | { row: BatchRow; response: InferenceResponse; error?: undefined; latencyMs: number }
  | { row: BatchRow; response?: undefined; error: string; latencyMs: number };

/** A failure that belongs to the rows being scored (bad values, a model rejecting them). */
class RowsRejected extends Error {
  override readonly name = 'RowsRejected';
}

export interface BatchScorerOptions {
  /** The model version every row of the file is scored with. */
  model: LoadedModel;
  /** Scores inference-request rows exactly as the HTTP API does. */
  service: InferenceService;
  /** Present when the model is tabular: rows of named features then take the fast path. */
  schema?: TabularSchema;
  /** Milliseconds clock for latencies (default `performance.now`). */
  now?: () => number;
  /**
   * Called before each run of the model; throwing stops the batch there (a file out of time
   * stops at the next run instead of scoring the rest of its micro-batch).
   */
  checkpoint?: () => void;
}

/**
 * Scores micro-batches of rows with one pinned model version.
 *
 * Rows of named features (tabular models) are stacked into one `[N, F]` tensor (or one `[N, 1]`
 * column per feature, as the model takes them) per batch and run
 * in a single `session.run`; the outputs are then split back into one response per row. The
 * tensor goes through the same codec as the HTTP API (`decodeInputs`, `encodeOutputs`). When a
 * batch is refused as a whole (a value out of the input type's range, a graph failing on some
 * row) or an output is not batch-major, its rows are run one by one, so that only the rows at
 * fault fail, each with its own message.
 *
 * Inference-request rows go through `InferenceService.infer` with the pinned version, one
 * request at a time: validation, decoding, output selection and encoding are the API's.
 *
 * @example
 * ```ts
 * const scorer = new BatchScorer({ model, service, schema });
 * for (const result of await scorer.score(rows)) write(result.response ?? result.error);
 * ```
 */
export class BatchScorer {
  readonly #model: LoadedModel;
  readonly #service: InferenceService;
  readonly #schema: TabularSchema | undefined;
  readonly #now: () => number;
  readonly #checkpoint: () => void;
  readonly #version: string;
  readonly #outputNames: string[];

  constructor(options: BatchScorerOptions) {
    this.#model = options.model;
    this.#service = options.service;
    this.#schema = options.schema;
    this.#now = options.now ?? (() => performance.now());
    this.#checkpoint = options.checkpoint ?? (() => {});
    this.#version = String(options.model.version);
    this.#outputNames = options.model.signature.outputs.map((output) => output.name);
  }

  /** One result per row, in the rows' order. Throws only for failures that are not the rows' own. */
  async score(rows: readonly BatchRow[]): Promise<RowResult[]> {
    const results = new Array<RowResult>(rows.length);
    const tabular: number[] = [];
    for (const [index, row] of rows.entries()) {
      if (row.kind === 'invalid') results[index] = { row, error: row.error, latencyMs: 0 };
      else if (row.kind === 'request') results[index] = await this.#request(row);
      else tabular.push(index);
    }
    const perRun = Math.max(1, this.#schema?.rowsPerRun ?? 1);
    for (let from = 0; from < tabular.length; from += perRun) {
      const indices = tabular.slice(from, from + perRun);
      const scored = await this.#features(indices.map((index) => rows[index] as BatchRow));
      indices.forEach((index, k) => {
        results[index] = scored[k] as RowResult;
      });
    }
    return results;
  }

  async #features(rows: BatchRow[]): Promise<RowResult[]> {
    try {
      return await this.#runTabular(rows);
    } catch (error) {
      if (!(error instanceof RowsRejected)) throw error;
      if (rows.length === 1) return [{ row: rows[0] as BatchRow, error: error.message, latencyMs: 0 }];
    }
    const results: RowResult[] = [];
    for (const row of rows) {
      try {
        results.push(...(await this.#runTabular([row])));
      } catch (error) {
        if (!(error instanceof RowsRejected)) throw error;
        results.push({ row, error: error.message, latencyMs: 0 });
      }
    }
    return results;
  }

  async #runTabular(rows: BatchRow[]): Promise<RowResult[]> {
    this.#checkpoint();
    const schema = this.#schema;
    if (schema === undefined) throw new Error('BatchScorer: feature rows need a tabular schema');
    const count = rows.length;
    const width = schema.featureNames.length;
    const data = new Array<unknown>(count * width);
    rows.forEach((row, r) => {
      if (row.kind !== 'features') throw new Error('BatchScorer: not a feature row');
      for (let f = 0; f < width; f++) data[r * width + f] = row.values[f];
    });
    let feeds: Record<string, Tensor>;
    try {
      feeds = decodeInputs(tabularInputs(schema, data, count), this.#model.signature.inputs);
    } catch (error) {
      if (error instanceof ServingError && error.status < 500) throw new RowsRejected(error.message);
      throw error;
    }
    const started = this.#now();
    let results: Record<string, Tensor>;
    try {
      results = await this.#model.session.run(feeds, this.#outputNames);
    } catch (error) {
      if (error instanceof ServingError && error.status >= 500) throw error;
      throw new RowsRejected(`the model rejected the row: ${runtimeReason(error)}`);
    }
    const latencyMs = (this.#now() - started) / count;
    const outputs = encodeOutputs(
      results,
      this.#outputNames.map((name) => ({ name })),
    );
    const perRow = splitRows(outputs, count);
    if (perRow === undefined) throw new RowsRejected('an output of the model is not one row per input row');
    return rows.map((row, r) => ({
      row,
      response: {
        id: row.id,
        model_name: this.#model.name,
        model_version: this.#version,
        outputs: perRow[r] as ResponseOutput[],
      },
      latencyMs,
    }));
  }

  async #request(row: BatchRow & { kind: 'request' }): Promise<RowResult> {
    this.#checkpoint();
    try {
      const { response, stats } = await this.#service.infer(
        this.#model.name,
        this.#version,
        row.body,
        undefined,
        undefined,
        { shadow: false },
      );
      const { id, model_name, model_version, parameters, outputs } = response;
      return {
        row,
        response: { id, model_name, model_version, ...(parameters ? { parameters } : {}), outputs },
        latencyMs: stats.inferMs,
      };
    } catch (error) {
      if (error instanceof ServingError && error.status < 500)
        return { row, error: error.message, latencyMs: 0 };
      throw error;
    }
  }
}

/**
 * Splits batch outputs `[N, …]` into N per-row outputs `[1, …]`; `undefined` when an output is not
 * batch-major. With one row, outputs are kept whole whatever their shape.
 */
function splitRows(outputs: ResponseOutput[], count: number): ResponseOutput[][] | undefined {
  if (count === 1) return [outputs];
  const rows: ResponseOutput[][] = Array.from({ length: count }, () => []);
  for (const output of outputs) {
    if (output.shape[0] !== count) return undefined;
    const rest = output.shape.slice(1);
    const size = rest.reduce((product, dim) => product * dim, 1);
    for (let r = 0; r < count; r++) {
      (rows[r] as ResponseOutput[]).push({
        name: output.name,
        datatype: output.datatype,
        shape: [1, ...rest],
        data: output.data.slice(r * size, (r + 1) * size),
      });
    }
  }
  return rows;
}
