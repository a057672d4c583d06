/**
 * CloudWatch Embedded Metric Format documents for the http function's request path, written as
 * one `JSON.stringify` of a plain object per request. The other functions use Powertools Metrics;
 * the http function answers every inference, where Powertools' per-call bookkeeping (metric
 * validation, dimension sanitising, environment lookups on every call) cost ≈ 30 µs a request.
 * The documents are the ones Powertools writes: same namespace, `service` dimension, units, and
 * the `ColdStart` metric on its own document with the `function_name` dimension.
 */

/** Units used by the http function (CloudWatch's spelling). */
export type EmfUnit = 'Count' | 'Milliseconds' | 'Bytes';

interface MetricDefinition {
  Name: string;
  Unit: EmfUnit;
}

/**
 * One request's metrics: values by name, and the dimension sets they are recorded under.
 *
 * @example
 * ```ts
 * const metrics = new RequestMetrics({ namespace: 'OnnxServe', service: 'onnx-serve' });
 * metrics.dimensions({ model: 'iris', version: '1' });
 * metrics.add('Requests', 'Count', 1);
 * process.stdout.write(metrics.flush(Date.now()));
 * ```
 */
export class RequestMetrics {
  readonly #namespace: string;
  readonly #service: string;
  #definitions: MetricDefinition[] = [];
  #values: Record<string, number> = {};
  #dimensions: Record<string, string> | undefined;

  constructor(options: { namespace: string; service: string }) {
    this.#namespace = options.namespace;
    this.#service = options.service;
  }

  /**
   * Records the metrics under `[service]` and also under `[service, ...keys]` of these values (a
   * second call replaces the first).
   */
  dimensions(values: Record<string, string>): void {
    this.#dimensions = values;
  }

  /** Adds a metric; the same name twice keeps the last value. */
  add(name: string, unit: EmfUnit, value: number): void {
    if (!Object.hasOwn(this.#values, name)) this.#definitions.push({ Name: name, Unit: unit });
    this.#values[name] = value;
  }

  /** The EMF line of what was added (empty when nothing was), and a fresh start for the next request. */
  flush(timestamp: number): string {
    if (this.#definitions.length === 0) return '';
    const extra = this.#dimensions;
    const sets = extra === undefined ? [['service']] : [['service'], ['service', ...Object.keys(extra)]];
    const document = {
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [{ Namespace: this.#namespace, Dimensions: sets, Metrics: this.#definitions }],
      },
      service: this.#service,
      ...extra,
      ...this.#values,
    };
    this.#definitions = [];
    this.#values = {};
    this.#dimensions = undefined;
    return `${JSON.stringify(document)}\n`;
  }

  /** The `ColdStart` document of a function instance's first invocation. */
  coldStart(functionName: string, timestamp: number): string {
    const document = {
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [
          {
            Namespace: this.#namespace,
            Dimensions: [['service', 'function_name']],
            Metrics: [{ Name: 'ColdStart', Unit: 'Count' }],
          },
        ],
      },
      service: this.#service,
      function_name: functionName,
      ColdStart: 1,
    };
    return `${JSON.stringify(document)}\n`;
  }
}
