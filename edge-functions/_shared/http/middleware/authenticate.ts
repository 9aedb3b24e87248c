/**
 * Every route but the public ones (`/health`, `/openapi.json`, `/docs`) needs a signed-in
 * user's access token (docs/functions.md), whose user still exists.
 */
import type { MiddlewareHandler } from 'hono';
import { bearerToken, InvalidTokenError, type VerifiedToken } from '../../../../core/auth/jwt.ts';
import { isDatabaseUnavailable } from '../../db/errors.ts';
import type { FunctionDeps } from '../../runtime.ts';
import type { FunctionEnv } from '../env.ts';
import { ApiError } from '../errors.ts';
import { isWrite, relativePath } from '../request.ts';

const PUBLIC_ROUTES = new Set(['/health', '/openapi.json', '/docs']);
const PUBLIC_PREFIXES = ['/docs/'];

/**
 * Whether a path below the base path is public (needs no token).
 *
 * @example
 * isPublic('/docs/assets/swagger-ui-dist/swagger-ui.css') // true
 */
export function isPublic(path: string): boolean {
  return PUBLIC_ROUTES.has(path) || PUBLIC_PREFIXES.some((prefix) => path.startsWith(prefix));
}

/**
 * The authentication middleware: 401 with a `WWW-Authenticate` challenge for a missing
 * or invalid token, or a token whose user is gone; otherwise the caller is `c.get('user')`.
 * CORS preflights (OPTIONS) pass.
 *
 * @example
 * app.use('*', authenticate(deps));
 * app.get('/me', (c) => c.json({ id: c.get('user').userId }));
 */
export function authenticate(deps: Pick<FunctionDeps, 'name' | 'verify' | 'userExists'>): MiddlewareHandler<FunctionEnv> {
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
    // A token outlives its user: after a deletion it proves nothing (../../auth/user-exists.ts).
    // With Postgres unreachable the check steps aside, as the rate limit does without
    // Redis: every route that reads or writes data answers 503 itself, and a bad request
    // still gets its 400.
    let exists = true;
    try {
      exists = await deps.userExists(user.userId, { fresh: isWrite(c.req.method) });
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      c.get('log').warn('user_check_skipped', { reason: 'database unavailable' });
    }
    if (!exists) throw new ApiError('unauthorized', 'user no longer exists', undefined, invalidToken);
    c.set('user', user);
    await next();
  };
}
