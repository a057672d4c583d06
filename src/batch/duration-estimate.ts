/**
 * Whether a batch file will fit one invocation, estimated before it is read: rows from the bytes
 * per line of its first block, time per row from the model version's validated latency (the
 * median of validation's one-row runs). A one-row run costs at least what a row costs in a
 * micro-batch, so the estimate errs toward fanning out; it exists for heavy models whose rows are
 * small (a file of a few megabytes that would take an hour), which the size threshold misses.
 */

/** A file fans out when its estimated scoring time passes this share of its time budget. */
export const ESTIMATE_SHARE = 0.5;

/** Bytes read from the start of a file to count its lines. */
export const ESTIMATE_SAMPLE_BYTES = 64 * 1024;

export interface DurationEstimate {
  /** Rows the file holds, estimated (the whole file's lines when the sample is the whole file). */
  rows: number;
  /** Estimated milliseconds to score them. */
  ms: number;
  /** Whether `ms` passes `ESTIMATE_SHARE` of the budget. */
  fanOut: boolean;
  /** Bytes of input a range may hold to stay within `ESTIMATE_SHARE` of the same budget. */
  rangeBytes: number;
}

/**
 * The lowest number of one-row runs a file of `size` bytes can hold whatever its content (a row is
 * at least a character and a line break): when even that fits the budget, the file need not be
 * sampled.
 *
 * @example
 * ```ts
 * mayNeedFanOut(1_000_000, 0.04, 870_000); // false: 500,000 rows × 0.04 ms = 20 s
 * ```
 */
export function mayNeedFanOut(size: number, latencyMs: number, budgetMs: number): boolean {
  return (size / 2) * latencyMs > ESTIMATE_SHARE * budgetMs;
}

/**
 * Estimates the scoring time of a file of `size` bytes whose first bytes are `sample`.
 *
 * @example
 * ```ts
 * const sample = new TextEncoder().encode('a,b\n1,2\n3,4\n');
 * estimateDuration(sample, 12, 100, 1000); // { rows: 3, ms: 300, fanOut: false, rangeBytes: 20 }
 * ```
 */
export function estimateDuration(
  sample: Uint8Array,
  size: number,
  latencyMs: number,
  budgetMs: number,
): DurationEstimate {
  let lines = 0;
  for (let at = sample.indexOf(0x0a); at !== -1; at = sample.indexOf(0x0a, at + 1)) lines += 1;
  const whole = sample.byteLength >= size;
  if (whole && size > 0 && sample[size - 1] !== 0x0a) lines += 1;
  // Without a line break in the sample, a row is at least the sample long.
  const bytesPerRow = whole ? size / Math.max(1, lines) : sample.byteLength / Math.max(1, lines);
  const rows = whole ? lines : Math.ceil(size / bytesPerRow);
  const ms = rows * latencyMs;
  const rowsPerRange = Math.max(1, Math.floor((ESTIMATE_SHARE * budgetMs) / Math.max(latencyMs, 1e-6)));
  return {
    rows,
    ms,
    fanOut: ms > ESTIMATE_SHARE * budgetMs,
    rangeBytes: Math.max(1, Math.floor(rowsPerRange * bytesPerRow)),
  };
}
