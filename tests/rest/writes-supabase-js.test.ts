/**
 * Writes of the local Data API with the real @supabase/supabase-js through the devstack
 * gateway, on the migrations' tables, grants and policies: insert, insert many, upsert
 * with both resolutions, update, delete, select on written rows, return=minimal, counts,
 * errors; the write path under every role (owner, collaborator, viewer, outsider, anon,
 * service_role); the project takeover decided by
 * supabase/migrations/20261202000100_projects_owner_only_for_inserted_rows.sql; and bad
 * input that is a 4xx and writes nothing.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUsers, seedProjects, startRestStack, type RestStack } from './stack.ts';

let stack: RestStack;
const users = { owner: randomUUID(), collaborator: randomUUID(), viewer: randomUUID(), outsider: randomUUID() };
type Who = keyof typeof users;
const email = (id: string) => `rest-w-${id}@test.tandem.dev`;
const projectId = randomUUID();
const otherProjectId = randomUUID();
const tokens: Record<string, string> = {};

beforeAll(async () => {
  stack = await startRestStack();
  Object.assign(tokens, await createUsers(stack, Object.values(users), email));
  await seedProjects(stack, users, projectId, otherProjectId);
});
afterAll(() => stack?.stop());

const client = (who?: Who) => stack.client(who ? tokens[users[who]] : undefined);
const service = () => stack.client(stack.serviceKey);
const members = async (project: string) =>
  (await stack.admin<{ user_id: string; role: string }[]>`select user_id, role::text from public.project_members where project_id = ${project} order by user_id`).map((m) => ({ ...m }));
const project = async (id: string) => (await stack.admin<{ name: string; created_by: string | null }[]>`select name, created_by from public.projects where id = ${id}`).map((p) => ({ ...p }));

describe('writes through supabase-js', () => {
  it('insert().select() returns the new row, and its creator becomes its owner', async () => {
    const id = randomUUID();
    const { data, error, status } = await client('owner').from('projects').insert({ id, name: 'Gemini' }).select('id, name, created_by').single();
    expect(error).toBeNull();
    expect(status).toBe(201);
    expect(data).toEqual({ id, name: 'Gemini', created_by: users.owner });
    expect(await members(id)).toEqual([{ user_id: users.owner, role: 'owner' }]);
  });

  it('insert() of many rows, with count and return=minimal', async () => {
    const { data, error, status, count } = await client('owner').from('projects').insert([{ name: 'Many 1' }, { name: 'Many 2' }], { count: 'exact' });
    expect({ data, error, status, count }).toEqual({ data: null, error: null, status: 201, count: 2 });
    const [row] = await stack.admin<{ n: number }[]>`select count(*)::int as n from public.project_members m join public.projects p on p.id = m.project_id where p.name like 'Many %' and m.role = 'owner'`;
    expect(row?.n).toBe(2);
  });

  it('insert() of rows with different keys: supabase-js sends columns=, missing keys are null or the default', async () => {
    const db = client('collaborator');
    const nulls = await db.from('jobs').insert([{ project_id: projectId, type: 'demo.a', idempotency_key: 'k1' }, { project_id: projectId, type: 'demo.b' }]).select('type, idempotency_key, payload');
    expect(nulls.error).toBeNull();
    // No row names payload, so it is not in columns= and takes its default.
    expect(nulls.data).toEqual([
      { type: 'demo.a', idempotency_key: 'k1', payload: {} },
      { type: 'demo.b', idempotency_key: null, payload: {} },
    ]);
    const defaults = await db.from('jobs').insert([{ project_id: projectId, type: 'demo.c', payload: { a: 1 } }, { project_id: projectId, type: 'demo.d' }], { defaultToNull: false }).select('type, payload');
    expect(defaults.data).toEqual([{ type: 'demo.c', payload: { a: 1 } }, { type: 'demo.d', payload: {} }]);
    const explicitNull = await db.from('jobs').insert([{ project_id: projectId, type: 'demo.e', payload: { a: 1 } }, { project_id: projectId, type: 'demo.f' }]).select('type');
    expect({ status: explicitNull.status, code: explicitNull.error?.code }).toEqual({ status: 400, code: '23502' });
  });

  it('select() with embeds on written rows: to-one on an insert, to-many on an update', async () => {
    const inserted = await client('collaborator').from('jobs').insert({ project_id: projectId, type: 'demo.embed' }).select('type, project:projects(name)').single();
    expect({ error: inserted.error, status: inserted.status }).toEqual({ error: null, status: 201 });
    const [named] = await stack.admin<{ name: string }[]>`select name from public.projects where id = ${projectId}`;
    expect(inserted.data).toEqual({ type: 'demo.embed', project: { name: named!.name } });
    const updated = await client('owner').from('projects').update({ description: 'with embeds' }).eq('id', projectId).select('description, project_members(role), member_count:project_members(count)').single();
    expect(updated.error).toBeNull();
    const roles = (await members(projectId)).map((m) => ({ role: m.role }));
    expect(updated.data?.description).toBe('with embeds');
    expect(new Set((updated.data?.project_members as { role: string }[]).map((m) => m.role))).toEqual(new Set(roles.map((r) => r.role)));
    expect(updated.data?.member_count).toEqual([{ count: roles.length }]);
  });

  it('update() and delete() with filters, select and count', async () => {
    const db = client('owner');
    const id = randomUUID();
    await db.from('projects').insert({ id, name: 'Temp' });
    const updated = await db.from('projects').update({ description: 'edited' }, { count: 'exact' }).eq('id', id).select('name, description');
    expect({ data: updated.data, status: updated.status, count: updated.count }).toEqual({ data: [{ name: 'Temp', description: 'edited' }], status: 200, count: 1 });
    const minimal = await db.from('projects').update({ name: 'Temp 2' }).eq('id', id);
    expect({ data: minimal.data, error: minimal.error, status: minimal.status }).toEqual({ data: null, error: null, status: 204 });
    const deleted = await db.from('projects').delete().eq('id', id).select('name');
    expect({ data: deleted.data, status: deleted.status }).toEqual({ data: [{ name: 'Temp 2' }], status: 200 });
    expect(await project(id)).toEqual([]);
    const none = await db.from('projects').delete({ count: 'exact' }).eq('id', id);
    expect({ status: none.status, count: none.count }).toEqual({ status: 204, count: 0 });
  });

  it('upsert() of a new id: ignore-duplicates inserts; merge-duplicates is 42501 (authenticated may not update id)', async () => {
    const db = client('owner');
    const fresh = randomUUID();
    const ignored = await db.from('projects').upsert({ id: fresh, name: 'Fresh' }, { onConflict: 'id', ignoreDuplicates: true }).select('id, name');
    expect({ status: ignored.status, data: ignored.data }).toEqual({ status: 201, data: [{ id: fresh, name: 'Fresh' }] });
    expect(await members(fresh)).toEqual([{ user_id: users.owner, role: 'owner' }]);
    const merged = await db.from('projects').upsert({ id: randomUUID(), name: 'Merged' }).select('id');
    expect({ status: merged.status, code: merged.error?.code, message: merged.error?.message }).toEqual({ status: 403, code: '42501', message: 'permission denied for table projects' });
  });

  it('upsert() with both resolutions as service_role (which may update every column)', async () => {
    const db = service();
    const id = randomUUID();
    const first = await db.from('projects').upsert({ id, name: 'Svc', created_by: users.owner }).select('name');
    expect({ status: first.status, data: first.data }).toEqual({ status: 201, data: [{ name: 'Svc' }] });
    const again = await db.from('projects').upsert({ id, name: 'Svc 2', created_by: users.owner }).select('name');
    expect({ status: again.status, data: again.data }).toEqual({ status: 200, data: [{ name: 'Svc 2' }] });
    const ignored = await db.from('projects').upsert({ id, name: 'Svc 3', created_by: users.owner }, { ignoreDuplicates: true }).select('name');
    expect({ status: ignored.status, data: ignored.data }).toEqual({ status: 201, data: [] });
    expect(await project(id)).toEqual([{ name: 'Svc 2', created_by: users.owner }]);
  });

  it('errors as PostgREST maps them: 23505 409, 23514 400, 23503 409', async () => {
    const db = client('owner');
    const dup = await db.from('projects').insert({ id: projectId, name: 'Dup' });
    expect({ status: dup.status, code: dup.error?.code }).toEqual({ status: 409, code: '23505' });
    const check = await db.from('projects').insert({ name: '   ' });
    expect({ status: check.status, code: check.error?.code, message: check.error?.message }).toEqual({ status: 400, code: '23514', message: 'new row for relation "projects" violates check constraint "projects_name_check"' });
    const fk = await client('collaborator').from('jobs').insert({ project_id: randomUUID(), type: 'demo.x' });
    // RLS checks the new row before the foreign key: a project the caller is not in is 42501.
    expect({ status: fk.status, code: fk.error?.code }).toEqual({ status: 403, code: '42501' });
    const svcFk = await service().from('jobs').insert({ project_id: randomUUID(), type: 'demo.x' });
    expect({ status: svcFk.status, code: svcFk.error?.code }).toEqual({ status: 409, code: '23503' });
  });
});

describe('project takeover by upsert (supabase/migrations/20261202000100_projects_owner_only_for_inserted_rows.sql)', () => {
  const attempts: { who: Who; ignoreDuplicates: boolean; status: number; code?: string }[] = [
    { who: 'outsider', ignoreDuplicates: true, status: 403, code: '42501' },
    { who: 'outsider', ignoreDuplicates: false, status: 403, code: '42501' },
    { who: 'viewer', ignoreDuplicates: true, status: 201 },
    { who: 'viewer', ignoreDuplicates: false, status: 403, code: '42501' },
    { who: 'collaborator', ignoreDuplicates: true, status: 201 },
    { who: 'collaborator', ignoreDuplicates: false, status: 403, code: '42501' },
  ];

  it.each(attempts)('$who upsert(existing id, ignoreDuplicates: $ignoreDuplicates) takes nothing over', async ({ who, ignoreDuplicates, status, code }) => {
    const before = { members: await members(projectId), project: await project(projectId) };
    const result = await client(who).from('projects').upsert({ id: projectId, name: 'Mine now' }, { onConflict: 'id', ignoreDuplicates }).select('id, name');
    expect({ status: result.status, code: result.error?.code }).toEqual({ status, code });
    if (status === 201) expect(result.data).toEqual([]);
    expect({ members: await members(projectId), project: await project(projectId) }).toEqual(before);
    expect(before.project).toEqual([{ name: 'Apollo', created_by: users.owner }]);
  });

  it('a multi-row upsert mixing a new id and an existing one: only the new row gets an owner', async () => {
    const before = await members(projectId);
    const fresh = randomUUID();
    const outsider = await client('outsider').from('projects').upsert([{ id: fresh, name: 'New' }, { id: projectId, name: 'Taken' }], { onConflict: 'id', ignoreDuplicates: true }).select('id');
    expect({ status: outsider.status, code: outsider.error?.code }).toEqual({ status: 403, code: '42501' });
    expect({ project: await project(fresh), members: await members(fresh) }).toEqual({ project: [], members: [] });
    const viewer = await client('viewer').from('projects').upsert([{ id: fresh, name: 'New' }, { id: projectId, name: 'Taken' }], { onConflict: 'id', ignoreDuplicates: true }).select('id');
    expect({ status: viewer.status, data: viewer.data }).toEqual({ status: 201, data: [{ id: fresh }] });
    expect(await members(fresh)).toEqual([{ user_id: users.viewer, role: 'owner' }]);
    expect({ members: await members(projectId), project: await project(projectId) }).toEqual({ members: before, project: [{ name: 'Apollo', created_by: users.owner }] });
  });

  it('the same through raw POST with return=minimal and Prefer only', async () => {
    const before = await members(projectId);
    const response = await stack.rest('/projects?on_conflict=id', {
      method: 'POST',
      token: tokens[users.outsider],
      headers: { 'content-type': 'application/json', prefer: 'resolution=ignore-duplicates' },
      body: JSON.stringify([{ id: projectId, name: 'x' }]),
    });
    expect({ status: response.status, code: ((await response.json()) as { code: string }).code }).toEqual({ status: 403, code: '42501' });
    expect(await members(projectId)).toEqual(before);
  });
});

describe('the write matrix on Tandem tables', () => {
  it('projects: members of the right role edit and delete; others change nothing', async () => {
    const id = randomUUID();
    await client('owner').from('projects').insert({ id, name: 'Matrix' });
    await stack.admin`insert into public.project_members (project_id, user_id, role) values (${id}, ${users.collaborator}, 'collaborator'), (${id}, ${users.viewer}, 'viewer')`;
    const edit = async (who: Who | 'anon', name: string) => (who === 'anon' ? client() : client(who)).from('projects').update({ name }).eq('id', id).select('name');
    expect((await edit('collaborator', 'By collaborator')).data).toEqual([{ name: 'By collaborator' }]);
    expect((await edit('viewer', 'By viewer')).data).toEqual([]);
    expect((await edit('outsider', 'By outsider')).data).toEqual([]);
    const anon = await edit('anon', 'By anon');
    expect({ status: anon.status, code: anon.error?.code, message: anon.error?.message }).toEqual({ status: 401, code: '42501', message: 'permission denied for table projects' });
    expect(await project(id)).toEqual([{ name: 'By collaborator', created_by: users.owner }]);
    const column = await client('owner').from('projects').update({ created_by: users.outsider }).eq('id', id);
    expect({ status: column.status, code: column.error?.code }).toEqual({ status: 403, code: '42501' });
    for (const who of ['collaborator', 'viewer', 'outsider'] as const) {
      const gone = await client(who).from('projects').delete().eq('id', id).select('id');
      expect({ who, data: gone.data }).toEqual({ who, data: [] });
    }
    const anonInsert = await client().from('projects').insert({ name: 'anon' });
    expect({ status: anonInsert.status, code: anonInsert.error?.code }).toEqual({ status: 401, code: '42501' });
    expect((await client('owner').from('projects').delete().eq('id', id).select('id')).data).toEqual([{ id }]);
  });

  it('project_members: no insert for users; owners change roles; members leave', async () => {
    const id = randomUUID();
    await client('owner').from('projects').insert({ id, name: 'Members' });
    await stack.admin`insert into public.project_members (project_id, user_id, role) values (${id}, ${users.collaborator}, 'collaborator'), (${id}, ${users.viewer}, 'viewer')`;
    const join = await client('outsider').from('project_members').insert({ project_id: id, user_id: users.outsider, role: 'owner' });
    expect({ status: join.status, code: join.error?.code, message: join.error?.message }).toEqual({ status: 403, code: '42501', message: 'permission denied for table project_members' });
    const promote = await client('collaborator').from('project_members').update({ role: 'owner' }).eq('project_id', id).eq('user_id', users.collaborator).select('role');
    expect(promote.data).toEqual([]);
    const byOwner = await client('owner').from('project_members').update({ role: 'collaborator' }).eq('project_id', id).eq('user_id', users.viewer).select('role');
    expect(byOwner.data).toEqual([{ role: 'collaborator' }]);
    const userIdChange = await client('owner').from('project_members').update({ user_id: users.outsider }).eq('project_id', id).eq('user_id', users.viewer);
    expect({ status: userIdChange.status, code: userIdChange.error?.code }).toEqual({ status: 403, code: '42501' });
    const kick = await client('outsider').from('project_members').delete().eq('project_id', id).select('user_id');
    expect(kick.data).toEqual([]);
    const anon = await client().from('project_members').delete().eq('project_id', id);
    expect({ status: anon.status, code: anon.error?.code }).toEqual({ status: 401, code: '42501' });
    const leave = await client('viewer').from('project_members').delete().eq('project_id', id).eq('user_id', users.viewer).select('user_id');
    expect(leave.data).toEqual([{ user_id: users.viewer }]);
    expect(await members(id)).toEqual(
      [{ user_id: users.owner, role: 'owner' }, { user_id: users.collaborator, role: 'collaborator' }].sort((a, b) => (a.user_id < b.user_id ? -1 : 1)),
    );
  });

  it('jobs: collaborators and owners submit the granted columns; status is refused; viewers and outsiders are refused', async () => {
    const submit = async (who: Who | 'anon', row: Record<string, unknown>) => (who === 'anon' ? client() : client(who)).from('jobs').insert(row).select('type, status, created_by');
    const ok = await submit('collaborator', { project_id: projectId, type: 'demo.echo', payload: { x: 1 }, idempotency_key: 'matrix-1' });
    expect({ status: ok.status, data: ok.data }).toEqual({ status: 201, data: [{ type: 'demo.echo', status: 'queued', created_by: users.collaborator }] });
    const before = (await stack.admin<{ n: number }[]>`select count(*)::int as n from public.jobs`)[0]!.n;
    const status = await submit('owner', { project_id: projectId, type: 'demo.echo', status: 'succeeded' });
    expect({ status: status.status, code: status.error?.code, message: status.error?.message }).toEqual({ status: 403, code: '42501', message: 'permission denied for table jobs' });
    const viewer = await submit('viewer', { project_id: projectId, type: 'demo.echo' });
    expect({ status: viewer.status, code: viewer.error?.code, message: viewer.error?.message }).toEqual({ status: 403, code: '42501', message: 'new row violates row-level security policy for table "jobs"' });
    const outsider = await submit('outsider', { project_id: projectId, type: 'demo.echo' });
    expect({ status: outsider.status, code: outsider.error?.code }).toEqual({ status: 403, code: '42501' });
    const anon = await submit('anon', { project_id: projectId, type: 'demo.echo' });
    expect({ status: anon.status, code: anon.error?.code }).toEqual({ status: 401, code: '42501' });
    const update = await client('owner').from('jobs').update({ status: 'succeeded' }).eq('project_id', projectId);
    expect({ status: update.status, code: update.error?.code }).toEqual({ status: 403, code: '42501' });
    const del = await client('owner').from('jobs').delete().eq('project_id', projectId);
    expect({ status: del.status, code: del.error?.code }).toEqual({ status: 403, code: '42501' });
    expect((await stack.admin<{ n: number }[]>`select count(*)::int as n from public.jobs`)[0]!.n).toBe(before);
  });

  it('profiles: a user edits only their own display name and avatar', async () => {
    const own = await client('viewer').from('profiles').update({ display_name: 'Vee' }).eq('id', users.viewer).select('display_name');
    expect(own.data).toEqual([{ display_name: 'Vee' }]);
    const other = await client('viewer').from('profiles').update({ display_name: 'Hacked' }).eq('id', users.owner).select('display_name');
    expect(other.data).toEqual([]);
    const emailChange = await client('viewer').from('profiles').update({ email: 'x@evil.dev' }).eq('id', users.viewer);
    expect({ status: emailChange.status, code: emailChange.error?.code }).toEqual({ status: 403, code: '42501' });
    const insert = await client('outsider').from('profiles').insert({ id: randomUUID(), display_name: 'x' });
    expect({ status: insert.status, code: insert.error?.code }).toEqual({ status: 403, code: '42501' });
    const del = await client('viewer').from('profiles').delete().eq('id', users.viewer);
    expect({ status: del.status, code: del.error?.code }).toEqual({ status: 403, code: '42501' });
    const anon = await client().from('profiles').update({ display_name: 'anon' }).eq('id', users.viewer);
    expect({ status: anon.status, code: anon.error?.code }).toEqual({ status: 401, code: '42501' });
    const [row] = await stack.admin<{ display_name: string | null }[]>`select display_name from public.profiles where id = ${users.owner}`;
    expect(row?.display_name).not.toBe('Hacked');
  });
});

describe('bad input is a 4xx and writes nothing', () => {
  const snapshot = async () => ({
    projects: await stack.admin`select id, name, description from public.projects order by id`,
    members: await stack.admin`select project_id, user_id, role from public.project_members order by project_id, user_id`,
  });

  it('update() and delete() without a filter are refused as the platform does (pg-safeupdate)', async () => {
    const before = await snapshot();
    const update = await service().from('projects').update({ description: 'all' });
    expect({ status: update.status, error: update.error }).toEqual({ status: 400, error: { code: '21000', message: 'UPDATE requires a WHERE clause', details: null, hint: null } });
    const del = await client('owner').from('projects').delete();
    expect({ status: del.status, error: del.error }).toEqual({ status: 400, error: { code: '21000', message: 'DELETE requires a WHERE clause', details: null, hint: null } });
    expect(await snapshot()).toEqual(before);
  });

  const raw: { name: string; method: string; path: string; body: string; headers?: Record<string, string>; service?: boolean; status: number; code: string }[] = [
    { name: 'an unknown column key', method: 'POST', path: '/projects', body: '{"name":"x","owner":"me"}', status: 400, code: 'PGRST204' },
    { name: 'mismatched keys', method: 'POST', path: '/projects', body: '[{"name":"a"},{"name":"b","description":"c"}]', status: 400, code: 'PGRST102' },
    { name: 'bad JSON', method: 'POST', path: '/projects', body: '{"name": "x"', status: 400, code: 'PGRST102' },
    { name: 'bad JSON with columns=', method: 'POST', path: '/projects?columns=name', body: '{"name": ', status: 400, code: '22P02' },
    { name: 'a PATCH without filter', method: 'PATCH', path: '/projects', body: '{"name":"all"}', status: 400, code: '21000' },
    { name: 'a DELETE without filter', method: 'DELETE', path: '/projects', body: '', status: 400, code: '21000' },
    { name: 'a PATCH with an unknown key', method: 'PATCH', path: `/projects?id=eq.${projectId}`, body: '{"nope":1}', status: 400, code: 'PGRST204' },
    { name: 'a PATCH with a malformed filter', method: 'PATCH', path: '/projects?id=eq.not-a-uuid', body: '{"name":"x"}', status: 400, code: '22P02' },
    { name: 'SQL in a key', method: 'POST', path: '/projects', body: '{"name\\"); drop table public.projects; --":"x"}', status: 400, code: 'PGRST204' },
    { name: 'SQL in on_conflict', method: 'POST', path: '/projects?on_conflict=id);drop table x;--', body: '{"name":"x"}', headers: { prefer: 'resolution=merge-duplicates' }, status: 400, code: 'PGRST100' },
    { name: 'an unknown on_conflict column', method: 'POST', path: '/projects?on_conflict=nope', body: '{"name":"x"}', headers: { prefer: 'resolution=merge-duplicates' }, status: 400, code: '42703' },
    { name: 'a PUT on a non-key filter', method: 'PUT', path: '/projects?name=eq.Apollo', body: '{"name":"x"}', status: 405, code: 'PGRST105' },
    // PUT is `on conflict (id) do update set id = …`: a user, who may not update id, is refused by privileges first.
    { name: 'a PUT by a user', method: 'PUT', path: `/projects?id=eq.${projectId}`, body: JSON.stringify({ id: projectId, name: 'x' }), status: 403, code: '42501' },
    { name: 'a PUT with a different id', method: 'PUT', path: `/projects?id=eq.${projectId}`, body: JSON.stringify({ id: otherProjectId, name: 'x' }), service: true, status: 400, code: 'PGRST115' },
    { name: 'an XML body', method: 'POST', path: '/projects', body: '<x/>', headers: { 'content-type': 'text/xml' }, status: 400, code: 'PGRST102' },
    { name: 'a NUL in a value', method: 'POST', path: '/projects', body: '{"name":"a\\u0000b"}', status: 400, code: '22P05' },
    { name: 'a lone surrogate in a value', method: 'POST', path: '/projects', body: '{"name":"a\\ud800b"}', status: 400, code: '22P02' },
    { name: 'a key in upper case', method: 'POST', path: '/projects', body: '{"NAME":"x"}', status: 400, code: 'PGRST204' },
    { name: 'an empty key', method: 'POST', path: '/projects', body: '{"":"x"}', status: 400, code: 'PGRST204' },
    { name: 'a wrong type', method: 'POST', path: '/jobs', body: `{"project_id":"${projectId}","type":"demo.x","progress":"abc"}`, service: true, status: 400, code: '22P02' },
    { name: 'a malformed id', method: 'POST', path: '/projects', body: '{"id":"x","name":"x"}', status: 400, code: '22P02' },
    { name: 'a number out of range', method: 'POST', path: '/jobs', body: `{"project_id":"${projectId}","type":"demo.x","progress":99999999999}`, service: true, status: 400, code: '22003' },
    // Stricter than PostgREST, whose Postgres answers 500 (54001 stack depth) to this.
    { name: 'a deeply nested payload', method: 'POST', path: '/jobs', body: `{"project_id":"${projectId}","type":"demo.x","payload":${'['.repeat(100000)}${']'.repeat(100000)}}`, status: 400, code: 'PGRST102' },
    { name: 'deep nesting with columns=', method: 'POST', path: '/jobs?columns=project_id,type,payload', body: `{"project_id":"${projectId}","type":"demo.x","payload":${'{"a":'.repeat(100000)}1${'}'.repeat(100000)}}`, status: 400, code: 'PGRST102' },
    { name: 'a strict bad preference', method: 'POST', path: '/projects', body: '{"name":"x"}', headers: { prefer: 'handling=strict, return=all' }, status: 400, code: 'PGRST122' },
  ];

  it.each(raw)('$name: $method $path', async ({ method, path, body, headers, service: asService, status, code }) => {
    const before = await snapshot();
    const response = await stack.rest(path, { method, token: asService ? stack.serviceKey : tokens[users.owner], headers: { 'content-type': 'application/json', ...headers }, ...(method === 'DELETE' ? {} : { body }) });
    const json = (await response.json()) as Record<string, unknown>;
    expect({ status: response.status, code: json.code }).toEqual({ status, code });
    expect(Object.keys(json).sort()).toEqual(['code', 'details', 'hint', 'message']);
    expect(await snapshot()).toEqual(before);
  });

  it('a top-level scalar body inserts nothing (PostgREST reads it as [])', async () => {
    const before = await snapshot();
    const response = await stack.rest('/projects?select=id', { method: 'POST', token: tokens[users.owner], headers: { 'content-type': 'application/json', prefer: 'return=representation' }, body: '42' });
    expect({ status: response.status, body: await response.json() }).toEqual({ status: 201, body: [] });
    expect(await snapshot()).toEqual(before);
  });

  it('a body over the gateway limit is 413 in PostgREST shape', async () => {
    const response = await stack.rest('/projects', { method: 'POST', token: tokens[users.owner], headers: { 'content-type': 'application/json' }, body: `{"name":"${'x'.repeat(11 * 1024 * 1024)}"}` });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { code: string }).code).toBe('PGRSTX13');
  });
});
