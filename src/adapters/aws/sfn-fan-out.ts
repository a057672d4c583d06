import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { StorageUnavailableError } from '../../errors.ts';
import type { BatchFanOut, FanOutRunInput } from '../../ports/batch-fan-out.ts';

/**
 * Starts the batch fan-out state machine (AWS Step Functions) for a file. The execution is named
 * after the run (`batch-{run}`), so a repeated start of one run is not a second execution.
 */
export class StepFunctionsFanOut implements BatchFanOut {
  readonly minBytes: number;
  readonly #client: SFNClient;
  readonly #stateMachineArn: string;

  constructor(options: {
    stateMachineArn: string;
    minBytes: number;
    client?: SFNClient;
    region?: string;
    endpoint?: string;
  }) {
    this.minBytes = options.minBytes;
    this.#stateMachineArn = options.stateMachineArn;
    this.#client =
      options.client ??
      new SFNClient({ region: options.region, ...(options.endpoint ? { endpoint: options.endpoint } : {}) });
  }

  async start(input: FanOutRunInput): Promise<{ execution: string }> {
    try {
      const output = await this.#client.send(
        new StartExecutionCommand({
          stateMachineArn: this.#stateMachineArn,
          name: `batch-${input.run}`,
          input: JSON.stringify(input),
        }),
      );
      return { execution: output.executionArn ?? `batch-${input.run}` };
    } catch (error) {
      throw new StorageUnavailableError(
        `could not start the batch fan-out workflow: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }
}
