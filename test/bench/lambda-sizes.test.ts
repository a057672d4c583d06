import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarize } from '../../scripts/bench/common.ts';
import {
  costPerMillion,
  LAMBDA_PRICES,
  powerTuningTable,
  quantile,
  type SizeModelResult,
} from '../../scripts/bench/lambda-sizes.ts';

describe('Lambda sizes: cost and power tuning', () => {
  it('bills each call rounded up to the millisecond, at the size in GB, plus the request price', () => {
    // 1.2 ms and 2.0 ms bill 2 ms each: 1 M calls × 0.002 s × 2 GB = 4000 GB-s.
    const cost = costPerMillion([1.2, 2.0], 2048);
    assert.ok(Math.abs(cost.arm64 - (4000 * LAMBDA_PRICES.gbSecond.arm64 + 0.2)) < 1e-9);
    assert.ok(Math.abs(cost.x86_64 - (4000 * LAMBDA_PRICES.gbSecond.x86_64 + 0.2)) < 1e-9);
    assert.ok(cost.x86_64 > cost.arm64);
  });

  it('computes quantiles between order statistics', () => {
    const values = Array.from({ length: 101 }, (_, i) => 100 - i);
    assert.equal(quantile(values, 0.99), 99);
    assert.equal(quantile(values, 0.5), 50);
    assert.equal(quantile([1, 2], 0.5), 1.5);
    assert.ok(Number.isNaN(quantile([], 0.5)));
  });

  it('names the cheapest size whose warm p99 meets the goal, and says so when none does', () => {
    const result = (memoryMb: number, p99: number, mean: number): SizeModelResult => {
      const warm = Array.from({ length: 10 }, () => mean);
      return {
        memoryMb,
        model: 'm',
        cold: summarize([1000]),
        warm: { ...summarize(warm), p99 },
        costPerMillion: costPerMillion(warm, memoryMb),
      };
    };
    // 512 MB misses the goal; 1024 MB (20 ms: 20 000 GB-s per 1 M, $0.47) is cheaper than 2048 MB (15 ms: 30 000 GB-s).
    const results = [result(512, 90, 60), result(1024, 30, 20), result(2048, 20, 15)];
    const table = powerTuningTable(results, [], { m: 40, other: 1 });
    assert.match(table, /\| m \| ≤ 40 ms \| 1024 MB: p99 30\.0 ms, \$0\.47 per 1 M \|/);
    assert.match(
      powerTuningTable(results, [], { m: 10 }),
      /\| m \| ≤ 10 ms \| none of the sizes measured \|/,
    );
    assert.equal(table.split('\n').filter((line) => line.startsWith('| m | ')).length, 4);
  });
});
