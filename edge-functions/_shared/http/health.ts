/**
 * `GET /<name>/health`: what this function process can do right now.
 *
 *   200 {"status": "ok", "postgres": "ok", "redis": "ok"}
 *   200 {"status": "degraded", "postgres": "ok", "redis": "down" | "failing", "reason": "...",
 *        "rate_limits": "enforced" | "not_enforced", "listing_cache": "on" | "bypassed" | "off",
 *        "job_submissions": "enqueued" | "deferred"}
 *   503 {"error": {"code": "unavailable", "message": "Postgres unreachable", "details": {"postgres": "down", "redis": ...}}}
 *
 * Without Redis the functions still serve (listings from Postgres, submissions accepted
 * and left to the worker's dispatcher and sweeper, rate limits not enforced), so Redis
 * alone never makes them unhealthy — it makes them degraded, and says how. "failing" is a
 * Redis that answers but refused one of our calls in the last minute (a CROSSSLOT, a
 * MOVED, an OOM): reachable is not the same as usable. Without Postgres nothing works: 503.
 *
 * The reasons never name the Redis address or user: /health is public (the logs name them).
 *
 * Cheap on purpose (benchmarks use it as a baseline): one `select 1`, one keyed Redis
 * command (it goes to the node that owns Tandem's slot, where a PING would go to any
 * node), and what earlier requests recorded.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { useRedis, type RedisUse } from '../redis.ts';
import type { FunctionDeps } from '../runtime.ts';
import type { FunctionEnv } from './env.ts';
import { ApiError } from './errors.ts';
import { ErrorSchema, jsonResponse } from './schemas.ts';

/** A refusal older than this no longer counts (the call that would clear it may simply not have come again). */
export const REFUSAL_MEMORY_MS = 60_000;

const HealthSchema = z
  .object({
    status: z.enum(['ok', 'degraded']),
    postgres: z.literal('ok'),
    redis: z.enum(['ok', 'down', 'failing']),
    reason: z.string().optional().openapi({ description: 'Why the function is degraded' }),
    rate_limits: z.enum(['enforced', 'not_enforced']).optional(),
    listing_cache: z.enum(['on', 'bypassed', 'off']).optional(),
    job_submissions: z.enum(['enqueued', 'deferred']).optional(),
  })
  .openapi('Health');

type Health = z.infer<typeof HealthSchema>;

type Probe = { ok: true } | { ok: false; reason: string; refused: boolean };

async function within<T>(probe: () => Promise<T>, timeoutMs: number): Promise<Probe> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([probe(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no answer in time')), timeoutMs)))]);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error), refused: (error as Error | null)?.name === 'ReplyError' };
  } finally {
    clearTimeout(timer);
  }
}

/** What Redis being down or refusing means for each use, given the probe and the recorded refusals. */
function redisHealth(deps: FunctionDeps, probe: Probe): Omit<Health, 'postgres'> {
  if (!probe.ok && probe.refused) {
    // Reachable, but it refuses even one keyed command: nothing of Tandem's works there.
    return {
      status: 'degraded',
      redis: 'failing',
      reason: `Redis refuses Tandem's keys: ${probe.reason}`,
      rate_limits: 'not_enforced',
      listing_cache: deps.config.listingCache ? 'bypassed' : 'off',
      job_submissions: 'deferred',
    };
  }
  if (!probe.ok) {
    const cause = deps.redis.connectionError() ?? probe.reason;
    return {
      status: 'degraded',
      redis: 'down',
      reason: `Redis unreachable: ${cause}; listings come from Postgres, submitted jobs wait for the worker's sweeper, rate limits are not enforced`,
      rate_limits: 'not_enforced',
      listing_cache: deps.config.listingCache ? 'bypassed' : 'off',
      job_submissions: 'deferred',
    };
  }
  const now = Date.now();
  const refused = [...deps.redis.failures()].filter(([, failure]) => failure.refused && now - failure.at < REFUSAL_MEMORY_MS);
  if (refused.length === 0) return { status: 'ok', redis: 'ok' };
  const failed = (use: RedisUse) => refused.some(([name]) => name === use);
  return {
    status: 'degraded',
    redis: 'failing',
    reason: `Redis refused ${refused.map(([use, failure]) => `${use}: ${failure.reason}`).join('; ')}`,
    rate_limits: failed('rate_limits') ? 'not_enforced' : 'enforced',
    listing_cache: !deps.config.listingCache ? 'off' : failed('listing_cache') ? 'bypassed' : 'on',
    job_submissions: failed('job_queue') ? 'deferred' : 'enqueued',
  };
}

/**
 * Registers `GET /health` (public).
 *
 * @example
 * registerHealth(app, deps);
 */
export function registerHealth(app: OpenAPIHono<FunctionEnv, {}, string>, deps: FunctionDeps): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/health',
      tags: ['health'],
      summary: 'What the function can do: ok, degraded (Redis down or refusing: it still serves), or 503 (Postgres down)',
      responses: {
        200: jsonResponse(HealthSchema, 'Serving: "ok", or "degraded" with the reason and what it means'),
        503: jsonResponse(ErrorSchema, 'Postgres is unreachable'),
      },
    }),
    async (c) => {
      const [postgres, redis] = await Promise.all([
        within(async () => {
          const sql = await deps.db();
          await sql`select 1`;
        }, 2_000),
        within(() => useRedis(deps.redis, (client) => client.exists(deps.config.redisKeys.cacheEpoch), { timeoutMs: 1_000 }), 1_500),
      ]);
      const fromRedis = redisHealth(deps, redis);
      if (!postgres.ok) {
        return c.json(
          new ApiError('unavailable', `Postgres unreachable${redis.ok ? '' : ' and Redis unreachable'}`, {
            postgres: 'down',
            redis: fromRedis.redis,
          }).toBody(),
          503,
        );
      }
      const { status, ...rest } = fromRedis;
      return c.json({ status, postgres: 'ok' as const, ...rest } satisfies Health, 200);
    },
  );
}
