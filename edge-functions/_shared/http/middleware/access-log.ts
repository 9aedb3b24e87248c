/**
 * One JSON log line per request (docs/functions.md: logs are JSON lines), with its id,
 * user, method, answering route, status and duration; 5xx answers are warnings.
 */
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../../../../core/log.ts';
import { answeredRoute } from '../answered-route.ts';
import type { FunctionEnv } from '../env.ts';

/**
 * The access-log middleware. It also leaves the request's own logger (`request_id` on
 * every line) in `c.get('log')`. Runs after request-id.ts and before everything else, so
 * that errors and 404s are logged too.
 *
 * @example
 * app.use('*', requestId(), accessLog(log));
 * app.get('/', (c) => { c.get('log').info('hello'); return c.text('ok'); });
 */
export function accessLog(log: Logger): MiddlewareHandler<FunctionEnv> {
  return async (c, next) => {
    const started = performance.now();
    const requestId = c.get('requestId');
    c.set('log', log.child({ request_id: requestId }));
    await next();
    const status = c.res.status;
    const fields = {
      request_id: requestId,
      user_id: c.get('user')?.userId ?? null,
      method: c.req.method,
      route: answeredRoute(c),
      status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
    };
    if (status >= 500) log.warn('request', fields);
    else log.info('request', fields);
  };
}
