/**
 * Requests at the edges of the contract, through both functions over HTTP: a deleted
 * user's still-valid token on every route, ids in upper case, an expired invitation, and
 * Idempotency-Key scoped to the caller who sent it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRedisUrl } from '../harness/redis.ts';
import { adminSql, createUser, type Sql, type TestUser } from '../harness/db.ts';
import { call, expectError, startTestFunctions, tokenFor, type TestFunctions } from './helpers.ts';

let fns: TestFunctions;
let sql: Sql;

beforeAll(async () => {
  sql = adminSql();
  fns = await startTestFunctions({ redisUrl: runRedisUrl(8), applicationName: 'fn-edge-cases' });
});

afterAll(async () => {
  await fns?.stop();
  await sql?.end();
});

/** A project its owner created through the API, with a collaborator added by SQL. */
async function createTeam(): Promise<{ owner: TestUser; collaborator: TestUser; tokens: { owner: string; collaborator: string }; projectId: string }> {
  const [owner, collaborator] = await Promise.all([createUser(sql), createUser(sql)]);
  const tokens = { owner: await tokenFor(owner), collaborator: await tokenFor(collaborator) };
  const created = await call(fns, 'POST', '/projects', { token: tokens.owner, body: { name: 'Edge cases' } });
  expect(created.status, created.text).toBe(201);
  await sql`insert into public.project_members (project_id, user_id, role) values (${created.body.id}, ${collaborator.id}, 'collaborator')`;
  return { owner, collaborator, tokens, projectId: created.body.id };
}

/** Every route of both functions that needs a token, from their OpenAPI documents. */
async function protectedRoutes(): Promise<{ method: string; path: string }[]> {
  const routes: { method: string; path: string }[] = [];
  for (const name of ['projects', 'jobs']) {
    const doc = await call(fns, 'GET', `/${name}/openapi.json`);
    expect(doc.status).toBe(200);
    for (const [path, operations] of Object.entries(doc.body.paths as Record<string, Record<string, { security?: unknown[] }>>)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (operation.security?.length) routes.push({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, () => crypto.randomUUID()) });
      }
    }
  }
  return routes;
}

describe("a deleted user's still-valid token", () => {
  it('is refused with 401 "user no longer exists" on every route', async () => {
    const team = await createTeam();
    const routes = await protectedRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(15);
    // The collaborator was added by SQL: the functions have not seen them before.
    await sql`delete from auth.users where id = ${team.collaborator.id}`;
    for (const route of routes) {
      const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : {};
      const res = await call(fns, route.method, route.path, { token: team.tokens.collaborator, body });
      expectError(res, 401, 'unauthorized');
      expect(res.body.error.message, `${route.method} ${route.path}`).toBe('user no longer exists');
    }
  });

  it('may not write at once, and may not read within a second, when the user was just seen', async () => {
    const team = await createTeam();
    expect((await call(fns, 'GET', '/projects', { token: team.tokens.collaborator })).status).toBe(200);
    await sql`delete from auth.users where id = ${team.collaborator.id}`;
    // A write always asks Postgres.
    const write = await call(fns, 'POST', '/projects', { token: team.tokens.collaborator, body: { name: 'ghost' } });
    expectError(write, 401, 'unauthorized');
    expect(write.body.error.message).toBe('user no longer exists');
    // A read may reuse the answer of a moment ago, for at most a second.
    await expect
      .poll(async () => (await call(fns, 'GET', '/projects', { token: team.tokens.collaborator })).body?.error?.message, { timeout: 5_000, interval: 100 })
      .toBe('user no longer exists');
    // A soft-deleted user (GoTrue's deleted_at) is gone too.
    const soft = await createUser(sql);
    await sql`update auth.users set deleted_at = now() where id = ${soft.id}`;
    expectError(await call(fns, 'GET', '/jobs', { token: await tokenFor(soft) }), 401, 'unauthorized');
  });
});

