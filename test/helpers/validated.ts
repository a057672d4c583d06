import type { ObjectStore } from '../../src/ports/object-store.ts';
import { type PublishRequest, publishModel } from '../../src/repository/publish.ts';
import { validateModel } from '../../src/validation/validate-model.ts';

/**
 * Publishes a model and validates it at once, as the validation function would on the upload's
 * event: versions are served only with a `valid` verdict, and a bucket without the function (the
 * plain server's tests) gets its verdict here.
 */
export async function publishValidated(store: ObjectStore, request: PublishRequest): Promise<void> {
  const result = await publishModel(store, request);
  await validateModel(store, result.modelKey);
}
