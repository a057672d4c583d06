import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { ROOT } from './paths.ts';

const DOCUMENT_ID = 'https://onnx-serve.local/openapi.json';
const METHODS = ['get', 'post', 'put', 'delete', 'patch'] as const;

interface Operation {
  'x-route-key'?: string;
  operationId?: string;
  responses?: Record<string, { $ref?: string; content?: Record<string, { schema?: unknown }> }>;
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, Record<string, unknown>>;
}

let cached: { document: OpenApiDocument; ajv: Ajv2020 } | undefined;

/** docs/openapi.yaml, parsed, and an ajv (JSON Schema 2020-12, OpenAPI 3.1's dialect) holding it. */
export function openApi(): { document: OpenApiDocument; ajv: Ajv2020 } {
  if (cached === undefined) {
    const document = parse(readFileSync(join(ROOT, 'docs', 'openapi.yaml'), 'utf8')) as OpenApiDocument;
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema({ ...document, $id: DOCUMENT_ID });
    cached = { document, ajv };
  }
  return cached;
}

/** Every operation: path template, method (upper case) and its API Gateway route key. */
export function openApiOperations(): {
  path: string;
  method: string;
  routeKey: string;
  operation: Operation;
}[] {
  const { document } = openApi();
  const operations = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method] as Operation | undefined;
      if (operation === undefined) continue;
      const upper = method.toUpperCase();
      operations.push({
        path,
        method: upper,
        routeKey: operation['x-route-key'] ?? `${upper} ${path}`,
        operation,
      });
    }
  }
  return operations;
}

/** The operation whose path template matches a concrete request path (`{x}` = one segment's text). */
export function findOperation(method: string, path: string) {
  const matches = openApiOperations().filter((candidate) => {
    if (candidate.method !== method.toUpperCase()) return false;
    const pattern = candidate.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/:]+');
    return new RegExp(`^${pattern}$`).test(path);
  });
  // A literal path (`/v2/models/stats`) beats a template that also matches it.
  matches.sort((a, b) => (a.path.match(/\{/g)?.length ?? 0) - (b.path.match(/\{/g)?.length ?? 0));
  return matches[0];
}

const pointer = (segments: string[]) =>
  `#${segments.map((segment) => `/${encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1'))}`).join('')}`;

const validators = new Map<string, ValidateFunction>();

/**
 * Validates a JSON response body against the document: the schema of `application/json` for the
 * status of the operation that serves `method path`. Throws naming the operation and ajv's errors.
 */
export function assertOpenApiResponse(method: string, path: string, status: number, body: unknown): void {
  const found = findOperation(method, path);
  if (found === undefined) throw new Error(`no OpenAPI operation for ${method} ${path}`);
  const { document, ajv } = openApi();
  const response = found.operation.responses?.[String(status)];
  if (response === undefined) {
    throw new Error(
      `OpenAPI: ${found.operation.operationId} (${method} ${found.path}) documents no ${status}`,
    );
  }
  let location = ['paths', found.path, method.toLowerCase(), 'responses', String(status)];
  if (response.$ref !== undefined) {
    location = response.$ref.replace(/^#\//, '').split('/');
  }
  const resolved = location.reduce<unknown>(
    (node, key) => (node as Record<string, unknown>)[key],
    document,
  ) as { content?: Record<string, unknown> };
  if (resolved.content?.['application/json'] === undefined) {
    throw new Error(`OpenAPI: ${method} ${found.path} ${status} has no application/json content`);
  }
  const ref = `${DOCUMENT_ID}${pointer([...location, 'content', 'application/json', 'schema'])}`;
  let validate = validators.get(ref);
  if (validate === undefined) {
    validate = ajv.compile({ $ref: ref });
    validators.set(ref, validate);
  }
  if (!validate(body)) {
    throw new Error(
      `${method} ${path} → ${status} does not match ${found.operation.operationId}: ${JSON.stringify(validate.errors)}`,
    );
  }
}
