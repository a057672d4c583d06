/**
 * Traffic splits (`traffic` in config.json): which version or alias a request naming no version
 * reaches. The choice is a pure function of the model name and the request id, so the same id
 * always reaches the same version (retries and outcome joins stay consistent) and every instance
 * of the server agrees without sharing state.
 */

/** Buckets the unit interval is cut into: weights are honoured to 1/10 000 (0.01 %). */
export const TRAFFIC_BUCKETS = 10_000;

/**
 * The bucket (0 to 9 999) of a routing key: FNV-1a over the UTF-16 code units of
 * `{model}\n{key}`, spread by murmur3's 32-bit finaliser, then scaled to the buckets. Uniform
 * enough that a weight of w % receives w % ± 2 % of 2 000 distinct ids.
 *
 * @example
 * ```ts
 * trafficBucket('iris', 'req-1'); // the same number in 0…9999 every time
 * ```
 */
export function trafficBucket(model: string, key: string): number {
  let hash = 0x811c9dc5;
  const text = `${model}\n${key}`;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return Math.floor(((hash >>> 0) / 0x1_0000_0000) * TRAFFIC_BUCKETS);
}

/**
 * The target (version or alias, as written in `traffic`) that `key` reaches: the weights, in
 * their order in the file, cut the buckets into consecutive ranges. Targets of weight 0 are never
 * chosen.
 *
 * @example
 * ```ts
 * routeTraffic('iris', { stable: 90, '4': 10 }, 'req-1'); // 'stable' or '4', always the same
 * ```
 */
export function routeTraffic(model: string, traffic: Readonly<Record<string, number>>, key: string): string {
  const entries = Object.entries(traffic).filter(([, weight]) => weight > 0);
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
  const point = ((trafficBucket(model, key) + 0.5) / TRAFFIC_BUCKETS) * total;
  let upper = 0;
  for (const [target, weight] of entries) {
    upper += weight;
    if (point < upper) return target;
  }
  return (entries.at(-1) as [string, number])[0];
}

/**
 * The primary target of a split: the one with the largest weight (the first of equals). Requests
 * without an id to route on (model metadata, readiness) describe it.
 */
export function primaryTarget(traffic: Readonly<Record<string, number>>): string {
  let best: [string, number] | undefined;
  for (const entry of Object.entries(traffic)) if (best === undefined || entry[1] > best[1]) best = entry;
  return (best as [string, number])[0];
}
