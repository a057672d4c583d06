import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DRIFT_EVENT_DETAIL_TYPE,
  DRIFT_EVENT_SOURCE,
  type ModelDriftDetectedDetail,
  type ModelRolloutVerdictDetail,
  ROLLOUT_EVENT_DETAIL_TYPE,
} from '../../drift/check/events.ts';
import type { DriftEventPublisher } from '../../ports/drift-event-publisher.ts';

/**
 * Publishes drift events on an EventBridge bus (`default` unless named). An entry EventBridge
 * refuses (`FailedEntryCount`) is an error, like a failed call.
 *
 * @example
 * ```ts
 * const publisher = new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: 'default' });
 * await publisher.publish(detail);
 * ```
 */
export class EventBridgePublisher implements DriftEventPublisher {
  readonly #client: EventBridgeClient;
  readonly #eventBusName: string;

  constructor(options: { client?: EventBridgeClient; eventBusName?: string; region?: string }) {
    this.#client = options.client ?? new EventBridgeClient({ region: options.region });
    this.#eventBusName = options.eventBusName ?? 'default';
  }

  async publish(detail: ModelDriftDetectedDetail): Promise<void> {
    await this.#put(DRIFT_EVENT_DETAIL_TYPE, detail.model, detail);
  }

  async publishRollout(detail: ModelRolloutVerdictDetail): Promise<void> {
    await this.#put(ROLLOUT_EVENT_DETAIL_TYPE, detail.model, detail);
  }

  async #put(detailType: string, model: string, detail: object): Promise<void> {
    const output = await this.#client.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: DRIFT_EVENT_SOURCE,
            DetailType: detailType,
            Detail: JSON.stringify(detail),
            EventBusName: this.#eventBusName,
          },
        ],
      }),
    );
    if ((output.FailedEntryCount ?? 0) > 0) {
      const entry = output.Entries?.[0];
      throw new Error(
        `EventBridge refused the ${detailType} event for '${model}': ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`.trim(),
      );
    }
  }
}
