/**
 * What a drift check keeps of one model version's captures while it reads them: one typed column
 * per numeric feature, counts per categorical feature and per predicted label, and, for the
 * predictions that have an outcome, the joined pairs. Memory is a few bytes per value (8 per
 * numeric feature value), never the records themselves.
 */
import type { CapturedTensor, CaptureRecord } from '../../capture/record.ts';
import type { ReferenceDocument } from '../profiles/reference-types.ts';
import {
  addCbpeRow,
  type CbpeModel,
  type CbpeSums,
  emptyCbpeSums,
  type PcaModel,
  reconstructionError,
} from '../statistics/index.ts';
import { CategoryCounts, FloatColumn } from './columns.ts';
import {
  countCategoricalValue,
  emptyQuality,
  type FeatureQualityCounts,
  numericValue,
} from './data-quality.ts';
import type { HourlySums } from './estimated-performance.ts';
import { argmax, classIndexOf, labelName } from './labels.ts';
import type { OutcomeIndex } from './outcome-index.ts';

const HOUR_MS = 3_600_000;

/** Predictions of the version joined with their outcomes. */
export interface JoinedRows {
  /** Outcome value as a class index (classification; -1 when not a known class) or a number. */
  actual: FloatColumn;
  /** Predicted class index or score. */
  predicted: FloatColumn;
  /** Class probabilities, `classes` per row (classification with a probabilities output). */
  probabilities: FloatColumn | null;
  /** Outcome ts − prediction ts, in seconds (NaN when the outcome has no ts). */
  delays: FloatColumn;
  /** Joined outcomes received after the window ended (read thanks to the lookback). */
  late: number;
}

/**
 * Accumulates the captures of one version, laid out by its reference (feature order and kinds,
 * output names, class labels). Without a reference it only counts.
 *
 * @example
 * ```ts
 * const version = new VersionAccumulator('1', reference, outcomes, window.end.getTime());
 * for (const record of records) version.add(record, Date.parse(record.ts));
 * ```
 */
export class VersionAccumulator {
  readonly version: string;
  readonly reference: ReferenceDocument | null;
  readonly featureNames: readonly string[];
  /** Per feature: a numeric column, or category counts. */
  readonly numeric: (FloatColumn | null)[];
  readonly categorical: (CategoryCounts | null)[];
  /** Per feature: missing, non-finite and mismatched values (data quality). */
  readonly quality: FeatureQualityCounts[];
  /** Sums for performance estimation without outcomes (classifiers with probabilities and CBPE in the reference). */
  readonly cbpe: CbpeSums | null;
  /** Predicted labels (classification) by name. */
  readonly labels: CategoryCounts | null;
  /** Predicted scores (regression). */
  readonly scores: FloatColumn | null;
  readonly joined: JoinedRows;
  predictions = 0;
  /** Records whose inputs are tensors rather than named features (not profiled). */
  nonTabular = 0;
  truncated = 0;
  /** Records whose label or score output was missing or summarised. */
  withoutPrediction = 0;
  /** Predictions that were already joined: the same prediction id captured twice. */
  duplicateCaptures = 0;
  firstTs = Number.POSITIVE_INFINITY;
  lastTs = Number.NEGATIVE_INFINITY;
  /** Called with each prediction of a version with a reference (used by the per-hour summaries). */
  onPrediction:
    | ((id: string, tsMs: number, predicted: number, probabilities: ArrayLike<unknown> | undefined) => void)
    | null = null;

  /** Per hour of the records' `ts`: predictions, CBPE sums, joined outcomes and correct ones. */
  readonly #hours = new Map<number, HourlySums>();

  /** Multivariate drift: Σ reconstruction error and rows (tabular records, reference PCA present). */
  pcaErrorSum = 0;
  pcaRows = 0;
  readonly #pca: PcaModel | null;
  readonly #pcaRow: Float64Array;
  readonly #cbpeModel: CbpeModel | null;
  readonly #cbpeScratch: Float64Array;
  readonly #outcomes: OutcomeIndex;
  readonly #windowEnd: number;
  readonly #classNames: readonly string[];
  readonly #labelOutput: string | null;
  readonly #probabilityOutput: string | null;
  readonly #scoreOutput: string | null;

