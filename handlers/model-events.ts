/** Lambda entry of the modelEvents function: the handler wired from the environment. */
import { createModelEventsHandler, modelEventsDepsFromEnv } from './functions/model-events.ts';

export const handler = createModelEventsHandler(modelEventsDepsFromEnv(process.env));
