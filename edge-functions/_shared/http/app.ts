/**
 * The skeleton both edge functions are built on: an OpenAPIHono app under
 * `basePath('/<name>')` with the contract's cross-cutting behaviour — request ids and JSON
 * access logs, CORS, 404/405 before anything else, percent-encoding checks, bearer-token
 * authentication, Redis rate limits, a 256 KiB JSON body reader, the error shape for every
 * failure, and the public `/health`, `/openapi.json` and `/docs` routes.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { matchedRoutes } from 'hono/route';
import { TrieRouter } from 'hono/router/trie-router';
import { bearerToken, InvalidTokenError, type VerifiedToken } from '../../../core/auth/jwt.ts';
import { apiErrorFromDatabase, isDatabaseUnavailable } from '../db/errors.ts';
import type { Logger } from '../../../core/log.ts';
import { enforceRateLimits, type RateLimit } from '../rate-limit.ts';
import type { FunctionDeps } from '../runtime.ts';
import { clientAddress } from './client-address.ts';
import { registerDocs } from './docs.ts';
import { registerHealth } from './health.ts';
import { ApiError, errorCodeForStatus, type ErrorBody } from './errors.ts';

/** Request bodies larger than this are refused with 413. */
export const MAX_BODY_BYTES = 256 * 1024;

/** Hono's environment for the functions: what middleware leaves for handlers. */
export interface FunctionEnv {
  /** Deno.serve's connection info (absent under other servers). */
  Bindings: { remoteAddr?: { hostname?: string } } | undefined;
  Variables: {
    requestId: string;
    log: Logger;
    /** The caller, on every route that needs a token. */
    user: VerifiedToken;
  };
}

export interface FunctionAppOptions {
  /** GET routes (relative to the base path) that are listings and so are rate limited, e.g. `['/']`. */
  listingRoutes: readonly string[];
}

const PUBLIC_ROUTES = new Set(['/health', '/openapi.json', '/docs']);
const PUBLIC_PREFIXES = ['/docs/'];
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const JSON_MEDIA_TYPE = /^application\/([\w.+-]+\+)?json\s*(;.*)?$/i;
const REQUEST_ID = /^[\w.:=-]{1,128}$/;

function errorResponse(c: Context, error: ApiError): Response {
  return c.json(error.toBody() satisfies ErrorBody, error.status, error.headers);
}

/** The request path below the function's base path, without a trailing slash (`/`, `/health`, ...). */
function relativePath(c: Context, name: string): string {
  const base = `/${name}`;
  const path = c.req.path.startsWith(`${base}/`) ? c.req.path.slice(base.length) : c.req.path === base ? '/' : c.req.path;
  return path.length > 1 ? path.replace(/\/+$/, '') || '/' : path;
}

/** The client's IP, as far as the configured trusted proxies vouch for it (client-address.ts). */
function clientIp(c: Context<FunctionEnv>, trustedHops: number): string {
  return clientAddress({ forwardedFor: c.req.header('x-forwarded-for'), peer: c.env?.remoteAddr?.hostname, trustedHops });
}

/** The route pattern that answered (for logs), e.g. `/projects/:id`. */
function answeredRoute(c: Context): string {
  try {
    // Handlers run in registration order, so the first non-middleware match answered.
    return matchedRoutes(c).find((route) => route.method !== 'ALL')?.path ?? '(none)';
  } catch {
    return '(none)';
  }
}

/**
 * Request id, access log and timing. Runs first, so every response — including errors
 * and 404s — carries `X-Request-Id` and produces one JSON log line.
 */
function requestContext(deps: FunctionDeps): MiddlewareHandler<FunctionEnv> {
  return async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set('requestId', requestId);
    c.set('log', deps.log.child({ request_id: requestId }));
    await next();
    c.res.headers.set('X-Request-Id', requestId);
    const status = c.res.status;
    const fields = {
      request_id: requestId,
      user_id: c.get('user')?.userId ?? null,
      method: c.req.method,
      route: answeredRoute(c),
      status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
    };
    if (status >= 500) deps.log.warn('request', fields);
    else deps.log.info('request', fields);
    deps.warmUp();
  };
}

/**
 * Unknown paths are 404 and known paths with another method 405 (with `Allow`), before
 * authentication: the answer depends only on the route table.
 */
