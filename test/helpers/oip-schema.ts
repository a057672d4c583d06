import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { conformanceDir } from './paths.ts';

export type OipSchemaName =
  | 'inference_response'
  | 'inference_error_response'
  | 'metadata_server_response'
  | 'metadata_model_response'
  | 'metadata_model_error_response';

let ajv: Ajv | undefined;

/**
 * A validator for one schema of the Open Inference Protocol's OpenAPI document
 * (`open_inference_rest.yaml` of the conformance data), with its `$ref`s resolved.
 */
export function oipValidator(name: OipSchemaName): ValidateFunction {
  if (!ajv) {
    const document = parse(
      readFileSync(join(conformanceDir(), 'oip', 'open_inference_rest.yaml'), 'utf8'),
    ) as {
      components: unknown;
    };
    ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addSchema({ $id: 'oip', components: document.components });
  }
  const validate = ajv.getSchema(`oip#/components/schemas/${name}`);
  if (!validate) throw new Error(`no schema ${name} in the OpenAPI document`);
  return validate;
}

/** Throws with ajv's errors when `value` does not fit the schema. */
export function assertOip(name: OipSchemaName, value: unknown): void {
  const validate = oipValidator(name);
  if (!validate(value)) {
    throw new Error(`response does not match ${name}: ${JSON.stringify(validate.errors)}`);
  }
}