  constructor(
    version: string,
    reference: ReferenceDocument | null,
    outcomes: OutcomeIndex,
    windowEnd: number,
  ) {
    this.version = version;
    this.reference = reference;
    this.#outcomes = outcomes;
    this.#windowEnd = windowEnd;
    const features = reference?.features ?? [];
    this.featureNames = features.map((feature) => feature.name);
    this.numeric = features.map((feature) => (feature.profile.kind === 'numeric' ? new FloatColumn() : null));
    this.categorical = features.map((feature) =>
      feature.profile.kind === 'categorical' ? new CategoryCounts() : null,
    );
    this.quality = features.map(() => emptyQuality());
    this.#pca = reference?.multivariate ?? null;
    this.#pcaRow = new Float64Array(this.#pca?.features.length ?? 0);
    this.#cbpeModel = reference?.performance?.cbpe ?? null;
    this.cbpe = this.#cbpeModel ? emptyCbpeSums(this.#cbpeModel.classes) : null;
    this.#cbpeScratch = new Float64Array(this.#cbpeModel?.classes ?? 0);
    const prediction = reference?.prediction ?? null;
    this.#classNames = prediction?.kind === 'label' ? (prediction.labels ?? []) : [];
    this.#labelOutput = prediction?.kind === 'label' ? prediction.output : null;
    this.#probabilityOutput = prediction?.kind === 'label' ? prediction.probabilities : null;
    this.#scoreOutput = prediction?.kind === 'score' ? prediction.output : null;
    this.labels = prediction?.kind === 'label' ? new CategoryCounts() : null;
    this.scores = prediction?.kind === 'score' ? new FloatColumn() : null;
    this.joined = {
      actual: new FloatColumn(),
      predicted: new FloatColumn(),
      probabilities: this.#probabilityOutput !== null ? new FloatColumn() : null,
      delays: new FloatColumn(),
      late: 0,
    };
  }

  /** Class names by index (classification), else empty. */
  get classNames(): readonly string[] {
    return this.#classNames;
  }

  /** Takes one capture record of this version, made at `tsMs`. */
  add(record: CaptureRecord, tsMs: number): void {
    this.predictions++;
    if (tsMs < this.firstTs) this.firstTs = tsMs;
    if (tsMs > this.lastTs) this.lastTs = tsMs;
    if (record.truncated === true) this.truncated++;
    this.#addFeatures(
      Array.isArray(record.inputs) && record.input_stats ? record.input_stats : record.inputs,
    );
    if (this.reference === null) return;

