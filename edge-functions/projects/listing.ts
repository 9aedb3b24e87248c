/**
 * The cached project listing (`GET /projects`, docs/functions.md): Redis key
 * `<prefix>:cache:projects:<user_id>` (core/cache/listing.ts), 60 s TTL, one fill per user at a time in this
 * process, and a fill that raced an invalidation is not stored. Redis being away only
 * means every request is a miss served from Postgres.
 */
import type { JwtClaims } from '../../core/db/rls.ts';
import { withRls } from '../../core/db/rls.ts';
import { invalidateListings, readListing, storeListing, type ListingRead } from '../../core/cache/listing.ts';
import { createSingleFlight } from '../_shared/cache/single-flight.ts';
import type { Logger } from '../../core/log.ts';
import { useRedis } from '../_shared/redis.ts';
import type { FunctionDeps } from '../_shared/runtime.ts';
import { projectItem } from './projection.ts';

export interface ListingResult {
  /** The JSON body: `{"data": [...], "next_cursor": null}`. */
  body: string;
  cache: 'hit' | 'miss';
}

export interface ProjectListing {
  /** The caller's projects with their role and member count, from Redis or Postgres. */
  get(user: { userId: string; claims: JwtClaims }, log: Logger): Promise<ListingResult>;
  /** Drops these users' cached listings at once (after this function changed their projects). */
  invalidate(userIds: Iterable<string>, log: Logger): Promise<void>;
}

/**
 * Creates the listing cache of one function process.
 *
 * @example
 * const listing = createProjectListing(deps);
 * const { body, cache } = await listing.get(c.get('user'), c.get('log'));
 */
export function createProjectListing(deps: FunctionDeps): ProjectListing {
  const flight = createSingleFlight<string>();
  // Bumped by this process's own invalidations, so a fill that started before one of our
  // writes is never shared with a request that arrives after it, even when Redis is away.
  const localGeneration = new Map<string, number>();
  let generations = 0;
  const keys = deps.config.redisKeys;

  const query = async (claims: JwtClaims) =>
    withRls(
      await deps.db(),
      claims,
      async (tx) => {
        const rows = await tx<{ item: unknown }[]>`
          select ${projectItem(tx)} as item
          from public.projects p
          join public.project_members m on m.project_id = p.id and m.user_id = (select auth.uid())
          order by p.created_at desc, p.id desc`;
        return JSON.stringify({ data: rows.map((row) => row.item), next_cursor: null });
      },
      { readOnly: true },
    );

  return {
    async get(user, log) {
      if (!deps.config.listingCache) return { body: await query(user.claims), cache: 'miss' };
      let read: ListingRead | undefined;
      try {
        read = await useRedis(deps.redis, (redis) => readListing(redis, keys, user.userId), { use: 'listing_cache' });
      } catch (error) {
        deps.repeats.warn('listing_cache_unavailable', { reason: (error as Error).message });
      }
      if (read?.body) return { body: read.body, cache: 'hit' };
      const key = [user.userId, read?.epoch ?? '-', read?.version ?? '-', localGeneration.get(user.userId) ?? 0].join(':');
      const body = await flight(key, async () => {
        const fresh = await query(user.claims);
        if (read) {
          const seen = read;
          try {
            const stored = await useRedis(deps.redis, (redis) => storeListing(redis, keys, user.userId, seen, fresh), { use: 'listing_cache' });
            if (!stored) log.info('listing_fill_discarded', { user_id: user.userId, reason: 'invalidated while filling' });
          } catch (error) {
            deps.repeats.warn('listing_cache_unavailable', { reason: (error as Error).message });
          }
        }
        return fresh;
      });
      return { body, cache: 'miss' };
    },

    async invalidate(userIds) {
      const unique = [...new Set(userIds)];
      if (unique.length === 0) return;
      if (localGeneration.size > 50_000) localGeneration.clear();
      for (const userId of unique) localGeneration.set(userId, ++generations);
      try {
        await useRedis(deps.redis, (redis) => invalidateListings(redis, keys, unique), { use: 'listing_cache' });
      } catch (error) {
        // The worker's invalidator hears the same change from Postgres (tandem_cache).
        deps.repeats.warn('listing_invalidation_failed', { user_ids: unique, reason: (error as Error).message });
      }
    },
  };
}
