import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { lambdaContext } from './apigw-event.ts';
import { importHandler } from './s3-functions.ts';
import { functionSettings, readServerlessDocument, type ServerlessDocument } from './serverless-document.ts';

/** Local cadence of scheduled functions when DRIFT_INTERVAL_SECONDS is not set. */
export const DEFAULT_SCHEDULE_INTERVAL_MS = 300_000;

/** One `schedule` event of a function in serverless.yml. */
export interface ScheduleBinding {
  functionName: string;
  handler: string;
  /** The expression(s) as deployed, e.g. `rate(1 hour)`; locally the interval replaces them. */
  expressions: string[];
  /** A fixed `input` replacing the scheduled event, as EventBridge would send it. */
  input?: unknown;
  memoryMb: number;
  timeoutSeconds: number;
  environment: Record<string, string>;
}

type ScheduledHandler = (event: unknown, context: Context) => Promise<unknown>;

/**
 * The enabled `schedule` events of serverless.yml (`- schedule: rate(1 hour)` or
 * `- schedule: { rate: …, enabled, input }`), with each function's memory, timeout and literal
 * environment.
 */
export async function readScheduleBindings(serverlessYmlPath: string): Promise<ScheduleBinding[]> {
  const document = (await readServerlessDocument(serverlessYmlPath)) as ServerlessDocument<{
    schedule?: unknown;
  }>;
  const bindings: ScheduleBinding[] = [];
  for (const [functionName, definition] of Object.entries(document.functions ?? {})) {
    for (const { schedule } of definition.events ?? []) {
      if (schedule === undefined) continue;
      const spec = typeof schedule === 'string' ? { rate: schedule } : (schedule as Record<string, unknown>);
      if (spec.enabled === false) continue;
      if (!definition.handler)
        throw new Error(`serverless.yml: function '${functionName}' has a schedule but no handler`);
      const rate = spec.rate;
      const expressions = (Array.isArray(rate) ? rate : [rate]).filter(
        (item): item is string => typeof item === 'string',
      );
      if (expressions.length === 0) {
        throw new Error(`serverless.yml: function '${functionName}' schedule needs a rate expression`);
      }
      bindings.push({
        functionName,
        handler: definition.handler,
        expressions,
        ...(spec.input !== undefined ? { input: spec.input } : {}),
        ...functionSettings(document, definition),
      });
    }
  }
  return bindings;
}

/**
 * An EventBridge scheduled event, as a `schedule` rule delivers it.
 *
 * @example
 * ```ts
 * scheduledEvent('drift', 'us-east-1', new Date('2026-06-02T00:00:00Z')).time; // '2026-06-02T00:00:00Z'
 * ```
 */
export function scheduledEvent(functionName: string, region: string, time: Date) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [`arn:aws:events:${region}:000000000000:rule/${functionName}-schedule`],
    detail: {},
  };
}

export interface LocalScheduledFunctions {
  /** One line per binding, for the banner. */
  descriptions: string[];
  /** Invokes a scheduled function now (as its timer would) and resolves with its result. */
  runNow(functionName: string): Promise<unknown>;
  /** Stops the timers and waits for running invocations. */
  close(): Promise<void>;
}

export interface LocalScheduledFunctionsOptions {
  root: string;
  serverlessYml: string;
  region: string;
  /** Local cadence, whatever the deployed expression (0: never on a timer, only `runNow`). */
  intervalMs: number;
  /** Variables added to every scheduled function's environment (e.g. where local events go). */
  environment?: Record<string, string>;
  log: (line: string) => void;
}

/**
 * Runs the functions with `schedule` events in serverless.yml on a local timer: each handler
 * bundle is loaded as Lambda would load it and invoked every `intervalMs` with a real-shaped
 * scheduled event. A tick is skipped while the previous invocation of the function still runs.
 */
export async function startScheduledFunctions(
  options: LocalScheduledFunctionsOptions,
): Promise<LocalScheduledFunctions> {
  const bindings = await readScheduleBindings(options.serverlessYml);
  const handlers = new Map<string, ScheduledHandler>();
  for (const binding of bindings) {
    if (handlers.has(binding.functionName)) continue;
    handlers.set(
      binding.functionName,
      await importHandler<ScheduledHandler>(options.root, {
        ...binding,
        environment: { ...binding.environment, ...options.environment },
      }),
    );
  }
  const running = new Map<string, Promise<unknown>>();
  const invoke = (binding: ScheduleBinding): Promise<unknown> => {
    const current = running.get(binding.functionName);
    if (current) return current;
    const handler = handlers.get(binding.functionName);
    if (handler === undefined)
      return Promise.reject(new Error(`no handler loaded for ${binding.functionName}`));
    const event = binding.input ?? scheduledEvent(binding.functionName, options.region, new Date());
    const invocation = handler(
      event,
      lambdaContext(binding.functionName, binding.memoryMb, binding.timeoutSeconds * 1000),
    );
    running.set(binding.functionName, invocation);
    const clear = () => running.delete(binding.functionName);
    invocation.then(clear, clear);
    return invocation;
  };
  const timers =
    options.intervalMs > 0
      ? bindings.map((binding) =>
          setInterval(() => {
            if (running.has(binding.functionName)) {
              options.log(`local stack: ${binding.functionName} still running; scheduled run skipped`);
              return;
            }
            invoke(binding).then(
              (result) => options.log(`local stack: ${binding.functionName} (scheduled) ${summary(result)}`),
              (error: unknown) =>
                options.log(
                  `local stack: ${binding.functionName} (scheduled) failed: ${error instanceof Error ? error.message : String(error)}`,
                ),
            );
          }, options.intervalMs),
        )
      : [];
  const seconds = Math.round(options.intervalMs / 1000);
  return {
    descriptions: bindings.map(
      (binding) =>
        `${binding.functionName} ← ${binding.expressions.join(', ')} (locally ${options.intervalMs > 0 ? `every ${seconds} s` : 'off'})`,
    ),
    runNow: (functionName) => {
      const binding = bindings.find((candidate) => candidate.functionName === functionName);
      if (binding === undefined) return Promise.reject(new Error(`no scheduled function '${functionName}'`));
      return invoke(binding);
    },
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      await Promise.allSettled([...running.values()]);
    },
  };
}

/** One line about a drift invocation's result (models, verdicts, reports), or JSON for others. */
function summary(result: unknown): string {
  const models = (
    result as {
      models?: { model: string; status: string; verdict?: string; report?: string; event?: boolean }[];
    }
  )?.models;
  if (!Array.isArray(models)) return JSON.stringify(result ?? null);
  if (models.length === 0) return 'checked no model';
  return models
    .map((m) =>
      m.status === 'checked'
        ? `${m.model}: ${m.verdict} → ${m.report}${m.event ? ' (ModelDriftDetected sent)' : ''}`
        : `${m.model}: ${m.status}`,
    )
    .join('; ');
}
