/**
 * The functions' Redis client. Redis is a cache and a transport, never the truth, so the
 * client fails fast instead of queueing commands while Redis is away: callers treat a
 * failure as "no cache" (or "not enqueued yet", or "rate limits not enforced") and carry
 * on from Postgres. What failed, and why, is kept for `/health` (http/health.ts).
 *
 * ioredis is loaded on first use, not at boot, to keep the functions' cold start small.
 */
import { createRedisClient, type RedisClient, type RedisSettings } from '../../core/redis/connection.ts';

/** Redis could not be used within the time budget. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/** What the functions use Redis for; each use remembers how its last call went. */
export type RedisUse = 'rate_limits' | 'listing_cache' | 'job_queue';

/** The last failure of a use, when its last call failed. */
export interface RedisUseFailure {
  reason: string;
  /** The server answered with an error (CROSSSLOT, MOVED, NOSCRIPT, OOM...), rather than not at all. */
  refused: boolean;
  at: number;
}

/** A Redis client created on first use. */
export interface LazyRedis {
  readonly settings: RedisSettings;
  /** The client, connecting it (and loading ioredis) the first time. */
  client(): Promise<RedisClient>;
  /** Whether the client was ever created (a function that never used Redis reports nothing). */
  created(): boolean;
  /** Records how a call for `use` went (useRedis does it for you). */
  record(use: RedisUse, outcome: 'ok' | unknown): void;
  /** The uses whose last call failed. */
  failures(): ReadonlyMap<RedisUse, RedisUseFailure>;
  /** The client's last connection error since it was last ready (why Redis is away). */
  connectionError(): string | undefined;
  /** Closes the client if it was ever created. */
  quit(): Promise<void>;
}

/**
 * A lazily created fail-fast client (a single node or a cluster, as REDIS_URL says): no
 * offline queue, one retry, 1 s command timeout, and reconnection in the background.
 *
 * @example
 * const redis = createRedis(parseRedisUrl('redis://127.0.0.1:6379/0'));
 * await useRedis(redis, (client) => client.ping(), { use: 'listing_cache' });
 */
export function createRedis(
  settings: RedisSettings,
  options: { onError?: (error: Error) => void; onReady?: () => void } = {},
): LazyRedis {
  let created: Promise<RedisClient> | undefined;
  const failures = new Map<RedisUse, RedisUseFailure>();
  let connectionError: string | undefined;
  return {
    settings,
    client() {
      created ??= createRedisClient(settings, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        connectTimeout: 2_000,
        commandTimeout: 1_000,
        retryStrategy: (times) => Math.min(100 * times, 2_000),
      }).then((redis) => {
        redis.on('error', (error: Error) => {
          connectionError = error.message;
          options.onError?.(error);
        });
        redis.on('ready', () => {
          connectionError = undefined;
          options.onReady?.();
        });
        return redis;
      });
      return created;
    },
    created: () => created !== undefined,
    record(use, outcome) {
      if (outcome === 'ok') {
        failures.delete(use);
        return;
      }
      const error = outcome as Error | undefined;
      failures.set(use, { reason: error?.message ?? String(outcome), refused: error?.name === 'ReplyError', at: Date.now() });
    },
    failures: () => failures,
    connectionError: () => connectionError,
    async quit() {
      if (created) (await created).disconnect();
    },
  };
}

/**
 * Resolves once the client is ready; while it is still connecting it waits at most
 * `waitMs`, and a client that is reconnecting or closed fails at once.
 *
 * @example
 * await redisReady(redis, 250); // throws RedisUnavailableError when Redis is down
 */
export async function redisReady(redis: RedisClient, waitMs = 250): Promise<void> {
  if (redis.status === 'ready') return;
  if (redis.status !== 'connecting' && redis.status !== 'connect' && redis.status !== 'wait') {
    throw new RedisUnavailableError(`redis is ${redis.status}`);
  }
  if (redis.status === 'wait') redis.connect().catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new RedisUnavailableError('redis is not ready'));
    }, waitMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}

/**
 * Runs `fn` with the client when Redis is usable, giving up after `timeoutMs`; with
 * `use`, the outcome is recorded for /health.
 *
 * @example
 * const body = await useRedis(redis, (client) => client.get('key'), { use: 'listing_cache' });
 */
export async function useRedis<T>(
  lazy: LazyRedis,
  fn: (redis: RedisClient) => Promise<T>,
  options: { timeoutMs?: number; use?: RedisUse } = {},
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const redis = await lazy.client();
    await redisReady(redis);
    const result = await Promise.race([
      fn(redis),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new RedisUnavailableError('redis did not answer in time')), options.timeoutMs ?? 1_500);
      }),
    ]);
    if (options.use) lazy.record(options.use, 'ok');
    return result;
  } catch (error) {
    if (options.use) lazy.record(options.use, error);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
