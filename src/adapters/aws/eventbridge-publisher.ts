import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DRIFT_EVENT_DETAIL_TYPE,
  DRIFT_EVENT_SOURCE,
  type ModelDriftDetectedDetail,
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
    const output = await this.#client.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: DRIFT_EVENT_SOURCE,
            DetailType: DRIFT_EVENT_DETAIL_TYPE,
            Detail: JSON.stringify(detail),
            EventBusName: this.#eventBusName,
          },
        ],
      }),
    );
    if ((output.FailedEntryCount ?? 0) > 0) {
      const entry = output.Entries?.[0];
      throw new Error(
        `EventBridge refused the ${DRIFT_EVENT_DETAIL_TYPE} event for '${detail.model}': ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`.trim(),
      );
    }
  }
}
