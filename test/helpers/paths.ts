import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root folder. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The conformance data (ONNX backend cases and the protocol's OpenAPI document, see
 * `test/fixtures/conformance/README.md`): `CONFORMANCE_DIR` when set, else the copy in the repo.
 */
export function conformanceDir(): string {
  const dir = resolve(process.env.CONFORMANCE_DIR ?? join(ROOT, 'test', 'fixtures', 'conformance'));
  if (!existsSync(dir)) {
    throw new Error(`conformance data not found at ${dir}; set CONFORMANCE_DIR`);
  }
  return dir;
}
