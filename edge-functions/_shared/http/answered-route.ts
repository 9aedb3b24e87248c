/**
 * The route pattern that answered a request, for logs.
 */
import type { Context } from 'hono';
import { matchedRoutes } from 'hono/route';

/**
 * The pattern of the handler that answered, e.g. `/projects/:id`, or `(none)` when no
 * route did (a 404, or a middleware that refused the request).
 *
 * @example
 * log.info('request', { route: answeredRoute(c) });
 */
export function answeredRoute(c: Context): string {
  try {
    // Handlers run in registration order, so the first non-middleware match answered.
    return matchedRoutes(c).find((route) => route.method !== 'ALL')?.path ?? '(none)';
  } catch {
    return '(none)';
  }
}
