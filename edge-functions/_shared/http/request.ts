/**
 * What several middleware modules ask of a request: whether its method writes, and its
 * path below the function's base path.
 */
import type { Context } from 'hono';

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Whether a method writes, and so may carry a body, counts against the write limit and
 * asks Postgres afresh whether its user exists.
 *
 * @example
 * isWrite('PATCH') // true
 * isWrite('GET')   // false
 */
export function isWrite(method: string): boolean {
  return WRITE_METHODS.has(method);
}

/**
 * The request path below the function's base path, without a trailing slash.
 *
 * @example
 * // GET /projects/health/
 * relativePath(c, 'projects') // '/health'
 */
export function relativePath(c: Context, name: string): string {
  const base = `/${name}`;
  const path = c.req.path.startsWith(`${base}/`) ? c.req.path.slice(base.length) : c.req.path === base ? '/' : c.req.path;
  return path.length > 1 ? path.replace(/\/+$/, '') || '/' : path;
}
