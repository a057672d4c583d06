import { readServerlessDocument } from './serverless-document.ts';

/** One HTTP API route bound to a function, as declared in serverless.yml. */
export interface DeclaredRoute {
  functionName: string;
  /** Upper-case method, or `*` for any. */
  method: string;
  /** Path template (`/v2/models/{name}`), or `*` for API Gateway's `$default` route. */
  path: string;
  /** Handler in serverless.yml notation: `dist/http/index.handler`. */
  handler: string;
}

interface ServerlessFunction {
  handler?: string;
  events?: { httpApi?: string | { method?: string; path?: string } }[];
}

/**
 * Reads the `httpApi` events of every function in serverless.yml, so the local stack serves
 * exactly the routes that would be deployed.
 */
export async function readHttpRoutes(serverlessYmlPath: string): Promise<DeclaredRoute[]> {
  const document = (await readServerlessDocument(serverlessYmlPath)) as {
    functions?: Record<string, ServerlessFunction>;
  };
  const routes: DeclaredRoute[] = [];
  for (const [functionName, definition] of Object.entries(document.functions ?? {})) {
    for (const event of definition.events ?? []) {
      if (event.httpApi === undefined) continue;
      const handler = definition.handler;
      if (!handler)
        throw new Error(`serverless.yml: function '${functionName}' has httpApi events but no handler`);
      routes.push({ functionName, handler, ...parseHttpApiEvent(event.httpApi) });
    }
  }
  return routes;
}

function parseHttpApiEvent(event: string | { method?: string; path?: string }): {
  method: string;
  path: string;
} {
  if (typeof event === 'string') {
    if (event === '*') return { method: '*', path: '*' };
    const [method = '', path = ''] = event.split(/\s+/);
    return { method: method.toUpperCase(), path };
  }
  return { method: (event.method ?? '*').toUpperCase(), path: event.path ?? '*' };
}

export interface RouteMatch {
  route: DeclaredRoute;
  /** API Gateway's route key: `GET /v2/models/{name}` or `$default`. */
  routeKey: string;
  pathParameters?: Record<string, string>;
}

/**
 * Matches a request the way API Gateway HTTP APIs do: the most specific route wins (literal
 * segments beat parameters), a method-specific route beats `ANY`, and `$default` catches the rest.
 */
export function matchDeclaredRoute(
  routes: DeclaredRoute[],
  method: string,
  rawPath: string,
): RouteMatch | undefined {
  const segments = rawPath.split('/').filter((segment) => segment !== '');
  let best: { match: RouteMatch; score: number } | undefined;
  let fallback: RouteMatch | undefined;
  for (const route of routes) {
    if (route.path === '*') {
      fallback ??= { route, routeKey: '$default' };
      continue;
    }
    if (route.method !== '*' && route.method !== 'ANY' && route.method !== method.toUpperCase()) continue;
    const template = route.path.split('/').filter((segment) => segment !== '');
    // A greedy path variable (`{proxy+}`, last) takes one segment or more.
    const greedy = /^\{[^}]+\+\}$/.test(template.at(-1) ?? '');
    if (greedy ? segments.length < template.length : template.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    let score = route.method === '*' || route.method === 'ANY' ? 0 : 1;
    let matched = true;
    for (let i = 0; i < template.length; i++) {
      const part = template[i] as string;
      const actual = segments[i] as string;
      const param = /^\{([^}]+)\}$/.exec(part);
      if (param?.[1]?.endsWith('+') && i === template.length - 1) {
        pathParameters[param[1].slice(0, -1)] = segments.slice(i).map(safeDecode).join('/');
      } else if (param?.[1]) {
        pathParameters[param[1]] = safeDecode(actual);
      } else if (part === actual) {
        score += 2 ** (template.length - i);
      } else {
        matched = false;
        break;
      }
    }
    if (!matched) continue;
    const routeKey = `${route.method === '*' ? 'ANY' : route.method} ${route.path}`;
    const match: RouteMatch = {
      route,
      routeKey,
      pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : undefined,
    };
    if (!best || score > best.score) best = { match, score };
  }
  return best?.match ?? fallback;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
