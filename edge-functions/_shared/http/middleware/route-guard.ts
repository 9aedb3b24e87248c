/**
 * 404 for unknown paths and 405 (with `Allow`) for a known path with another method,
 * before authentication: the answer depends only on the route table.
 */
import type { MiddlewareHandler } from 'hono';
import { TrieRouter } from 'hono/router/trie-router';
import { ApiError } from '../errors.ts';

interface PathMethods {
  methods: string[];
  /** A path without parameters (`/health`): where one matches, it alone decides. */
  literal: boolean;
}

/**
 * The route-guard middleware over an app's routes, read on the first request (when every
 * route is registered). GET routes also allow HEAD, and every route OPTIONS (CORS).
 *
 * @example
 * const app = new Hono().basePath('/projects');
 * app.use('*', routeGuard(app));
 * app.get('/:id', handler); // PUT /projects/x → 405, Allow: GET, HEAD, OPTIONS
 */
export function routeGuard(app: { routes: { method: string; path: string }[] }): MiddlewareHandler {
  let router: TrieRouter<PathMethods> | undefined;
  const build = () => {
    const methodsByPath = new Map<string, Set<string>>();
    for (const route of app.routes) {
      if (route.method === 'ALL') continue;
      const methods = methodsByPath.get(route.path) ?? new Set<string>();
      methods.add(route.method);
      if (route.method === 'GET') methods.add('HEAD');
      methodsByPath.set(route.path, methods);
    }
    const built = new TrieRouter<PathMethods>();
    for (const [path, methods] of methodsByPath) built.add('ALL', path, { methods: [...methods, 'OPTIONS'], literal: !/[:*]/.test(path) });
    return built;
  };
  return async (c, next) => {
    router ??= build();
    const allowed = new Set<string>();
    const matches = (router.match('ALL', c.req.path)[0] as [PathMethods, unknown][]).map(([entry]) => entry);
    // `/health` is `/health`, not also the `/:id` route: a PATCH there is a 405, not a
    // request for a project called "health".
    const literal = matches.filter((entry) => entry.literal);
    for (const entry of literal.length > 0 ? literal : matches) for (const method of entry.methods) allowed.add(method);
    if (allowed.size === 0) throw new ApiError('not_found', `no route for ${c.req.method} ${c.req.path}`);
    if (!allowed.has(c.req.method)) {
      const allow = [...allowed].join(', ');
      throw new ApiError('method_not_allowed', `${c.req.method} is not allowed here; allowed: ${allow}`, undefined, { Allow: allow });
    }
    await next();
  };
}
