import { describeValue, quote } from '../codec/describe.ts';
import { BadRequestError } from '../errors.ts';
import {
  type Checked,
  checkOutcomeId,
  checkOutcomeTs,
  checkOutcomeValue,
  MAX_OUTCOMES_PER_REQUEST,
  type OutcomeRecord,
} from './outcome.ts';

const ITEM_FIELDS = new Set(['id', 'value', 'ts']);

/**
 * Validates the body of `POST /v2/models/{name}/outcomes` and returns the records to store:
 * `{"outcomes": [{"id", "value", "ts"?}, …]}`, 1 to {@link MAX_OUTCOMES_PER_REQUEST} entries, each
 * with a prediction id, a scalar value and an optional ISO 8601 time (`received_at` when absent).
 * The whole body is refused at the first bad entry, so that a request is stored entirely or not
 * at all; an id given twice is refused too (a client sending one outcome twice in a body has a bug
 * worth seeing; across requests, the latest received wins when outcomes are joined).
 *
 * @throws BadRequestError naming the entry and field (`outcomes[3].ts: …`) and what was expected.
 * @example
 * ```ts
 * parseOutcomesBody({ outcomes: [{ id: 'req-1', value: 'setosa' }] }, new Date());
 * // [{ id: 'req-1', value: 'setosa', ts: '…', received_at: '…' }]
 * ```
 */
export function parseOutcomesBody(body: unknown, receivedAt: Date): OutcomeRecord[] {
  if (!isObject(body)) {
    throw new BadRequestError(
      `request body: expected a JSON object {"outcomes": [...]}, got ${describeValue(body)}`,
    );
  }
  const list = Object.hasOwn(body, 'outcomes') ? body.outcomes : undefined;
  if (!Array.isArray(list)) {
    throw new BadRequestError(
      `outcomes: expected an array of {"id", "value", "ts"?} objects, got ${list === undefined ? 'nothing' : describeValue(list)}`,
    );
  }
  if (list.length === 0)
    throw new BadRequestError('outcomes: expected at least one outcome, got an empty array');
  if (list.length > MAX_OUTCOMES_PER_REQUEST) {
    throw new BadRequestError(
      `outcomes: ${list.length} outcomes in one request; at most ${MAX_OUTCOMES_PER_REQUEST} are allowed (send several requests)`,
    );
  }

  const received = receivedAt.toISOString();
  const firstIndex = new Map<string, number>();
  return list.map((item: unknown, index): OutcomeRecord => {
    const at = `outcomes[${index}]`;
    if (!isObject(item)) throw new BadRequestError(`${at}: expected an object, got ${describeValue(item)}`);
    for (const key of Object.keys(item)) {
      if (!ITEM_FIELDS.has(key)) {
        throw new BadRequestError(`${at}: unknown field ${quote(key)}; an outcome has id, value and ts`);
      }
    }
    const id = required(checkOutcomeId(item.id), `${at}.id`);
    const earlier = firstIndex.get(id);
    if (earlier !== undefined) {
      throw new BadRequestError(
        `${at}.id: ${quote(id)} repeats outcomes[${earlier}]; send one outcome per prediction`,
      );
    }
    firstIndex.set(id, index);
    const value = required(checkOutcomeValue(item.value), `${at}.value`);
    const ts =
      item.ts === undefined || item.ts === null
        ? received
        : required(checkOutcomeTs(item.ts, receivedAt), `${at}.ts`);
    return { id, value, ts, received_at: received };
  });
}

function required<T>(checked: Checked<T>, field: string): T {
  if (!checked.ok) throw new BadRequestError(`${field} ${checked.reason}`);
  return checked.value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
