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

/** A function of serverless.yml, as far as the local stack reads it; `E` is its event entries. */
export interface ServerlessFunction<E> {
  handler?: string;
  memorySize?: unknown;
  timeout?: unknown;
  environment?: Record<string, unknown>;
  events?: E[];
}

export interface ServerlessDocument<E> {
  provider?: { memorySize?: unknown; timeout?: unknown };
  functions?: Record<string, ServerlessFunction<E>>;
}

/** Lambda's defaults when serverless.yml sets neither the function's nor the provider's value. */
const LAMBDA_DEFAULT_MEMORY_MB = 1024;
const LAMBDA_DEFAULT_TIMEOUT_SECONDS = 6;

/** How a function runs locally: its memory and timeout, and the environment that needs no deploy. */
export interface FunctionSettings {
  memoryMb: number;
  timeoutSeconds: number;
  /** String values without `${…}` variables: the ones that mean the same locally as deployed. */
  environment: Record<string, string>;
}

export function functionSettings<E>(
  document: ServerlessDocument<E>,
  definition: ServerlessFunction<E>,
): FunctionSettings {
  const number = (value: unknown, fallback: number) =>
    typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(definition.environment ?? {})) {
    if (typeof value === 'string' && !value.includes('${')) environment[name] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') environment[name] = String(value);
  }
  return {
    memoryMb: number(definition.memorySize, number(document.provider?.memorySize, LAMBDA_DEFAULT_MEMORY_MB)),
    timeoutSeconds: number(
      definition.timeout,
      number(document.provider?.timeout, LAMBDA_DEFAULT_TIMEOUT_SECONDS),
    ),
    environment,
  };
}
