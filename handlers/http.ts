/** Lambda entry of the http function: the handler wired from the environment. */
import { createHttpHandler, httpDepsFromEnv } from './functions/http.ts';

export const handler = createHttpHandler(await httpDepsFromEnv(process.env));
