/**
 * The `jobs` function over HTTP: submission (catalog validation, RLS, idempotency,
 * BullMQ enqueue), reading, keyset pagination, cancel and retry, through the role matrix.
 */
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOBS_QUEUE } from '../../core/queue.ts';
import type { RedisClient } from '../../core/redis/connection.ts';
import { adminSql, createUser, type Sql, type TestUser } from '../harness/db.ts';
import { openTestRedis, runRedisUrl } from '../harness/redis.ts';
import { call, expectError, startTestFunctions, tokenFor, type TestFunctions } from './helpers.ts';

const redisUrl = runRedisUrl(6);
let fns: TestFunctions;
let sql: Sql;
let queue: Queue;
let redis: RedisClient;

beforeAll(async () => {
  sql = adminSql();
  fns = await startTestFunctions({ redisUrl, applicationName: 'fn-jobs-test', functions: ['jobs'] });
  redis = await openTestRedis(redisUrl);
  queue = new Queue(JOBS_QUEUE, { connection: redis, prefix: fns.redisPrefix });
});

afterAll(async () => {
  await fns?.stop();
  await queue?.close();
  redis?.disconnect();
  await sql?.end();
});

type Role = 'owner' | 'collaborator' | 'viewer' | 'outsider';
interface Team {
  users: Record<Role, TestUser>;
  tokens: Record<Role, string>;
  projectId: string;
}

async function createTeam(): Promise<Team> {
  const list = await Promise.all([createUser(sql), createUser(sql), createUser(sql), createUser(sql)]);
  const users = { owner: list[0]!, collaborator: list[1]!, viewer: list[2]!, outsider: list[3]! };
  const [project] = await sql<{ id: string }[]>`
    insert into public.projects (name, created_by) values ('jobs test', ${users.owner.id}) returning id`;
  const projectId = project!.id;
  await sql`insert into public.project_members (project_id, user_id, role) values
    (${projectId}, ${users.collaborator.id}, 'collaborator'), (${projectId}, ${users.viewer.id}, 'viewer')`;
  const tokens = {
    owner: await tokenFor(users.owner),
    collaborator: await tokenFor(users.collaborator),
    viewer: await tokenFor(users.viewer),
    outsider: await tokenFor(users.outsider),
  };
  return { users, tokens, projectId };
}

const sleep = (ms = 60_000) => ({ type: 'diagnostic.sleep', payload: { ms } });

