/**
 * Tandem's Redis key layout, declared once for the functions and the worker. Every key
 * starts with one prefix, `TANDEM_REDIS_PREFIX` (default `{tandem}`):
 *
 *   <prefix>:tandem-jobs:*                  BullMQ's keys of the jobs queue (BullMQ `prefix` option)
 *   <prefix>:cache:epoch                    integer, bumped when invalidations may have been missed
 *   <prefix>:cache:version:<user_id>        integer, bumped on every invalidation of that user
 *   <prefix>:cache:projects:<user_id>       the cached listing, stamped with the epoch and version it was filled under
 *   <prefix>:ratelimit:<scope>:<subject>    a sliding window (sorted set of request times)
 *
 * The prefix must carry a hash tag (`{...}`): Redis Cluster then hashes only the tag, so
 * every Tandem key lives in one slot. BullMQ's scripts touch several keys of a queue at
 * once, the cache's scripts read the epoch next to a user's keys, and a rate-limited
 * request counts against a user's and an IP's windows in one script; in one slot none of
 * them spans slots (no CROSSSLOT). The price is that one shard holds all of Tandem's keys
 * (docs/worker.md, "Redis Cluster and managed Redis").
 */
import { z } from 'zod';

/** The default prefix: hash-tagged, so a cluster keeps every key in one slot. */
export const DEFAULT_REDIS_PREFIX = '{tandem}';

/**
 * The hash tag of a key or prefix as Redis Cluster reads it: what lies between the first
 * `{` and the first `}` after it, when that is not empty.
 *
 * @example
 * hashTag('{tandem}:cache:epoch') // 'tandem'
 * hashTag('tandem') // undefined
 */
export function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  if (close <= open + 1) return undefined;
  return key.slice(open + 1, close);
}

/** TANDEM_REDIS_PREFIX: 1-60 characters of `A-Za-z0-9_.:-{}` with a non-empty hash tag. */
export const redisPrefixSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_.:{}-]{1,60}$/, 'must be 1-60 letters, digits or _.:-{}')
  .refine((value) => hashTag(value) !== undefined, 'must contain a hash tag such as {tandem}, so that every key is in one Redis Cluster slot')
  .refine((value) => !value.endsWith(':'), 'must not end with ":" (the layout adds it)');

/** Every key Tandem uses, under one prefix. */
export interface RedisKeyLayout {
  readonly prefix: string;
  /** BullMQ's `prefix` option: its keys are `<prefix>:<queue name>:...`. */
  readonly bullPrefix: string;
  readonly cacheEpoch: string;
  cacheVersion(userId: string): string;
  cacheListing(userId: string): string;
  rateLimit(scope: string, subject: string): string;
}

/**
 * The key layout under `prefix` (validated: see redisPrefixSchema).
 *
 * @example
 * const keys = redisKeys('{tandem}');
 * keys.cacheListing(userId) // '{tandem}:cache:projects:<user_id>'
 */
export function redisKeys(prefix: string = DEFAULT_REDIS_PREFIX): RedisKeyLayout {
  const checked = redisPrefixSchema.parse(prefix);
  return {
    prefix: checked,
    bullPrefix: checked,
    cacheEpoch: `${checked}:cache:epoch`,
    cacheVersion: (userId) => `${checked}:cache:version:${userId}`,
    cacheListing: (userId) => `${checked}:cache:projects:${userId}`,
    rateLimit: (scope, subject) => `${checked}:ratelimit:${scope}:${subject}`,
  };
}

/**
 * Reads TANDEM_REDIS_PREFIX. TANDEM_WORKER_QUEUE_PREFIX, the worker's former BullMQ-only
 * prefix, is refused with a message saying what replaced it: kept as an alias it would let
 * the worker and the functions disagree again, which is what the shared setting ends.
 *
 * @example
 * const keys = redisKeys(redisPrefixFromEnv((name) => process.env[name]));
 */
export function redisPrefixFromEnv(get: (name: string) => string | undefined): string {
  if (get('TANDEM_WORKER_QUEUE_PREFIX')) {
    throw new Error(
      'TANDEM_WORKER_QUEUE_PREFIX was replaced by TANDEM_REDIS_PREFIX (default {tandem}), which the functions read too: set that instead',
    );
  }
  const raw = get('TANDEM_REDIS_PREFIX');
  if (raw === undefined || raw.trim() === '') return DEFAULT_REDIS_PREFIX;
  const parsed = redisPrefixSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`TANDEM_REDIS_PREFIX ${parsed.error.issues[0]!.message}, got "${raw}"`);
  return parsed.data;
}
