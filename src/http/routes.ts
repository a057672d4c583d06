import { BadRequestError, MethodNotAllowedError, NotFoundError } from '../errors.ts';

/** Names of the HTTP operations, used in logs and metrics. */
export const OPERATIONS = {
  live: 'live',
  ready: 'ready',
  serverMetadata: 'serverMetadata',
  modelMetadata: 'modelMetadata',
  modelReady: 'modelReady',
  infer: 'infer',
  repositoryIndex: 'repositoryIndex',
  outcomes: 'outcomes',
} as const;
export type Operation = (typeof OPERATIONS)[keyof typeof OPERATIONS];

interface Route {
  method: 'GET' | 'POST';
  /** Segments; `{name}` and `{version}` capture one path segment. */
  pattern: string[];
  operation: Operation;
}

const ROUTE_TABLE: readonly [string, string, Operation][] = [
  ['GET', '/v2/health/live', 'live'],
  ['GET', '/v2/health/ready', 'ready'],
  ['GET', '/v2', 'serverMetadata'],
  ['GET', '/v2/models/{name}', 'modelMetadata'],
  ['GET', '/v2/models/{name}/versions/{version}', 'modelMetadata'],
  ['GET', '/v2/models/{name}/ready', 'modelReady'],
  ['GET', '/v2/models/{name}/versions/{version}/ready', 'modelReady'],
  ['POST', '/v2/models/{name}/infer', 'infer'],
  ['POST', '/v2/models/{name}/versions/{version}/infer', 'infer'],
  ['POST', '/v2/repository/index', 'repositoryIndex'],
  ['POST', '/v2/models/{name}/outcomes', 'outcomes'],
];

/** Every route the HTTP function answers, as `METHOD /path/{param}` (API Gateway's route keys). */
export const ROUTE_KEYS: readonly string[] = ROUTE_TABLE.map(([method, path]) => `${method} ${path}`);

const ROUTES: readonly Route[] = ROUTE_TABLE.map(([method, path, operation]) => ({
  method: method as Route['method'],
  pattern: splitPath(path),
  operation,
}));

export interface RouteMatch {
  operation: Operation;
  params: { name?: string; version?: string };
}

/**
 * Finds the operation for a method and a raw (still percent-encoded) path. Path parameters are
 * decoded here, once; a bad escape is the caller's mistake.
 */
export function matchRoute(method: string, rawPath: string): RouteMatch {
  const segments = splitPath(rawPath);
  const allowed: string[] = [];
  for (const route of ROUTES) {
    const params = matchSegments(route.pattern, segments);
    if (params === undefined) continue;
    if (route.method === method.toUpperCase()) return { operation: route.operation, params };
    allowed.push(route.method);
  }
  if (allowed.length > 0) {
    throw new MethodNotAllowedError(
      `method ${method.toUpperCase()} is not allowed here; use ${allowed.join(' or ')}`,
      allowed,
    );
  }
  throw new NotFoundError(`no route for ${method.toUpperCase()} ${truncate(rawPath, 200)}`);
}

function matchSegments(pattern: string[], segments: string[]): RouteMatch['params'] | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: RouteMatch['params'] = {};
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i] as string;
    const actual = segments[i] as string;
    if (expected === '{name}' || expected === '{version}') {
      const value = decodeSegment(actual);
      if (expected === '{name}') params.name = value;
      else params.version = value;
    } else if (expected !== actual) {
      return undefined;
    }
  }
  return params;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadRequestError(`path segment '${truncate(segment, 100)}' is not valid percent-encoding`);
  }
}

function splitPath(path: string): string[] {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? [] : trimmed.split('/');
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
