/**
 * Recovery: Redis stopped during submission (its data lost) → the sweeper enqueues every
 * queued row again, none lost; the worker's Postgres connections killed mid-job → jobs
 * finish and new rows are dispatched again; the cache invalidator deletes changed users'
 * listings and, after losing its connection, bumps the epoch so no stale list is served.
 */
import type { RedisClient } from '../../core/redis/connection.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readListing, storeListing } from '../../core/cache/listing.ts';
import { redisKeys } from '../../core/redis/keys.ts';
import { finalStatuses, type JobStatus } from '../../core/jobs/row.ts';
import { startRedisServer, type RedisServer } from '../../devstack/redis/server.ts';
import { startWorker, type RunningWorker } from '../../worker/src/worker.ts';
import { createUser, type Sql } from '../harness/db.ts';
import { createProject, insertJob, quietLog, readJob, testConfig, usePrivateDatabase, waitFor } from './helpers.ts';
import { openTestRedis, runRedisUrl } from '../harness/redis.ts';

const db = usePrivateDatabase();
let sql: Sql;
beforeAll(() => ({ sql } = db));

async function allFinal(ids: string[]) {
  const rows = await sql<{ status: JobStatus }[]>`select status from public.jobs where id = any(${ids}::uuid[])`;
  return rows.length === ids.length && rows.every((row) => finalStatuses.includes(row.status)) ? rows : undefined;
}

describe('Redis lost during submission', () => {
  let redis: RedisServer;
  let worker: RunningWorker;
  afterAll(async () => {
    await worker?.stop();
    await redis?.stop();
  });

  it('loses none of the jobs: the sweeper enqueues the rows Redis never saw or forgot', async () => {
    redis = await startRedisServer(); // no persistence: a restart forgets everything
    worker = await startWorker(testConfig(db.url, { redisUrl: redis.url, concurrency: 2, sweepIntervalMs: 300 }), { log: quietLog });
    const { projectId } = await createProject(sql);
    const before: string[] = [];
    for (let i = 0; i < 4; i++) before.push(await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 600 }));
    await waitFor(async () => (await worker.queue.getJobCounts('waiting')).waiting === 2, 'two jobs waiting in Redis');

    await redis.stop();
    const during: string[] = [];
    for (let i = 0; i < 10; i++) during.push(await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const stillQueued = await sql`select 1 from public.jobs where id = any(${during}::uuid[]) and status = 'queued'`;
    expect(stillQueued).toHaveLength(10); // nothing could run them; nothing dropped them
    await redis.start();

    const rows = await waitFor(() => allFinal([...before, ...during]), 'every job to finish', 30_000);
    expect(rows.every((row) => row.status === 'succeeded')).toBe(true);
    const metrics = await worker.metrics.registry.getSingleMetricAsString('tandem_worker_sweeper_actions_total');
    const enqueued = Number(/action="enqueued"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    expect(enqueued).toBeGreaterThanOrEqual(12); // the 10 submitted during the outage + the 2 Redis forgot
  });
});

describe('Postgres connections lost', () => {
  let worker: RunningWorker;
  afterAll(() => worker?.stop());

  it('finishes running jobs and dispatches new ones after its connections are terminated', async () => {
    const config = testConfig(db.url, { sweepIntervalMs: 60_000 });
    worker = await startWorker(config, { log: quietLog });
    const { projectId } = await createProject(sql);
    const first: string[] = [];
    for (let i = 0; i < 3; i++) first.push(await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 800 }));
    await waitFor(async () => {
      const rows = await sql`select 1 from public.jobs where id = any(${first}::uuid[]) and status = 'running' and progress > 0`;
      return rows.length === 3;
    }, 'three jobs running');

    const killed = await sql<{ n: number }[]>`
      select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
      where application_name like ${config.name + '%'} and pid <> pg_backend_pid()`;
    expect(killed[0]!.n).toBeGreaterThanOrEqual(3); // pool + both LISTEN sessions

    await waitFor(async () => (await worker.health()).status === 'ok', 'the worker to be healthy again');
    const second: string[] = [];
    for (let i = 0; i < 3; i++) second.push(await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 1 }));
    const rows = await waitFor(() => allFinal([...first, ...second]), 'every job to finish');
    expect(rows.every((row) => row.status === 'succeeded')).toBe(true);
    for (const id of first) expect((await readJob(sql, id)).attempts).toBe(1);
    const connects = await worker.metrics.registry.getSingleMetricAsString('tandem_worker_listen_connects_total');
    expect(Number(/channel="tandem_jobs"\} (\d+)/.exec(connects)?.[1])).toBeGreaterThanOrEqual(2);
  });
});

describe('cache invalidator', () => {
  let worker: RunningWorker;
  let redis: RedisClient;
  afterAll(async () => {
    await worker?.stop();
    redis?.disconnect();
  });

  it('drops changed users’ listings, and after a lost connection starts a new epoch', async () => {
    const redisUrl = runRedisUrl(14);
    const config = testConfig(db.url, { redisUrl });
    redis = await openTestRedis(redisUrl);
    const keys = redisKeys(config.redisPrefix);
    const epochBefore = Number((await redis.get(keys.cacheEpoch)) ?? 0);
    worker = await startWorker(config, { log: quietLog });
    // Every start is a reconnect as far as the cache knows.
    await waitFor(async () => Number(await redis.get(keys.cacheEpoch)) > epochBefore, 'the start-up epoch bump');

    const { owner, projectId } = await createProject(sql);
    // Creating the project already invalidated the owner's listing once.
    await waitFor(async () => Number((await readListing(redis, keys, owner.id)).version) >= 1, 'the creation’s invalidation');
    const read = await readListing(redis, keys, owner.id);
    expect(await storeListing(redis, keys, owner.id, read, '{"data":[],"next_cursor":null}')).toBe(true);
    expect((await readListing(redis, keys, owner.id)).body).not.toBeNull();
    const newcomer = await createUser(sql);
    await sql`insert into public.project_members (project_id, user_id, role) values (${projectId}, ${newcomer.id}, 'viewer')`;
    await waitFor(async () => (await readListing(redis, keys, owner.id)).body === null, 'the owner’s listing to be dropped');
    expect(Number((await readListing(redis, keys, owner.id)).version)).toBeGreaterThan(Number(read.version));

    const cached = await readListing(redis, keys, owner.id);
    expect(await storeListing(redis, keys, owner.id, cached, '{"data":["stale"],"next_cursor":null}')).toBe(true);
    const epochCached = Number(cached.epoch);
    await sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name like ${config.name + ':tandem_cache:%'}`;
    await waitFor(async () => Number(await redis.get(keys.cacheEpoch)) > epochCached, 'a new epoch after the reconnect');
    expect((await readListing(redis, keys, owner.id)).body).toBeNull();
    const invalidations = await worker.metrics.registry.getSingleMetricAsString('tandem_worker_cache_invalidations_total');
    expect(Number(/kind="epoch"\} (\d+)/.exec(invalidations)?.[1])).toBeGreaterThanOrEqual(2);
  });
});
