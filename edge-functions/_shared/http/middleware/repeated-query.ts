/**
 * 400 for a query parameter given more than once (`?limit=100&limit=5`): which one was
 * meant is the client's to say, not ours to guess.
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors.ts';

/**
 * The repeated-parameter check; the error names the parameter (cut at 100 characters).
 *
 * @example
 * app.use('*', rejectRepeatedQuery());
 * // GET /jobs?limit=1&limit=2 → 400 'the query parameter "limit" is given more than once'
 */
export function rejectRepeatedQuery(): MiddlewareHandler {
  return async (c, next) => {
    const url = c.req.url;
    const query = url.indexOf('?');
    if (query >= 0) {
      const seen = new Set<string>();
      for (const name of new URLSearchParams(url.slice(query + 1)).keys()) {
        if (seen.has(name)) {
          const shown = name.length > 100 ? `${name.slice(0, 100)}…` : name;
          throw new ApiError('invalid_request', `the query parameter "${shown}" is given more than once`, { parameter: shown });
        }
        seen.add(name);
      }
    }
    await next();
  };
}
