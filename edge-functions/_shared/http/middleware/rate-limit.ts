/**
 * Writes and listings count against the caller's and the client IP's sliding windows
 * (../../rate-limit.ts; limits in docs/functions.md). Redis being away never blocks a
 * request: the limit is then not enforced, and /health says so (../health.ts).
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { RateLimitConfig } from '../../config.ts';
import type { RedisKeyLayout } from '../../../../core/redis/keys.ts';
import type { RepeatedLog } from '../../../../core/log-repeats.ts';
import { enforceRateLimits, type RateLimit } from '../../rate-limit.ts';
import type { LazyRedis } from '../../redis.ts';
import { clientAddress } from '../client-address.ts';
import type { FunctionEnv } from '../env.ts';
import { ApiError } from '../errors.ts';
import { isWrite, relativePath } from '../request.ts';

export interface RateLimitOptions {
  /** The function's name (its base path). */
  name: string;
  redis: LazyRedis;
  /** Where the counters live (core/redis/keys.ts). */
  keys: RedisKeyLayout;
  /** Logs a skipped check once per interval (core/log-repeats.ts). */
  repeats: RepeatedLog;
  limits: RateLimitConfig;
  /** GET routes (relative to the base path) that are listings and so are limited, e.g. `['/']`. */
  listingRoutes: readonly string[];
}

/** The client's IP, as far as the configured trusted proxies vouch for it (../client-address.ts). */
function clientIp(c: Context<FunctionEnv>, trustedHops: number): string {
  return clientAddress({ forwardedFor: c.req.header('x-forwarded-for'), peer: c.env?.remoteAddr?.hostname, trustedHops });
}

/**
 * The rate-limit middleware; runs after authenticate.ts (a request without a user is not
 * counted). Over a limit: 429 `rate_limited` with `Retry-After`.
 *
 * @example
 * app.use('*', rateLimit({ name: 'projects', redis: deps.redis, limits: deps.config.rateLimit, listingRoutes: ['/'] }));
 */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler<FunctionEnv> {
  const listings = new Set(options.listingRoutes);
  const { windowSeconds, userWrites, userReads, ip, trustedProxyHops } = options.limits;
  return async (c, next) => {
    const user = c.get('user');
    if (!user || c.req.method === 'OPTIONS') return next();
    const write = isWrite(c.req.method);
    if (!write && !listings.has(relativePath(c, options.name))) return next();
    const limits: RateLimit[] = [
      write ? { scope: 'user-writes', subject: user.userId, limit: userWrites } : { scope: 'user-reads', subject: user.userId, limit: userReads },
      { scope: 'ip', subject: clientIp(c, trustedProxyHops), limit: ip },
    ];
    const verdict = await enforceRateLimits({ redis: options.redis, keys: options.keys, windowSeconds, repeats: options.repeats }, limits);
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
