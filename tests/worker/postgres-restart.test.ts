/**
 * A Postgres restart (a private cluster, stopped and started again): the job running
 * across the outage still ends succeeded (its status writes wait for the server), both
 * LISTEN sessions come back — a row inserted afterwards is dispatched by notification —
 * and the cache epoch is bumped for the gap.
 */
import type { RedisClient } from '../../core/redis/connection.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../core/redis/keys.ts';
import { setupDatabase } from '../../devstack/db/setup.ts';
import { startCluster, type Cluster } from '../../devstack/postgres/cluster.ts';
import { startWorker, type RunningWorker } from '../../worker/src/worker.ts';
import type { Sql } from '../harness/db.ts';
import { connect, createProject, insertJob, quietLog, readJob, testConfig, waitFor, waitForStatus } from './helpers.ts';
import { openTestRedis, runRedisUrl } from '../harness/redis.ts';

let cluster: Cluster;
let sql: Sql;
let worker: RunningWorker;
let redis: RedisClient;

beforeAll(async () => {
  cluster = await startCluster();
  await setupDatabase({ url: cluster.url });
  sql = connect(cluster.url);
  redis = await openTestRedis(runRedisUrl(15));
});
afterAll(async () => {
  await worker?.stop();
  await sql?.end({ timeout: 1 });
  redis?.disconnect();
  await cluster?.destroy();
});

describe('Postgres restart', () => {
  it('recovers its connections and LISTEN sessions, finishing the job that ran across the outage', async () => {
    const config = testConfig(cluster.url, { redisUrl: runRedisUrl(15), sweepIntervalMs: 600_000, listenCheckMs: 300 });
    const keys = redisKeys(config.redisPrefix);
    worker = await startWorker(config, { log: quietLog });
    const { projectId } = await createProject(sql);
    const across = await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 2500 });
    await waitFor(async () => (await readJob(sql, across)).status === 'running', 'the job to run');
    const epochBefore = Number(await redis.get(keys.cacheEpoch));

    await cluster.stop();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await cluster.start();

    await waitFor(async () => (await worker.health()).status === 'ok', 'the worker to be healthy again', 30_000);
    await waitFor(async () => Number(await redis.get(keys.cacheEpoch)) > epochBefore, 'the cache epoch bump after the gap');
    const after = await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 1 });
    expect((await waitForStatus(sql, after, ['succeeded', 'failed'])).status).toBe('succeeded');
    const acrossRow = await waitForStatus(sql, across, ['succeeded', 'failed'], 40_000);
    expect(acrossRow).toMatchObject({ status: 'succeeded', attempts: 1 });
  });
});
