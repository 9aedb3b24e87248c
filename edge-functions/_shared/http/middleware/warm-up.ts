/**
 * Starts the function's warm-up (FunctionDeps.warmUp in ../../runtime.ts: load postgres.js,
 * connect to Redis) once a response is ready, so that it never weighs on the first one.
 */
import type { MiddlewareHandler } from 'hono';

/**
 * The warm-up middleware: calls `start` after each response (`start` itself runs once).
 *
 * @example
 * app.use('*', warmUp(deps.warmUp));
 */
export function warmUp(start: () => void): MiddlewareHandler {
  return async (_c, next) => {
    await next();
    start();
  };
}
