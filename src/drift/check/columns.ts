/**
 * Append-only numeric columns for the drift check: values land in fixed-size `Float64Array`
 * chunks, so a column grows without the copy-and-double of a growable array, and is turned into
 * one sorted sample (what the statistics need) only when the window has been read.
 */
import type { SortedSample } from '../statistics/index.ts';

/** Values per chunk: 512 KiB of doubles. */
export const COLUMN_CHUNK = 65_536;

/**
 * A column of doubles. `NaN` marks a missing value.
 *
 * @example
 * ```ts
 * const ages = new FloatColumn();
 * ages.push(31);
 * ages.push(Number.NaN); // missing
 * ages.toSortedSample(); // { kind: 'sorted', values: Float64Array [31], missing: 1 }
 * ```
 */
export class FloatColumn {
  #chunks: Float64Array[] = [];
  #current: Float64Array = new Float64Array(0);
  #fill = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(value: number): void {
    if (this.#fill === this.#current.length) {
      this.#current = new Float64Array(COLUMN_CHUNK);
      this.#chunks.push(this.#current);
      this.#fill = 0;
    }
    this.#current[this.#fill++] = value;
    this.#length++;
  }

  /** Value at `index` (0 ≤ index < length). */
  at(index: number): number {
    const chunk = this.#chunks[Math.floor(index / COLUMN_CHUNK)];
    return chunk?.[index % COLUMN_CHUNK] ?? Number.NaN;
  }

  /** All values, in order, as one array. */
  toArray(): Float64Array {
    const out = new Float64Array(this.#length);
    let offset = 0;
    for (const chunk of this.#chunks) {
      const take = Math.min(chunk.length, this.#length - offset);
      out.set(take === chunk.length ? chunk : chunk.subarray(0, take), offset);
      offset += take;
    }
    return out;
  }

  /**
   * The finite values sorted ascending, and how many were missing (NaN, ±Infinity). The chunks are
   * released as they are copied, so the column is empty afterwards and memory peaks at one column
   * plus its sorted copy.
   */
  toSortedSample(): SortedSample {
    let finite = 0;
    for (let c = 0; c < this.#chunks.length; c++) {
      const chunk = this.#chunks[c] as Float64Array;
      const end = Math.min(chunk.length, this.#length - c * COLUMN_CHUNK);
      for (let i = 0; i < end; i++) if (Number.isFinite(chunk[i] as number)) finite++;
    }
    const sorted = new Float64Array(finite);
    let j = 0;
    for (let c = 0; c < this.#chunks.length; c++) {
      const chunk = this.#chunks[c] as Float64Array;
      const end = Math.min(chunk.length, this.#length - c * COLUMN_CHUNK);
      for (let i = 0; i < end; i++) {
        const value = chunk[i] as number;
        if (Number.isFinite(value)) sorted[j++] = value;
      }
      // Let the collector take the chunk before the next one is read.
      this.#chunks[c] = EMPTY;
    }
    const missing = this.#length - finite;
    this.#chunks = [];
    this.#current = EMPTY;
    this.#fill = 0;
    this.#length = 0;
    sorted.sort();
    return { kind: 'sorted', values: sorted, missing };
  }
}

const EMPTY = new Float64Array(0);

/**
 * Counts of a categorical column (or of predicted labels): a `Map` keyed by category, which keeps
 * any string, `__proto__` included, as an ordinary key.
 *
 * @example
 * ```ts
 * const cities = new CategoryCounts();
 * cities.add('Paris');
 * cities.add(null); // missing
 * cities.counts.get('Paris'); // 1
 * ```
 */
export class CategoryCounts {
  readonly counts = new Map<string, number>();
  missing = 0;

  add(value: string | null): void {
    if (value === null) {
      this.missing++;
      return;
    }
    this.counts.set(value, (this.counts.get(value) ?? 0) + 1);
  }

  get total(): number {
    let total = this.missing;
    for (const count of this.counts.values()) total += count;
    return total;
  }
}
