/**
 * The skeleton both edge functions are built on: an OpenAPIHono app under
 * `basePath('/<name>')` with the contract's cross-cutting behaviour, one middleware module
 * each (middleware/), in the order they run — warm-up, request id, access log, CORS,
 * 404/405, percent-encoding, repeated query parameters, authentication, rate limits and the
 * JSON body — then the error shape for every failure and the public `/health`,
 * `/openapi.json` and `/docs` routes.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { FunctionDeps } from '../runtime.ts';
import { registerDocs } from './docs.ts';
import { registerHealth } from './health.ts';
import type { FunctionEnv } from './env.ts';
import { notFound, renderError } from './error-handler.ts';
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
  app.use('*', rateLimit({ name: deps.name, redis: deps.redis, keys: deps.config.redisKeys, repeats: deps.repeats, limits: deps.config.rateLimit, listingRoutes: options.listingRoutes }));
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
