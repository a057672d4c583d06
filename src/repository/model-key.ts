import { MODEL_NAME_PATTERN, versionOfFolder } from './names.ts';

/** Where a model file sits in the repository layout. */
export const MODEL_FILE = 'model.onnx';
/** What validation writes next to it. */
export const METADATA_FILE = 'metadata.json';

/** A key that names a model file of the repository layout. */
export interface ModelFileKey {
  name: string;
  version: number;
}

/**
 * Reads `models/{name}/{version}/model.onnx`: the model name and version, or why the key is not
 * a model file of the layout (the reason is for a log line; such keys are ignored, not errors).
 *
 * @example
 * ```ts
 * parseModelKey('models/iris/3/model.onnx'); // { name: 'iris', version: 3 }
 * parseModelKey('models/iris/03/model.onnx'); // { reason: "'03' is not a version folder …" }
 * ```
 */
export function parseModelKey(key: string): ModelFileKey | { reason: string } {
  const parts = key.split('/');
  if (parts.length !== 4 || parts[0] !== 'models' || parts[3] !== MODEL_FILE) {
    return { reason: `not a model file: expected models/{name}/{version}/${MODEL_FILE}` };
  }
  const name = parts[1] ?? '';
  const folder = parts[2] ?? '';
  if (!MODEL_NAME_PATTERN.test(name) || name.includes('..')) {
    return { reason: `'${name.slice(0, 140)}' is not a valid model name` };
  }
  const version = versionOfFolder(folder);
  if (version === undefined) {
    return {
      reason: `'${folder.slice(0, 40)}' is not a version folder (a positive integer without leading zeros)`,
    };
  }
  return { name, version };
}

/** `models/{name}/{version}/metadata.json`. */
export function metadataKeyOf(name: string, version: number): string {
  return `models/${name}/${version}/${METADATA_FILE}`;
}
