/**
 * The local Data API with the real @supabase/supabase-js through the devstack gateway,
 * on the migrations' tables and grants: every read feature and error shape as
 * supabase-js surfaces them, the role matrix on every table, the per-request settings
 * PostgREST sets, and bad input in every parameter and header (always a 4xx in
 * PostgREST's shape, never a 500).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUsers, seedProjects, startRestStack, type RestStack } from './stack.ts';

let stack: RestStack;
const users = { owner: randomUUID(), collaborator: randomUUID(), viewer: randomUUID(), outsider: randomUUID() };
const email = (id: string) => `rest-${id}@test.tandem.dev`;
const projectId = randomUUID();
const otherProjectId = randomUUID();
const tokens: Record<string, string> = {};

const PROBE = `
create schema probe;
grant usage on schema probe to anon, authenticated;
create view probe.settings as
  select current_user::text as role,
         current_setting('request.method', true) as method,
         current_setting('request.path', true) as path,
         current_setting('request.headers', true)::json->>'x-probe' as probe,
         current_setting('request.headers', true)::json->>'authorization' is not null as has_authorization,
         current_setting('request.cookies', true)::json->>'c' as cookie,
         current_setting('request.jwt.claims', true)::json->>'sub' as sub,
         current_setting('statement_timeout') as statement_timeout,
         current_setting('search_path') as search_path,
         current_setting('transaction_read_only') as read_only;
grant select on probe.settings to anon, authenticated;
`;

beforeAll(async () => {
  stack = await startRestStack({ setupSql: PROBE, config: { schemas: ['public', 'graphql_public', 'probe'] } });
  const { admin } = stack;
  Object.assign(tokens, await createUsers(stack, Object.values(users), email));
  await seedProjects(stack, users, projectId, otherProjectId);
  await admin`insert into public.jobs (project_id, created_by, type) values (${projectId}, ${users.collaborator}, 'demo.echo'), (${otherProjectId}, ${users.outsider}, 'demo.echo')`;
  await admin`insert into public.project_invitations (project_id, email, token_hash, invited_by) values (${projectId}, 'x@test.tandem.dev', ${randomBytes(32).toString('hex')}, ${users.owner})`;
});
afterAll(() => stack?.stop());

const client = (who?: keyof typeof users) => stack.client(who ? tokens[users[who]] : undefined);

describe('reads through supabase-js', () => {
  it('selects columns, filters, orders and pages', async () => {
    const db = client('owner');
    const { data, error, status } = await db.from('projects').select('id, name').eq('id', projectId);
    expect(error).toBeNull();
    expect(status).toBe(200);
    expect(data).toEqual([{ id: projectId, name: 'Apollo' }]);
    const members = await db.from('project_members').select('role').order('role', { ascending: false }).range(0, 1);
    expect(members.data).toEqual([{ role: 'viewer' }, { role: 'collaborator' }]);
    const ored = await db.from('project_members').select('role').or('role.eq.owner,role.eq.viewer').order('role');
    expect(ored.data).toEqual([{ role: 'owner' }, { role: 'viewer' }]);
    const within = await db.from('project_members').select('user_id').in('user_id', [users.owner, users.viewer]).not('role', 'eq', 'owner');
    expect(within.data).toEqual([{ user_id: users.viewer }]);
    const like = await db.from('projects').select('name').ilike('name', 'apo%');
    expect(like.data).toEqual([{ name: 'Apollo' }]);
  });

  it('counts exactly, planned and estimated, with head', async () => {
    const db = client('owner');
    const exact = await db.from('project_members').select('*', { count: 'exact' }).limit(1);
    expect({ count: exact.count, status: exact.status, rows: exact.data?.length }).toEqual({ count: 3, status: 206, rows: 1 });
    const head = await db.from('project_members').select('*', { count: 'exact', head: true });
    expect({ count: head.count, data: head.data, status: head.status }).toEqual({ count: 3, data: null, status: 200 });
    const planned = await db.from('project_members').select('*', { count: 'planned', head: true });
    expect(typeof planned.count).toBe('number');
    const estimated = await db.from('project_members').select('*', { count: 'estimated', head: true });
    expect(estimated.count).toBe(3);
  });

  it('single() and maybeSingle() as PostgREST answers them', async () => {
    const db = client('owner');
    expect((await db.from('projects').select('name').eq('id', projectId).single()).data).toEqual({ name: 'Apollo' });
    const many = await db.from('project_members').select('role').single();
    expect({ status: many.status, code: many.error?.code, message: many.error?.message, details: many.error?.details }).toEqual({
      status: 406,
      code: 'PGRST116',
      message: 'Cannot coerce the result to a single JSON object',
      details: 'The result contains 3 rows',
    });
    const none = await db.from('projects').select('name').eq('id', randomUUID()).maybeSingle();
    expect({ data: none.data, error: none.error }).toEqual({ data: null, error: null });
  });

  it('csv() and JSON paths and casts', async () => {
    const db = client('owner');
    const csv = await db.from('projects').select('name').eq('id', projectId).csv();
    expect(csv.data).toBe('name\nApollo');
    const cast = await db.from('jobs').select('attempts::text, p:payload->x').eq('project_id', projectId);
    expect(cast.data).toEqual([{ attempts: '0', p: null }]);
  });

  it('surfaces code, message, details and hint of every error shape', async () => {
    const db = client('owner');
    const badUuid = await db.from('projects').select('id').eq('id', 'not-a-uuid');
    expect({ status: badUuid.status, error: badUuid.error }).toMatchObject({ status: 400, error: { code: '22P02', message: 'invalid input syntax for type uuid: "not-a-uuid"', details: null, hint: null } });
    const table = await db.from('projectz').select('*');
    expect({ status: table.status, error: table.error }).toMatchObject({ status: 404, error: { code: 'PGRST205', hint: "Perhaps you meant the table 'public.projects'" } });
    const column = await db.from('projects').select('nope');
    expect({ status: column.status, code: column.error?.code, message: column.error?.message }).toEqual({ status: 400, code: '42703', message: 'column projects.nope does not exist' });
    const parse = await db.from('projects').select('id').filter('name', 'noop', 'x');
    expect({ status: parse.status, code: parse.error?.code }).toEqual({ status: 400, code: 'PGRST100' });
    const hidden = await db.from('project_invitations').select('*');
    expect({ status: hidden.status, code: hidden.error?.code, message: hidden.error?.message }).toEqual({ status: 403, code: '42501', message: 'permission denied for table project_invitations' });
  });

});

describe('the role matrix through /rest/v1', () => {
  type Expect = number | { status: number; code: string };
  const denied = (status: number) => ({ status, code: '42501' });
  // rows visible per table (profiles: self and co-members; invitations: id only, owners).
  const matrix: Record<string, Record<string, Expect>> = {
    anon: { projects: denied(401), project_members: denied(401), profiles: denied(401), jobs: denied(401), 'project_invitations?select=id': denied(401) },
    owner: { projects: 1, project_members: 3, profiles: 3, jobs: 1, 'project_invitations?select=id': 1 },
    collaborator: { projects: 1, project_members: 3, profiles: 3, jobs: 1, 'project_invitations?select=id': 0 },
    viewer: { projects: 1, project_members: 3, profiles: 3, jobs: 1, 'project_invitations?select=id': 0 },
    outsider: { projects: 1, project_members: 1, profiles: 1, jobs: 1, 'project_invitations?select=id': 0 },
    service_role: { projects: 2, project_members: 4, profiles: 4, jobs: 2, 'project_invitations?select=id': 1 },
  };
  const rows = Object.entries(matrix).flatMap(([role, tables]) => Object.entries(tables).map(([table, expected]) => ({ role, table, expected })));

  it.each(rows)('$role reads $table', async ({ role, table, expected }) => {
    const token = role === 'anon' ? stack.anonKey : role === 'service_role' ? stack.serviceKey : tokens[users[role as keyof typeof users]]!;
    const response = await stack.rest(`/${table}`, { token });
    const body = (await response.json()) as unknown;
    if (typeof expected === 'number') {
      expect({ status: response.status, rows: (body as unknown[]).length }).toEqual({ status: 200, rows: expected });
    } else {
      expect({ status: response.status, code: (body as { code: string }).code }).toEqual(expected);
    }
  });

  it('never shows another tenant a row of a project it is not in', async () => {
    const { data } = await client('collaborator').from('jobs').select('project_id');
    expect(data).toEqual([{ project_id: projectId }]);
    const other = await client('owner').from('projects').select('id').eq('id', otherProjectId);
    expect(other.data).toEqual([]);
  });
});

describe('per-request settings, as PostgREST sets them', () => {
  it('role, claims, method, path, headers, cookies, the role timeout, search_path, read only', async () => {
    const response = await stack.rest('/settings', { token: tokens[users.viewer], headers: { 'accept-profile': 'probe', 'x-probe': 'hello', cookie: 'c=1' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-profile')).toBe('probe');
    expect(await response.json()).toEqual([
      { role: 'authenticated', method: 'GET', path: '/settings', probe: 'hello', has_authorization: true, cookie: '1', sub: users.viewer, statement_timeout: '8s', search_path: '"probe", "public", "extensions"', read_only: 'on' },
    ]);
    const anon = await stack.client().schema('probe').from('settings').select('role, statement_timeout, sub');
    expect(anon.data).toEqual([{ role: 'anon', statement_timeout: '3s', sub: null }]);
  });

  it('Prefer: timezone sets the timezone of the transaction; a bad one is a 400 from Postgres', async () => {
    const response = await stack.rest('/projects?select=created_at&limit=1', { token: tokens[users.owner], headers: { prefer: 'timezone=America/Los_Angeles' } });
    expect(response.headers.get('preference-applied')).toBe('timezone=America/Los_Angeles');
    const [row] = (await response.json()) as { created_at: string }[];
    expect(row?.created_at).toMatch(/-0[78]:00$/);
    const bad = await stack.rest('/projects', { token: tokens[users.owner], headers: { prefer: 'timezone=Nowhere/Else' } });
    expect({ status: bad.status, code: ((await bad.json()) as { code: string }).code }).toEqual({ status: 400, code: '22023' });
  });

  it('skips exposed schemas that do not exist, with a warning', () => {
    expect(stack.warnings.some((w) => w.includes('"graphql_public"'))).toBe(true);
  });

  it('applies the gateway rule: no token is anon; a bad token is PGRST301/PGRST303', async () => {
    const none = await stack.rest('/projects', { token: null, headers: { apikey: 'not-a-jwt' } });
    expect({ status: none.status, code: ((await none.json()) as { code: string }).code }).toEqual({ status: 401, code: '42501' });
    const forged = await stack.rest('/projects', { token: `${tokens[users.owner]!.slice(0, -4)}AAAA` });
    expect({ status: forged.status, body: await forged.json() }).toEqual({ status: 401, body: { code: 'PGRST301', message: 'JWT cryptographic operation failed', details: null, hint: null } });
    const expired = await stack.rest('/projects', { token: await stack.sign({ sub: users.owner, role: 'authenticated' }, Math.floor(Date.now() / 1000) - 60) });
    expect({ status: expired.status, body: await expired.json() }).toEqual({ status: 401, body: { code: 'PGRST303', message: 'JWT expired', details: null, hint: null } });
    expect(expired.headers.get('www-authenticate')).toBe('Bearer error="invalid_token", error_description="JWT expired"');
    const nope = await stack.rest('/projects', { token: await stack.sign({ role: 'nobody' }) });
    expect({ status: nope.status, body: await nope.json() }).toEqual({ status: 401, body: { code: '22023', message: 'role "nobody" does not exist', details: null, hint: null } });
    const postgresRole = await stack.rest('/projects', { token: await stack.sign({ role: 'postgres' }) });
    expect({ status: postgresRole.status, code: ((await postgresRole.json()) as { code: string }).code }).toEqual({ status: 403, code: '42501' });
  });
});

describe('bad input and injection attempts get a 4xx in PostgREST shape', () => {
  const attempts: { name: string; path: string; headers?: Record<string, string> }[] = [
    { name: 'SQL in an in-list', path: '/projects?id=in.(1);drop table public.projects' },
    { name: 'a quoted column name', path: '/projects?select="id"";drop table x;--"' },
    { name: 'SQL in a column name', path: '/projects?select=id;drop table public.projects' },
    { name: 'SQL in a cast', path: '/projects?select=id::text union select token_hash from public.project_invitations' },
    { name: 'a cast closing the expression', path: '/projects?select=id::text);drop table x;--' },
    { name: 'SQL in order', path: '/projects?order=id;drop table public.projects' },
    { name: 'SQL in a filter column', path: '/projects?id;drop=eq.1' },
    { name: 'SQL in a table name', path: '/projects;drop%20table%20x' },
    { name: 'a table in another schema', path: '/auth.users' },
    { name: 'SQL in a JSON key', path: "/jobs?select=payload->>'a'');drop table x;--" },
    { name: 'SQL in an or tree', path: "/projects?or=(name.eq.x');drop table x;--,id.eq.1)" },
    { name: 'a NUL in a value', path: '/projects?name=eq.%00' },
    { name: 'a negative offset', path: '/projects?offset=-5&limit=1' },
    { name: 'deeply nested logic', path: `/projects?or=${'('.repeat(200)}` },
    { name: 'an Accept-Profile injection', path: '/projects', headers: { 'accept-profile': 'public"; drop table x; --' } },
    { name: 'a private schema profile', path: '/projects', headers: { 'accept-profile': 'private' } },
    { name: 'a garbage Range', path: '/projects?select=nope', headers: { range: 'bytes=0-1' } },
    { name: 'a garbage Prefer with strict handling', path: '/projects', headers: { prefer: "handling=strict, count=exact'; drop" } },
    { name: 'a garbage Accept', path: '/projects', headers: { accept: 'application/evil"; x' } },
    { name: 'a malformed Authorization', path: '/projects', headers: { authorization: 'Bearer a.b' } },
    { name: 'a malformed percent escape', path: '/projects?name=eq.%ZZ&select=nope' },
    { name: 'a lone surrogate', path: '/projects?name=eq.%ED%A0%80&select=nope' },
    { name: 'an unknown operator in upper case', path: '/projects?name=EQ.x' },
    { name: 'a malformed uuid', path: `/projects?id=eq.${'a'.repeat(5000)}` },
  ];

  it.each(attempts)('$name', async ({ path, headers }) => {
    const response = await stack.rest(path, { token: tokens[users.owner], headers });
    const body = (await response.json()) as Record<string, unknown>;
    expect(response.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
    expect(response.status, JSON.stringify(body)).toBeLessThan(500);
    expect(Object.keys(body).sort()).toEqual(['code', 'details', 'hint', 'message']);
  });

  it('values are only ever values: SQL in one matches nothing, a huge limit is cut to max_rows', async () => {
    const sqlValue = await stack.rest("/projects?name=eq.'; drop table public.projects; --", { token: tokens[users.owner] });
    expect({ status: sqlValue.status, body: await sqlValue.json() }).toEqual({ status: 200, body: [] });
    const huge = await stack.rest('/projects?select=id&limit=99999999999999999999999', { token: tokens[users.owner] });
    expect({ status: huge.status, body: await huge.json() }).toEqual({ status: 200, body: [{ id: projectId }] });
  });

  it('the tables are all still there', async () => {
    const [row] = await stack.admin<{ n: number }[]>`select count(*)::int as n from public.projects`;
    expect(row?.n).toBe(2);
  });
});
