import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TWO_CLASS_CONFIG } from '../../scripts/lib/rollout-models.ts';
import {
  binomialTwoSided,
  compareVersions,
  tallyKey,
  type VersionTally,
} from '../../src/drift/check/rollout.ts';

const config = { ...TWO_CLASS_CONFIG, labels: ['a', 'b'], feature_names: ['f0', 'f1'] };

function tally(version: string, shadow: boolean, labels: Record<string, string>): VersionTally {
  const byId = new Map(Object.entries(labels).map(([id, label]) => [id, { label }]));
  return { version, shadow, predictions: byId.size, byId };
}

describe('rollout comparison', () => {
  it('computes the exact binomial tail of McNemar’s test', () => {
    // 2 · (C(10,0) + C(10,1)) / 2^10
    assert.ok(Math.abs(binomialTwoSided(1, 10) - (2 * 11) / 1024) < 1e-12);
    assert.ok(Math.abs(binomialTwoSided(0, 12) - 2 / 4096) < 1e-12);
    assert.equal(binomialTwoSided(5, 10), 1);
    assert.equal(binomialTwoSided(0, 0), 1);
  });

  it('pairs a shadow with the primary on prediction ids: worse when it loses the discordant pairs', () => {
    // 40 paired predictions: the primary is always right, the shadow wrong on 12 of them.
    const truth: Record<string, string> = {};
    const primary: Record<string, string> = {};
    const shadow: Record<string, string> = {};
    for (let i = 0; i < 40; i++) {
      truth[`p${i}`] = i % 2 === 0 ? 'a' : 'b';
      primary[`p${i}`] = truth[`p${i}`] as string;
      shadow[`p${i}`] = i < 12 ? (i % 2 === 0 ? 'b' : 'a') : (truth[`p${i}`] as string);
    }
    const tallies = new Map([
      [tallyKey('1', false), tally('1', false, primary)],
      [tallyKey('2', true), tally('2', true, shadow)],
    ]);
    const result = compareVersions(
      'm',
      { ...config, shadow: { versions: [2], sample_rate: 1 } },
      tallies,
      (id) => truth[id],
    );
    const [comparison] = result.comparisons;
    assert.equal(comparison?.test, 'mcnemar_exact');
    assert.equal(comparison?.n, 12);
    assert.equal(comparison?.p_value, binomialTwoSided(0, 12));
    assert.equal(comparison?.verdict, 'worse');
    const shadowRow = result.versions.find((v) => v.role === 'shadow');
    assert.equal(shadowRow?.agreement?.label_agreement, 28 / 40);

    // The same with the shadow right where the primary was wrong: better.
    const swapped = new Map([
      [tallyKey('1', false), tally('1', false, shadow)],
      [tallyKey('2', true), tally('2', true, primary)],
    ]);
    assert.equal(compareVersions('m', config, swapped, (id) => truth[id]).comparisons[0]?.verdict, 'better');
  });

  it('gives no verdict below the minimum of joined predictions', () => {
    const tallies = new Map([
      [tallyKey('1', false), tally('1', false, { x: 'a' })],
      [tallyKey('2', true), tally('2', true, { x: 'b' })],
    ]);
    assert.equal(
      compareVersions('m', config, tallies, () => 'a').comparisons[0]?.verdict,
      'insufficient_data',
    );
  });
});
