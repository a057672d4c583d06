import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';

/**
 * Reads serverless.yml for the local stack, with `${param:name}` and `${param:name, fallback}`
 * resolved from `params.default` — the parameters that size functions locally as they would be
 * deployed by default. Every other variable (`${self:…}`, `${aws:…}`, CloudFormation functions) is
 * left as written: the local stack only reads functions, their events, memory and timeout.
 */
export async function readServerlessDocument(path: string): Promise<unknown> {
  const document = parse(await readFile(path, 'utf8')) as { params?: { default?: Record<string, unknown> } };
  const defaults = document.params?.default ?? {};
  return resolveParams(document, defaults);
}

const WHOLE_PARAM = /^\$\{param:([A-Za-z0-9_-]+)(?:\s*,\s*(?:'([^']*)'|"([^"]*)"|([^}]*?)))?\s*\}$/;

function resolveParams(value: unknown, defaults: Record<string, unknown>): unknown {
  if (typeof value === 'string') {
    const match = WHOLE_PARAM.exec(value.trim());
    if (!match) return value;
    const [, name = '', single, double, bare] = match;
    if (name in defaults) return defaults[name];
    const fallback = single ?? double ?? bare;
    if (fallback === undefined) return value;
    return /^-?\d+(\.\d+)?$/.test(fallback) ? Number(fallback) : fallback;
  }
  if (Array.isArray(value)) return value.map((item) => resolveParams(item, defaults));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, resolveParams(item, defaults)]),
    );
  }
  return value;
}