describe('ids in upper case', () => {
  it('get the same answer as in lower case', async () => {
    const team = await createTeam();
    const upper = team.projectId.toUpperCase();
    const same = async (path: (id: string) => string) => {
      const lower = await call(fns, 'GET', path(team.projectId), { token: team.tokens.owner });
      const shouted = await call(fns, 'GET', path(upper), { token: team.tokens.owner });
      expect(lower.status, lower.text).toBe(200);
      expect({ status: shouted.status, body: shouted.body }).toEqual({ status: 200, body: lower.body });
    };
    await same((id) => `/projects/${id}`);
    await same((id) => `/projects/${id}/members`);
    await same((id) => `/projects/${id}/invitations`);
    await same((id) => `/jobs?project_id=${id}`);

    const invite = await call(fns, 'POST', `/projects/${upper}/invitations`, { token: team.tokens.owner, body: { email: 'shout@example.com' } });
    expect(invite.status, invite.text).toBe(201);
    const revoked = await call(fns, 'DELETE', `/projects/${upper}/invitations/${invite.body.id.toUpperCase()}`, { token: team.tokens.owner });
    expect(revoked.status, revoked.text).toBe(204);
    const [row] = await sql<{ revoked: boolean }[]>`select revoked_at is not null as revoked from public.project_invitations where id = ${invite.body.id}`;
    expect(row!.revoked).toBe(true);

    const job = await call(fns, 'POST', '/jobs', { token: team.tokens.owner, body: { project_id: upper, type: 'project.stats' } });
    expect(job.status, job.text).toBe(202);
    expect(job.body.project_id).toBe(team.projectId);
    const read = await call(fns, 'GET', `/jobs/${job.body.id.toUpperCase()}`, { token: team.tokens.owner });
    expect(read.status).toBe(200);
    expect(read.body.id).toBe(job.body.id);
    const member = await call(fns, 'PATCH', `/projects/${upper}/members/${team.collaborator.id.toUpperCase()}`, { token: team.tokens.owner, body: { role: 'viewer' } });
    expect(member.status, member.text).toBe(200);
  });
});

describe('invitations', () => {
  it('an expired invitation cannot be accepted (409) and makes no member', async () => {
    const team = await createTeam();
    const invitee = await createUser(sql);
    const created = await call(fns, 'POST', `/projects/${team.projectId}/invitations`, { token: team.tokens.owner, body: { email: invitee.email, role: 'viewer' } });
    expect(created.status, created.text).toBe(201);
    await sql`update public.project_invitations set expires_at = now() - interval '1 second' where id = ${created.body.id}`;
    const accepted = await call(fns, 'POST', '/projects/invitations/accept', { token: await tokenFor(invitee), body: { token: created.body.token } });
    expectError(accepted, 409, 'conflict');
    expect(accepted.body.error.message).toMatch(/expired/);
    expect(await sql`select 1 from public.project_members where project_id = ${team.projectId} and user_id = ${invitee.id}`).toHaveLength(0);
  });
});

describe('Idempotency-Key', () => {
  it('is scoped to the caller: the same key from two users makes two jobs, each replayed to its own sender', async () => {
    const team = await createTeam();
    const key = `shared-${crypto.randomUUID()}`;
    const bodyA = { project_id: team.projectId, type: 'diagnostic.sleep', payload: { ms: 1 } };
    const bodyB = { project_id: team.projectId, type: 'diagnostic.sleep', payload: { ms: 2 } };
    const submit = (token: string, body: unknown) => call(fns, 'POST', '/jobs', { token, body, headers: { 'idempotency-key': key } });

    const first = await submit(team.tokens.collaborator, bodyA);
    const second = await submit(team.tokens.owner, bodyB);
    expect([first.status, second.status], `${first.text} ${second.text}`).toEqual([202, 202]);
    expect(second.body.id).not.toBe(first.body.id);
    expect(first.body).toMatchObject({ created_by: team.collaborator.id, payload: { ms: 1 } });
    expect(second.body).toMatchObject({ created_by: team.owner.id, payload: { ms: 2 } });

    const replayA = await submit(team.tokens.collaborator, bodyA);
    const replayB = await submit(team.tokens.owner, bodyB);
    expect({ status: replayA.status, id: replayA.body.id }).toEqual({ status: 200, id: first.body.id });
    expect({ status: replayB.status, id: replayB.body.id }).toEqual({ status: 200, id: second.body.id });
    // Each caller's key still guards their own body.
    expectError(await submit(team.tokens.collaborator, bodyB), 409, 'idempotency_conflict');
  });
});
