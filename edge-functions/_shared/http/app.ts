/**
 * The skeleton both edge functions are built on: an OpenAPIHono app under
 * `basePath('/<name>')` with the contract's cross-cutting behaviour, one middleware module
 * each (middleware/), in the order they run — warm-up, request id, access log, CORS,
 * 404/405, percent-encoding, repeated query parameters, authentication, rate limits and the
 * JSON body — then the error shape for every failure and the public `/health`,
 * `/openapi.json` and `/docs` routes.
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { useRedis } from '../redis.ts';
import type { FunctionDeps } from '../runtime.ts';
import { registerDocs } from './docs.ts';
import type { FunctionEnv } from './env.ts';
import { notFound, renderError } from './error-handler.ts';
import { ApiError } from './errors.ts';
import { accessLog } from './middleware/access-log.ts';
import { authenticate } from './middleware/authenticate.ts';
import { functionCors } from './middleware/cors.ts';
import { checkJsonBody } from './middleware/json-body.ts';
import { rateLimit } from './middleware/rate-limit.ts';
import { rejectRepeatedQuery } from './middleware/repeated-query.ts';
import { requestId } from './middleware/request-id.ts';
import { routeGuard } from './middleware/route-guard.ts';
import { rejectBrokenEncoding } from './middleware/url-encoding.ts';
import { warmUp } from './middleware/warm-up.ts';
import { ErrorSchema, jsonResponse } from './schemas.ts';
import { validationHook } from './validation-hook.ts';

export interface FunctionAppOptions {
  /** GET routes (relative to the base path) that are listings and so are rate limited, e.g. `['/']`. */
  listingRoutes: readonly string[];
}

/**
 * Creates a function's app with every cross-cutting middleware and the public routes in
 * place; register the function's own routes with `app.openapi(...)`.
 *
 * @example
 * const app = createFunctionApp(deps, { listingRoutes: ['/'] });
 * app.openapi(listProjectsRoute, listProjects);
 * Deno.serve(app.fetch);
 */
export function createFunctionApp(deps: FunctionDeps, options: FunctionAppOptions) {
  const app = new OpenAPIHono<FunctionEnv>({ strict: false, defaultHook: validationHook }).basePath(`/${deps.name}`);
  app.use('*', warmUp(deps.warmUp));
  app.use('*', requestId());
  app.use('*', accessLog(deps.log));
  app.use('*', functionCors());
  app.use('*', routeGuard(app));
  app.use('*', rejectBrokenEncoding());
  app.use('*', rejectRepeatedQuery());
  app.use('*', authenticate(deps));
  app.use('*', rateLimit({ name: deps.name, redis: deps.redis, limits: deps.config.rateLimit, listingRoutes: options.listingRoutes }));
  app.use('*', checkJsonBody());
  app.onError(renderError(deps.log));
  app.notFound(notFound);
  // Public static routes first, so that no `/:id` route of the function can shadow them.
  registerHealth(app, deps);
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: "A signed-in user's Supabase access token",
  });
  registerDocs(app, deps);
  return app;
}

export type FunctionApp = ReturnType<typeof createFunctionApp>;

const HealthSchema = z
  .object({ status: z.literal('ok'), postgres: z.literal('ok'), redis: z.literal('ok') })
  .openapi('Health');

async function check(probe: () => Promise<unknown>, timeoutMs: number): Promise<'ok' | 'down'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([probe(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), timeoutMs)))]);
    return 'ok';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

/** `GET /health`: 200 when Postgres and Redis both answer, else 503 saying which is down. */
function registerHealth(app: OpenAPIHono<FunctionEnv, {}, string>, deps: FunctionDeps): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/health',
      tags: ['health'],
      summary: 'Postgres and Redis are reachable',
      responses: {
        200: jsonResponse(HealthSchema, 'Both are reachable'),
        503: jsonResponse(ErrorSchema, 'Postgres or Redis is unreachable'),
      },
    }),
    async (c) => {
      const [postgres, redis] = await Promise.all([
        check(async () => {
          const sql = await deps.db();
          await sql`select 1`;
        }, 2_000),
        check(() => useRedis(deps.redis, (client) => client.ping(), 1_000), 1_500),
      ]);
      if (postgres === 'ok' && redis === 'ok') return c.json({ status: 'ok' as const, postgres, redis }, 200);
      const down = [postgres === 'down' ? 'Postgres' : '', redis === 'down' ? 'Redis' : ''].filter(Boolean).join(' and ');
      return c.json(new ApiError('unavailable', `${down} unreachable`, { postgres, redis }).toBody(), 503);
    },
  );
}
