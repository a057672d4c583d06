/**
 * What the local stack's API served since it started, per model: request counts by outcome,
 * latency percentiles, captured predictions and outcomes received. The web console shows it.
 */

/** Latencies kept per model for the percentiles (the most recent ones). */
const LATENCY_WINDOW = 10_000;

/** One request as the local stack saw it, with what the http function logged about it. */
export interface RequestRecord {
  method: string;
  path: string;
  status: number;
  /** Milliseconds from the request's arrival to its answer. */
  ms: number;
  model?: string;
  version?: string;
  /** Predictions captured for it (absent when capture did not apply). */
  captured?: number;
  /** Outcomes accepted by an outcomes request. */
  accepted?: number;
  synthetic?: boolean;
}

/** Per model figures since the stack started. */
export interface ModelActivity {
  model: string;
  requests: number;
  ok: number;
  clientErrors: number;
  serverErrors: number;
  synthetic: number;
  captured: number;
  outcomes: number;
  /** Versions that answered, with their request counts. */
  versions: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number } | null;
}

interface Counter extends Omit<ModelActivity, 'latencyMs'> {
  latencies: number[];
  next: number;
}

/**
 * Request counters of the local stack, per model (from the request path, or the model the
 * function named).
 *
 * @example
 * ```ts
 * const activity = new StackActivity();
 * activity.record({ method: 'POST', path: '/v2/models/iris/infer', status: 200, ms: 3, model: 'iris', version: '1' });
 * activity.models()[0].latencyMs?.p50; // 3
 * ```
 */
export class StackActivity {
  readonly startedAt = new Date();
  #counters = new Map<string, Counter>();
  #total = 0;

  /** Requests served since the start, all paths. */
  get total(): number {
    return this.#total;
  }

  record(request: RequestRecord): void {
    this.#total += 1;
    const model = request.model ?? modelOfPath(request.path);
    if (model === undefined) return;
    let counter = this.#counters.get(model);
    if (counter === undefined) {
      counter = {
        model,
        requests: 0,
        ok: 0,
        clientErrors: 0,
        serverErrors: 0,
        synthetic: 0,
        captured: 0,
        outcomes: 0,
        versions: {},
        latencies: [],
        next: 0,
      };
      this.#counters.set(model, counter);
    }
    counter.requests += 1;
    if (request.status >= 500) counter.serverErrors += 1;
    else if (request.status >= 400) counter.clientErrors += 1;
    else counter.ok += 1;
    if (request.synthetic) counter.synthetic += 1;
    counter.captured += request.captured ?? 0;
    counter.outcomes += request.accepted ?? 0;
    if (request.version !== undefined)
      counter.versions[request.version] = (counter.versions[request.version] ?? 0) + 1;
    if (counter.latencies.length < LATENCY_WINDOW) counter.latencies.push(request.ms);
    else {
      counter.latencies[counter.next] = request.ms;
      counter.next = (counter.next + 1) % LATENCY_WINDOW;
    }
  }

  /** Every model that got a request, by name. */
  models(): ModelActivity[] {
    return [...this.#counters.values()]
      .sort((a, b) => a.model.localeCompare(b.model))
      .map(({ latencies, next: _next, ...counter }) => ({ ...counter, latencyMs: percentiles(latencies) }));
  }

  /** One model's figures, if it got any request. */
  model(name: string): ModelActivity | undefined {
    return this.models().find((entry) => entry.model === name);
  }
}

/** The model a `/v2/models/{name}…` path names (decoded), if any. */
export function modelOfPath(path: string): string | undefined {
  const match = /^\/v2\/models\/([^/]+)/.exec(path);
  if (match?.[1] === undefined) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
}

function percentiles(values: readonly number[]): ModelActivity['latencyMs'] {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
}
