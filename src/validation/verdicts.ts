/**
 * The verdicts validation writes to `models/{name}/{version}/metadata.json`: reading the previous
 * one, writing one, the verdict of a validation that could not finish. Free of onnxruntime, so that
 * the function recording validations that never finished loads without it.
 */
import type { ObjectStore } from '../ports/object-store.ts';
import { type ModelMetadata, VALIDATOR_VERSION } from '../repository/metadata.ts';

/** The model file a verdict is about. */
export interface VerdictSubject {
  name: string;
  version: number;
  size: number;
  sha256: string;
  etag: string | null;
  /** ISO time of the verdict. */
  validatedAt: string;
}

/** Longest reason written to metadata.json; onnxruntime's messages can run long. */
export const MAX_REASON_LENGTH = 300;
/**
 * How the reason of a verdict written for a validation that never finished starts (the validation
 * function crashed, timed out or ran out of memory on every attempt; see `recordUnfinishedValidation`).
 */
export const UNFINISHED_REASON_PREFIX = 'validation did not finish: ';

/** Whether `metadata` is the verdict of a validation that never finished (not reused for a re-upload). */
export function isUnfinishedVerdict(metadata: Pick<ModelMetadata, 'status' | 'reason'>): boolean {
  return metadata.status === 'invalid' && (metadata.reason?.startsWith(UNFINISHED_REASON_PREFIX) ?? false);
}

/** The verdict of a validation that could not finish. */
export function failedValidation(subject: VerdictSubject, reason: string): ModelMetadata {
  return {
    status: 'invalid',
    reason: reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH - 1)}…` : reason,
    name: subject.name,
    version: subject.version,
    size: subject.size,
    sha256: subject.sha256,
    etag: subject.etag,
    ir_version: null,
    opsets: null,
    producer: null,
    metadata_props: null,
    inputs: null,
    outputs: null,
    rewrites: null,
    inferred: null,
    load_ms: null,
    latency_ms: null,
    smoke: null,
    runtime: null,
    validated_at: subject.validatedAt,
    validator_version: VALIDATOR_VERSION,
  };
}

/** Reads metadata.json written by this validator version; `undefined` when absent or anything else. */
export async function readPrevious(
  store: ObjectStore,
  metadataKey: string,
): Promise<ModelMetadata | undefined> {
  const stored = await store.get(metadataKey);
  if (stored === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(stored.body));
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const previous = json as Partial<ModelMetadata>;
  // Only this validator's own records are trusted; anything else is validated again.
  if (previous.validator_version !== VALIDATOR_VERSION || typeof previous.sha256 !== 'string')
    return undefined;
  if (previous.status !== 'valid' && previous.status !== 'invalid') return undefined;
  return previous as ModelMetadata;
}

/** Writes metadata.json as validation does (pretty JSON, a final newline). */
export async function writeMetadata(store: ObjectStore, key: string, metadata: ModelMetadata): Promise<void> {
  await store.put(key, `${JSON.stringify(metadata, null, 2)}\n`, { contentType: 'application/json' });
}