    let predicted = Number.NaN;
    let probabilities: ArrayLike<unknown> | undefined;
    if (this.labels !== null) {
      const probabilityTensor = findOutput(record.outputs, this.#probabilityOutput);
      probabilities = probabilityTensor?.data;
      const labelTensor = findOutput(record.outputs, this.#labelOutput);
      const raw =
        labelTensor?.data?.[0] ?? (this.#labelOutput === null ? argmaxOf(probabilities) : undefined);
      if (raw === undefined || raw === null) {
        this.withoutPrediction++;
        this.labels.add(null);
      } else {
        const value = typeof raw === 'bigint' ? Number(raw) : typeof raw === 'boolean' ? Number(raw) : raw;
        const name = labelName(value, this.#classNames);
        this.labels.add(name);
        predicted = classIndexOf(name, this.#classNames);
      }
    } else if (this.scores !== null) {
      const raw = findOutput(record.outputs, this.#scoreOutput)?.data?.[0];
      predicted = raw === undefined ? Number.NaN : Number(raw);
      if (!Number.isFinite(predicted)) this.withoutPrediction++;
      this.scores.push(predicted);
    }
    const hour = this.#hourOf(tsMs);
    hour.predictions++;
    if (this.#cbpeModel !== null && this.cbpe !== null)
      addCbpeRow(
        this.#cbpeModel,
        this.cbpe,
        predicted,
        probabilities,
        this.#cbpeScratch,
        hour.estimated ?? undefined,
      );
    this.onPrediction?.(record.id, tsMs, predicted, probabilities);

    const row = this.#outcomes.ids.get(record.id);
    if (row === undefined) return;
    if (this.#outcomes.matched[row] === 1) {
      this.duplicateCaptures++;
      return;
    }
    this.#outcomes.matched[row] = 1;
    const value = this.#outcomes.values[row];
    const joined = this.joined;
    const actual = this.labels !== null ? classIndexOf(value, this.#classNames) : numberOf(value);
    hour.joined++;
    if (this.labels !== null && actual === predicted) hour.correct++;
    joined.actual.push(actual);
    joined.predicted.push(predicted);
    if (joined.probabilities !== null) {
      const k = this.#classNames.length;
      for (let c = 0; c < k; c++)
        joined.probabilities.push(probabilities ? numberOf(probabilities[c]) : Number.NaN);
    }
    const outcomeTs = this.#outcomes.ts[row] ?? Number.NaN;
    joined.delays.push((outcomeTs - tsMs) / 1000);
    if ((this.#outcomes.received[row] ?? Number.NaN) >= this.#windowEnd) joined.late++;
  }

  /** The hours with predictions, in time order (the estimated-versus-realised series). */
  get hourly(): HourlySums[] {
    return [...this.#hours.values()].sort((a, b) => a.hour - b.hour);
  }

  #hourOf(tsMs: number): HourlySums {
    const key = Math.floor(tsMs / HOUR_MS) * HOUR_MS;
    let hour = this.#hours.get(key);
    if (hour === undefined) {
      hour = {
        hour: key,
        predictions: 0,
        estimated: this.#cbpeModel ? emptyCbpeSums(this.#cbpeModel.classes) : null,
        joined: 0,
        correct: 0,
      };
      this.#hours.set(key, hour);
    }
    return hour;
  }

  #addFeatures(inputs: CaptureRecord['inputs'] | CaptureRecord['input_stats']): void {
    const names = this.featureNames;
    if (names.length === 0) return;
    if (Array.isArray(inputs) || typeof inputs !== 'object' || inputs === null) {
      this.nonTabular++;
      return;
    }
    for (let f = 0; f < names.length; f++) {
      const value = (inputs as Record<string, unknown>)[names[f] as string];
      const column = this.numeric[f];
      const quality = this.quality[f] as FeatureQualityCounts;
      if (column) {
        column.push(numericValue(value, quality));
        continue;
      }
      countCategoricalValue(value, quality);
      this.categorical[f]?.add(categoryOf(value));
    }
    const pca = this.#pca;
    if (pca !== null) {
      for (let j = 0; j < pca.features.length; j++) {
        const column = this.numeric[pca.features[j] as number];
        this.#pcaRow[j] = column ? column.at(column.length - 1) : Number.NaN;
      }
      this.pcaErrorSum += reconstructionError(pca, this.#pcaRow);
      this.pcaRows++;
    }
  }
}

function findOutput(
  outputs: readonly CapturedTensor[] | undefined,
  name: string | null,
): CapturedTensor | undefined {
  if (name === null || !Array.isArray(outputs)) return undefined;
  for (const output of outputs) if (output.name === name) return output;
  return undefined;
}

function argmaxOf(values: ArrayLike<unknown> | undefined): number | undefined {
  if (values === undefined) return undefined;
  const numbers = Array.from(values, numberOf);
  const index = argmax(numbers, 0, numbers.length);
  return index === -1 ? undefined : index;
}

/** A numeric value: numbers, numeric text (the codec writes "NaN"/"Infinity" as text), booleans. */
export function numberOf(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return value.trim() === '' ? Number.NaN : Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'bigint') return Number(value);
  return Number.NaN;
}

function categoryOf(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isNaN(value) ? null : String(value);
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}
