/**
 * CORS for browsers calling the functions with supabase-js: any origin (a token, not a
 * cookie, is the credential), the headers supabase-js and the contract send, and the
 * contract's response headers exposed.
 */
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

/**
 * Hono's CORS middleware with the functions' settings.
 *
 * @example
 * app.use('*', functionCors());
 */
export function functionCors(): MiddlewareHandler {
  return cors({
    origin: '*',
    allowMethods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
    allowHeaders: ['authorization', 'x-client-info', 'apikey', 'content-type', 'idempotency-key', 'x-request-id'],
    exposeHeaders: ['X-Request-Id', 'X-Cache', 'Location', 'Retry-After'],
    maxAge: 86400,
  });
}
