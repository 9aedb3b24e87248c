/**
 * Rate limits through the API, on a Redis of its own: per-user sliding windows for writes
 * and for listings, a per-IP window over all users, 429 `rate_limited` with Retry-After,
 * and reads of single resources left alone.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../devstack/redis/server.ts';
import { consumeRateLimits } from '../../edge-functions/_shared/rate-limit.ts';
import { adminSql, createUser, type Sql } from '../harness/db.ts';
import { call, expectError, startTestFunctions, tokenFor, type TestFunctions } from './helpers.ts';

let server: RedisServer;
let sql: Sql;
let perUser: TestFunctions;
let perIp: TestFunctions;

beforeAll(async () => {
  sql = adminSql();
  server = await startRedisServer();
  [perUser, perIp] = await Promise.all([
    startTestFunctions({
      redisUrl: `${server.url}/1`,
      applicationName: 'fn-rate-user',
      functions: ['projects', 'jobs'],
      env: { TANDEM_RATE_LIMIT_USER_WRITES: '3', TANDEM_RATE_LIMIT_USER_READS: '4', TANDEM_RATE_LIMIT_IP: '1000' },
    }),
    startTestFunctions({
      redisUrl: `${server.url}/2`,
      applicationName: 'fn-rate-ip',
      functions: ['projects'],
      env: { TANDEM_RATE_LIMIT_IP: '5', TANDEM_RATE_LIMIT_WINDOW_SECONDS: '3600' },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([perUser?.stop(), perIp?.stop()]);
  await server?.stop();
  await sql?.end();
});

describe('rate limits', () => {
  it('limits writes per user, with Retry-After, without touching other users', async () => {
    const alice = await tokenFor(await createUser(sql));
    const bob = await tokenFor(await createUser(sql));
    const created: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await call(perUser, 'POST', '/projects', { token: alice, body: { name: `p${i}` } });
      expect(res.status).toBe(201);
      created.push(res.body.id);
    }
    const refused = await call(perUser, 'POST', '/projects', { token: alice, body: { name: 'one too many' } });
    expectError(refused, 429, 'rate_limited');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.body.error.details).toMatchObject({ limit: 'user-writes' });
    // Writes count across routes and functions; refused requests change nothing.
    expectError(await call(perUser, 'PATCH', `/projects/${created[0]}`, { token: alice, body: { name: 'x' } }), 429, 'rate_limited');
    expectError(await call(perUser, 'POST', '/jobs', { token: alice, body: { project_id: created[0], type: 'project.stats' } }), 429, 'rate_limited');
    expect(await sql`select 1 from public.projects where name = 'one too many'`).toHaveLength(0);
    // Reading one project is not rate limited; another user is not affected.
    expect((await call(perUser, 'GET', `/projects/${created[0]}`, { token: alice })).status).toBe(200);
    expect((await call(perUser, 'POST', '/projects', { token: bob, body: { name: 'bob' } })).status).toBe(201);
  });

  it('limits listings per user separately from writes', async () => {
    const carol = await tokenFor(await createUser(sql));
    for (let i = 0; i < 4; i++) expect((await call(perUser, 'GET', '/projects', { token: carol })).status).toBe(200);
    expectError(await call(perUser, 'GET', '/projects', { token: carol }), 429, 'rate_limited');
    expectError(await call(perUser, 'GET', '/jobs', { token: carol }), 429, 'rate_limited');
    expect((await call(perUser, 'POST', '/projects', { token: carol, body: { name: 'still writes' } })).status).toBe(201);
  });

  it('limits all users of one client IP together', async () => {
    const tokens = await Promise.all(Array.from({ length: 6 }, async () => tokenFor(await createUser(sql))));
    for (const token of tokens.slice(0, 5)) expect((await call(perIp, 'GET', '/projects', { token })).status).toBe(200);
    const refused = await call(perIp, 'GET', '/projects', { token: tokens[5]! });
    expectError(refused, 429, 'rate_limited');
    expect(refused.body.error.details.limit).toBe('ip');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(60);
    const elsewhere = await call(perIp, 'GET', '/projects', { token: tokens[5]!, headers: { 'x-forwarded-for': '203.0.113.7' } });
    expect(elsewhere.status).toBe(200);
  });
});

describe('sliding window', () => {
  it('admits again as soon as the oldest request leaves the window', async () => {
    const redis = new Redis(`${server.url}/3`);
    try {
      const limits = [{ scope: 'test', subject: crypto.randomUUID(), limit: 2 }];
      expect((await consumeRateLimits(redis, 1, limits)).allowed).toBe(true);
      expect((await consumeRateLimits(redis, 1, limits)).allowed).toBe(true);
      const refused = await consumeRateLimits(redis, 1, limits);
      expect(refused).toEqual({ allowed: false, retryAfterSeconds: 1, scope: 'test' });
      await expect.poll(async () => (await consumeRateLimits(redis, 1, limits)).allowed, { timeout: 5_000, interval: 100 }).toBe(true);
    } finally {
      redis.disconnect();
    }
  });
});
