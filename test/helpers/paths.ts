import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root folder. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The shared conformance data (ONNX backend cases and the protocol's OpenAPI document):
 * `CONFORMANCE_DIR`, or `../shared/conformance` beside the project.
 */
export function conformanceDir(): string {
  const dir = resolve(process.env.CONFORMANCE_DIR ?? join(ROOT, '..', 'shared', 'conformance'));
  if (!existsSync(dir)) {
    throw new Error(`conformance data not found at ${dir}; set CONFORMANCE_DIR`);
  }
  return dir;
}
