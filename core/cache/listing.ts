/**
 * The project-listing cache in Redis, shared by the `projects` function (reads and
 * fills) and the worker's invalidator (deletes and versions). Keys (core/redis/keys.ts):
 *
 *   <prefix>:cache:epoch               integer, bumped when invalidations may have been missed
 *   <prefix>:cache:version:<user_id>   integer, bumped on every invalidation of that user
 *   <prefix>:cache:projects:<user_id>  `<epoch>:<version>\n<listing JSON>`, 60 s TTL
 *
 * A listing is stamped with the epoch and version it was filled under and served only
 * while both are still current, so bumping the epoch retires every listing at once. A
 * fill reads epoch and version before querying and stores only if both are unchanged
 * (checked atomically in Redis), so a fill that raced an invalidation is never stored.
 *
 * Every script names all its keys in KEYS — a key built inside a script is one Redis
 * Cluster cannot route, and it refuses it ("non local key") — and they all share the
 * prefix's hash tag, so each script stays in one slot.
 */
import type { RedisClient } from '../redis/connection.ts';
import type { RedisKeyLayout } from '../redis/keys.ts';

export const LISTING_TTL_SECONDS = 60;
/** Version keys outlive any listing they guard. */
const VERSION_TTL_SECONDS = 24 * 60 * 60;

/** KEYS: epoch, version, listing. */
const READ_SCRIPT = `
local epoch = redis.call('GET', KEYS[1]) or '0'
local version = redis.call('GET', KEYS[2]) or '0'
local stored = redis.call('GET', KEYS[3])
local stamp = epoch .. ':' .. version .. '\\n'
if stored and string.sub(stored, 1, #stamp) == stamp then
  return {epoch, version, string.sub(stored, #stamp + 1)}
end
return {epoch, version}`;

/** KEYS: epoch, version, listing; ARGV: epoch read, version read, body, ttl. */
const STORE_SCRIPT = `
local epoch = redis.call('GET', KEYS[1]) or '0'
local version = redis.call('GET', KEYS[2]) or '0'
if epoch ~= ARGV[1] or version ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[3], epoch .. ':' .. version .. '\\n' .. ARGV[3], 'EX', ARGV[4])
return 1`;

/** KEYS: version, listing of each user in turn. */
const INVALIDATE_SCRIPT = `
for i = 1, #KEYS, 2 do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ${VERSION_TTL_SECONDS})
  redis.call('DEL', KEYS[i + 1])
end
return #KEYS / 2`;

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
 * const read = await readListing(redis, keys, userId);
 * if (read.body) return read.body; // hit
 */
export async function readListing(redis: RedisClient, keys: RedisKeyLayout, userId: string): Promise<ListingRead> {
  const [epoch, version, body] = (await redis.eval(READ_SCRIPT, 3, keys.cacheEpoch, keys.cacheVersion(userId), keys.cacheListing(userId))) as [
    string,
    string,
    string | undefined,
  ];
  return { epoch, version, body: body ?? null };
}

/**
 * Stores a freshly queried listing unless an invalidation (or epoch bump) happened since
 * `read`. Returns whether it was stored.
 *
 * @example
 * const stored = await storeListing(redis, keys, userId, read, JSON.stringify(listing));
 */
export async function storeListing(redis: RedisClient, keys: RedisKeyLayout, userId: string, read: ListingRead, body: string): Promise<boolean> {
  const stored = await redis.eval(
    STORE_SCRIPT,
    3,
    keys.cacheEpoch,
    keys.cacheVersion(userId),
    keys.cacheListing(userId),
    read.epoch,
    read.version,
    body,
    LISTING_TTL_SECONDS,
  );
  return stored === 1;
}

/**
 * Drops the cached listings of these users and bumps their versions, so in-flight fills
 * for them are not stored either.
 *
 * @example
 * await invalidateListings(redis, keys, [ownerId, memberId]);
 */
export async function invalidateListings(redis: RedisClient, keys: RedisKeyLayout, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  const perUser = userIds.flatMap((userId) => [keys.cacheVersion(userId), keys.cacheListing(userId)]);
  await redis.eval(INVALIDATE_SCRIPT, perUser.length, ...perUser);
}

/**
 * Starts a new cache epoch: every listing cached before is stale from now on. Used when
 * invalidations may have been missed (the invalidator lost its connection).
 *
 * @example
 * const epoch = await bumpCacheEpoch(redis, keys);
 */
export async function bumpCacheEpoch(redis: RedisClient, keys: RedisKeyLayout): Promise<number> {
  return redis.incr(keys.cacheEpoch);
}
