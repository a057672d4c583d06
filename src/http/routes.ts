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
  repositoryLoad: 'repositoryLoad',
  repositoryUnload: 'repositoryUnload',
  modelConfig: 'modelConfig',
  statistics: 'statistics',
  outcomes: 'outcomes',
  v1Models: 'v1Models',
  v1ModelReady: 'v1ModelReady',
  v1Predict: 'v1Predict',
} as const;
export type Operation = (typeof OPERATIONS)[keyof typeof OPERATIONS];

interface Route {
  method: 'GET' | 'POST';
  /**
   * Segments; `{name}` and `{version}` capture one path segment, a final `{path+}` captures the
   * rest of the path (one segment or more, API Gateway's greedy path variable).
   */
  pattern: string[];
  operation: Operation;
}

const ROUTE_TABLE: readonly [string, string, Operation][] = [
  ['GET', '/v2/health/live', 'live'],
  ['GET', '/v2/health/ready', 'ready'],
  ['GET', '/v2', 'serverMetadata'],
  // Literal `stats` wins over a model named "stats", as in Triton and in API Gateway's matching.
  ['GET', '/v2/models/stats', 'statistics'],
  ['GET', '/v2/models/{name}', 'modelMetadata'],
  ['GET', '/v2/models/{name}/versions/{version}', 'modelMetadata'],
  ['GET', '/v2/models/{name}/ready', 'modelReady'],
  ['GET', '/v2/models/{name}/versions/{version}/ready', 'modelReady'],
  ['POST', '/v2/models/{name}/infer', 'infer'],
  ['POST', '/v2/models/{name}/versions/{version}/infer', 'infer'],
  ['GET', '/v2/models/{name}/config', 'modelConfig'],
  ['GET', '/v2/models/{name}/versions/{version}/config', 'modelConfig'],
  ['GET', '/v2/models/{name}/stats', 'statistics'],
  ['GET', '/v2/models/{name}/versions/{version}/stats', 'statistics'],
  ['POST', '/v2/repository/index', 'repositoryIndex'],
  ['POST', '/v2/repository/models/{name}/load', 'repositoryLoad'],
  ['POST', '/v2/repository/models/{name}/unload', 'repositoryUnload'],
  ['POST', '/v2/models/{name}/outcomes', 'outcomes'],
  ['GET', '/v1/models', 'v1Models'],
  ['GET', '/v1/models/{name}', 'v1ModelReady'],
  // `{name}:predict` and `{name}/versions/{version}:predict`: API Gateway has no path variable for
  // part of a segment, so the rest of the path is captured and read by the v1 protocol.
  ['POST', '/v1/models/{path+}', 'v1Predict'],
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
  params: { name?: string; version?: string; path?: string };
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
  throw new NotFoundError(`no route for ${method.toUpperCase()} ${truncate(rawPath, 200)}${hint(segments)}`);
}

/** Model routes, named in the 404 of an unknown route under `/v2/models/{name}/`. */
const MODEL_SUB_ROUTES = [
  'GET ready',
  'GET config',
  'GET stats',
  'POST infer',
  'POST outcomes',
  'versions/{version}[/ready|/config|/stats|/infer]',
];

function hint(segments: string[]): string {
  if (segments[0] === 'v2' && segments[1] === 'models' && segments.length > 3) {
    return `; the routes under /v2/models/{name}/ are ${MODEL_SUB_ROUTES.join(', ')}`;
  }
  if (segments[0] === 'v2' && segments[1] === 'repository') {
    return '; the repository routes are POST /v2/repository/index and POST /v2/repository/models/{name}/load|unload';
  }
  if (segments[0] === 'v2' && (segments[1] === 'systemsharedmemory' || segments[1] === 'cudasharedmemory')) {
    return '; shared memory extensions are not supported: the server runs on other machines than its clients, so tensors travel in the request (JSON or binary tensor data)';
  }
  if (
    segments[0] === 'v2' &&
    (segments[1] === 'trace' || segments[1] === 'logging' || segments.includes('trace'))
  ) {
    return '; trace and logging settings are not served over HTTP: logs and metrics are configured per deployment (see docs/monitoring.md)';
  }
  if (segments[0] === 'v1') {
    return '; the v1 routes are GET /v1/models, GET /v1/models/{name} and POST /v1/models/{name}[/versions/{version}]:predict';
  }
  return '';
}

function matchSegments(pattern: string[], segments: string[]): RouteMatch['params'] | undefined {
  const greedy = pattern.at(-1) === '{path+}';
  if (greedy ? segments.length < pattern.length : pattern.length !== segments.length) return undefined;
  const params: RouteMatch['params'] = {};
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i] as string;
    const actual = segments[i] as string;
    if (expected === '{path+}') {
      params.path = segments.slice(i).map(decodeSegment).join('/');
    } else if (expected === '{name}' || expected === '{version}') {
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
