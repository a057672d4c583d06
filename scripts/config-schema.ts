/**
 * Writes docs/model-config.schema.json, the JSON Schema of `models/{name}/config.json` for editors
 * (`"$schema"` in the file, or a VS Code `json.schemas` mapping), from the zod schemas the
 * product validates with: `npm run config-schema`. A test fails when the file is out of date.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod/mini';
import { driftSectionSchema } from '../src/drift/check/settings.ts';
import { modelConfigSchema } from '../src/repository/model-config.ts';

/** Where the schema is published in the repository. */
export const CONFIG_SCHEMA_PATH = join(
  fileURLToPath(new URL('..', import.meta.url)),
  'docs',
  'model-config.schema.json',
);

/** The JSON Schema document, as written to {@link CONFIG_SCHEMA_PATH}. */
export function modelConfigJsonSchema(): string {
  const drift = driftSectionSchema.check(
    z.describe(
      'Drift check settings of this model: window, minimum samples, tests and thresholds, per-feature overrides, performance rule. See docs/monitoring.md.',
    ),
  );
  const schema = z.toJSONSchema(z.extend(modelConfigSchema, { drift: z.optional(drift) }), {
    target: 'draft-2020-12',
  });
  const document = {
    $schema: schema.$schema,
    title: 'onnx-serve model config.json',
    description:
      'models/{name}/config.json of an onnx-serve model repository. Every field is optional; unknown top-level fields are ignored with a warning. See docs/model-repository.md.',
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema')),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(CONFIG_SCHEMA_PATH, modelConfigJsonSchema());
  // Formatted as the repository's formatter keeps JSON files.
  execFileSync('npx', ['biome', 'format', '--write', CONFIG_SCHEMA_PATH], { stdio: 'ignore' });
  console.log(`wrote ${CONFIG_SCHEMA_PATH}`);
}
