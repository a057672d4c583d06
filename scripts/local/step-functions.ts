/**
 * Runs the batch fan-out state machine (statemachines/batch-fan-out.asl.json) on this machine with
 * `aws-local-stepfunctions`: the same definition as on AWS, its Task states bound to a local
 * handler (the batch function's), retries and the map's concurrency as the definition says them.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { StateMachine } from 'aws-local-stepfunctions';
import type { BatchFanOut, FanOutRunInput } from '../../src/ports/batch-fan-out.ts';

export const FAN_OUT_DEFINITION = fileURLToPath(
  new URL('../../statemachines/batch-fan-out.asl.json', import.meta.url),
);

/** The definition's substitution variable for the batch function (CloudFormation fills it in on AWS). */
export const FUNCTION_ARN_VARIABLE = `\${BatchFunctionArn}`;

/** aws-local-stepfunctions uses `Promise.withResolvers` (Node 22); Node 20 lacks it. */
function ensureWithResolvers(): void {
  const promise = Promise as unknown as { withResolvers?: () => unknown };
  promise.withResolvers ??= () => {
    let resolve: unknown;
    let reject: unknown;
    const made = new Promise((yes, no) => {
      resolve = yes;
      reject = no;
    });
    return { promise: made, resolve, reject };
  };
}

/** The definition's Task states by name, read from the definition (nested map states included). */
export function taskStates(definition: unknown): string[] {
  const names: string[] = [];
  const visit = (states: Record<string, { Type?: string; ItemProcessor?: { States?: object } }>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') names.push(name);
      if (state.ItemProcessor?.States) visit(state.ItemProcessor.States as never);
    }
  };
  visit((definition as { States: never }).States);
  return names;
}

export interface LocalFanOutOptions {
  /** Runs one Task state's input, as the batch function would (its result is the state's result). */
  handler: (input: unknown, state: string) => Promise<unknown>;
  minBytes: number;
  /** Pause before a retry, instead of the definition's seconds (tests use a few milliseconds). */
  retryIntervalMs?: number;
  /** Told when an execution ends, with its error if it failed. */
  onEnd?: (run: FanOutRunInput, error?: unknown) => void;
}

/**
 * A `BatchFanOut` that runs each execution in this process. `start` resolves once the execution
 * started; `executions` holds every execution's result.
 */
export function localFanOut(options: LocalFanOutOptions): BatchFanOut & { executions: Promise<unknown>[] } {
  ensureWithResolvers();
  const definition = JSON.parse(
    readFileSync(FAN_OUT_DEFINITION, 'utf8').replaceAll(
      FUNCTION_ARN_VARIABLE,
      'arn:aws:lambda:local:000000000000:function:batch',
    ),
  ) as never;
  const machine = new StateMachine(definition, { validationOptions: {} });
  const states = taskStates(definition);
  const executions: Promise<unknown>[] = [];
  return {
    minBytes: options.minBytes,
    executions,
    async start(input) {
      const execution = machine.run(input as never, {
        overrides: {
          taskResourceLocalHandlers: Object.fromEntries(
            states.map((state) => [
              state,
              (stateInput: unknown) => options.handler(stateInput, state) as never,
            ]),
          ),
          ...(options.retryIntervalMs === undefined
            ? {}
            : {
                retryIntervalOverrides: Object.fromEntries(
                  states.map((state) => [state, options.retryIntervalMs as number]),
                ),
              }),
        },
      });
      const result = execution.result.then(
        (value) => {
          options.onEnd?.(input);
          return value;
        },
        (error: unknown) => {
          options.onEnd?.(input, error);
          throw error;
        },
      );
      result.catch(() => {});
      executions.push(result);
      return { execution: `local:batch-${input.run}` };
    },
  };
}

/** The state machine's ARN in the local stack (what `BATCH_STATE_MACHINE_ARN` names). */
export const LOCAL_STATE_MACHINE_ARN = 'arn:aws:states:local:000000000000:stateMachine:batch-fan-out';

export interface LocalStepFunctions {
  /** The endpoint the batch function's Step Functions client talks to (`STEP_FUNCTIONS_ENDPOINT`). */
  endpoint: string;
  stateMachineArn: string;
  /** Resolves when no execution is running. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The local stack's Step Functions: a loopback endpoint answering `StartExecution` (the AWS JSON
 * 1.0 protocol the SDK speaks) for the batch fan-out state machine, each execution run in this
 * process by `localFanOut` with its Task states invoking `handler` (the batch function's bundle).
 */
export async function startLocalStepFunctions(options: {
  handler: (input: unknown, state: string) => Promise<unknown>;
  log: (line: string) => void;
}): Promise<LocalStepFunctions> {
  const running = new Set<Promise<unknown>>();
  const fanOut = localFanOut({
    minBytes: 0,
    handler: options.handler,
    onEnd: (run, error) =>
      options.log(
        error === undefined
          ? `local stack: batch fan-out ${run.run} of ${run.key} finished`
          : `local stack: batch fan-out ${run.run} of ${run.key} failed: ${error instanceof Error ? error.message : String(error)}`,
      ),
  });
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const answer = (status: number, body: object) => {
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
        response.end(JSON.stringify(body));
      };
      const target = String(request.headers['x-amz-target'] ?? '');
      if (target !== 'AWSStepFunctions.StartExecution') {
        answer(400, { __type: 'UnknownOperationException', message: `not served locally: ${target}` });
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
        stateMachineArn?: string;
        name?: string;
        input?: string;
      };
      if (body.stateMachineArn !== LOCAL_STATE_MACHINE_ARN) {
        answer(400, {
          __type: 'StateMachineDoesNotExist',
          message: `no state machine ${body.stateMachineArn}`,
        });
        return;
      }
      const input = JSON.parse(body.input ?? '{}') as FanOutRunInput;
      void fanOut.start(input).then(({ execution }) => {
        const result = fanOut.executions.at(-1);
        if (result !== undefined) {
          const settled = result.catch(() => {});
          running.add(settled);
          void settled.finally(() => running.delete(settled));
        }
        options.log(`local stack: batch fan-out ${input.run} of ${input.key} started`);
        answer(200, { executionArn: execution, startDate: Date.now() / 1000 });
      });
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  const { port } = server.address() as AddressInfo;
  const idle = async () => {
    while (running.size > 0) await Promise.all(running);
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stateMachineArn: LOCAL_STATE_MACHINE_ARN,
    idle,
    close: async () => {
      await new Promise<void>((done) => server.close(() => done()));
      await idle();
    },
  };
}
