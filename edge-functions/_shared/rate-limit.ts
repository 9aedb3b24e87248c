/**
 * Sliding-window rate limiting in Redis. Each limit is a sorted set of request times
 * (`<prefix>:ratelimit:<scope>:<subject>`, core/redis/keys.ts); a request is admitted only
 * when every limit it is subject to has room, and then it is counted in all of them,
 * atomically. The keys of one request (its user's window and its IP's) share the prefix's
 * hash tag, so the script never spans Redis Cluster slots.
 *
 * Limits fail open: while Redis is unusable a request is admitted unchecked (Redis is not
 * the truth, and refusing every request because the limiter is away would turn a cache
 * outage into a full one). That is logged once per interval, and `/health` reports
 * `"rate_limits": "not_enforced"` (http/health.ts).
 */
import type { RedisClient } from '../../core/redis/connection.ts';
import type { RedisKeyLayout } from '../../core/redis/keys.ts';
import type { RepeatedLog } from '../../core/log-repeats.ts';
import { useRedis, type LazyRedis } from './redis.ts';

/** One limit a request counts against. */
export interface RateLimit {
  /** What is limited, e.g. `user-writes`. */
  scope: string;
  /** Whom it limits: a user id or an IP address. */
  subject: string;
  /** Requests allowed per window; 0 means unlimited. */
  limit: number;
}

export type RateLimitVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number; scope: string };

const SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local wait, blocked = 0, 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local until_free = tonumber(oldest[2]) + window - now
    if until_free > wait then wait, blocked = until_free, i end
  end
end
if blocked > 0 then return {blocked, wait} end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, window)
end
return {0, 0}`;

/**
 * Counts one request against `limits` within a sliding window of `windowSeconds`, or
 * refuses it (counting nothing) with the seconds until the fullest limit has room.
 *
 * @example
 * const verdict = await consumeRateLimits(redis, keys, 60, [
 *   { scope: 'user-writes', subject: userId, limit: 300 },
 *   { scope: 'ip', subject: '203.0.113.7', limit: 3000 },
 * ]);
 * if (!verdict.allowed) return tooManyRequests(verdict.retryAfterSeconds);
 */
export async function consumeRateLimits(
  redis: RedisClient,
  keys: RedisKeyLayout,
  windowSeconds: number,
  limits: readonly RateLimit[],
): Promise<RateLimitVerdict> {
  const active = limits.filter((limit) => limit.limit > 0);
  if (active.length === 0) return { allowed: true };
  const member = `${Date.now()}:${Math.random().toString(36).slice(2)}`;
  const [blocked, waitMs] = (await redis.eval(
    SCRIPT,
    active.length,
    ...active.map((limit) => keys.rateLimit(limit.scope, limit.subject)),
    windowSeconds * 1000,
    member,
    ...active.map((limit) => limit.limit),
  )) as [number, number];
  if (blocked === 0) return { allowed: true };
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)), scope: active[blocked - 1]!.scope };
}

/**
 * Counts a request against its limits, or admits it unchecked when Redis cannot be used
 * (fail open; the outcome is recorded for /health and logged once per interval).
 *
 * @example
 * const verdict = await enforceRateLimits({ redis: deps.redis, keys, windowSeconds: 60, repeats }, limits);
 */
export async function enforceRateLimits(
  deps: { redis: LazyRedis; keys: RedisKeyLayout; windowSeconds: number; repeats: RepeatedLog },
  limits: readonly RateLimit[],
): Promise<RateLimitVerdict> {
  try {
    const verdict = await useRedis(deps.redis, (redis) => consumeRateLimits(redis, deps.keys, deps.windowSeconds, limits), { use: 'rate_limits' });
    deps.repeats.resolved('rate_limit_skipped');
    return verdict;
  } catch (error) {
    deps.repeats.warn('rate_limit_skipped', { reason: (error as Error).message ?? String(error) });
    return { allowed: true };
  }
}
