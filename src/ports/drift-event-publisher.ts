import type { ModelDriftDetectedDetail, ModelRolloutVerdictDetail } from '../drift/check/events.ts';

/**
 * The port through which a drift run tells the world that a model drifted. Implemented for
 * EventBridge (`src/adapters/aws/eventbridge-publisher.ts`) and for a JSON-lines file, which the
 * local stack uses (`src/adapters/file/file-event-publisher.ts`). `publish` throws when the event
 * could not be delivered.
 */
export interface DriftEventPublisher {
  publish(detail: ModelDriftDetectedDetail): Promise<void>;
  /**
   * Publishes a `ModelRolloutVerdict` (the comparison of a rollout's versions). Optional: a
   * publisher without it drops these events.
   */
  publishRollout?(detail: ModelRolloutVerdictDetail): Promise<void>;
}
