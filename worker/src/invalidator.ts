/**
 * The listing-cache invalidator: `LISTEN tandem_cache` on a dedicated session connection;
 * each notification names the users whose project listing changed, whose cached listings
 * are deleted and versions bumped (invalidateListings). Whenever notifications may have
 * been missed — every (re)established LISTEN, or an invalidation that Redis refused — the
 * cache epoch is bumped (retrying until Redis answers), so nothing cached before the gap
 * is served again.
 */
import type { RedisClient } from '../../core/redis/connection.ts';
import type { RedisKeyLayout } from '../../core/redis/keys.ts';
import { bumpCacheEpoch, invalidateListings } from '../../core/cache/listing.ts';
import type { Logger } from '../../core/log.ts';
import type { WorkerMetrics } from './metrics.ts';
import { isUuid } from '../../core/uuid.ts';

/**
 * The user ids of a `tandem_cache` payload (`{"user_ids": [...]}`); invalid ids are dropped.
 *
 * @example
 * parseCacheNotification('{"user_ids":["…uuid…"]}') // ['…uuid…']
 */
export function parseCacheNotification(payload: string): string[] | null {
  try {
    const value = JSON.parse(payload) as { user_ids?: unknown };
    if (value.user_ids === null) return [];
    if (!Array.isArray(value.user_ids)) return null;
    return value.user_ids.filter(isUuid);
  } catch {
    return null;
  }
}

/**
 * Creates the invalidator over a Redis client; wire `handle` and `onListen` to a
 * supervised LISTEN session.
 *
 * @example
 * const invalidator = createInvalidator({ redis, keys, metrics, log });
 * await listenSupervised({ channel: 'tandem_cache', onNotify: invalidator.handle, onListen: invalidator.onListen, ... });
 */
export function createInvalidator(deps: { redis: RedisClient; keys: RedisKeyLayout; metrics: WorkerMetrics; log: Logger; retryMs?: number }) {
  const { redis, keys, metrics, log } = deps;
  let bumping: Promise<void> | undefined;
  let bumpWanted = false;
  let stopped = false;
  const pending = new Set<Promise<unknown>>();

  async function bumpUntilDone(): Promise<void> {
    // While Redis stays away the retries back off: from retryMs, doubling, up to 30 s.
    for (let delayMs = deps.retryMs ?? 1000; bumpWanted && !stopped; delayMs = Math.min(delayMs * 2, 30_000)) {
      bumpWanted = false;
      try {
        const epoch = await bumpCacheEpoch(redis, keys);
        metrics.invalidations.inc({ kind: 'epoch' });
        log.info('cache_epoch_bumped', { epoch });
      } catch (error) {
        bumpWanted = true;
        log.warn('cache_epoch_bump_failed', { error });
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  function requestEpochBump(): Promise<void> {
    bumpWanted = true;
    bumping ??= bumpUntilDone().finally(() => {
      bumping = undefined;
    });
    return bumping;
  }

  return {
    /** Handles one raw `tandem_cache` payload (never throws). */
    handle(payload: string): void {
      const userIds = parseCacheNotification(payload);
      if (userIds === null) {
        log.warn('cache_notification_ignored', { payload: payload.slice(0, 200) });
        return;
      }
      if (userIds.length === 0) return;
      const work = invalidateListings(redis, keys, userIds).then(
        () => {
          metrics.invalidations.inc({ kind: 'users' }, userIds.length);
        },
        (error: unknown) => {
          log.warn('cache_invalidation_failed', { users: userIds.length, error });
          return requestEpochBump();
        },
      );
      pending.add(work);
      void work.finally(() => pending.delete(work));
    },
    /** After every (re)established LISTEN: what happened before is unknown, so start a new epoch. */
    onListen(): void {
      void requestEpochBump();
    },
    /** Resolves when no invalidation or bump is in flight. */
    async idle(): Promise<void> {
      await Promise.allSettled([...pending]);
      await bumping;
    },
    stop(): void {
      stopped = true;
    },
  };
}
