/**
 * The run's Redis for the suites, single node or cluster alike (global-setup.ts). A cluster
 * has only database 0, so suites keep apart by key prefix (TANDEM_REDIS_PREFIX); on a
 * single node a suite may still take a database of its own.
 */
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { createRedisClient, parseRedisUrl, type RedisClient } from '../../core/redis/connection.ts';

/**
 * The run's Redis URL; on a single node, with `database` selected.
 *
 * @example
 * const url = runRedisUrl(6); // redis://127.0.0.1:<port>/6, or the cluster's URL
 */
export function runRedisUrl(database?: number, url: string = inject('redisUrl')): string {
  if (parseRedisUrl(url).mode === 'cluster' || database === undefined) return url;
  return `${url.replace(/\/\d*$/, '')}/${database}`;
}

/**
 * A fresh hash-tagged prefix, so that a suite's keys (queue, cache epoch, rate limits)
 * are its own.
 *
 * @example
 * const prefix = uniquePrefix('fn-jobs'); // '{fn-jobs-1a2b3c4d}'
 */
export function uniquePrefix(name: string): string {
  return `{${name}-${randomUUID().slice(0, 8)}}`;
}

/**
 * An ioredis client (Redis or Cluster, as the URL says) for a test to look at or change
 * keys; `disconnect()` it when done.
 *
 * @example
 * const redis = await openTestRedis(runRedisUrl());
 */
export async function openTestRedis(url: string): Promise<RedisClient> {
  return createRedisClient(parseRedisUrl(url));
}
