import type { S3Event } from 'aws-lambda';
import { createSequencer, type ObjectNotification, toS3Event } from './s3-event.ts';
import { functionSettings, readServerlessDocument, type ServerlessDocument } from './serverless-document.ts';

/** What the Serverless Framework subscribes to when an `s3` event names no `event`. */
const DEFAULT_S3_EVENT = 's3:ObjectCreated:*';

/** One `s3` event of a function in serverless.yml. */
export interface S3Binding {
  functionName: string;
  /** Handler in serverless.yml notation: `dist/model-events/index.handler`. */
  handler: string;
  /** The bucket as written in serverless.yml, variables unresolved (`${self:custom.bucket}`). */
  bucket: string;
  /** Event type, e.g. `s3:ObjectCreated:*` or `s3:ObjectCreated:Put`. */
  event: string;
  prefix: string;
  suffix: string;
  memoryMb: number;
  timeoutSeconds: number;
  /** The function's own `environment` entries that need no variable resolution. */
  environment: Record<string, string>;
  /** Identifies the binding in the records' `configurationId`, as S3 names configurations. */
  configurationId: string;
  /** The function of the stack its `destinations.onFailure` names, when it names one. */
  onFailure?: FailureDestination;
}

/** A function invoked with Lambda's failure record once an event has failed for good. */
export interface FailureDestination {
  functionName: string;
  handler: string;
  memoryMb: number;
  timeoutSeconds: number;
  environment: Record<string, string>;
}

/** `destinations.onFailure` as serverless.yml writes it: a function name, or `{ type, arn }`. */
type DestinationDefinition = string | { type?: unknown; arn?: unknown } | undefined;

type S3EventDefinition =
  | string
  | { bucket?: unknown; event?: unknown; rules?: { prefix?: unknown; suffix?: unknown }[] };

/**
 * Reads the `s3` events of every function in serverless.yml (both the `- s3: bucket` shorthand and
 * the `bucket`/`event`/`rules` form), with each function's memory and timeout, so the local stack
 * wires exactly the notifications that would be deployed.
 */
export async function readS3Bindings(serverlessYmlPath: string): Promise<S3Binding[]> {
  const document = (await readServerlessDocument(serverlessYmlPath)) as ServerlessDocument<{
    s3?: S3EventDefinition;
  }> & { functions?: Record<string, { destinations?: { onFailure?: DestinationDefinition } }> };
  const bindings: S3Binding[] = [];
  for (const [functionName, definition] of Object.entries(document.functions ?? {})) {
    const events = (definition.events ?? []).filter((event) => event.s3 !== undefined);
    for (const [index, { s3 }] of events.entries()) {
      if (s3 === undefined) continue;
      if (!definition.handler) {
        throw new Error(`serverless.yml: function '${functionName}' has s3 events but no handler`);
      }
      const parsed = parseS3Event(functionName, s3);
      const onFailure = failureDestination(document, definition.destinations?.onFailure);
      bindings.push({
        functionName,
        handler: definition.handler,
        ...parsed,
        ...functionSettings(document, definition),
        configurationId: `${functionName}-s3-${index + 1}`,
        ...(onFailure === undefined ? {} : { onFailure }),
      });
    }
  }
  return bindings;
}

/**
 * The function of the stack an `onFailure` destination names: by name, or by
 * `Fn::GetAtt: [<Name>LambdaFunction, Arn]` (the logical id the framework gives function `name`);
 * queues, topics and functions elsewhere are not local.
 */
function failureDestination(
  document: ServerlessDocument<unknown>,
  destination: DestinationDefinition,
): FailureDestination | undefined {
  const functions = document.functions ?? {};
  let name: string | undefined;
  if (typeof destination === 'string') name = destination in functions ? destination : undefined;
  else if (destination?.type === 'function') {
    const getAtt = (destination.arn as { 'Fn::GetAtt'?: unknown } | undefined)?.['Fn::GetAtt'];
    const logicalId = Array.isArray(getAtt) ? getAtt[0] : undefined;
    name = Object.keys(functions).find(
      (candidate) => `${candidate.charAt(0).toUpperCase()}${candidate.slice(1)}LambdaFunction` === logicalId,
    );
  }
  const definition = name === undefined ? undefined : functions[name];
  if (name === undefined || definition?.handler === undefined) return undefined;
  return { functionName: name, handler: definition.handler, ...functionSettings(document, definition) };
}

