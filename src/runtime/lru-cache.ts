/** Why an entry left the cache. */
export type RemovalReason = 'capacity' | 'replaced' | 'deleted';

export interface LruCacheOptions<V> {
  /** Byte budget for the sum of the entries' sizes. */
  maxBytes: number;
  /** Called after an entry has left the cache; the owner frees what the value holds. */
  onEvict?: (key: string, value: V, reason: RemovalReason) => void;
}

/**
 * A least-recently-used map with a byte budget: each entry declares its size, and adding one evicts
 * the least recently used entries until the total fits again.
 *
 * An entry larger than the whole budget is still kept, alone: whoever loaded it is about to use
 * it, so the memory is spent anyway, and dropping it would make every request load it again. It
 * is evicted as soon as anything else is added.
 *
 * @example
 * ```ts
 * const cache = new LruCache<Session>({ maxBytes: 512 * 2 ** 20, onEvict: (_key, s) => s.release() });
 * cache.set('models/iris/1/model.onnx', session, 40 * 2 ** 20);
 * cache.get('models/iris/1/model.onnx'); // session, now the most recently used
 * ```
 */
export class LruCache<V> {
  readonly maxBytes: number;
  readonly #onEvict: LruCacheOptions<V>['onEvict'];
  // A Map iterates in insertion order, so re-inserting on use keeps the least recent first.
  readonly #entries = new Map<string, { value: V; size: number }>();
  #bytes = 0;
  #evictions = 0;

  constructor(options: LruCacheOptions<V>) {
    if (!(Number.isFinite(options.maxBytes) && options.maxBytes > 0)) {
      throw new RangeError(`maxBytes must be a positive number, got ${options.maxBytes}`);
    }
    this.maxBytes = options.maxBytes;
    this.#onEvict = options.onEvict;
  }

  /** The value for `key`, marked as most recently used; `undefined` when absent. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** The value for `key` without changing its recency. */
  peek(key: string): V | undefined {
    return this.#entries.get(key)?.value;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /**
   * Adds or replaces `key` as the most recently used entry, then evicts least recently used
   * entries until the total size fits the budget (never the entry just added).
   */
  set(key: string, value: V, size: number): void {
    if (!(Number.isFinite(size) && size >= 0)) {
      throw new RangeError(`size must be a non-negative number, got ${size}`);
    }
    const previous = this.#entries.get(key);
    if (previous !== undefined) {
      this.#entries.delete(key);
      this.#bytes -= previous.size;
    }
    this.#entries.set(key, { value, size });
    this.#bytes += size;

    const evicted: [string, V][] = [];
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.maxBytes || oldest === key) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.size;
      evicted.push([oldest, entry.value]);
    }
    this.#evictions += evicted.length;
    // Callbacks run once the cache is consistent, so they may safely read or modify it.
    if (previous !== undefined && previous.value !== value) this.#onEvict?.(key, previous.value, 'replaced');
    for (const [oldest, entryValue] of evicted) this.#onEvict?.(oldest, entryValue, 'capacity');
  }

  /** Removes `key`, handing its value to `onEvict`; false when it was absent. */
  delete(key: string): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    this.#entries.delete(key);
    this.#bytes -= entry.size;
    this.#onEvict?.(key, entry.value, 'deleted');
    return true;
  }

  /** Removes every entry, handing each to `onEvict`. */
  clear(): void {
    for (const key of [...this.#entries.keys()]) this.delete(key);
  }

  /** Keys from least to most recently used. */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Sum of the sizes of the entries held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Entries evicted to stay within the budget (replacements and deletions not counted). */
  get evictions(): number {
    return this.#evictions;
  }
}
