/**
 * The worker on the run's 3-node Redis Cluster: a job inserted by SQL is dispatched,
 * run and finished; the cache invalidator versions listings and bumps the epoch there;
 * /health is ok. And a Redis it cannot use — a cluster node reached as a single node
 * (MOVED), or nothing listening — keeps it from taking jobs: /health answers 503 with the
 * reason, the reason is logged once per interval (not once per retry), and it starts by
 * itself once the problem is gone.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { readListing } from '../../core/cache/listing.ts';
import type { RedisClient } from '../../core/redis/connection.ts';
import { redisKeys } from '../../core/redis/keys.ts';
import { findFreePort } from '../../devstack/net/ports.ts';
import { startRedisServer } from '../../devstack/redis/server.ts';
import { startWorker, type RunningWorker } from '../../worker/src/worker.ts';
import { openTestRedis, uniquePrefix } from '../harness/redis.ts';
import { spawnWorkerProcess } from '../harness/worker-process.ts';
import { createProject, insertJob, quietLog, testConfig, usePrivateDatabase, waitFor, waitForStatus } from './helpers.ts';

const clusterUrl = inject('redisClusterUrl');
const db = usePrivateDatabase();
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('on Redis Cluster', () => {
  let worker: RunningWorker;
  let redis: RedisClient;
  afterAll(async () => {
    await worker?.stop();
    redis?.disconnect();
  });

  it('runs jobs, invalidates listings and reports healthy', async () => {
    const config = testConfig(db.url, { redisUrl: clusterUrl });
    const keys = redisKeys(config.redisPrefix);
    redis = await openTestRedis(clusterUrl);
    worker = await startWorker(config, { log: quietLog });
    await waitFor(async () => Number(await redis.get(keys.cacheEpoch)) >= 1, 'the start-up epoch bump');
    const { owner, projectId } = await createProject(db.sql);
    const id = await insertJob(db.sql, projectId, 'diagnostic.sleep', { ms: 5 });
    expect((await waitForStatus(db.sql, id, ['succeeded', 'failed'])).status).toBe('succeeded');
    await waitFor(async () => Number((await readListing(redis, keys, owner.id)).version) >= 1, 'the creation’s invalidation');
    expect(await worker.health()).toMatchObject({ status: 'ok', postgres: true, redis: true });
    expect((await worker.health()).reason).toBeUndefined();
  });
});

describe('a Redis it cannot use', () => {
  async function spawnUnusable(redisUrl: string) {
    const port = await findFreePort();
    const lines: string[] = [];
    const child = spawnWorkerProcess(
      { DATABASE_URL: db.url, REDIS_URL: redisUrl, PORT: String(port), TANDEM_REDIS_PREFIX: uniquePrefix('unusable'), TANDEM_LOG_LEVEL: 'info' },
      { onLine: (line) => lines.push(line) },
    );
    children.push(child);
    const health = async () => {
      const response = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
      return response ? { status: response.status, body: (await response.json()) as { status: string; reason?: string } } : undefined;
    };
    const logged = (message: string) => lines.filter((line) => line.includes(`"msg":"${message}"`));
    return { child, health, logged };
  }

  it('a cluster node given as a single node: 503 with the reason, logged once per interval', async () => {
    const seed = clusterUrl.replace('redis+cluster://', '').split(',')[0]!;
    const worker = await spawnUnusable(`redis://${seed}`);
    const health = await waitFor(async () => {
      const answer = await worker.health();
      return answer?.body.reason?.includes('redis+cluster://') ? answer : undefined;
    }, 'the worker to say why', 30_000);
    expect(health.status).toBe(503);
    expect(health.body.status).toBe('starting');
    // Checks again after 1 and 2 s: three within the 10 s interval, one line.
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    expect(worker.logged('redis_unusable')).toHaveLength(1);
    expect(worker.logged('worker_started')).toHaveLength(0);
    worker.child.kill('SIGKILL');
  });

  it('nothing listening: 503 saying unreachable, then it starts once Redis is there', async () => {
    const redisPort = await findFreePort();
    const worker = await spawnUnusable(`redis://127.0.0.1:${redisPort}`);
    const health = await waitFor(async () => {
      const answer = await worker.health();
      return answer?.body.reason?.includes('unreachable') ? answer : undefined;
    }, 'the worker to say Redis is unreachable', 30_000);
    expect(health.status).toBe(503);
    expect(health.body.reason).toMatch(/Redis unreachable \(redis:\/\/127\.0\.0\.1:\d+\): .*ECONNREFUSED/);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    // ioredis retries every few hundred ms: still one line per interval for each kind.
    expect(worker.logged('redis_error').length).toBeLessThanOrEqual(2);
    expect(worker.logged('redis_unusable')).toHaveLength(1);
    const server = await startRedisServer({ port: redisPort });
    try {
      await waitFor(async () => (await worker.health())?.status === 200, 'the worker to start once Redis is there', 40_000);
      expect(worker.logged('worker_started')).toHaveLength(1);
      expect(worker.logged('redis_unusable_resolved')).toHaveLength(1);
    } finally {
      worker.child.kill('SIGKILL');
      await server.stop();
    }
  });
});