function parseS3Event(
  functionName: string,
  definition: S3EventDefinition,
): Pick<S3Binding, 'bucket' | 'event' | 'prefix' | 'suffix'> {
  const where = `serverless.yml: function '${functionName}' s3 event`;
  if (typeof definition === 'string')
    return { bucket: definition, event: DEFAULT_S3_EVENT, prefix: '', suffix: '' };
  if (typeof definition.bucket !== 'string' || definition.bucket === '') {
    throw new Error(`${where}: 'bucket' must be a bucket name`);
  }
  const event = definition.event ?? DEFAULT_S3_EVENT;
  if (typeof event !== 'string' || !/^s3:[A-Za-z]+:(\*|[A-Za-z]+)$/.test(event)) {
    throw new Error(`${where}: 'event' must look like s3:ObjectCreated:*, got ${JSON.stringify(event)}`);
  }
  let prefix = '';
  let suffix = '';
  for (const rule of definition.rules ?? []) {
    if (typeof rule?.prefix === 'string') prefix = rule.prefix;
    else if (typeof rule?.suffix === 'string') suffix = rule.suffix;
    else throw new Error(`${where}: each rule must be { prefix: string } or { suffix: string }`);
  }
  return { bucket: definition.bucket, event, prefix, suffix };
}

/**
 * Whether S3 would notify `binding` of this change: the event type matches (`s3:ObjectCreated:*`
 * covers every `ObjectCreated:…`) and the key has the rule's prefix and suffix. The bucket is the
 * caller's to check, as only the caller knows what the declared bucket resolves to.
 */
export function matchesBinding(binding: S3Binding, eventName: string, key: string): boolean {
  const type = `s3:${eventName}`;
  const eventMatches = binding.event.endsWith(':*')
    ? type.startsWith(binding.event.slice(0, -1))
    : type === binding.event;
  return eventMatches && key.startsWith(binding.prefix) && key.endsWith(binding.suffix);
}

export interface S3DispatcherOptions {
  /** Bindings whose bucket is the local one. */
  bindings: readonly S3Binding[];
  /** Calls the function's handler with the event; a rejection is a function error. */
  invoke: (binding: S3Binding, event: S3Event) => Promise<unknown>;
  region: string;
  log: (line: string) => void;
  /** Delays before the retries of a failed invocation; Lambda retries an async invocation twice. */
  retryDelaysMs?: readonly number[];
  /**
   * What the local server has stored for a key. Used to fill in what a notification leaves out
   * (copies carry no ETag) and to wait until a new object's bytes are all on disk: s3rver
   * announces a write before its file is flushed, so a handler reading at once could see a
   * truncated object.
   */
  describeObject?: (bucket: string, key: string) => Promise<{ etag?: string; size?: number } | undefined>;
  /** Longest wait for an announced object to be fully stored (default 5 s). */
  settleTimeoutMs?: number;
  /**
   * Called once an event has failed every attempt (not when the dispatcher is closing), as Lambda
   * hands it to the function's `onFailure` destination; a rejection is logged.
   */
  onFailed?: (
    binding: S3Binding,
    event: S3Event,
    failure: { error: unknown; attempts: number },
  ) => Promise<void>;
}

/**
 * Turns the local S3 server's object notifications into asynchronous Lambda invocations, as S3
 * and Lambda do in AWS: the writer never waits for the function; a failed invocation is retried
 * (twice by default) and then logged as dropped. `idle()` resolves once nothing is running, and
 * `close()` stops taking notifications, skips pending retries and waits for running invocations.
 *
 * Each function has one loaded handler module, like one Lambda instance, so its invocations run
 * one at a time: Powertools' logger context and metrics buffer belong to the instance, and two
 * interleaved invocations would mix each other's request ids and dimensions.
 *
 * @example
 * ```ts
 * const dispatcher = new S3NotificationDispatcher({ bindings, invoke, region: 'us-east-1', log: console.log });
 * s3rver.on('event', (event) => { for (const n of notificationsOfS3rverEvent(event)) dispatcher.notify(n); });
 * ```
 */
export class S3NotificationDispatcher {
  readonly #bindings: readonly S3Binding[];
  readonly #invoke: S3DispatcherOptions['invoke'];
  readonly #region: string;
  readonly #log: (line: string) => void;
  readonly #retryDelaysMs: readonly number[];
  readonly #describeObject: S3DispatcherOptions['describeObject'];
  readonly #settleTimeoutMs: number;
  readonly #onFailed: S3DispatcherOptions['onFailed'];
  readonly #sequencer = createSequencer();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #waiting = new Set<() => void>();
  /** Per function, the end of the last invocation queued for it. */
  readonly #lanes = new Map<string, Promise<void>>();
  #closed = false;

