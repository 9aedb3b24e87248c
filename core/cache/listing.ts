/**
 * The project-listing cache in Redis, shared by the `projects` function (reads and
 * fills) and the worker's invalidator (deletes and versions).
 *
 * Keys:
 *   tandem:cache:epoch                  integer, bumped when invalidations may have been missed
 *   tandem:cache:version:<user_id>      integer, bumped on every invalidation of that user
 *   tandem:<epoch>:projects:<user_id>   the cached listing body, 60 s TTL
 *
 * A fill reads epoch and version before querying and stores only if both are unchanged
 * (checked atomically in Redis), so a fill that raced an invalidation is never stored.
 */
import type { Redis } from 'ioredis';

export const LISTING_TTL_SECONDS = 60;
/** Version keys outlive any listing they guard. */
const VERSION_TTL_SECONDS = 24 * 60 * 60;
export const EPOCH_KEY = 'tandem:cache:epoch';

/** The listing key of a user in an epoch. */
export function listingKey(epoch: string, userId: string): string {
  return `tandem:${epoch}:projects:${userId}`;
}

const READ_SCRIPT = `
local epoch = redis.call('GET', KEYS[1]) or '0'
local version = redis.call('GET', 'tandem:cache:version:' .. ARGV[1]) or '0'
local body = redis.call('GET', 'tandem:' .. epoch .. ':projects:' .. ARGV[1])
return {epoch, version, body}`;

const STORE_SCRIPT = `
local epoch = redis.call('GET', KEYS[1]) or '0'
local version = redis.call('GET', 'tandem:cache:version:' .. ARGV[1]) or '0'
if epoch ~= ARGV[2] or version ~= ARGV[3] then return 0 end
redis.call('SET', 'tandem:' .. epoch .. ':projects:' .. ARGV[1], ARGV[4], 'EX', ARGV[5])
return 1`;

const INVALIDATE_SCRIPT = `
local epoch = redis.call('GET', KEYS[1]) or '0'
for _, user_id in ipairs(ARGV) do
  local version_key = 'tandem:cache:version:' .. user_id
  redis.call('INCR', version_key)
  redis.call('EXPIRE', version_key, ${VERSION_TTL_SECONDS})
  redis.call('DEL', 'tandem:' .. epoch .. ':projects:' .. user_id)
end
return #ARGV`;

/** What a read saw: the cached body (if any) and the epoch and version a fill must match. */
export interface ListingRead {
  body: string | null;
  epoch: string;
  version: string;
}

/**
 * Reads a user's cached listing together with the current epoch and version (one round trip).
 *
 * @example
 * const read = await readListing(redis, userId);
 * if (read.body) return read.body; // hit
 */
export async function readListing(redis: Redis, userId: string): Promise<ListingRead> {
  const [epoch, version, body] = (await redis.eval(READ_SCRIPT, 1, EPOCH_KEY, userId)) as [string, string, string | null];
  return { epoch, version, body: body ?? null };
}

/**
 * Stores a freshly queried listing unless an invalidation (or epoch bump) happened since
 * `read`. Returns whether it was stored.
 *
 * @example
 * const stored = await storeListing(redis, userId, read, JSON.stringify(listing));
 */
export async function storeListing(redis: Redis, userId: string, read: ListingRead, body: string): Promise<boolean> {
  const stored = await redis.eval(STORE_SCRIPT, 1, EPOCH_KEY, userId, read.epoch, read.version, body, LISTING_TTL_SECONDS);
  return stored === 1;
}

/**
 * Drops the cached listings of these users and bumps their versions, so in-flight fills
 * for them are not stored either.
 *
 * @example
 * await invalidateListings(redis, [ownerId, memberId]);
 */
export async function invalidateListings(redis: Redis, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  await redis.eval(INVALIDATE_SCRIPT, 1, EPOCH_KEY, ...userIds);
}

/**
 * Starts a new cache epoch: every listing cached before is unreachable from now on. Used
 * when invalidations may have been missed (the invalidator lost its connection).
 *
 * @example
 * const epoch = await bumpCacheEpoch(redis);
 */
export async function bumpCacheEpoch(redis: Redis): Promise<number> {
  return redis.incr(EPOCH_KEY);
}
