/**
 * `scoreRows` scores one micro-batch while the next is read: results must still be written in
 * input order, one batch at a time, and the first failure must stop the run without leaving a
 * rejection unhandled.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scoreRows } from '../../src/batch/row-writers.ts';
import type { BatchRow } from '../../src/batch/rows.ts';
import type { BatchScorer, RowResult } from '../../src/batch/scorer.ts';

function rowsOf(count: number, read: number[] = []): AsyncIterable<BatchRow> {
  return (async function* () {
    for (let line = 1; line <= count; line++) {
      read.push(line);
      yield { line, id: `r-${line}`, kind: 'invalid', error: 'unused' };
    }
  })();
}

/** A scorer whose batches finish after `delays[batch]` ms (later batches may finish first). */
function scorer(delays: number[], fail?: { batch: number }): BatchScorer {
  let batch = 0;
  const score = async (rows: readonly BatchRow[]): Promise<RowResult[]> => {
    const mine = batch++;
    await new Promise((resolve) => setTimeout(resolve, delays[mine] ?? 0));
    if (fail?.batch === mine) throw new Error(`batch ${mine} failed`);
    return rows.map((row) => ({ row, error: `scored in batch ${mine}`, latencyMs: 0 }));
  };
  return { score } as unknown as BatchScorer;
}

describe('scoreRows', () => {
  it('writes batches in input order even when a later batch is scored first', async () => {
    const written: string[] = [];
    let writing = 0;
    await scoreRows(rowsOf(10), {
      scorer: scorer([40, 0, 25, 0]),
      batchSize: 3,
      write: async (results) => {
        writing += 1;
        assert.equal(writing, 1, 'two batches written at once');
        await new Promise((resolve) => setTimeout(resolve, 5));
        written.push(...results.map((result) => result.row.id));
        writing -= 1;
      },
    });
    assert.deepEqual(
      written,
      Array.from({ length: 10 }, (_, i) => `r-${i + 1}`),
    );
  });

  it('reads the next batch while one is being scored, never more than one batch ahead', async () => {
    const read: number[] = [];
    const readWhenScored: number[] = [];
    await scoreRows(rowsOf(12, read), {
      scorer: scorer([30, 30, 30, 30]),
      batchSize: 3,
      write: async (results) => {
        readWhenScored.push(read.length);
        assert.ok(results.length === 3);
      },
    });
    // When batch k (rows 3k-2…3k) is written, batch k+1 has been read (it is being scored) and
    // nothing further: at most two batches in hand.
    assert.deepEqual(readWhenScored, [6, 9, 12, 12]);
  });

  it('stops at the first failed batch and rejects with its error; nothing after it is written', async () => {
    const written: string[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await assert.rejects(
        scoreRows(rowsOf(12), {
          // Batch 1 fails while batch 0 is still being written.
          scorer: scorer([0, 0, 0, 0], { batch: 1 }),
          batchSize: 3,
          write: async (results) => {
            await new Promise((resolve) => setTimeout(resolve, 20));
            written.push(...results.map((result) => result.row.id));
          },
        }),
        /batch 1 failed/,
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.deepEqual(written, ['r-1', 'r-2', 'r-3']);
    assert.deepEqual(unhandled, []);
  });

  it('a failing write stops the run before the batches after it', async () => {
    let writes = 0;
    await assert.rejects(
      scoreRows(rowsOf(12), {
        scorer: scorer([0, 0, 0, 0]),
        batchSize: 3,
        write: async () => {
          writes += 1;
          if (writes === 2) throw new Error('store down');
        },
      }),
      /store down/,
    );
    assert.equal(writes, 2);
  });
});
