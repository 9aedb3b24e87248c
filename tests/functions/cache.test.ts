/**
 * The cached project listing through the API, on a Redis of its own (the cache epoch is
 * global): miss then hit, per-user isolation, invalidation by the function's own writes,
 * invalidation by the worker's path (versions and epoch), the fill-race rule and single
 * flight per key.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bumpCacheEpoch, invalidateListings } from '../../core/cache/listing.ts';
import { redisKeys, type RedisKeyLayout } from '../../core/redis/keys.ts';
import { startRedisServer, type RedisServer } from '../../devstack/redis/server.ts';
import { adminSql, createUser, type Sql, type TestUser } from '../harness/db.ts';
import { call, startTestFunctions, tokenFor, type TestFunctions } from './helpers.ts';

const APPLICATION_NAME = 'fn-cache-test';
/** The functions' key layout (their TANDEM_REDIS_PREFIX). */
let keys: RedisKeyLayout;
let server: RedisServer;
let redis: Redis;
let fns: TestFunctions;
let sql: Sql;

beforeAll(async () => {
  sql = adminSql();
  server = await startRedisServer();
  redis = new Redis(server.url);
  fns = await startTestFunctions({ redisUrl: server.url, applicationName: APPLICATION_NAME, functions: ['projects'] });
  keys = redisKeys(fns.redisPrefix);
});

afterAll(async () => {
  await fns?.stop();
  redis?.disconnect();
  await server?.stop();
  await sql?.end();
});

async function list(token: string) {
  const res = await call(fns, 'GET', '/projects', { token });
  expect(res.status, res.text).toBe(200);
  return { cache: res.headers.get('x-cache'), data: res.body.data as { id: string; name: string; role: string; member_count: number }[], text: res.text };
}

async function userWithToken(): Promise<{ user: TestUser; token: string }> {
  const user = await createUser(sql);
  return { user, token: await tokenFor(user) };
}

async function createProject(token: string, name: string): Promise<string> {
  const res = await call(fns, 'POST', '/projects', { token, body: { name } });
  expect(res.status).toBe(201);
  return res.body.id;
}

/**
 * Holds an ACCESS EXCLUSIVE lock on project_members while `fn` runs, so listing queries
 * wait; `fn` returns the requests it started (wrapped, so they are awaited after the
 * lock is released).
 */
async function withMembershipsLocked<T>(fn: () => Promise<{ pending: Promise<T> }>): Promise<T> {
  let started: { pending: Promise<T> } | undefined;
  await sql.begin(async (tx) => {
    await tx`lock table public.project_members in access exclusive mode`;
    started = await fn();
  });
  return started!.pending;
}

/** Listing queries of our functions waiting for a lock right now. */
async function waitingListingQueries(): Promise<number> {
  const [row] = await sql<{ count: number }[]>`
    select count(*)::int as count from pg_stat_activity
    where application_name = ${APPLICATION_NAME} and wait_event_type = 'Lock'`;
  return row!.count;
}

