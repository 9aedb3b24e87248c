/**
 * The `projects` function over HTTP: every route's success and failure paths and the role
 * matrix (owner, collaborator, viewer, non-member, anonymous) as RLS decides it.
 */
import { createClient, FunctionsHttpError } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRedisUrl } from '../harness/redis.ts';
import { adminSql, createUser, type Sql, type TestUser } from '../harness/db.ts';
import { call, expectError, startTestFunctions, tokenFor, type TestFunctions } from './helpers.ts';

let fns: TestFunctions;
let sql: Sql;

beforeAll(async () => {
  sql = adminSql();
  fns = await startTestFunctions({ redisUrl: runRedisUrl(5), applicationName: 'fn-projects-test', functions: ['projects'] });
});

afterAll(async () => {
  await fns?.stop();
  await sql?.end();
});

interface Team {
  owner: TestUser;
  collaborator: TestUser;
  viewer: TestUser;
  outsider: TestUser;
  tokens: Record<'owner' | 'collaborator' | 'viewer' | 'outsider', string>;
  projectId: string;
}

/** A project created through the API by its owner, with a collaborator and a viewer added by SQL. */
async function createTeam(name = 'Team project'): Promise<Team> {
  const [owner, collaborator, viewer, outsider] = await Promise.all([createUser(sql), createUser(sql), createUser(sql), createUser(sql)]);
  const tokens = {
    owner: await tokenFor(owner!),
    collaborator: await tokenFor(collaborator!),
    viewer: await tokenFor(viewer!),
    outsider: await tokenFor(outsider!),
  };
  const created = await call(fns, 'POST', '/projects', { token: tokens.owner, body: { name, description: 'for tests' } });
  expect(created.status, created.text).toBe(201);
  const projectId = created.body.id as string;
  await sql`insert into public.project_members (project_id, user_id, role) values
    (${projectId}, ${collaborator!.id}, 'collaborator'), (${projectId}, ${viewer!.id}, 'viewer')`;
  return { owner: owner!, collaborator: collaborator!, viewer: viewer!, outsider: outsider!, tokens, projectId };
}