function routeGuard(app: { routes: { method: string; path: string }[] }): MiddlewareHandler<FunctionEnv> {
  interface PathMethods {
    methods: string[];
    /** A path without parameters (`/health`): where one matches, it alone decides. */
    literal: boolean;
  }
  let router: TrieRouter<PathMethods> | undefined;
  const build = () => {
    const methodsByPath = new Map<string, Set<string>>();
    for (const route of app.routes) {
      if (route.method === 'ALL') continue;
      const methods = methodsByPath.get(route.path) ?? new Set<string>();
      methods.add(route.method);
      if (route.method === 'GET') methods.add('HEAD');
      methodsByPath.set(route.path, methods);
    }
    const built = new TrieRouter<PathMethods>();
    for (const [path, methods] of methodsByPath) built.add('ALL', path, { methods: [...methods, 'OPTIONS'], literal: !/[:*]/.test(path) });
    return built;
  };
  return async (c, next) => {
    router ??= build();
    const allowed = new Set<string>();
    const matches = (router.match('ALL', c.req.path)[0] as [PathMethods, unknown][]).map(([entry]) => entry);
    // `/health` is `/health`, not also the `/:id` route: a PATCH there is a 405, not a
    // request for a project called "health".
    const literal = matches.filter((entry) => entry.literal);
    for (const entry of literal.length > 0 ? literal : matches) for (const method of entry.methods) allowed.add(method);
    if (allowed.size === 0) throw new ApiError('not_found', `no route for ${c.req.method} ${c.req.path}`);
    if (!allowed.has(c.req.method)) {
      const allow = [...allowed].join(', ');
      throw new ApiError('method_not_allowed', `${c.req.method} is not allowed here; allowed: ${allow}`, undefined, { Allow: allow });
    }
    await next();
  };
}

/** 400 for a URL whose path or query is not valid percent-encoded UTF-8. */
const rejectBrokenEncoding: MiddlewareHandler<FunctionEnv> = async (c, next) => {
  const url = c.req.url;
  const pathAndQuery = url.slice(url.indexOf('/', url.indexOf('//') + 2));
  try {
    for (const part of pathAndQuery.split(/[/?&=]/)) decodeURIComponent(part.replaceAll('+', ' '));
  } catch {
    throw new ApiError('invalid_request', 'the URL is not valid percent-encoding');
  }
  await next();
};

/**
 * 400 for a query parameter given more than once (`?limit=100&limit=5`): which one was
 * meant is the client's to say, not ours to guess.
 */
const rejectRepeatedQuery: MiddlewareHandler<FunctionEnv> = async (c, next) => {
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

function isPublic(path: string): boolean {
  return PUBLIC_ROUTES.has(path) || PUBLIC_PREFIXES.some((prefix) => path.startsWith(prefix));
}

/** Every non-public route needs a signed-in user's access token. */
function authenticate(deps: FunctionDeps): MiddlewareHandler<FunctionEnv> {
  return async (c, next) => {
    if (c.req.method === 'OPTIONS' || isPublic(relativePath(c, deps.name))) return next();
    const challenge = { 'WWW-Authenticate': 'Bearer realm="tandem"' };
    const token = bearerToken(c.req.header('authorization'));
    if (!token) throw new ApiError('unauthorized', 'an access token is required (Authorization: Bearer <token>)', undefined, challenge);
    const invalidToken = { 'WWW-Authenticate': 'Bearer realm="tandem", error="invalid_token"' };
    let user: VerifiedToken;
    try {
      user = await deps.verify(token);
    } catch (error) {
      if (error instanceof InvalidTokenError) throw new ApiError('unauthorized', error.message, undefined, invalidToken);
      throw error;
    }
    // A token outlives its user: after a deletion it proves nothing (user-exists.ts).
    // With Postgres unreachable the check steps aside, as the rate limit does without
    // Redis: every route that reads or writes data answers 503 itself, and a bad request
    // still gets its 400.
    let exists = true;
    try {
      exists = await deps.userExists(user.userId, { fresh: BODY_METHODS.has(c.req.method) });
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      c.get('log').warn('user_check_skipped', { reason: 'database unavailable' });
    }
    if (!exists) throw new ApiError('unauthorized', 'user no longer exists', undefined, invalidToken);
    c.set('user', user);
    await next();
  };
}

/**
 * Writes and listings count against the caller's and the client IP's sliding windows.
 * Redis being away never blocks a request: the limit is then not enforced.
 */
function rateLimit(deps: FunctionDeps, options: FunctionAppOptions): MiddlewareHandler<FunctionEnv> {
  const listings = new Set(options.listingRoutes);
  const { windowSeconds, userWrites, userReads, ip, trustedProxyHops } = deps.config.rateLimit;
  return async (c, next) => {
    const user = c.get('user');
    if (!user || c.req.method === 'OPTIONS') return next();
    const isWrite = BODY_METHODS.has(c.req.method);
    if (!isWrite && !listings.has(relativePath(c, deps.name))) return next();
    const limits: RateLimit[] = [
      isWrite
        ? { scope: 'user-writes', subject: user.userId, limit: userWrites }
        : { scope: 'user-reads', subject: user.userId, limit: userReads },
      { scope: 'ip', subject: clientIp(c, trustedProxyHops), limit: ip },
    ];
    const verdict = await enforceRateLimits({ redis: deps.redis, keys: deps.config.redisKeys, windowSeconds, repeats: deps.repeats }, limits);
    if (!verdict.allowed) {
      throw new ApiError(
        'rate_limited',
        `too many requests; try again in ${verdict.retryAfterSeconds} s`,
        { limit: verdict.scope, retry_after_seconds: verdict.retryAfterSeconds },
        { 'Retry-After': String(verdict.retryAfterSeconds) },
      );
    }
    await next();
  };
}

/**
 * Reads a request body of at most 256 KiB, which must be UTF-8 JSON when present, and
 * leaves the parsed value where hono's validators (`c.req.json()`) find it.
 */
const readJsonBody: MiddlewareHandler<FunctionEnv> = async (c, next) => {
  if (!BODY_METHODS.has(c.req.method) || !c.req.raw.body) return next();
  const limited = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError('payload_too_large', `the request body is larger than ${MAX_BODY_BYTES / 1024} KiB`);
    },
  });
  return limited(c, async () => {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.byteLength === 0) return next();
    const contentType = c.req.header('content-type') ?? '';
    if (!JSON_MEDIA_TYPE.test(contentType)) {
      throw new ApiError('unsupported_media_type', `the body must be application/json (got ${contentType ? `"${contentType.slice(0, 100)}"` : 'no Content-Type'})`);
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new ApiError('invalid_request', 'the body is not valid UTF-8');
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ApiError('invalid_request', `malformed JSON: ${(error as Error).message}`);
    }
    c.req.bodyCache.json = Promise.resolve(value);
    await next();
  });
};

