/** Lambda entry of the validationFailures function (modelEvents' failure destination). */
import {
  createValidationFailuresHandler,
  validationFailuresDepsFromEnv,
} from './functions/validation-failures.ts';

export const handler = createValidationFailuresHandler(validationFailuresDepsFromEnv(process.env));
