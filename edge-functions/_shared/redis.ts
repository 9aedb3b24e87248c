/**
 * The functions' Redis client. Redis is a cache and a transport, never the truth, so the
 * client fails fast instead of queueing commands while Redis is away: callers treat a
 * failure as "no cache" (or "not enqueued yet") and carry on from Postgres.
 *
 * ioredis is loaded on first use, not at boot, to keep the functions' cold start small.
 */
import type { Redis } from 'ioredis';

/** Redis could not be used within the time budget. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/** A Redis client created on first use. */
export interface LazyRedis {
  /** The client, connecting it (and loading ioredis) the first time. */
  client(): Promise<Redis>;
  /** Closes the client if it was ever created. */
  quit(): Promise<void>;
}

/**
 * A lazily created fail-fast ioredis client: no offline queue, one retry, 1 s command
 * timeout, and reconnection in the background.
 *
 * @example
 * const redis = createRedis('redis://127.0.0.1:6379/0');
 * await useRedis(redis, (client) => client.ping());
 */
export function createRedis(
  url: string,
  options: { onError?: (error: Error) => void; onReady?: () => void } = {},
): LazyRedis {
  let created: Promise<Redis> | undefined;
  return {
    client() {
      created ??= import('ioredis').then(({ Redis }) => {
        const redis = new Redis(url, {
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2_000,
          commandTimeout: 1_000,
          retryStrategy: (times) => Math.min(100 * times, 2_000),
        });
        redis.on('error', (error: Error) => options.onError?.(error));
        redis.on('ready', () => options.onReady?.());
        return redis;
      });
      return created;
    },
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
export async function redisReady(redis: Redis, waitMs = 250): Promise<void> {
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
 * Runs `fn` with the client when Redis is usable, giving up after `timeoutMs`.
 *
 * @example
 * const body = await useRedis(redis, (client) => client.get('key'));
 */
export async function useRedis<T>(lazy: LazyRedis, fn: (redis: Redis) => Promise<T>, timeoutMs = 1_500): Promise<T> {
  const redis = await lazy.client();
  await redisReady(redis);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      fn(redis),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new RedisUnavailableError('redis did not answer in time')), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
