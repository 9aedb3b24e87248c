/**
 * Rate limits through the API, on a Redis of its own: per-user sliding windows for writes
 * and for listings, a per-IP window over all users, 429 `rate_limited` with Retry-After,
 * and reads of single resources left alone.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../devstack/redis/server.ts';
import { clientAddress } from '../../edge-functions/_shared/http/client-address.ts';
import { consumeRateLimits } from '../../edge-functions/_shared/rate-limit.ts';
import { redisKeys } from '../../core/redis/keys.ts';

const keys = redisKeys();
import { adminSql, createUser, type Sql } from '../harness/db.ts';
import { call, expectError, startTestFunctions, tokenFor, type TestFunctions } from './helpers.ts';

let server: RedisServer;
let sql: Sql;
let perUser: TestFunctions;
let perIp: TestFunctions;
let behindProxy: TestFunctions;

beforeAll(async () => {
  sql = adminSql();
  server = await startRedisServer();
  [perUser, perIp, behindProxy] = await Promise.all([
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
    startTestFunctions({
      redisUrl: `${server.url}/4`,
      applicationName: 'fn-rate-hop',
      functions: ['projects'],
      env: { TANDEM_RATE_LIMIT_IP: '3', TANDEM_RATE_LIMIT_WINDOW_SECONDS: '3600', TANDEM_TRUSTED_PROXY_HOPS: '1' },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([perUser?.stop(), perIp?.stop(), behindProxy?.stop()]);
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

  it('limits all users of one client IP together, whatever X-Forwarded-For they send (no trusted proxy)', async () => {
    const tokens = await Promise.all(Array.from({ length: 6 }, async () => tokenFor(await createUser(sql))));
    // Rotating X-Forwarded-For does not make a client someone else.
    for (const [index, token] of tokens.slice(0, 5).entries()) {
      const res = await call(perIp, 'GET', '/projects', { token, headers: { 'x-forwarded-for': `203.0.113.${index + 1}` } });
      expect(res.status).toBe(200);
    }
    const refused = await call(perIp, 'GET', '/projects', { token: tokens[5]!, headers: { 'x-forwarded-for': '203.0.113.99' } });
    expectError(refused, 429, 'rate_limited');
    expect(refused.body.error.details.limit).toBe('ip');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(60);
  });

  it('behind one trusted proxy, counts the peer that proxy saw, never what the client wrote', async () => {
    const tokens = await Promise.all(Array.from({ length: 3 }, async () => tokenFor(await createUser(sql))));
    // The test plays client and proxy: "<what the client wrote>, <the peer the proxy saw>".
    const viaProxy = (token: string, written: string, peer: string) =>
      call(behindProxy, 'GET', '/projects', { token, headers: { 'x-forwarded-for': `${written}, ${peer}` } });
    for (const [index, token] of tokens.entries()) expect((await viaProxy(token, `198.51.100.${index + 10}`, '192.0.2.1')).status).toBe(200);
    expectError(await viaProxy(tokens[0]!, '198.51.100.77', '192.0.2.1'), 429, 'rate_limited');
    // Writing the throttled address does not throttle another client, and a client that
    // writes a victim's address spends its own window, not the victim's.
    for (let i = 0; i < 3; i++) expect((await viaProxy(tokens[1]!, '192.0.2.1', '192.0.2.2')).status).toBe(200);
    expectError(await viaProxy(tokens[1]!, '192.0.2.3', '192.0.2.2'), 429, 'rate_limited');
    expect((await viaProxy(tokens[2]!, '192.0.2.2', '192.0.2.3')).status).toBe(200);
  });
});

describe('client address', () => {
  it('takes the entry the outermost trusted proxy wrote, or the socket peer with none', () => {
    const peer = '10.0.0.9';
    expect(clientAddress({ forwardedFor: '6.6.6.6', peer, trustedHops: 0 })).toBe(peer);
    expect(clientAddress({ forwardedFor: undefined, peer, trustedHops: 0 })).toBe(peer);
    expect(clientAddress({ forwardedFor: '6.6.6.6, 203.0.113.7', peer, trustedHops: 1 })).toBe('203.0.113.7');
    expect(clientAddress({ forwardedFor: '6.6.6.6,203.0.113.7, 10.0.0.2', peer, trustedHops: 2 })).toBe('203.0.113.7');
    // Fewer entries than trusted proxies: nothing in the header is vouched for.
    expect(clientAddress({ forwardedFor: '203.0.113.7', peer, trustedHops: 2 })).toBe(peer);
    expect(clientAddress({ forwardedFor: undefined, peer, trustedHops: 1 })).toBe(peer);
    expect(clientAddress({ forwardedFor: 'not an address, <script>', peer, trustedHops: 1 })).toBe('invalid');
    expect(clientAddress({ forwardedFor: undefined, peer: undefined, trustedHops: 0 })).toBe('unknown');
    expect(clientAddress({ forwardedFor: '2001:db8::1', peer, trustedHops: 1 })).toBe('2001:db8::1');
  });
});

describe('sliding window', () => {
  it('admits again as soon as the oldest request leaves the window', async () => {
    const redis = new Redis(`${server.url}/3`);
    try {
      const limits = [{ scope: 'test', subject: crypto.randomUUID(), limit: 2 }];
      expect((await consumeRateLimits(redis, keys, 1, limits)).allowed).toBe(true);
      expect((await consumeRateLimits(redis, keys, 1, limits)).allowed).toBe(true);
      const refused = await consumeRateLimits(redis, keys, 1, limits);
      expect(refused).toEqual({ allowed: false, retryAfterSeconds: 1, scope: 'test' });
      await expect.poll(async () => (await consumeRateLimits(redis, keys, 1, limits)).allowed, { timeout: 5_000, interval: 100 }).toBe(true);
    } finally {
      redis.disconnect();
    }
  });
});
