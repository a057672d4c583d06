import { createHash } from 'node:crypto';
import type { StreamingObjectStore } from '../ports/object-store.ts';
import { metadataKeyOf, parseModelKey } from '../repository/model-key.ts';
import type { ValidationResult } from './validate-model.ts';
import { failedValidation, readPrevious, UNFINISHED_REASON_PREFIX, writeMetadata } from './verdicts.ts';

/** The model file whose validation never finished, as its notification named it. */
export interface UnfinishedValidation {
  key: string;
  /** The ETag the notification carried: a verdict is written only while it is still the file's. */
  etag?: string;
  /** What happened, e.g. `timed out (Task timed out after 120.00 seconds) after 3 attempt(s)`. */
  what: string;
}

/**
 * Fails closed a validation that never finished (the validation function crashed, timed out or
 * ran out of memory on every attempt): writes an `invalid` verdict to
 * `models/{name}/{version}/metadata.json` for the model file's current ETag, with the reason
 * `validation did not finish: the validation function timed out (…)`, so that the version is
 * never served. Uploading the file again validates it again (such a verdict is not reused).
 *
 * Nothing is written when the key is not a model file, the file is gone, it was replaced since
 * the failed event (its own validation decides), or a verdict for its current ETag exists
 * already (`unchanged`). Store failures throw, so that the caller's invocation is retried.
 *
 * @example
 * ```ts
 * await recordUnfinishedValidation(store, { key: 'models/iris/3/model.onnx', etag, what: 'ran out of memory after 3 attempt(s)' });
 * ```
 */
export async function recordUnfinishedValidation(
  store: StreamingObjectStore,
  failed: UnfinishedValidation,
  options: { now?: () => Date } = {},
): Promise<ValidationResult> {
  const { key } = failed;
  const parsed = parseModelKey(key);
  if ('reason' in parsed) return { outcome: 'ignored', key, reason: parsed.reason };
  const { name, version } = parsed;
  const metadataKey = metadataKeyOf(name, version);
  const head = await store.head(key);
  if (head === undefined) return { outcome: 'ignored', key, reason: 'the object no longer exists' };
  if (failed.etag !== undefined && head.etag !== undefined && stripQuotes(failed.etag) !== head.etag) {
    return {
      outcome: 'ignored',
      key,
      reason: `the file was replaced since (ETag ${head.etag}, not ${failed.etag}); its own validation decides`,
    };
  }
  const previous = await readPrevious(store, metadataKey);
  if (previous !== undefined && head.etag !== undefined && previous.etag === head.etag) {
    return { outcome: 'unchanged', key, metadataKey, metadata: previous };
  }
  const object = await store.getStream(key);
  if (object === undefined) return { outcome: 'ignored', key, reason: 'the object no longer exists' };
  // Hashed as a stream: the file may be the very reason validation ran out of memory.
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of object.body) {
      hash.update(chunk);
      size += chunk.byteLength;
    }
  } finally {
    object.close();
  }
  const metadata = failedValidation(
    {
      name,
      version,
      size,
      sha256: hash.digest('hex'),
      etag: object.etag ?? head.etag ?? null,
      validatedAt: (options.now ?? (() => new Date()))().toISOString(),
    },
    `${UNFINISHED_REASON_PREFIX}the validation function ${failed.what}`,
  );
  await writeMetadata(store, metadataKey, metadata);
  return { outcome: 'validated', key, metadataKey, metadata };
}

function stripQuotes(etag: string): string {
  return etag.replace(/^"(.*)"$/, '$1');
}
