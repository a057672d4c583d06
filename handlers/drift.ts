/** Lambda entry of the drift function: the handler wired from the environment. */
import { createDriftHandler, driftDepsFromEnv } from './functions/drift.ts';

export const handler = createDriftHandler(driftDepsFromEnv(process.env));
