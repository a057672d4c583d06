import * as z from 'zod/mini';
import { quote } from '../codec/describe.ts';
import { BadRequestError } from '../errors.ts';
import { closedObject, parseUserJson } from '../schema/user-json.ts';
import {
  type Checked,
  checkOutcomeId,
  checkOutcomeTs,
  checkOutcomeValue,
  MAX_OUTCOMES_PER_REQUEST,
  type OutcomeRecord,
} from './outcome.ts';

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
  const { outcomes: list } = parseUserJson(
    outcomesBodySchema,
    body,
    (problem) => new BadRequestError(problem.message),
    { root: 'request body' },
  );
  const received = receivedAt.toISOString();
  const firstIndex = new Map<string, number>();
  return list.map((item, index): OutcomeRecord => {
    const at = `outcomes[${index}]`;
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

/**
 * The body's envelope. The fields' values are checked by the same rules as outcome files
 * (`checkOutcomeId`, `checkOutcomeValue`, `checkOutcomeTs`), which give the specific reasons.
 */
const outcomesBodySchema = z.object(
  {
    outcomes: z
      .array(
        closedObject(
          { id: z.optional(z.unknown()), value: z.optional(z.unknown()), ts: z.optional(z.unknown()) },
          'an object {"id", "value", "ts"?}',
        ),
        { error: 'an array of {"id", "value", "ts"?} objects' },
      )
      .check(
        z.minLength(1, { error: 'at least one outcome' }),
        z.maxLength(MAX_OUTCOMES_PER_REQUEST, {
          error: `at most ${MAX_OUTCOMES_PER_REQUEST} outcomes in one request (send several requests)`,
        }),
      ),
  },
  { error: 'a JSON object {"outcomes": [...]}' },
);

function required<T>(checked: Checked<T>, field: string): T {
  if (!checked.ok) throw new BadRequestError(`${field} ${checked.reason}`);
  return checked.value;
}