describe('listing cache', () => {
  it('misses, then hits with the same body and a 60 s TTL', async () => {
    const { user, token } = await userWithToken();
    await createProject(token, 'Cached');
    const first = await list(token);
    expect(first.cache).toBe('miss');
    const second = await list(token);
    expect(second.cache).toBe('hit');
    expect(second.text).toBe(first.text);
    const ttl = await redis.ttl(keys.cacheListing(user.id));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
  });

  it("never serves one user's listing to another", async () => {
    const alice = await userWithToken();
    const bob = await userWithToken();
    const aliceProject = await createProject(alice.token, 'Alice only');
    const bobProject = await createProject(bob.token, 'Bob only');
    for (let round = 0; round < 3; round++) {
      const [a, b] = await Promise.all([list(alice.token), list(bob.token)]);
      expect(a.data.map((p) => p.id)).toEqual([aliceProject]);
      expect(b.data.map((p) => p.id)).toEqual([bobProject]);
    }
  });

  it("invalidates every affected member's listing on the function's own writes", async () => {
    const owner = await userWithToken();
    const collaborator = await userWithToken();
    const viewer = await userWithToken();
    const projectId = await createProject(owner.token, 'Shared');
    await sql`insert into public.project_members (project_id, user_id, role) values
      (${projectId}, ${collaborator.user.id}, 'collaborator'), (${projectId}, ${viewer.user.id}, 'viewer')`;
    // The SQL insert bypassed the function: flush the owner's entry as the worker's invalidator would.
    await invalidateListings(redis, keys, [owner.user.id]);
    const everyone = [owner, collaborator, viewer];
    const warm = async () => {
      for (const member of everyone) await list(member.token);
      for (const member of everyone) expect((await list(member.token)).cache).toBe('hit');
    };

    await warm();
    expect((await call(fns, 'PATCH', `/projects/${projectId}`, { token: collaborator.token, body: { name: 'Renamed' } })).status).toBe(200);
    for (const member of everyone) {
      const after = await list(member.token);
      expect(after.cache).toBe('miss');
      expect(after.data[0]!.name).toBe('Renamed');
    }

    await warm();
    expect((await call(fns, 'PATCH', `/projects/${projectId}/members/${viewer.user.id}`, { token: owner.token, body: { role: 'collaborator' } })).status).toBe(200);
    expect((await list(viewer.token)).data[0]!.role).toBe('collaborator');
    expect((await list(owner.token)).cache).toBe('miss');

    await warm();
    expect((await call(fns, 'DELETE', `/projects/${projectId}/members/${viewer.user.id}`, { token: owner.token })).status).toBe(204);
    expect((await list(viewer.token)).data).toEqual([]);
    expect((await list(owner.token)).data[0]!.member_count).toBe(2);
    expect((await list(collaborator.token)).data[0]!.member_count).toBe(2);

    const invitee = await userWithToken();
    await list(invitee.token);
    await warm();
    const invitation = await call(fns, 'POST', `/projects/${projectId}/invitations`, { token: owner.token, body: { email: invitee.user.email } });
    expect((await list(owner.token)).cache).toBe('hit');
    expect((await call(fns, 'POST', '/projects/invitations/accept', { token: invitee.token, body: { token: invitation.body.token } })).status).toBe(200);
    expect((await list(invitee.token)).data.map((p) => p.id)).toEqual([projectId]);
    expect((await list(owner.token)).data[0]!.member_count).toBe(3);
    expect((await list(collaborator.token)).data[0]!.member_count).toBe(3);

    await warm();
    expect((await call(fns, 'DELETE', `/projects/${projectId}`, { token: owner.token })).status).toBe(204);
    for (const member of [owner, collaborator, invitee]) {
      const after = await list(member.token);
      expect(after.cache).toBe('miss');
      expect(after.data).toEqual([]);
    }
  });

  it("serves changes made elsewhere after the worker's invalidation or an epoch bump", async () => {
    const { user, token } = await userWithToken();
    const projectId = await createProject(token, 'Before');
    await list(token);
    expect((await list(token)).cache).toBe('hit');
    await sql`update public.projects set name = 'Changed by SQL' where id = ${projectId}`;
    // Until the invalidator hears tandem_cache, the cached listing is what is served.
    expect((await list(token)).data[0]!.name).toBe('Before');
    await invalidateListings(redis, keys, [user.id]);
    const fresh = await list(token);
    expect(fresh.cache).toBe('miss');
    expect(fresh.data[0]!.name).toBe('Changed by SQL');
    expect((await list(token)).cache).toBe('hit');
    await bumpCacheEpoch(redis, keys);
    expect((await list(token)).cache).toBe('miss');
    expect((await list(token)).cache).toBe('hit');
  });

  it('does not store a fill that raced an invalidation', async () => {
    const { user, token } = await userWithToken();
    await createProject(token, 'Racing');
    const response = await withMembershipsLocked(async () => {
      const pending = list(token);
      await expect.poll(waitingListingQueries, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
      // The fill has read the version and is waiting on Postgres: invalidate now.
      await invalidateListings(redis, keys, [user.id]);
      return { pending };
    });
    expect(response.cache).toBe('miss');
    expect(response.data).toHaveLength(1);
    expect((await list(token)).cache).toBe('miss');
    expect((await list(token)).cache).toBe('hit');
  });

  it('runs one fill per user at a time (single flight), separately per user', async () => {
    const alice = await userWithToken();
    const bob = await userWithToken();
    await createProject(alice.token, 'Flight A');
    await createProject(bob.token, 'Flight B');
    const results = await withMembershipsLocked(async () => {
      const pending = [...Array.from({ length: 5 }, () => list(alice.token)), list(bob.token), list(bob.token)];
      await expect.poll(waitingListingQueries, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
      // Give any duplicate fills time to reach Postgres too.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await waitingListingQueries()).toBe(2);
      return { pending: Promise.all(pending) };
    });
    expect(results.map((r) => r.cache)).toEqual(Array(7).fill('miss'));
    expect(new Set(results.slice(0, 5).map((r) => r.text)).size).toBe(1);
    expect(results[5]!.data[0]!.name).toBe('Flight B');
  });
});

describe('TANDEM_LISTING_CACHE=off', () => {
  it('serves every listing from Postgres and stores nothing in Redis', async () => {
    const uncached = await startTestFunctions({
      redisUrl: server.url,
      applicationName: `${APPLICATION_NAME}-off`,
      functions: ['projects'],
      env: { TANDEM_LISTING_CACHE: 'off', TANDEM_REDIS_PREFIX: fns.redisPrefix },
    });
    try {
      const { user, token } = await userWithToken();
      await createProject(token, 'uncached');
      for (let i = 0; i < 3; i++) {
        const res = await call(uncached, 'GET', '/projects', { token });
        expect(res.headers.get('x-cache')).toBe('miss');
        expect(res.body.data.map((p: { name: string }) => p.name)).toEqual(['uncached']);
      }
      expect(await redis.exists(keys.cacheListing(user.id))).toBe(0);
    } finally {
      await uncached.stop();
    }
  });
});