  constructor(options: S3DispatcherOptions) {
    this.#bindings = options.bindings;
    this.#invoke = options.invoke;
    this.#region = options.region;
    this.#log = options.log;
    this.#retryDelaysMs = options.retryDelaysMs ?? [200, 1_000];
    this.#describeObject = options.describeObject;
    this.#settleTimeoutMs = options.settleTimeoutMs ?? 5_000;
    this.#onFailed = options.onFailed;
  }

  /** Schedules an invocation of every matching function; returns how many were scheduled. */
  notify(notification: ObjectNotification): number {
    if (this.#closed) return 0;
    const matching = this.#bindings.filter((binding) =>
      matchesBinding(binding, notification.eventName, notification.key),
    );
    // Numbered and timed now, so that events keep the order of the changes whatever happens next.
    const sequencer = this.#sequencer();
    const now = new Date();
    for (const binding of matching) {
      const job = this.#deliver(binding, notification, sequencer, now).finally(() =>
        this.#inFlight.delete(job),
      );
      this.#inFlight.add(job);
    }
    return matching.length;
  }

  /** Invocations scheduled or running (retries included). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Resolves when no invocation is scheduled or running, including ones started meanwhile. */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Takes no more notifications, cancels pending retries and waits for running invocations. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const wake of this.#waiting) wake();
    await this.idle();
  }

  async #deliver(
    binding: S3Binding,
    notification: ObjectNotification,
    sequencer: string,
    now: Date,
  ): Promise<void> {
    // Let the S3 request that caused the event answer first, as S3 does.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const target = `${binding.functionName} for ${notification.eventName} s3://${notification.bucket}/${notification.key}`;
    const filled = await this.#settle(notification, target);
    const event = toS3Event(filled, {
      region: this.#region,
      configurationId: binding.configurationId,
      sequencer,
      now,
    });
    const attempts = this.#retryDelaysMs.length + 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const ms = await this.#exclusive(binding.functionName, async () => {
          const started = performance.now();
          await this.#invoke(binding, event);
          return performance.now() - started;
        });
        this.#warnIfOverTimeout(binding, target, ms);
        return;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const delay = this.#retryDelaysMs[attempt - 1];
        if (delay === undefined || this.#closed) {
          this.#log(`local stack: ${target} failed (attempt ${attempt} of ${attempts}), dropped: ${message}`);
          if (delay === undefined && this.#onFailed !== undefined) {
            await this.#onFailed(binding, event, { error, attempts: attempt }).catch((failure: unknown) =>
              this.#log(
                `local stack: the failure destination of ${target} failed: ${failure instanceof Error ? failure.message : String(failure)}`,
              ),
            );
          }
          return;
        }
        this.#log(
          `local stack: ${target} failed (attempt ${attempt} of ${attempts}), retrying in ${delay} ms: ${message}`,
        );
        await this.#sleep(delay);
        if (this.#closed) {
          this.#log(`local stack: ${target} dropped: the stack is closing`);
          return;
        }
      }
    }
  }

  /**
   * Waits (bounded) until the stored object has the announced size, and fills in a missing ETag.
   * A later write of the same key can change the size: then the wait ends at the time limit and
   * the event goes out anyway, as S3 would deliver it.
   */
  async #settle(notification: ObjectNotification, target: string): Promise<ObjectNotification> {
    const describe = this.#describeObject;
    if (describe === undefined || !notification.eventName.startsWith('ObjectCreated:')) return notification;
    const deadline = performance.now() + this.#settleTimeoutMs;
    for (;;) {
      const stored = await describe(notification.bucket, notification.key).catch(() => undefined);
      const complete = notification.size === undefined || stored?.size === notification.size;
      if (complete || this.#closed || performance.now() >= deadline) {
        if (!complete)
          this.#log(`local stack: ${target}: the object is not fully stored yet; invoking anyway`);
        return notification.eTag === undefined
          ? { ...notification, eTag: stored?.etag, size: notification.size ?? stored?.size }
          : notification;
      }
      await this.#sleep(20);
    }
  }

  /** Runs `task` after every task queued before it for the same function. */
  async #exclusive<T>(functionName: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#lanes.get(functionName) ?? Promise.resolve();
    const run = previous.then(task);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#lanes.set(functionName, settled);
    try {
      return await run;
    } finally {
      if (this.#lanes.get(functionName) === settled) this.#lanes.delete(functionName);
    }
  }

  #warnIfOverTimeout(binding: S3Binding, target: string, ms: number): void {
    if (ms > binding.timeoutSeconds * 1000) {
      this.#log(
        `local stack: ${target} took ${Math.round(ms)} ms, over its ${binding.timeoutSeconds} s timeout (Lambda would have stopped it)`,
      );
    }
  }

  /** A delay that `close()` cuts short. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#waiting.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#waiting.add(wake);
    });
  }
}
