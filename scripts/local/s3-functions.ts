import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context, S3Event } from 'aws-lambda';
import type { ObjectStore } from '../../src/ports/object-store.ts';
import { lambdaContext } from './apigw-event.ts';
import { notificationsOfS3rverEvent } from './s3-event.ts';
import { readS3Bindings, type S3Binding, S3NotificationDispatcher } from './s3-notifications.ts';

/** How serverless.yml names the stack's own bucket; the local stack's bucket stands in for it. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: serverless.yml's variable syntax, not a template.
export const STACK_BUCKET_REFERENCE = '${self:custom.bucket}';

type S3Handler = (event: S3Event, context: Context) => Promise<unknown>;

export interface LocalS3Functions {
  /** The bindings wired to the local bucket, one line each, for the banner. */
  descriptions: string[];
  /** Resolves when no invocation caused by an object change is scheduled or running. */
  idle(): Promise<void>;
  /** Stops listening, skips pending retries, waits for running invocations. */
  close(): Promise<void>;
}

export interface LocalS3FunctionsOptions {
  /** The project root: handlers resolve against it (`dist/…`). */
  root: string;
  serverlessYml: string;
  /** The S3 server whose `'event'` emitter reports object changes (s3rver). */
  server: EventEmitter;
  bucket: string;
  region: string;
  /** For what a notification leaves out (a copy's ETag). */
  store?: ObjectStore;
  log: (line: string) => void;
  retryDelaysMs?: readonly number[];
  /** Variables set over each function's own at its init (settings the local stack was started with). */
  environment?: Record<string, string>;
}

/**
 * Wires every function with `s3` events in serverless.yml to the local S3 server: loads each one's
 * built handler as Lambda would (its own module instance, its name and memory in the environment
 * during init) and invokes it asynchronously with a real-shaped S3 event whenever an object in
 * the local bucket matches its event type, prefix and suffix — whichever client wrote it.
 * Buckets other than the stack's own (`${self:custom.bucket}` or the local bucket's name) do not
 * exist locally; their bindings are reported and skipped.
 */
export async function startS3Functions(options: LocalS3FunctionsOptions): Promise<LocalS3Functions> {
  const bindings: S3Binding[] = [];
  for (const binding of await readS3Bindings(options.serverlessYml)) {
    if (binding.bucket === STACK_BUCKET_REFERENCE || binding.bucket === options.bucket)
      bindings.push(binding);
    else
      options.log(
        `local stack: ${binding.functionName} listens to bucket '${binding.bucket}', which is not local; skipped`,
      );
  }
  const handlers = new Map<string, S3Handler>();
  // Failure destinations are functions of their own (their own module instance).
  const destinations = new Map<string, (event: unknown, context: Context) => Promise<unknown>>();
  for (const binding of bindings) {
    if (!handlers.has(binding.functionName))
      handlers.set(
        binding.functionName,
        await importHandler(options.root, {
          ...binding,
          environment: { ...binding.environment, ...options.environment },
        }),
      );
    const destination = binding.onFailure;
    if (destination !== undefined && !destinations.has(destination.functionName))
      destinations.set(destination.functionName, await importHandler(options.root, destination));
  }

  const dispatcher = new S3NotificationDispatcher({
    bindings,
    region: options.region,
    log: options.log,
    retryDelaysMs: options.retryDelaysMs,
    invoke: (binding, event) => {
      const handler = handlers.get(binding.functionName);
      if (handler === undefined)
        return Promise.reject(new Error(`no handler loaded for ${binding.functionName}`));
      return handler(
        event,
        lambdaContext(binding.functionName, binding.memoryMb, binding.timeoutSeconds * 1000),
      );
    },
    onFailed: async (binding, event, { error, attempts }) => {
      const destination = binding.onFailure;
      const handler = destination && destinations.get(destination.functionName);
      if (destination === undefined || handler === undefined) return;
      options.log(`local stack: ${binding.functionName}'s failed event → ${destination.functionName}`);
      await handler(
        asyncFailureRecord(binding.functionName, options.region, event, error, attempts),
        lambdaContext(destination.functionName, destination.memoryMb, destination.timeoutSeconds * 1000),
      );
    },
    describeObject: options.store
      ? async (_bucket, key) => {
          const info = await options.store?.head(key);
          return info && { etag: info.etag, size: info.size };
        }
      : undefined,
  });
  const listener = (event: unknown) => {
    for (const notification of notificationsOfS3rverEvent(event)) {
      if (notification.bucket === options.bucket) dispatcher.notify(notification);
    }
  };
  options.server.on('event', listener);

  return {
    descriptions: bindings.map(
      (binding) =>
        `${binding.functionName} ← ${binding.event} ${binding.prefix || '(any key)'}…${binding.suffix}`,
    ),
    idle: () => dispatcher.idle(),
    close: async () => {
      options.server.off('event', listener);
      await dispatcher.close();
    },
  };
}

/**
 * The invocation record Lambda sends to an `onFailure` destination once an asynchronous event has
 * failed every attempt: the original event, the condition and the last error.
 */
export function asyncFailureRecord(
  functionName: string,
  region: string,
  event: S3Event,
  error: unknown,
  attempts: number,
) {
  return {
    version: '1.0',
    timestamp: new Date().toISOString(),
    requestContext: {
      requestId: randomUUID(),
      functionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}:$LATEST`,
      condition: 'RetriesExhausted',
      approximateInvokeCount: attempts,
    },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: {
      errorType: error instanceof Error ? error.name : 'Error',
      errorMessage: error instanceof Error ? error.message : String(error),
    },
  };
}

/**
 * Imports a function's handler bundle with the environment Lambda gives that function at init.
 * Handler modules read their configuration at import, and every function of the stack shares this
 * process, so the function's variables are set for the import only and restored afterwards; the
 * query string gives each function its own module instance even when two share a bundle.
 */
export async function importHandler<H = S3Handler>(
  root: string,
  binding: Pick<S3Binding, 'functionName' | 'handler' | 'memoryMb' | 'timeoutSeconds' | 'environment'>,
): Promise<H> {
  const dot = binding.handler.lastIndexOf('.');
  const file = join(root, `${binding.handler.slice(0, dot)}.mjs`);
  const exported = binding.handler.slice(dot + 1);
  const environment: Record<string, string> = {
    ...binding.environment,
    AWS_LAMBDA_FUNCTION_NAME: binding.functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(binding.memoryMb),
    AWS_LAMBDA_FUNCTION_TIMEOUT: String(binding.timeoutSeconds),
  };
  const saved = Object.fromEntries(Object.keys(environment).map((name) => [name, process.env[name]]));
  Object.assign(process.env, environment);
  let module: Record<string, unknown>;
  try {
    const url = `${pathToFileURL(file).href}?function=${encodeURIComponent(binding.functionName)}`;
    module = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`cannot load ${file} for function '${binding.functionName}' (run npm run build first)`, {
      cause: error,
    });
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
  const handler = module[exported];
  if (typeof handler !== 'function') throw new Error(`${file} exports no function '${exported}'`);
  return handler as H;
}
