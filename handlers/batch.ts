/** Lambda entry of the batch function: the handler wired from the environment. */
import { batchDepsFromEnv, createBatchHandler } from './functions/batch.ts';

export const handler = createBatchHandler(batchDepsFromEnv(process.env));