describe('public routes', () => {
  it('health reports Postgres and Redis', async () => {
    const res = await call(fns, 'GET', '/projects/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', postgres: 'ok', redis: 'ok' });
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect((await call(fns, 'GET', '/projects/health/')).status).toBe(200);
  });

  it('serves an OpenAPI 3.1 document generated from the routes', async () => {
    const res = await call(fns, 'GET', '/projects/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const paths = Object.keys(res.body.paths);
    for (const path of [
      '/projects',
      '/projects/{id}',
      '/projects/{id}/members',
      '/projects/{id}/members/{userId}',
      '/projects/{id}/invitations',
      '/projects/{id}/invitations/{invitationId}',
      '/projects/invitations/mine',
      '/projects/invitations/accept',
      '/projects/health',
    ]) {
      expect(paths).toContain(path);
    }
    expect(Object.keys(res.body.paths['/projects'])).toEqual(expect.arrayContaining(['get', 'post']));
    expect(res.body.components.schemas.CreateProject.properties.name).toBeTruthy();
    expect(res.body.components.securitySchemes.bearerAuth.scheme).toBe('bearer');
  });

  it('serves Swagger UI with local assets only', async () => {
    const page = await call(fns, 'GET', '/projects/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.text).not.toMatch(/https?:\/\//);
    const assets = [...page.text.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) {
      const res = await fetch(`${fns.url}/projects/${asset}`);
      expect(res.status, asset).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    }
    expectError(await call(fns, 'GET', '/projects/docs/assets/swagger-ui-dist/..%2Fpackage.json'), 404, 'not_found');
  });

  it('answers CORS preflights', async () => {
    const res = await fetch(`${fns.url}/projects/${crypto.randomUUID()}`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toContain('PATCH');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  });
});

describe('projects', () => {
  it('creates a project, makes the caller its owner and lists it', async () => {
    const alice = await createUser(sql);
    const token = await tokenFor(alice);
    const created = await call(fns, 'POST', '/projects', { token, body: { name: '  Apollo  ', description: 'Moon' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Apollo', description: 'Moon', role: 'owner', member_count: 1, created_by: alice.id });
    expect(created.body.created_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    const listed = await call(fns, 'GET', '/projects/', { token });
    expect(listed.status).toBe(200);
    expect(listed.body.next_cursor).toBeNull();
    expect(listed.body.data).toEqual([
      {
        id: created.body.id,
        name: 'Apollo',
        description: 'Moon',
        role: 'owner',
        member_count: 1,
        created_at: created.body.created_at,
        updated_at: created.body.updated_at,
      },
    ]);
  });

  it('stores SQL-looking and unicode text verbatim', async () => {
    const alice = await createUser(sql);
    const token = await tokenFor(alice);
    const name = "Robert'); DROP TABLE public.projects;-- 🚀 ñ 漢字";
    const description = "' OR 1=1 --\n\\x00 $1 ${name} <script>alert(1)</script>";
    const created = await call(fns, 'POST', '/projects', { token, body: { name, description } });
    expect(created.status).toBe(201);
    const [row] = await sql`select name, description from public.projects where id = ${created.body.id}`;
    expect(row).toEqual({ name, description });
  });

  it('reads a project by id with the caller role; others get 404', async () => {
    const team = await createTeam();
    for (const role of ['owner', 'collaborator', 'viewer'] as const) {
      const res = await call(fns, 'GET', `/projects/${team.projectId}`, { token: team.tokens[role] });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: team.projectId, role, member_count: 3 });
    }
    expectError(await call(fns, 'GET', `/projects/${team.projectId}`, { token: team.tokens.outsider }), 404, 'not_found');
    expectError(await call(fns, 'GET', `/projects/${crypto.randomUUID()}`, { token: team.tokens.owner }), 404, 'not_found');
    expectError(await call(fns, 'GET', `/projects/${team.projectId}`), 401, 'unauthorized');
  });

  it('edits: collaborators and owners yes, viewers 403, non-members 404', async () => {
    const team = await createTeam();
    const byCollaborator = await call(fns, 'PATCH', `/projects/${team.projectId}`, { token: team.tokens.collaborator, body: { name: 'Renamed' } });
    expect(byCollaborator.status).toBe(200);
    expect(byCollaborator.body).toMatchObject({ name: 'Renamed', description: 'for tests', role: 'collaborator' });
    const byOwner = await call(fns, 'PATCH', `/projects/${team.projectId}`, { token: team.tokens.owner, body: { description: '' } });
    expect(byOwner.body).toMatchObject({ name: 'Renamed', description: '' });
    expectError(await call(fns, 'PATCH', `/projects/${team.projectId}`, { token: team.tokens.viewer, body: { name: 'No' } }), 403, 'forbidden');
    expectError(await call(fns, 'PATCH', `/projects/${team.projectId}`, { token: team.tokens.outsider, body: { name: 'No' } }), 404, 'not_found');
    expectError(await call(fns, 'PATCH', `/projects/${team.projectId}`, { token: team.tokens.owner, body: {} }), 400, 'invalid_request');
    expectError(await call(fns, 'PATCH', `/projects/${team.projectId}`, { token: team.tokens.owner, body: { name: '   ' } }), 400, 'invalid_request');
    expectError(await call(fns, 'PATCH', `/projects/${team.projectId}`, { token: team.tokens.owner, body: { created_by: team.viewer.id } }), 400, 'invalid_request');
    const [row] = await sql`select name from public.projects where id = ${team.projectId}`;
    expect(row!.name).toBe('Renamed');
  });

  it('deletes: owners only (collaborator and viewer 403, non-member 404)', async () => {
    const team = await createTeam();
    expectError(await call(fns, 'DELETE', `/projects/${team.projectId}`, { token: team.tokens.collaborator }), 403, 'forbidden');
    expectError(await call(fns, 'DELETE', `/projects/${team.projectId}`, { token: team.tokens.viewer }), 403, 'forbidden');
    expectError(await call(fns, 'DELETE', `/projects/${team.projectId}`, { token: team.tokens.outsider }), 404, 'not_found');
    const deleted = await call(fns, 'DELETE', `/projects/${team.projectId}`, { token: team.tokens.owner });
    expect(deleted.status).toBe(204);
    expect(await sql`select 1 from public.projects where id = ${team.projectId}`).toHaveLength(0);
    expectError(await call(fns, 'DELETE', `/projects/${team.projectId}`, { token: team.tokens.owner }), 404, 'not_found');
  });

  it('validates ids as UUIDs and refuses bad bodies', async () => {
    const alice = await createUser(sql);
    const token = await tokenFor(alice);
    expectError(await call(fns, 'GET', '/projects/not-a-uuid', { token }), 400, 'invalid_request');
    expectError(await call(fns, 'POST', '/projects', { token, body: { name: 'x'.repeat(201) } }), 400, 'invalid_request');
    expectError(await call(fns, 'POST', '/projects', { token, body: { description: 'no name' } }), 400, 'invalid_request');
    expectError(await call(fns, 'POST', '/projects', { token, rawBody: '{"name":', headers: { 'content-type': 'application/json' } }), 400, 'invalid_request');
    expectError(await call(fns, 'POST', '/projects', { token, rawBody: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported_media_type');
    expectError(await call(fns, 'PUT', '/projects', { token, body: { name: 'x' } }), 405, 'method_not_allowed');
    expectError(await call(fns, 'GET', '/projects/a/b/c/d', { token }), 404, 'not_found');
  });
});

describe('members', () => {
  it('lists members with profiles to every member; 404 to others', async () => {
    const team = await createTeam();
    for (const role of ['owner', 'collaborator', 'viewer'] as const) {
      const res = await call(fns, 'GET', `/projects/${team.projectId}/members`, { token: team.tokens[role] });
      expect(res.status).toBe(200);
      expect(res.body.next_cursor).toBeNull();
      expect(res.body.data.map((m: { user_id: string; role: string }) => [m.user_id, m.role]).sort()).toEqual(
        [
          [team.owner.id, 'owner'],
          [team.collaborator.id, 'collaborator'],
          [team.viewer.id, 'viewer'],
        ].sort(),
      );
      expect(res.body.data.find((m: { user_id: string }) => m.user_id === team.viewer.id).email).toBe(team.viewer.email);
    }
    expectError(await call(fns, 'GET', `/projects/${team.projectId}/members`, { token: team.tokens.outsider }), 404, 'not_found');
  });

  it('changes roles: owners only; the last owner cannot be demoted (409)', async () => {
    const team = await createTeam();
    const path = `/projects/${team.projectId}/members/${team.viewer.id}`;
    expectError(await call(fns, 'PATCH', path, { token: team.tokens.collaborator, body: { role: 'owner' } }), 403, 'forbidden');
    expectError(await call(fns, 'PATCH', path, { token: team.tokens.viewer, body: { role: 'owner' } }), 403, 'forbidden');
    expectError(await call(fns, 'PATCH', path, { token: team.tokens.outsider, body: { role: 'owner' } }), 404, 'not_found');
    expectError(await call(fns, 'PATCH', path, { token: team.tokens.owner, body: { role: 'admin' } }), 400, 'invalid_request');
    const promoted = await call(fns, 'PATCH', path, { token: team.tokens.owner, body: { role: 'collaborator' } });
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({ user_id: team.viewer.id, role: 'collaborator' });
    const demoteLast = await call(fns, 'PATCH', `/projects/${team.projectId}/members/${team.owner.id}`, { token: team.tokens.owner, body: { role: 'viewer' } });
    expectError(demoteLast, 409, 'conflict');
    expect(demoteLast.body.error.message).toBe('a project must keep at least one owner');
    expectError(
      await call(fns, 'PATCH', `/projects/${team.projectId}/members/${team.outsider.id}`, { token: team.tokens.owner, body: { role: 'viewer' } }),
      404,
      'not_found',
    );
  });

  it('removes members (owners) and lets members leave; the last owner cannot leave', async () => {
    const team = await createTeam();
    expectError(
      await call(fns, 'DELETE', `/projects/${team.projectId}/members/${team.viewer.id}`, { token: team.tokens.collaborator }),
      403,
      'forbidden',
    );
    const left = await call(fns, 'DELETE', `/projects/${team.projectId}/members/${team.collaborator.id}`, { token: team.tokens.collaborator });
    expect(left.status).toBe(204);
    const removed = await call(fns, 'DELETE', `/projects/${team.projectId}/members/${team.viewer.id}`, { token: team.tokens.owner });
    expect(removed.status).toBe(204);
    const lastOwner = await call(fns, 'DELETE', `/projects/${team.projectId}/members/${team.owner.id}`, { token: team.tokens.owner });
    expectError(lastOwner, 409, 'conflict');
    expectError(await call(fns, 'GET', `/projects/${team.projectId}`, { token: team.tokens.viewer }), 404, 'not_found');
    const members = await sql`select user_id from public.project_members where project_id = ${team.projectId}`;
    expect(members.map((m) => m.user_id)).toEqual([team.owner.id]);
  });
});

describe('invitations', () => {
  it('owners invite, list and revoke; the invitee sees and accepts', async () => {
    const team = await createTeam();
    const invitee = await createUser(sql);
    const inviteeToken = await tokenFor(invitee);
    const created = await call(fns, 'POST', `/projects/${team.projectId}/invitations`, {
      token: team.tokens.owner,
      body: { email: invitee.email.toUpperCase(), role: 'collaborator' },
    });
    expect(created.status, created.text).toBe(201);
    // The contract's fields plus replaced_invitation_id (null: nothing was pending for the address).
    expect(Object.keys(created.body).sort()).toEqual(['email', 'expires_at', 'id', 'replaced_invitation_id', 'role', 'token']);
    expect(created.body).toMatchObject({ email: invitee.email, role: 'collaborator', replaced_invitation_id: null });

    const listed = await call(fns, 'GET', `/projects/${team.projectId}/invitations`, { token: team.tokens.owner });
    expect(listed.status).toBe(200);
    expect(listed.body.data).toEqual([expect.objectContaining({ id: created.body.id, status: 'pending', email: invitee.email })]);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token);

    const mine = await call(fns, 'GET', '/projects/invitations/mine', { token: inviteeToken });
    expect(mine.status).toBe(200);
    expect(mine.body.data).toEqual([expect.objectContaining({ id: created.body.id, project_id: team.projectId, role: 'collaborator' })]);

    expectError(await call(fns, 'POST', '/projects/invitations/accept', { token: team.tokens.outsider, body: { token: created.body.token } }), 403, 'forbidden');
    const accepted = await call(fns, 'POST', '/projects/invitations/accept', { token: inviteeToken, body: { token: created.body.token } });
    expect(accepted.status, accepted.text).toBe(200);
    expect(accepted.body).toMatchObject({ id: team.projectId, role: 'collaborator', member_count: 4 });
    expectError(await call(fns, 'POST', '/projects/invitations/accept', { token: inviteeToken, body: { token: created.body.token } }), 409, 'conflict');
    expectError(await call(fns, 'POST', '/projects/invitations/accept', { token: inviteeToken, body: { token: 'nope' } }), 404, 'not_found');
    expectError(await call(fns, 'POST', '/projects/invitations/accept', { token: inviteeToken, body: {} }), 400, 'invalid_request');

    const again = await call(fns, 'POST', `/projects/${team.projectId}/invitations`, { token: team.tokens.owner, body: { email: 'later@example.com' } });
    expect(again.status).toBe(201);
    expect(again.body.role).toBe('viewer');
    const revoke = `/projects/${team.projectId}/invitations/${again.body.id}`;
    expectError(await call(fns, 'DELETE', revoke, { token: team.tokens.collaborator }), 403, 'forbidden');
    expect((await call(fns, 'DELETE', revoke, { token: team.tokens.owner })).status).toBe(204);
    const after = await call(fns, 'GET', `/projects/${team.projectId}/invitations`, { token: team.tokens.owner });
    expect(after.body.data.find((i: { id: string }) => i.id === again.body.id).status).toBe('revoked');
    expectError(
      await call(fns, 'DELETE', `/projects/${team.projectId}/invitations/${created.body.id}`, { token: team.tokens.owner }),
      409,
      'conflict',
    );
  });

  it('invitees accept from their list (confirmed email only); a re-invite names what it replaced', async () => {
    const team = await createTeam();
    const invitee = await createUser(sql);
    const inviteeToken = await tokenFor(invitee);
    const first = await call(fns, 'POST', `/projects/${team.projectId}/invitations`, { token: team.tokens.owner, body: { email: invitee.email } });
    const second = await call(fns, 'POST', `/projects/${team.projectId}/invitations`, {
      token: team.tokens.owner,
      body: { email: invitee.email, role: 'collaborator' },
    });
    expect(second.status, second.text).toBe(201);
    expect(second.body.replaced_invitation_id).toBe(first.body.id);
    const listed = await call(fns, 'GET', `/projects/${team.projectId}/invitations`, { token: team.tokens.owner });
    expect(listed.body.data.find((i: { id: string }) => i.id === first.body.id)).toMatchObject({
      status: 'revoked', replaced_by: second.body.id, mailed_at: null, mail_attempts: 0, last_mail_error: null,
    });

    const fromList = (id: string, token: string) => call(fns, 'POST', `/projects/invitations/${id}/accept`, { token });
    expectError(await call(fns, 'POST', '/projects/invitations/not-a-uuid/accept', { token: inviteeToken }), 400, 'invalid_request');
    expectError(await fromList(second.body.id, team.tokens.outsider), 404, 'not_found');
    expectError(await fromList(first.body.id, inviteeToken), 409, 'conflict');
    await sql`update auth.users set email_confirmed_at = null where id = ${invitee.id}`;
    expectError(await fromList(second.body.id, inviteeToken), 403, 'forbidden');
    await sql`update auth.users set email_confirmed_at = now() where id = ${invitee.id}`;
    const accepted = await fromList(second.body.id, inviteeToken);
    expect(accepted.status, accepted.text).toBe(200);
    expect(accepted.body).toMatchObject({ id: team.projectId, role: 'collaborator' });
    expectError(await fromList(second.body.id, inviteeToken), 409, 'conflict');
  });

  it('re-inviting one address more than 5 times an hour is 429 rate_limited with Retry-After', async () => {
    const team = await createTeam();
    const invite = () => call(fns, 'POST', `/projects/${team.projectId}/invitations`, { token: team.tokens.owner, body: { email: 'often@example.com' } });
    for (let i = 0; i < 5; i += 1) expect((await invite()).status).toBe(201);
    const refused = await invite();
    expectError(refused, 429, 'rate_limited');
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(refused.body.error.message).toContain('5 times in the last hour');
  });

  it('only owners invite and list; others 403 or 404', async () => {
    const team = await createTeam();
    for (const role of ['collaborator', 'viewer'] as const) {
      expectError(await call(fns, 'GET', `/projects/${team.projectId}/invitations`, { token: team.tokens[role] }), 403, 'forbidden');
      expectError(
        await call(fns, 'POST', `/projects/${team.projectId}/invitations`, { token: team.tokens[role], body: { email: 'x@example.com' } }),
        403,
        'forbidden',
      );
    }
    expectError(await call(fns, 'GET', `/projects/${team.projectId}/invitations`, { token: team.tokens.outsider }), 404, 'not_found');
    expectError(
      await call(fns, 'POST', `/projects/${team.projectId}/invitations`, { token: team.tokens.outsider, body: { email: 'x@example.com' } }),
      404,
      'not_found',
    );
    expectError(
      await call(fns, 'POST', `/projects/${team.projectId}/invitations`, { token: team.tokens.owner, body: { email: 'not an email' } }),
      400,
      'invalid_request',
    );
    expectError(
      await call(fns, 'POST', `/projects/${team.projectId}/invitations`, { token: team.tokens.owner, body: { email: team.viewer.email } }),
      409,
      'conflict',
    );
    expectError(
      await call(fns, 'DELETE', `/projects/${team.projectId}/invitations/${crypto.randomUUID()}`, { token: team.tokens.owner }),
      404,
      'not_found',
    );
  });

  it('keeps static routes ahead of /:id', async () => {
    const alice = await createUser(sql);
    const token = await tokenFor(alice);
    const mine = await call(fns, 'GET', '/projects/invitations/mine', { token });
    expect(mine.status).toBe(200);
    expect(mine.body).toEqual({ data: [], next_cursor: null });
    expectError(await call(fns, 'GET', '/projects/invitations/accept', { token }), 405, 'method_not_allowed');
    expect((await call(fns, 'GET', '/projects/invitations/accept', { token })).headers.get('allow')).toContain('POST');
  });
});

describe('logs', () => {
  it('writes one JSON line per request with request id, user id, route, status and duration', async () => {
    const alice = await createUser(sql);
    const res = await call(fns, 'GET', '/projects', { token: await tokenFor(alice), headers: { 'x-request-id': 'trace-123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-123');
    await expect.poll(() => fns.lines.some((line) => line.includes('"trace-123"'))).toBe(true);
    const entry = fns.lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line)).find((e) => e.request_id === 'trace-123' && e.msg === 'request');
    expect(entry).toMatchObject({ level: 'info', user_id: alice.id, method: 'GET', route: '/projects', status: 200 });
    expect(typeof entry.duration_ms).toBe('number');
  });
});

describe('supabase-js', () => {
  it('works through functions.invoke, with errors as FunctionsHttpError', async () => {
    const alice = await createUser(sql);
    const supabase = createClient(fns.url.replace(/\/functions\/v1$/, ''), 'anon-key-not-checked-here', {
      auth: { persistSession: false, autoRefreshToken: false },
    });
    supabase.functions.setAuth(await tokenFor(alice));
    const created = await supabase.functions.invoke('projects', { body: { name: 'Via supabase-js' } });
    expect(created.error).toBeNull();
    expect(created.data).toMatchObject({ name: 'Via supabase-js', role: 'owner' });
    const listed = await supabase.functions.invoke('projects', { method: 'GET' });
    expect(listed.data.data.map((p: { id: string }) => p.id)).toEqual([created.data.id]);
    const missing = await supabase.functions.invoke(`projects/${crypto.randomUUID()}`, { method: 'GET' });
    expect(missing.error).toBeInstanceOf(FunctionsHttpError);
    const response = (missing.error as FunctionsHttpError).context as Response;
    expect(response.status).toBe(404);
    expect((await response.json()).error.code).toBe('not_found');
  });
});