describe('POST /jobs', () => {
  it('accepts a valid job: 202, Location, the row, and a BullMQ job with jobId = row id', async () => {
    const team = await createTeam();
    const res = await call(fns, 'POST', '/jobs', { token: team.tokens.collaborator, body: { project_id: team.projectId, ...sleep(5) } });
    expect(res.status, res.text).toBe(202);
    expect(res.headers.get('location')).toBe(`/functions/v1/jobs/${res.body.id}`);
    expect(res.body).toMatchObject({
      project_id: team.projectId,
      created_by: team.users.collaborator.id,
      type: 'diagnostic.sleep',
      payload: { ms: 5, fail_times: 0 },
      status: 'queued',
      progress: 0,
      attempts: 0,
      idempotency_key: null,
    });
    const [row] = await sql`select status, payload from public.jobs where id = ${res.body.id}`;
    expect(row).toEqual({ status: 'queued', payload: { ms: 5, fail_times: 0 } });
    const queued = await queue.getJob(res.body.id);
    expect(queued?.name).toBe('diagnostic.sleep');
    expect(queued?.data).toEqual({ id: res.body.id });
    expect(queued?.id).toBe(res.body.id);
  });

  it('owners submit too; viewers 403, non-members 404, anonymous 401', async () => {
    const team = await createTeam();
    expect((await call(fns, 'POST', '/jobs', { token: team.tokens.owner, body: { project_id: team.projectId, type: 'project.stats' } })).status).toBe(202);
    expectError(await call(fns, 'POST', '/jobs', { token: team.tokens.viewer, body: { project_id: team.projectId, ...sleep() } }), 403, 'forbidden');
    expectError(await call(fns, 'POST', '/jobs', { token: team.tokens.outsider, body: { project_id: team.projectId, ...sleep() } }), 404, 'not_found');
    expectError(await call(fns, 'POST', '/jobs', { token: team.tokens.owner, body: { project_id: crypto.randomUUID(), ...sleep() } }), 404, 'not_found');
    expectError(await call(fns, 'POST', '/jobs', { body: { project_id: team.projectId, ...sleep() } }), 401, 'unauthorized');
    const [{ count }] = (await sql`select count(*)::int as count from public.jobs where project_id = ${team.projectId}`) as [{ count: number }];
    expect(count).toBe(1);
  });

  it('validates type and payload against the catalog', async () => {
    const team = await createTeam();
    const token = team.tokens.owner;
    const unknown = await call(fns, 'POST', '/jobs', { token, body: { project_id: team.projectId, type: 'no.such.type', payload: {} } });
    expectError(unknown, 400, 'invalid_request');
    expect(unknown.body.error.details.known_types).toEqual(['diagnostic.sleep', 'project.export', 'project.stats']);
    expect(unknown.body.error.message).toContain('diagnostic.sleep');
    const invalid = await call(fns, 'POST', '/jobs', { token, body: { project_id: team.projectId, type: 'diagnostic.sleep', payload: { ms: -1 } } });
    expectError(invalid, 400, 'invalid_request');
    expect(invalid.body.error.details.issues[0].path).toBe('ms');
    expectError(await call(fns, 'POST', '/jobs', { token, body: { project_id: team.projectId, type: 'project.stats', payload: { extra: 1 } } }), 400, 'invalid_request');
    expectError(await call(fns, 'POST', '/jobs', { token, body: { project_id: team.projectId, type: 'project.stats', payload: [1] } }), 400, 'invalid_request');
    expectError(await call(fns, 'POST', '/jobs', { token, body: { project_id: 'nope', type: 'project.stats' } }), 400, 'invalid_request');
    const big = await call(fns, 'POST', '/jobs', { token, body: { project_id: team.projectId, type: 'project.stats', payload: { blob: 'x'.repeat(70_000) } } });
    expectError(big, 413, 'payload_too_large');
    expect(await sql`select 1 from public.jobs where project_id = ${team.projectId}`).toHaveLength(0);
  });

  it('honours Idempotency-Key: same body → 200 and the first job; another body → 409', async () => {
    const team = await createTeam();
    const key = `key-${crypto.randomUUID()}`;
    const body = { project_id: team.projectId, ...sleep(10) };
    const first = await call(fns, 'POST', '/jobs', { token: team.tokens.collaborator, body, headers: { 'idempotency-key': key } });
    expect(first.status).toBe(202);
    expect(first.body.idempotency_key).toBe(key);
    const again = await call(fns, 'POST', '/jobs', { token: team.tokens.collaborator, body, headers: { 'idempotency-key': key } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('location')).toBe(`/functions/v1/jobs/${first.body.id}`);
    const other = await call(fns, 'POST', '/jobs', { token: team.tokens.collaborator, body: { ...body, payload: { ms: 11 } }, headers: { 'idempotency-key': key } });
    expectError(other, 409, 'idempotency_conflict');
    const otherType = await call(fns, 'POST', '/jobs', { token: team.tokens.collaborator, body: { project_id: team.projectId, type: 'project.stats' }, headers: { 'idempotency-key': key } });
    expectError(otherType, 409, 'idempotency_conflict');
    // The key is the caller's: another user with the same key gets their own job.
    const byOwner = await call(fns, 'POST', '/jobs', { token: team.tokens.owner, body, headers: { 'idempotency-key': key } });
    expect(byOwner.status).toBe(202);
    expect(byOwner.body.id).not.toBe(first.body.id);
    // Concurrent retries with one key create one job.
    const concurrentKey = `key-${crypto.randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 6 }, () => call(fns, 'POST', '/jobs', { token: team.tokens.collaborator, body, headers: { 'idempotency-key': concurrentKey } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 202]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expectError(await call(fns, 'POST', '/jobs', { token: team.tokens.collaborator, body, headers: { 'idempotency-key': 'x'.repeat(256) } }), 400, 'invalid_request');
  });
});

describe('reading jobs', () => {
  it('GET /jobs/:id for members; 404 for others', async () => {
    const team = await createTeam();
    const created = await call(fns, 'POST', '/jobs', { token: team.tokens.owner, body: { project_id: team.projectId, ...sleep() } });
    for (const role of ['owner', 'collaborator', 'viewer'] as const) {
      const res = await call(fns, 'GET', `/jobs/${created.body.id}`, { token: team.tokens[role] });
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(created.body.id);
    }
    expectError(await call(fns, 'GET', `/jobs/${created.body.id}`, { token: team.tokens.outsider }), 404, 'not_found');
    expectError(await call(fns, 'GET', `/jobs/${created.body.id.toUpperCase()}x`, { token: team.tokens.owner }), 400, 'invalid_request');
  });

  it('lists with keyset pagination, status filter and project filter', async () => {
    const team = await createTeam();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await call(fns, 'POST', '/jobs', { token: team.tokens.owner, body: { project_id: team.projectId, ...sleep(i) } });
      ids.push(res.body.id);
    }
    await sql`update public.jobs set status = 'running' where id = ${ids[1]!}`;
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/jobs?project_id=${team.projectId}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await call(fns, 'GET', query, { token: team.tokens.viewer });
      expect(page.status, page.text).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((job: { id: string }) => job.id));
      cursor = page.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
    const running = await call(fns, 'GET', `/jobs?project_id=${team.projectId}&status=running`, { token: team.tokens.viewer });
    expect(running.body.data.map((job: { id: string }) => job.id)).toEqual([ids[1]]);
    expect(running.body.next_cursor).toBeNull();
    const mine = await call(fns, 'GET', '/jobs?limit=100', { token: team.tokens.viewer });
    expect(mine.body.data.map((job: { id: string }) => job.id).sort()).toEqual([...ids].sort());
    expect((await call(fns, 'GET', '/jobs', { token: team.tokens.outsider })).body).toEqual({ data: [], next_cursor: null });
    expectError(await call(fns, 'GET', `/jobs?project_id=${team.projectId}`, { token: team.tokens.outsider }), 404, 'not_found');
    expectError(await call(fns, 'GET', '/jobs?cursor=garbage', { token: team.tokens.viewer }), 400, 'invalid_request');
    expectError(await call(fns, 'GET', '/jobs?limit=0', { token: team.tokens.viewer }), 400, 'invalid_request');
    expectError(await call(fns, 'GET', '/jobs?limit=101', { token: team.tokens.viewer }), 400, 'invalid_request');
    expectError(await call(fns, 'GET', '/jobs?status=done', { token: team.tokens.viewer }), 400, 'invalid_request');
    expectError(await call(fns, 'GET', '/jobs?project_id=nope', { token: team.tokens.viewer }), 400, 'invalid_request');
  });
});

describe('cancel and retry', () => {
  it('follows the role matrix: own jobs for collaborators, any job for owners', async () => {
    const team = await createTeam();
    const second = await createUser(sql);
    await sql`insert into public.project_members (project_id, user_id, role) values (${team.projectId}, ${second.id}, 'collaborator')`;
    const secondToken = await tokenFor(second);
    const submit = async (token: string) => (await call(fns, 'POST', '/jobs', { token, body: { project_id: team.projectId, ...sleep() } })).body.id as string;

    const own = await submit(team.tokens.collaborator);
    expectError(await call(fns, 'POST', `/jobs/${own}/cancel`, { token: team.tokens.viewer }), 403, 'forbidden');
    expectError(await call(fns, 'POST', `/jobs/${own}/cancel`, { token: secondToken }), 403, 'forbidden');
    expectError(await call(fns, 'POST', `/jobs/${own}/cancel`, { token: team.tokens.outsider }), 404, 'not_found');
    expectError(await call(fns, 'POST', `/jobs/${crypto.randomUUID()}/cancel`, { token: team.tokens.owner }), 404, 'not_found');
    const cancelled = await call(fns, 'POST', `/jobs/${own}/cancel`, { token: team.tokens.collaborator });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id: own, status: 'cancelled' });
    expect(cancelled.body.cancel_requested_at).toBeTruthy();
    expectError(await call(fns, 'POST', `/jobs/${own}/cancel`, { token: team.tokens.collaborator }), 409, 'conflict');

    expectError(await call(fns, 'POST', `/jobs/${own}/retry`, { token: team.tokens.viewer }), 403, 'forbidden');
    expectError(await call(fns, 'POST', `/jobs/${own}/retry`, { token: secondToken }), 403, 'forbidden');
    const retried = await call(fns, 'POST', `/jobs/${own}/retry`, { token: team.tokens.collaborator });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ id: own, status: 'queued', attempts: 0, cancel_requested_at: null });
    expectError(await call(fns, 'POST', `/jobs/${own}/retry`, { token: team.tokens.collaborator }), 409, 'conflict');

    const others = await submit(secondToken);
    const byOwner = await call(fns, 'POST', `/jobs/${others}/cancel`, { token: team.tokens.owner });
    expect(byOwner.body.status).toBe('cancelled');
    expect((await call(fns, 'POST', `/jobs/${others}/retry`, { token: team.tokens.owner })).body.status).toBe('queued');
    expectError(await call(fns, 'GET', `/jobs/${others}/cancel`, { token: team.tokens.owner }), 405, 'method_not_allowed');
  });
});

describe('public routes', () => {
  it('health, openapi.json and docs are public', async () => {
    expect((await call(fns, 'GET', '/jobs/health')).body).toEqual({ status: 'ok', postgres: 'ok', redis: 'ok' });
    const doc = await call(fns, 'GET', '/jobs/openapi.json');
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/jobs', '/jobs/{id}', '/jobs/{id}/cancel', '/jobs/{id}/retry']));
    expect(doc.body.paths['/jobs'].post.parameters.some((p: { name: string }) => p.name.toLowerCase() === 'idempotency-key')).toBe(true);
    expect((await call(fns, 'GET', '/jobs/docs')).status).toBe(200);
  });
});

describe('with TANDEM_DIAGNOSTIC_JOBS unset (a deployment: diagnostic types off)', () => {
  let off: TestFunctions;

  beforeAll(async () => {
    // functionEnv turns them on for the suites; an empty value is the same as unset.
    off = await startTestFunctions({ redisUrl, applicationName: 'fn-jobs-off-test', functions: ['jobs'], env: { TANDEM_DIAGNOSTIC_JOBS: '' } });
  });

  afterAll(async () => {
    await off?.stop();
  });

  it('answers a diagnostic type with the unknown-type 400, saying why, and writes nothing', async () => {
    const team = await createTeam();
    const res = await call(off, 'POST', '/jobs', { token: team.tokens.owner, body: { project_id: team.projectId, ...sleep(5) } });
    expectError(res, 400, 'invalid_request');
    expect(res.body.error.message).toMatch(/^job type "diagnostic\.sleep" is a diagnostic type, which is off here \(TANDEM_DIAGNOSTIC_JOBS/);
    expect(res.body.error.details.known_types).toEqual(['project.export', 'project.stats']);
    const [rows] = await sql<{ n: number }[]>`select count(*)::int as n from public.jobs where project_id = ${team.projectId}`;
    expect(rows!.n).toBe(0);
  });

  it('accepts the product types (project.export, as in the deployment examples)', async () => {
    const team = await createTeam();
    const res = await call(off, 'POST', '/jobs', {
      token: team.tokens.owner,
      body: { project_id: team.projectId, type: 'project.export', payload: { include_jobs: true } },
    });
    expect(res.status, res.text).toBe(202);
    expect(res.body).toMatchObject({ type: 'project.export', status: 'queued', payload: { include_jobs: true } });
  });
});
