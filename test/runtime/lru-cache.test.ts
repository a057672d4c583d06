import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LruCache, type RemovalReason } from '../../src/runtime/lru-cache.ts';

function recordingCache(maxBytes: number) {
  const removed: [string, string, RemovalReason][] = [];
  const cache = new LruCache<string>({
    maxBytes,
    onEvict: (key, value, reason) => removed.push([key, value, reason]),
  });
  return { cache, removed };
}

describe('LruCache', () => {
  it('returns what was stored and tracks its bytes', () => {
    const { cache } = recordingCache(100);

    cache.set('a', 'A', 30);
    cache.set('b', 'B', 20);

    assert.equal(cache.get('a'), 'A');
    assert.equal(cache.get('missing'), undefined);
    assert.equal(cache.size, 2);
    assert.equal(cache.bytes, 50);
  });

  it('evicts the least recently used entries when the budget is exceeded', () => {
    const { cache, removed } = recordingCache(100);
    cache.set('a', 'A', 40);
    cache.set('b', 'B', 40);
    cache.get('a');

    cache.set('c', 'C', 40);

    assert.deepEqual(removed, [['b', 'B', 'capacity']]);
    assert.deepEqual(cache.keys(), ['a', 'c']);
    assert.equal(cache.bytes, 80);
    assert.equal(cache.evictions, 1);
  });

  it('evicts as many entries as needed, oldest first', () => {
    const { cache, removed } = recordingCache(100);
    for (const key of ['a', 'b', 'c', 'd']) cache.set(key, key.toUpperCase(), 25);

    cache.set('e', 'E', 60);

    assert.deepEqual(
      removed.map(([key]) => key),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(cache.keys(), ['d', 'e']);
  });

  it('peek does not refresh recency', () => {
    const { cache, removed } = recordingCache(100);
    cache.set('a', 'A', 50);
    cache.set('b', 'B', 50);

    assert.equal(cache.peek('a'), 'A');
    cache.set('c', 'C', 50);

    assert.deepEqual(removed, [['a', 'A', 'capacity']]);
  });

  it('keeps an entry larger than the whole budget, alone, until something else is added', () => {
    const { cache, removed } = recordingCache(100);
    cache.set('small', 's', 10);

    cache.set('huge', 'H', 500);

    assert.equal(cache.get('huge'), 'H');
    assert.deepEqual(cache.keys(), ['huge']);
    assert.deepEqual(removed, [['small', 's', 'capacity']]);

    cache.set('next', 'N', 10);

    assert.deepEqual(cache.keys(), ['next']);
    assert.deepEqual(removed.at(-1), ['huge', 'H', 'capacity']);
  });

  it('hands a replaced value to onEvict, but not when the same value is set again', () => {
    const { cache, removed } = recordingCache(100);
    cache.set('a', 'old', 10);

    cache.set('a', 'new', 20);
    cache.set('a', 'new', 20);

    assert.deepEqual(removed, [['a', 'old', 'replaced']]);
    assert.equal(cache.bytes, 20);
    assert.equal(cache.evictions, 0);
  });

  it('delete and clear hand values to onEvict', () => {
    const { cache, removed } = recordingCache(100);
    cache.set('a', 'A', 10);
    cache.set('b', 'B', 10);

    assert.equal(cache.delete('a'), true);
    assert.equal(cache.delete('a'), false);
    cache.clear();

    assert.deepEqual(removed, [
      ['a', 'A', 'deleted'],
      ['b', 'B', 'deleted'],
    ]);
    assert.equal(cache.size, 0);
    assert.equal(cache.bytes, 0);
  });

  it('lets onEvict read the cache in a consistent state', () => {
    const seen: number[] = [];
    const cache: LruCache<string> = new LruCache<string>({
      maxBytes: 10,
      onEvict: () => seen.push(cache.bytes),
    });
    cache.set('a', 'A', 10);

    cache.set('b', 'B', 10);

    assert.deepEqual(seen, [10]);
  });

  it('rejects invalid budgets and sizes', () => {
    assert.throws(() => new LruCache({ maxBytes: 0 }), RangeError);
    assert.throws(() => new LruCache({ maxBytes: Number.NaN }), RangeError);
    const cache = new LruCache<string>({ maxBytes: 10 });
    assert.throws(() => cache.set('a', 'A', -1), RangeError);
    assert.throws(() => cache.set('a', 'A', Number.POSITIVE_INFINITY), RangeError);
  });

  it('never holds more than the budget unless a single entry exceeds it, and accounts every byte', () => {
    const operation = fc.oneof(
      fc.record({
        op: fc.constant('set' as const),
        key: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
        size: fc.nat(60),
      }),
      fc.record({ op: fc.constant('get' as const), key: fc.constantFrom('a', 'b', 'c', 'd', 'e') }),
      fc.record({ op: fc.constant('delete' as const), key: fc.constantFrom('a', 'b', 'c', 'd', 'e') }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
        const sizes = new Map<string, number>();
        let live = 0;
        let counter = 0;
        const cache = new LruCache<string>({
          maxBytes: 100,
          onEvict: () => {
            live -= 1;
          },
        });
        for (const step of operations) {
          if (step.op === 'set') {
            counter += 1;
            const value = `${step.key}${counter}`;
            live += 1;
            cache.set(step.key, value, step.size);
            sizes.set(step.key, step.size);
          } else if (step.op === 'get') {
            cache.get(step.key);
          } else {
            cache.delete(step.key);
          }
          const total = cache.keys().reduce((sum, key) => sum + (sizes.get(key) ?? 0), 0);
          assert.equal(cache.bytes, total);
          assert.ok(cache.bytes <= 100 || cache.size === 1);
          // Every value that left the cache was handed to onEvict exactly once.
          assert.equal(live, cache.size);
        }
      }),
    );
  });
});
