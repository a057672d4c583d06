import { randomUUID } from 'node:crypto';
import { NotFoundError } from '../errors.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import type { ModelRepository } from '../repository/model-repository.ts';
import { assertModelName } from '../repository/names.ts';
import { parseOutcomesBody } from './body.ts';
import { type OutcomeRecord, outcomeFolder } from './outcome.ts';

export interface OutcomeServiceOptions {
  /** Where outcomes are written (the model repository's bucket). */
  store: ObjectStore;
  /** To refuse outcomes for a model that does not exist. */
  repository: ModelRepository;
  /** Clock (injected by tests). */
  now?: () => Date;
  /** Unique part of object names (injected by tests). */
  newId?: () => string;
}

/**
 * The outcomes endpoint: validates a body of outcomes and writes it as one JSON-lines object,
 * `outcomes/{model}/{yyyy}/{MM}/{dd}/{HH}/{uuid}.jsonl` (the hour it was received, UTC), before
 * answering. Outcomes are the scarce data of model monitoring, so they are never buffered: a 200
 * means they are in S3, and a failed write is a 503 with nothing stored.
 *
 * Order of checks, cheapest first: the model name (400, no S3 call), the body (400), then the
 * model's existence in the repository (404, usually from the repository's cache), then the write.
 *
 * @example
 * ```ts
 * const outcomes = new OutcomeService({ store, repository });
 * await outcomes.accept('iris', { outcomes: [{ id: 'req-1', value: 0 }] });
 * // { accepted: 1, key: 'outcomes/iris/2026/06/01/10/…jsonl' }
 * ```
 */
export class OutcomeService {
  readonly #store: ObjectStore;
  readonly #repository: ModelRepository;
  readonly #now: () => Date;
  readonly #newId: () => string;

  constructor(options: OutcomeServiceOptions) {
    this.#store = options.store;
    this.#repository = options.repository;
    this.#now = options.now ?? (() => new Date());
    this.#newId = options.newId ?? randomUUID;
  }

  async accept(name: string, body: unknown): Promise<{ accepted: number; key: string }> {
    assertModelName(name);
    const receivedAt = this.#now();
    const records = parseOutcomesBody(body, receivedAt);
    const versions = await this.#repository.listVersions(name);
    if (versions.length === 0) throw new NotFoundError(`model '${name}' not found`);
    const key = `${outcomeFolder(name, receivedAt)}${this.#newId()}.jsonl`;
    await this.#store.put(key, serializeOutcomes(records), { contentType: 'application/x-ndjson' });
    return { accepted: records.length, key };
  }
}

/** Outcome records as JSON lines, each ending with a newline. */
export function serializeOutcomes(records: readonly OutcomeRecord[]): string {
  let text = '';
  for (const { id, value, ts, received_at } of records) {
    text += `${JSON.stringify({ id, value, ts, received_at })}\n`;
  }
  return text;
}