/**
 * Renders any thrown value as the contract's error. Only genuine bugs become a 500, and
 * those are logged with their stack.
 *
 * @example
 * app.onError(renderError(deps));
 */
export function renderError(deps: FunctionDeps) {
  return (error: Error, c: Context<FunctionEnv>): Response => {
    if (error instanceof ApiError) return errorResponse(c, error);
    if (error instanceof HTTPException) {
      const message = error.status === 400 ? `${error.message || 'invalid request'}` : error.message || 'request refused';
      return errorResponse(c, new ApiError(errorCodeForStatus(error.status), message));
    }
    const mapped = apiErrorFromDatabase(error);
    if (mapped) {
      if (mapped.code === 'unavailable') (c.get('log') ?? deps.log).warn('database_unavailable', { error });
      return errorResponse(c, mapped);
    }
    (c.get('log') ?? deps.log).error('unhandled_error', { error, route: answeredRoute(c) });
    return errorResponse(c, new ApiError('internal', 'internal error'));
  };
}

/**
 * Turns zod validation failures of params, query, headers and bodies into 400s that say
 * what was wrong where.
 */
function validationHook(
  result: { success: true } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string; code?: string }[] } },
  c: Context,
): Response | undefined {
  if (result.success) return undefined;
  const issues = result.error.issues.slice(0, 20).map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
    ...(issue.code ? { code: issue.code } : {}),
  }));
  const first = issues[0];
  const message = first ? `invalid request${first.path ? ` at ${first.path}` : ''}: ${first.message}` : 'invalid request';
  return errorResponse(c, new ApiError('invalid_request', message, { issues }));
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
  app.use('*', requestContext(deps));
  app.use(
    '*',
    cors({
      origin: '*',
      allowMethods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
      allowHeaders: ['authorization', 'x-client-info', 'apikey', 'content-type', 'idempotency-key', 'x-request-id'],
      exposeHeaders: ['X-Request-Id', 'X-Cache', 'Location', 'Retry-After'],
      maxAge: 86400,
    }),
  );
  app.use('*', routeGuard(app));
  app.use('*', rejectBrokenEncoding);
  app.use('*', rejectRepeatedQuery);
  app.use('*', authenticate(deps));
  app.use('*', rateLimit(deps, options));
  app.use('*', readJsonBody);
  app.onError(renderError(deps));
  app.notFound((c) => {
    const response = errorResponse(c, new ApiError('not_found', `no route for ${c.req.method} ${c.req.path}`));
    if (!c.get('requestId')) response.headers.set('X-Request-Id', crypto.randomUUID());
    return response;
  });
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
