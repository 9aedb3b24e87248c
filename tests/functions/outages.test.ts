/**
 * Outages, on a redis-server of its own: with Redis stopped the listing is served from
 * Postgres (X-Cache: miss), submissions still get 202 (the row is the truth), rate limits
 * step aside (fail open, logged once per interval) and /health answers 200 "degraded",
 * saying why and what it means; once Redis is back, enqueueing and caching resume.
 * With Postgres unreachable, requests get 503 `unavailable`, never a 500.
 */
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../devstack/net/ports.ts';
import { startRedisServer, type RedisServer } from '../../devstack/redis/server.ts';
import { JOBS_QUEUE } from '../../core/queue.ts';
import { adminSql, createUser, type Sql } from '../harness/db.ts';
import { call, expectError, startTestFunctions, tokenFor, type TestFunctions } from './helpers.ts';

let server: RedisServer;
let sql: Sql;
let fns: TestFunctions;

beforeAll(async () => {
  sql = adminSql();
  server = await startRedisServer();
  fns = await startTestFunctions({
    redisUrl: server.url,
    applicationName: 'fn-outage-test',
    env: { TANDEM_RATE_LIMIT_USER_WRITES: '2' },
  });
});

afterAll(async () => {
  await fns?.stop();
  await server?.stop();
  await sql?.end();
});

describe('Redis down', () => {
  it('keeps serving from Postgres, accepts jobs, and recovers when Redis returns', async () => {
    const owner = await createUser(sql);
    const token = await tokenFor(owner);
    const project = await call(fns, 'POST', '/projects', { token, body: { name: 'Outage' } });
    expect(project.status).toBe(201);
    await call(fns, 'GET', '/projects', { token });
    expect((await call(fns, 'GET', '/projects', { token })).headers.get('x-cache')).toBe('hit');

    await server.stop();
    const listed = await call(fns, 'GET', '/projects', { token });
    expect(listed.status).toBe(200);
    expect(listed.headers.get('x-cache')).toBe('miss');
    expect(listed.body.data.map((p: { id: string }) => p.id)).toEqual([project.body.id]);

    const submitted: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await call(fns, 'POST', '/jobs', { token, body: { project_id: project.body.id, type: 'project.stats' } });
      expect(res.status, res.text).toBe(202);
      submitted.push(res.body.id);
    }
    const rows = await sql`select id, status from public.jobs where id = any(${submitted}::uuid[])`;
    expect(rows.map((row) => row.status)).toEqual(['queued', 'queued', 'queued']);
    expect((await call(fns, 'POST', '/projects', { token, body: { name: 'Second' } })).status).toBe(201);

    // The rate-limited writes above each skipped the limiter: one log line says so, not one per request.
    const skipped = () => fns.lines.filter((line) => line.includes('"msg":"rate_limit_skipped"'));
    expect(skipped().length).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 5; i++) expect((await call(fns, 'POST', '/projects', { token, body: { name: `open ${i}` } })).status).toBe(201);
    expect(skipped().filter((line) => line.includes('"function":"projects"'))).toHaveLength(1);
    const health = await call(fns, 'GET', '/jobs/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({
      status: 'degraded',
      postgres: 'ok',
      redis: 'down',
      rate_limits: 'not_enforced',
      listing_cache: 'bypassed',
      job_submissions: 'deferred',
    });
    expect(health.body.reason).toMatch(/^Redis unreachable: /);
    expect(health.body.reason).not.toContain('redis://'); // /health is public: no address

    await server.start();
    // Each function has its own Redis client, reconnecting on its own backoff (up to 2 s apart,
    // edge-functions/_shared/redis.ts): wait for the jobs function's, not only the projects
    // function's, or the next submission finds its client still down and is deferred.
    for (const fn of ['projects', 'jobs']) {
      await expect.poll(async () => (await call(fns, 'GET', `/${fn}/health`)).body.status, { timeout: 15_000, interval: 200 }).toBe('ok');
    }
    const after = await call(fns, 'POST', '/jobs', { token, body: { project_id: project.body.id, type: 'project.stats' } });
    expect(after.status).toBe(202);
    const queue = new Queue(JOBS_QUEUE, { connection: { url: server.url }, prefix: fns.redisPrefix });
    try {
      expect((await queue.getJob(after.body.id))?.data).toEqual({ id: after.body.id });
      // Jobs submitted while Redis was down are the sweeper's to enqueue, not lost: their rows are queued.
      expect(await queue.getJob(submitted[0]!)).toBeUndefined();
    } finally {
      await queue.close();
    }
    const fresh = await call(fns, 'GET', '/projects', { token });
    expect(fresh.body.data).toHaveLength(7);
    await expect.poll(async () => (await call(fns, 'GET', '/projects', { token })).headers.get('x-cache')).toBe('hit');
    // Rate limits are back in force (the two writes allowed per window were used while Redis was up or are now).
    const writes = await Promise.all(
      Array.from({ length: 3 }, () => call(fns, 'POST', '/projects', { token, body: { name: 'limited' } })),
    );
    expect(writes.map((w) => w.status)).toContain(429);
  });
});

describe('Postgres unreachable', () => {
  let broken: TestFunctions;
  beforeAll(async () => {
    const deadPort = await findFreePort();
    broken = await startTestFunctions({
      redisUrl: server.url,
      applicationName: 'fn-outage-pg',
      env: { DATABASE_URL: `postgres://postgres@127.0.0.1:${deadPort}/postgres` },
    });
  });
  afterAll(async () => {
    await broken?.stop();
  });

  it('answers 503 unavailable, and still 401/400 for bad requests', async () => {
    const token = await tokenFor(await createUser(sql));
    expectError(await call(broken, 'GET', '/projects', { token }), 503, 'unavailable');
    expectError(await call(broken, 'POST', '/projects', { token, body: { name: 'x' } }), 503, 'unavailable');
    expectError(await call(broken, 'POST', '/jobs', { token, body: { project_id: crypto.randomUUID(), type: 'project.stats' } }), 503, 'unavailable');
    expectError(await call(broken, 'GET', `/jobs/${crypto.randomUUID()}`, { token }), 503, 'unavailable');
    const health = await call(broken, 'GET', '/projects/health');
    expectError(health, 503, 'unavailable');
    expect(health.body.error.details).toEqual({ postgres: 'down', redis: 'ok' });
    expectError(await call(broken, 'GET', '/projects'), 401, 'unauthorized');
    expectError(await call(broken, 'POST', '/jobs', { token, body: { type: 'nope' } }), 400, 'invalid_request');
  });
});

describe('A function process that dies', () => {
  let supervised: TestFunctions;
  beforeAll(async () => {
    supervised = await startTestFunctions({ redisUrl: server.url, applicationName: 'fn-outage-crash', functions: ['jobs'] });
  });
  afterAll(async () => {
    await supervised?.stop();
  });

  it('is started again, as the edge runtime starts a new worker, and says so in the log', async () => {
    const first = supervised.pid('jobs');
    expect(first).toBeGreaterThan(0);
    process.kill(first!, 'SIGKILL');
    await expect
      .poll(async () => (await call(supervised, 'GET', '/jobs/health').catch(() => ({ status: 0 }))).status, { timeout: 20_000, interval: 100 })
      .toBe(200);
    expect(supervised.pid('jobs')).not.toBe(first);
    const restartLines = supervised.lines.filter((line) => /"msg":"function_/.test(line)).map((line) => JSON.parse(line) as { msg: string });
    expect(restartLines.map((line) => line.msg)).toEqual(['function_exited', 'function_restarted']);
  });
});
