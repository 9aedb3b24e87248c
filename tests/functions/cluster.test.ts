/**
 * The functions on the run's 3-node Redis Cluster (tests/harness/global-setup.ts), served
 * by Deno with ioredis's Cluster client: `/health`, the listing cache (fill, hit,
 * invalidation and epoch bump by the worker's code over its own cluster client), rate
 * limits (a user's and an IP's windows in one script), and enqueueing into BullMQ — all
 * under one hash-tagged prefix, so nothing spans slots. And the truth when REDIS_URL is
 * wrong: a cluster node reached as a single node answers MOVED, and `/health` says so.
 */
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { bumpCacheEpoch, invalidateListings } from '../../core/cache/listing.ts';
import { JOBS_QUEUE } from '../../core/queue.ts';
import type { RedisClient } from '../../core/redis/connection.ts';
import { redisKeys, type RedisKeyLayout } from '../../core/redis/keys.ts';
import { adminSql, createUser, type Sql } from '../harness/db.ts';
import { openTestRedis } from '../harness/redis.ts';
import { call, expectError, startTestFunctions, tokenFor, type TestFunctions } from './helpers.ts';

const clusterUrl = inject('redisClusterUrl');
let sql: Sql;
let fns: TestFunctions;
let redis: RedisClient;
let keys: RedisKeyLayout;

beforeAll(async () => {
  sql = adminSql();
  fns = await startTestFunctions({
    redisUrl: clusterUrl,
    applicationName: 'fn-cluster',
    env: { TANDEM_RATE_LIMIT_USER_WRITES: '4' },
  });
  keys = redisKeys(fns.redisPrefix);
  redis = await openTestRedis(clusterUrl);
});

afterAll(async () => {
  await fns?.stop();
  redis?.disconnect();
  await sql?.end();
});

describe('on Redis Cluster', () => {
  it('is healthy', async () => {
    for (const fn of ['projects', 'jobs']) {
      expect((await call(fns, 'GET', `/${fn}/health`)).body).toEqual({ status: 'ok', postgres: 'ok', redis: 'ok' });
    }
  });

  it('caches listings, and the worker-side invalidation and epoch bump reach them', async () => {
    const user = await createUser(sql);
    const token = await tokenFor(user);
    expect((await call(fns, 'POST', '/projects', { token, body: { name: 'On a cluster' } })).status).toBe(201);
    expect((await call(fns, 'GET', '/projects', { token })).headers.get('x-cache')).toBe('miss');
    expect((await call(fns, 'GET', '/projects', { token })).headers.get('x-cache')).toBe('hit');
    expect(await redis.ttl(keys.cacheListing(user.id))).toBeGreaterThan(0);
    await invalidateListings(redis, keys, [user.id]);
    expect((await call(fns, 'GET', '/projects', { token })).headers.get('x-cache')).toBe('miss');
    expect((await call(fns, 'GET', '/projects', { token })).headers.get('x-cache')).toBe('hit');
    await bumpCacheEpoch(redis, keys);
    expect((await call(fns, 'GET', '/projects', { token })).headers.get('x-cache')).toBe('miss');
  });

  it('enforces rate limits', async () => {
    const token = await tokenFor(await createUser(sql));
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(fns, 'POST', '/projects', { token, body: { name: `limited ${i}` } })).status);
    expect(statuses).toEqual([201, 201, 201, 201, 429]);
    const user = (await sql<{ sub: string }[]>`select id::text as sub from auth.users order by created_at desc limit 1`)[0]!;
    expect(await redis.zcard(keys.rateLimit('user-writes', user.sub))).toBe(4);
  });

  it('enqueues submitted jobs into BullMQ on the cluster', async () => {
    const owner = await createUser(sql);
    const token = await tokenFor(owner);
    const project = await call(fns, 'POST', '/projects', { token, body: { name: 'Jobs on a cluster' } });
    const submitted = await call(fns, 'POST', '/jobs', { token, body: { project_id: project.body.id, type: 'project.stats' } });
    expect(submitted.status, submitted.text).toBe(202);
    const queue = new Queue(JOBS_QUEUE, { connection: redis, prefix: keys.bullPrefix });
    try {
      expect((await queue.getJob(submitted.body.id))?.data).toEqual({ id: submitted.body.id });
    } finally {
      await queue.close();
    }
    expect(fns.lines.filter((line) => line.includes('enqueue_deferred'))).toEqual([]);
  });
});

describe('a cluster node given as a single node', () => {
  let misconfigured: TestFunctions;
  beforeAll(async () => {
    // Every key of the prefix is in one slot, which only one of the three nodes serves:
    // pick another, so each command is answered MOVED.
    const seed = new URL(clusterUrl.replace('redis+cluster://', 'redis://').split(',')[0]!);
    const prefix = '{misdirected}';
    const owner = (redis as import('ioredis').Cluster).slots[Number(await redis.call('CLUSTER', 'KEYSLOT', `${prefix}:x`))]?.[0];
    const ports = clusterUrl.replace('redis+cluster://', '').split(',').map((hostPort) => hostPort.split(':')[1]);
    const other = ports.find((port) => !owner?.endsWith(`:${port}`)) ?? seed.port;
    misconfigured = await startTestFunctions({
      redisUrl: `redis://127.0.0.1:${other}`,
      applicationName: 'fn-cluster-misdirected',
      env: { TANDEM_REDIS_PREFIX: prefix },
    });
  });
  afterAll(async () => {
    await misconfigured?.stop();
  });

  it('keeps serving, fails rate limits open, and says why in /health', async () => {
    const token = await tokenFor(await createUser(sql));
    // Rate limits fail open (the write is admitted), the listing is served from Postgres.
    expect((await call(misconfigured, 'POST', '/projects', { token, body: { name: 'misdirected' } })).status).toBe(201);
    const listed = await call(misconfigured, 'GET', '/projects', { token });
    expect(listed.status).toBe(200);
    expect(listed.headers.get('x-cache')).toBe('miss');
    const health = await call(misconfigured, 'GET', '/projects/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'degraded', postgres: 'ok', redis: 'failing', rate_limits: 'not_enforced', listing_cache: 'bypassed' });
    expect(health.body.reason).toMatch(/MOVED/);
    expectError(await call(misconfigured, 'PATCH', '/projects/health'), 405, 'method_not_allowed');
  });
});
