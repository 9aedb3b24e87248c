/**
 * Function calls (`/rpc/<name>`) through the local Data API with the real supabase-js:
 * Tandem's RPCs with their documented statuses per role, and PostgREST's calling rules on
 * fixture functions (named arguments from the body or the query string, overloads, a
 * single unnamed json parameter, scalar / composite / setof results with filters, order,
 * limit and select, void → 204, read-only GET, raised SQLSTATEs, PGRST202/203, bad input).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUsers, seedProjects, startRestStack, type RestStack } from './stack.ts';

let stack: RestStack;
const users = { owner: randomUUID(), collaborator: randomUUID(), viewer: randomUUID(), outsider: randomUUID(), invitee: randomUUID() };
const email = (id: string) => `rpc-${id}@test.tandem.dev`;
const projectId = randomUUID();
const tokens: Record<string, string> = {};

const FIXTURES = `
create schema fx;
grant usage on schema fx to anon, authenticated;
create table fx.items (id int primary key, name text, tags text[]);
insert into fx.items values (1, 'one', '{a}'), (2, 'two', '{b}'), (3, 'three', '{a,b}');
grant select, insert on fx.items to anon, authenticated;
create function fx.add(a int, b int default 10) returns int language sql immutable as 'select a + b';
create function fx.greet(name text) returns text language sql stable as $$select 'hello ' || name$$;
create function fx.greet() returns text language sql stable as $$select 'hello you'$$;
create function fx.items_from(min int) returns setof fx.items language sql stable as 'select * from fx.items where id >= min';
create function fx.item(id int) returns fx.items language sql stable as 'select * from fx.items i where i.id = item.id';
create function fx.pairs() returns table (k text, v int) language sql stable as $$values ('x', 1), ('y', 2)$$;
create function fx.numbers() returns setof int language sql stable as 'select generate_series(1, 3)';
create function fx.noop() returns void language sql volatile as '';
create function fx.add_item(id int, name text) returns fx.items language sql volatile as 'insert into fx.items (id, name) values (id, name) returning *';
create function fx.echo(jsonb) returns jsonb language sql immutable as 'select $1';
create function fx.amb(x int) returns text language sql stable as $$select 'int'$$;
create function fx.amb(x text) returns text language sql stable as $$select 'text'$$;
create function fx.teapot() returns void language plpgsql as $$begin raise exception 'short and stout' using errcode = 'PT418', detail = 'd', hint = 'h'; end$$;
create function fx.fails() returns void language plpgsql as $$begin raise exception 'plain failure'; end$$;
create function fx.dup() returns void language plpgsql as $$begin raise unique_violation using message = 'dup'; end$$;
create function fx.settings() returns json language sql stable as $$select json_build_object('read_only', current_setting('transaction_read_only'), 'method', current_setting('request.method'), 'sub', auth.uid())$$;
create function fx.sum_all(variadic v int[]) returns int language sql immutable as 'select sum(x)::int from unnest(v) x';
create function fx.created() returns json language plpgsql volatile as $$
begin
  perform set_config('response.status', '201', true);
  perform set_config('response.headers', '[{"Location": "/items/1"}, {"Content-Type": "application/json; charset=utf-8"}]', true);
  return '{"ok": true}';
end$$;
create function fx.bad_status() returns void language plpgsql volatile as $$begin perform set_config('response.status', 'teapot', true); end$$;
grant execute on all functions in schema fx to anon, authenticated;
`;

beforeAll(async () => {
  stack = await startRestStack({ setupSql: FIXTURES, config: { schemas: ['public', 'graphql_public', 'fx'] } });
  Object.assign(tokens, await createUsers(stack, Object.values(users), email));
  await seedProjects(stack, users, projectId);
});
afterAll(() => stack?.stop());

const client = (who?: keyof typeof users) => stack.client(who ? tokens[users[who]] : undefined);
const fx = (who?: keyof typeof users) => client(who).schema('fx');

async function job(status: 'queued' | 'failed', createdBy: string): Promise<string> {
  const [row] = await stack.admin<{ id: string }[]>`insert into public.jobs (project_id, created_by, type) values (${projectId}, ${createdBy}, 'demo.echo') returning id`;
  if (status === 'failed') {
    await stack.admin`update public.jobs set status = 'running' where id = ${row!.id}`;
    await stack.admin`update public.jobs set status = 'failed', error = 'boom' where id = ${row!.id}`;
  }
  return row!.id;
}

describe("Tandem's RPCs through supabase-js", () => {
  it('invites, lists the invitation for the invitee, accepts it as the invitee', async () => {
    const created = await client('owner').rpc('create_invitation', { project_id: projectId, email: email(users.invitee), role: 'collaborator' });
    expect(created.error).toBeNull();
    expect(created.status).toBe(200);
    expect(typeof created.data).toBe('string');
    const token = created.data as string;

    const mine = await client('invitee').rpc('my_invitations');
    expect(mine.error).toBeNull();
    expect(mine.data).toEqual([expect.objectContaining({ project_id: projectId, project_name: 'Apollo', role: 'collaborator', invited_by: users.owner })]);
    expect(Object.keys((mine.data as object[])[0]!).sort()).toEqual(['expires_at', 'id', 'invited_by', 'project_id', 'project_name', 'role']);

    const wrongUser = await client('outsider').rpc('accept_invitation', { token });
    expect({ status: wrongUser.status, code: wrongUser.error?.code }).toEqual({ status: 403, code: '42501' });

    const accepted = await client('invitee').rpc('accept_invitation', { token });
    expect(accepted.error).toBeNull();
    expect(accepted.data).toBe(projectId);
    const [member] = await stack.admin`select role from public.project_members where project_id = ${projectId} and user_id = ${users.invitee}`;
    expect(member?.role).toBe('collaborator');

    const again = await client('invitee').rpc('accept_invitation', { token });
    expect({ status: again.status, code: again.error?.code, message: again.error?.message }).toEqual({ status: 409, code: 'PT409', message: 'invitation has already been used' });
    const unknown = await client('invitee').rpc('accept_invitation', { token: 'nope' });
    expect({ status: unknown.status, code: unknown.error?.code }).toEqual({ status: 404, code: 'PT404' });
  });

  it('refuses invitations to viewers (403), outsiders (404) and anon (401), and a bad email (400)', async () => {
    const args = { project_id: projectId, email: 'someone@test.tandem.dev', role: 'viewer' };
    const viewer = await client('viewer').rpc('create_invitation', args);
    expect({ status: viewer.status, code: viewer.error?.code, message: viewer.error?.message }).toEqual({ status: 403, code: '42501', message: 'only owners can invite people' });
    const outsider = await client('outsider').rpc('create_invitation', args);
    expect({ status: outsider.status, code: outsider.error?.code }).toEqual({ status: 404, code: 'PT404' });
    const anon = await client().rpc('create_invitation', args);
    expect({ status: anon.status, code: anon.error?.code }).toEqual({ status: 401, code: '42501' });
    const bad = await client('owner').rpc('create_invitation', { ...args, email: 'not-an-email' });
    expect({ status: bad.status, code: bad.error?.code }).toEqual({ status: 400, code: '22023' });
    const badRole = await client('owner').rpc('create_invitation', { ...args, role: 'emperor' });
    expect({ status: badRole.status, code: badRole.error?.code }).toEqual({ status: 400, code: '22P02' });
  });

  it('revokes an invitation (204), then it cannot be accepted', async () => {
    const created = await client('owner').rpc('create_invitation', { project_id: projectId, email: 'revoked@test.tandem.dev', role: 'viewer' });
    const [row] = await stack.admin<{ id: string }[]>`select id from public.project_invitations where email = 'revoked@test.tandem.dev' and revoked_at is null`;
    const viewer = await client('viewer').rpc('revoke_invitation', { invitation_id: row!.id });
    expect({ status: viewer.status, code: viewer.error?.code }).toEqual({ status: 403, code: '42501' });
    const revoked = await client('owner').rpc('revoke_invitation', { invitation_id: row!.id });
    expect({ status: revoked.status, error: revoked.error, data: revoked.data }).toEqual({ status: 204, error: null, data: null });
    const [after] = await stack.admin`select revoked_at from public.project_invitations where id = ${row!.id}`;
    expect(after?.revoked_at).not.toBeNull();
    expect(typeof created.data).toBe('string');
  });

  it('cancels a queued job and retries a failed one, with the role matrix', async () => {
    const queued = await job('queued', users.collaborator);
    const viewer = await client('viewer').rpc('cancel_job', { job_id: queued });
    expect({ status: viewer.status, code: viewer.error?.code }).toEqual({ status: 403, code: '42501' });
    const outsider = await client('outsider').rpc('cancel_job', { job_id: queued });
    expect({ status: outsider.status, code: outsider.error?.code }).toEqual({ status: 404, code: 'PT404' });
    const cancelled = await client('collaborator').rpc('cancel_job', { job_id: queued });
    expect({ status: cancelled.status, error: cancelled.error }).toEqual({ status: 204, error: null });
    const [afterCancel] = await stack.admin`select status from public.jobs where id = ${queued}`;
    expect(afterCancel?.status).toBe('cancelled');
    const twice = await client('collaborator').rpc('cancel_job', { job_id: queued });
    expect({ status: twice.status, code: twice.error?.code }).toEqual({ status: 409, code: 'PT409' });

    const failed = await job('failed', users.owner);
    const notOwn = await client('collaborator').rpc('retry_job', { job_id: failed });
    expect({ status: notOwn.status, code: notOwn.error?.code }).toEqual({ status: 403, code: '42501' });
    const retried = await client('owner').rpc('retry_job', { job_id: failed });
    expect({ status: retried.status, error: retried.error }).toEqual({ status: 204, error: null });
    const [afterRetry] = await stack.admin`select status, attempts, error from public.jobs where id = ${failed}`;
    expect(afterRetry).toEqual({ status: 'queued', attempts: 0, error: null });
    const anon = await client().rpc('retry_job', { job_id: failed });
    expect({ status: anon.status, code: anon.error?.code }).toEqual({ status: 401, code: '42501' });
  });
});

describe('calling rules', () => {
  it('passes named arguments from a JSON body and from the query string (GET, HEAD)', async () => {
    expect((await fx().rpc('add', { a: 1, b: 2 })).data).toBe(3);
    expect((await fx().rpc('add', { a: 1 })).data).toBe(11);
    const get = await fx().rpc('add', { a: 5 }, { get: true });
    expect({ data: get.data, status: get.status }).toEqual({ data: 15, status: 200 });
    const head = await fx().rpc('numbers', {}, { head: true, count: 'exact' });
    expect({ data: head.data, count: head.count, status: head.status }).toEqual({ data: null, count: 3, status: 200 });
    const variadic = await stack.rest('/rpc/sum_all?v=1&v=2&v=4', { headers: { 'accept-profile': 'fx' } });
    expect(await variadic.json()).toBe(7);
  });

  it('picks the overload by argument names and refuses ambiguous ones (PGRST203, 300)', async () => {
    expect((await fx().rpc('greet', { name: 'Ada' })).data).toBe('hello Ada');
    expect((await fx().rpc('greet')).data).toBe('hello you');
    const ambiguous = await fx().rpc('amb', { x: 1 });
    expect(ambiguous.status).toBe(300);
    expect(ambiguous.error).toMatchObject({
      code: 'PGRST203',
      message: 'Could not choose the best candidate function between: fx.amb(x => integer), fx.amb(x => text)',
      hint: 'Try renaming the parameters or the function itself in the database so function overloading can be resolved',
    });
  });

  it('answers PGRST202 with PostgREST details and hint for unknown functions and wrong argument names', async () => {
    const typo = await fx().rpc('greett', { name: 'x' });
    expect(typo.status).toBe(404);
    expect(typo.error).toEqual({
      code: 'PGRST202',
      message: 'Could not find the function fx.greett(name) in the schema cache',
      details: 'Searched for the function fx.greett with parameter name or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.',
      hint: 'Perhaps you meant to call the function fx.greet',
    });
    const wrongArgs = await fx().rpc('add', { aa: 1, bb: 2 });
    expect(wrongArgs.error).toEqual({
      code: 'PGRST202',
      message: 'Could not find the function fx.add(aa, bb) in the schema cache',
      details: 'Searched for the function fx.add with parameters aa, bb or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.',
      hint: 'Perhaps you meant to call the function fx.add(a, b)',
    });
    const viaGet = await stack.rest('/rpc/nothing_like_it', { headers: { 'accept-profile': 'fx' } });
    expect(viaGet.status).toBe(404);
    expect(await viaGet.json()).toEqual({
      code: 'PGRST202',
      message: 'Could not find the function fx.nothing_like_it without parameters in the schema cache',
      details: 'Searched for the function fx.nothing_like_it without parameters, but no matches were found in the schema cache.',
      hint: null,
    });
  });

  it('gives a single unnamed jsonb parameter the whole body; Prefer: params=single-object is gone (PostgREST 13)', async () => {
    const { data, error } = await fx().rpc('echo', { anything: [1, { deep: true }] });
    expect(error).toBeNull();
    expect(data).toEqual({ anything: [1, { deep: true }] });
    const post = (prefer: string) =>
      stack.rest('/rpc/add', { method: 'POST', headers: { 'content-profile': 'fx', 'content-type': 'application/json', prefer }, body: '{"a": 1, "b": 2}' });
    expect(await (await post('params=single-object')).json()).toBe(3);
    const strict = await post('handling=strict, params=single-object');
    expect({ status: strict.status, code: ((await strict.json()) as { code: string }).code }).toEqual({ status: 400, code: 'PGRST122' });
  });

  it('returns a composite as an object and sets with filters, order, limit and select', async () => {
    expect((await fx().rpc('item', { id: 2 })).data).toEqual({ id: 2, name: 'two', tags: ['b'] });
    const set = await fx().rpc('items_from', { min: 1 }).select('id, label:name').gt('id', 1).order('id', { ascending: false }).limit(1);
    expect({ data: set.data, status: set.status }).toEqual({ data: [{ id: 3, label: 'three' }], status: 200 });
    const contains = await fx().rpc('items_from', { min: 0 }, { count: 'exact' }).select('id').contains('tags', ['a']).order('id');
    expect({ data: contains.data, count: contains.count }).toEqual({ data: [{ id: 1 }, { id: 3 }], count: 2 });
    const viaGet = await fx().rpc('items_from', { min: 2 }, { get: true }).select('name').eq('name', 'three');
    expect(viaGet.data).toEqual([{ name: 'three' }]);
    expect((await fx().rpc('pairs').order('v', { ascending: false })).data).toEqual([{ k: 'y', v: 2 }, { k: 'x', v: 1 }]);
    expect((await fx().rpc('numbers')).data).toEqual([1, 2, 3]);
    const single = await fx().rpc('items_from', { min: 3 }).single();
    expect(single.data).toEqual({ id: 3, name: 'three', tags: ['a', 'b'] });
    const notSingle = await fx().rpc('items_from', { min: 1 }).single();
    expect({ status: notSingle.status, code: notSingle.error?.code }).toEqual({ status: 406, code: 'PGRST116' });
    const unknownColumn = await fx().rpc('items_from', { min: 1 }).select('nope');
    expect({ status: unknownColumn.status, code: unknownColumn.error?.code }).toEqual({ status: 400, code: '42703' });
  });

  it('answers 204 for void, runs POSTed volatile functions read-write and everything else read-only', async () => {
    const noop = await stack.rest('/rpc/noop', { method: 'POST', headers: { 'content-profile': 'fx', 'content-type': 'application/json' }, body: '{}' });
    expect(noop.status).toBe(204);
    expect(noop.headers.get('content-type')).toBeNull();
    expect(await noop.text()).toBe('');
    const added = await fx().rpc('add_item', { id: 10, name: 'ten' });
    expect({ status: added.status, data: added.data }).toEqual({ status: 200, data: { id: 10, name: 'ten', tags: null } });
    const viaGet = await fx().rpc('add_item', { id: 11, name: 'eleven' }, { get: true });
    expect({ status: viaGet.status, code: viaGet.error?.code, message: viaGet.error?.message }).toEqual({
      status: 405,
      code: '25006',
      message: 'cannot execute INSERT in a read-only transaction',
    });
    const settings = await fx('owner').rpc('settings');
    expect(settings.data).toEqual({ read_only: 'on', method: 'POST', sub: users.owner });
  });

  it('lets a function set response.status and response.headers', async () => {
    const created = await stack.rest('/rpc/created', { method: 'POST', headers: { 'content-profile': 'fx', 'content-type': 'application/json' }, body: '{}' });
    expect({ status: created.status, location: created.headers.get('location'), body: await created.json() }).toEqual({ status: 201, location: '/items/1', body: { ok: true } });
    const bad = await stack.rest('/rpc/bad_status', { method: 'POST', headers: { 'content-profile': 'fx', 'content-type': 'application/json' }, body: '{}' });
    expect({ status: bad.status, body: await bad.json() }).toEqual({
      status: 500,
      body: { code: 'PGRST112', message: 'response.status guc must be a valid status code', details: null, hint: null },
    });
  });

  it('maps raised SQLSTATEs as PostgREST does', async () => {
    const teapot = await fx().rpc('teapot');
    expect({ status: teapot.status, error: teapot.error }).toEqual({ status: 418, error: { code: 'PT418', message: 'short and stout', details: 'd', hint: 'h' } });
    const failure = await fx().rpc('fails');
    expect({ status: failure.status, code: failure.error?.code }).toEqual({ status: 400, code: 'P0001' });
    const dup = await fx().rpc('dup');
    expect({ status: dup.status, code: dup.error?.code }).toEqual({ status: 409, code: '23505' });
  });

  it('answers bad input with a 4xx in PostgREST shape', async () => {
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      stack.rest(path, { method: 'POST', headers: { 'content-profile': 'fx', 'content-type': 'application/json', ...headers }, body });
    const badJson = await post('/rpc/add', '{"a": 1,');
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toEqual({ code: 'PGRST102', message: 'Empty or invalid json', details: null, hint: null });
    const badType = await post('/rpc/add', '{"a": "x"}');
    expect(badType.status).toBe(400);
    expect((await badType.json()).code).toBe('22P02');
    const badMethod = await stack.rest('/rpc/add', { method: 'DELETE', headers: { 'accept-profile': 'fx' } });
    expect(badMethod.status).toBe(405);
    expect((await badMethod.json()).code).toBe('PGRST101');
    const badContentType = await post('/rpc/add', 'a', { 'content-type': 'application/x-nonsense' });
    expect(badContentType.status).toBe(400);
    expect((await badContentType.json()).code).toBe('PGRST102');
    const badFilter = await stack.rest('/rpc/items_from?min=1&id=eq', { headers: { 'accept-profile': 'fx' } });
    expect(badFilter.status).toBeLessThan(500);
  });

  it('answers inputs at their limits with a 4xx, never a 500', async () => {
    const get = (path: string) => stack.rest(path, { headers: { 'accept-profile': 'fx' } });
    const post = (path: string, body: string) => stack.rest(path, { method: 'POST', headers: { 'content-profile': 'fx', 'content-type': 'application/json' }, body });
    const answers = [
      await get('/rpc/greet?name=%00'),
      await post('/rpc/greet', '{"name": "\\u0000"}'),
      await post('/rpc/greet', '{"name": "\\ud800"}'),
      await post('/rpc/add', '{"a": 99999999999999999999}'),
      await post('/rpc/add', '{"a": [1], "b": {"x": 1}}'),
      await post('/rpc/echo', `${'['.repeat(5000)}${']'.repeat(5000)}`),
      await post('/rpc/greet', JSON.stringify({ name: 'x'.repeat(2_000_000) })),
      await get('/rpc/GREET?name=x'),
      await get('/rpc/add?a=1&a=2'),
      await post('/rpc/add_item', '{"id": 1, "name": "dup"}'),
    ];
    const statuses = answers.map((r) => r.status);
    for (const [i, response] of answers.entries()) {
      const status = statuses[i]!;
      expect(status, `answer ${i}`).toBeGreaterThanOrEqual(200);
      expect(status, `answer ${i}`).toBeLessThan(500);
      if (status >= 400) expect(Object.keys((await response.json()) as object).sort(), `answer ${i}`).toEqual(['code', 'details', 'hint', 'message']);
      else await response.arrayBuffer();
    }
    expect(statuses.slice(0, 5).every((s) => s === 400)).toBe(true);
    expect(statuses[7]).toBe(404);
    expect(statuses[9]).toBe(409);
    const [row] = await stack.admin`select name from fx.items where id = 1`;
    expect(row?.name).toBe('one');
  });
});
