/**
 * The app's `onError` and `notFound` handlers: every failure leaves in the contract's
 * error shape (errors.ts), and only genuine bugs become a 500.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from '../../../core/log.ts';
import { apiErrorFromDatabase } from '../db/errors.ts';
import { answeredRoute } from './answered-route.ts';
import type { FunctionEnv } from './env.ts';
import { ApiError, errorCodeForStatus, errorResponse } from './errors.ts';

/**
 * Renders any thrown value as the contract's error: an ApiError as itself, Hono's
 * HTTPException by its status, a database error by what it means (../db/errors.ts), and
 * anything else as a 500, logged with its stack.
 *
 * @example
 * app.onError(renderError(deps.log));
 */
export function renderError(log: Logger) {
  return (error: Error, c: Context<FunctionEnv>): Response => {
    if (error instanceof ApiError) return errorResponse(c, error);
    if (error instanceof HTTPException) {
      const message = error.status === 400 ? `${error.message || 'invalid request'}` : error.message || 'request refused';
      return errorResponse(c, new ApiError(errorCodeForStatus(error.status), message));
    }
    const mapped = apiErrorFromDatabase(error);
    if (mapped) {
      if (mapped.code === 'unavailable') (c.get('log') ?? log).warn('database_unavailable', { error });
      return errorResponse(c, mapped);
    }
    (c.get('log') ?? log).error('unhandled_error', { error, route: answeredRoute(c) });
    return errorResponse(c, new ApiError('internal', 'internal error'));
  };
}

/**
 * 404 for a path outside the function's base path, where no middleware ran (inside it,
 * middleware/route-guard.ts answers first); it still carries an `X-Request-Id`.
 *
 * @example
 * app.notFound(notFound);
 */
export function notFound(c: Context<FunctionEnv>): Response {
  const response = errorResponse(c, new ApiError('not_found', `no route for ${c.req.method} ${c.req.path}`));
  if (!c.get('requestId')) response.headers.set('X-Request-Id', crypto.randomUUID());
  return response;
}
