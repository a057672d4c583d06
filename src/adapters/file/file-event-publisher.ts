import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  DRIFT_EVENT_DETAIL_TYPE,
  DRIFT_EVENT_SOURCE,
  type ModelDriftDetectedDetail,
  type ModelRolloutVerdictDetail,
  ROLLOUT_EVENT_DETAIL_TYPE,
} from '../../drift/check/events.ts';
import type { DriftEventPublisher } from '../../ports/drift-event-publisher.ts';

/**
 * Appends drift events to a JSON-lines file, shaped as EventBridge delivers them to a target
 * (`source`, `detail-type`, `time`, `detail`): how the local stack "publishes" them
 * (`.local/events.jsonl`).
 *
 * @example
 * ```ts
 * const publisher = new FileEventPublisher('.local/events.jsonl');
 * await publisher.publish(detail); // one more line in the file
 * ```
 */
export class FileEventPublisher implements DriftEventPublisher {
  readonly path: string;
  readonly #now: () => Date;

  constructor(path: string, now: () => Date = () => new Date()) {
    this.path = path;
    this.#now = now;
  }

  async publish(detail: ModelDriftDetectedDetail): Promise<void> {
    await this.#append(DRIFT_EVENT_DETAIL_TYPE, detail);
  }

  async publishRollout(detail: ModelRolloutVerdictDetail): Promise<void> {
    await this.#append(ROLLOUT_EVENT_DETAIL_TYPE, detail);
  }

  async #append(detailType: string, detail: object): Promise<void> {
    const event = {
      version: '0',
      source: DRIFT_EVENT_SOURCE,
      'detail-type': detailType,
      time: this.#now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
      resources: [],
      detail,
    };
    await mkdir(dirname(this.path), { recursive: true });
    await appendFile(this.path, `${JSON.stringify(event)}\n`);
  }
}
