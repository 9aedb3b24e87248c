/**
 * 400 for a URL whose path or query is not valid percent-encoded UTF-8, before any route
 * or validator decodes it.
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors.ts';

/**
 * The percent-encoding check.
 *
 * @example
 * app.use('*', rejectBrokenEncoding());
 * // GET /projects/%E0%A4%A → 400 invalid_request
 */
export function rejectBrokenEncoding(): MiddlewareHandler {
  return async (c, next) => {
    const url = c.req.url;
    const pathAndQuery = url.slice(url.indexOf('/', url.indexOf('//') + 2));
    try {
      for (const part of pathAndQuery.split(/[/?&=]/)) decodeURIComponent(part.replaceAll('+', ' '));
    } catch {
      throw new ApiError('invalid_request', 'the URL is not valid percent-encoding');
    }
    await next();
  };
}
