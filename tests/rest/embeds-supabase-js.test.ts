/**
 * Embedded resources through the real @supabase/supabase-js and the devstack gateway, on
 * the migrations' tables: every embed feature as supabase-js writes it (select strings,
 * `referencedTable` filters, orders, limits and `or`, `!inner`, `is(rel, null)`, spreads,
 * hints, aliases, `rel(count)`), RLS on embedded rows for different users, PostgREST's
 * errors for bad embeds (never a 500), and the read SQL over a named row source (the
 * interface writes use).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseQueryParams } from '../../devstack/rest/grammar.ts';
import { planRead, returnedColumns, rootConditions } from '../../devstack/rest/read-plan.ts';
import { loadSchemaCache } from '../../devstack/rest/schema-cache.ts';
import { conditionsSql, readSql } from '../../devstack/rest/sql.ts';
import { createUsers, startRestStack, type RestStack } from './stack.ts';

let stack: RestStack;
const users = { owner: randomUUID(), collaborator: randomUUID(), viewer: randomUUID(), outsider: randomUUID() };
const email = (id: string) => `embed-${id}@test.tandem.dev`;
const apollo = randomUUID();
const other = randomUUID();
const tokens: Record<string, string> = {};

// Two keys from one table to another (an ambiguous embed), a junction (many-to-many), a
// unique key (one-to-one) and a view renaming a key, for supabase-js to read.
const AMBIGUOUS = `
create schema embedcheck;
grant usage on schema embedcheck to anon, authenticated;
create table embedcheck.people (id integer primary key, name text not null);
create table embedcheck.letters (id integer primary key, author integer references embedcheck.people (id), reader integer references embedcheck.people (id));
insert into embedcheck.people values (1, 'Ann'), (2, 'Bob');
insert into embedcheck.letters values (1, 1, 2);
create table embedcheck.clubs (id integer primary key, name text not null);
create table embedcheck.memberships (person_id integer references embedcheck.people (id), club_id integer references embedcheck.clubs (id), primary key (person_id, club_id));
create table embedcheck.passports (id integer primary key, person_id integer unique not null references embedcheck.people (id), number text not null);
insert into embedcheck.clubs values (1, 'Chess'), (2, 'Rowing');
insert into embedcheck.memberships values (1, 1), (1, 2), (2, 2);
insert into embedcheck.passports values (1, 1, 'P-1');
create view embedcheck.readers as select id as reader_id, name from embedcheck.people;
grant select on all tables in schema embedcheck to anon, authenticated;
`;

beforeAll(async () => {
  stack = await startRestStack({ setupSql: AMBIGUOUS, config: { schemas: ['public', 'graphql_public', 'embedcheck'] } });
  const { admin } = stack;
  Object.assign(tokens, await createUsers(stack, Object.values(users), email));
  await admin`insert into public.projects (id, name, created_by) values (${apollo}, 'Apollo', ${users.owner}), (${other}, 'Other', ${users.outsider})`;
  await admin`update public.project_members set created_at = '2026-01-01T00:00:00Z' where project_id = ${apollo}`;
  await admin`insert into public.project_members (project_id, user_id, role, created_at) values
    (${apollo}, ${users.collaborator}, 'collaborator', '2026-01-02T00:00:00Z'), (${apollo}, ${users.viewer}, 'viewer', '2026-01-03T00:00:00Z')`;
  await admin`insert into public.jobs (project_id, created_by, type) values (${apollo}, ${users.collaborator}, 'demo.echo'), (${other}, ${users.outsider}, 'demo.echo')`;
  await admin`insert into public.project_invitations (project_id, email, token_hash, invited_by) values (${apollo}, 'guest@test.tandem.dev', ${'ab'.repeat(32)}, ${users.owner})`;
});
afterAll(() => stack?.stop());

const client = (who?: keyof typeof users) => stack.client(who ? tokens[users[who]] : undefined);

describe('embeds through supabase-js', () => {
  it('embeds one-to-many as an array and many-to-one as an object', async () => {
    const db = client('owner');
    const projects = await db.from('projects').select('name, project_members(role)').eq('id', apollo);
    expect(projects.error).toBeNull();
    expect(projects.data).toEqual([{ name: 'Apollo', project_members: expect.arrayContaining([{ role: 'owner' }, { role: 'collaborator' }, { role: 'viewer' }]) }]);
    expect(projects.data?.[0]?.project_members).toHaveLength(3);
    const members = await db.from('project_members').select('role, projects(name)').eq('user_id', users.viewer);
    expect(members.data).toEqual([{ role: 'viewer', projects: { name: 'Apollo' } }]);
    const jobs = await client('collaborator').from('jobs').select('type, projects(name)');
    expect(jobs.data).toEqual([{ type: 'demo.echo', projects: { name: 'Apollo' } }]);
  });

  it('filters, orders, limits and ors an embed with referencedTable', async () => {
    const db = client('owner');
    const filtered = await db.from('projects').select('name, project_members(role)').eq('project_members.role', 'viewer');
    expect(filtered.data).toEqual([{ name: 'Apollo', project_members: [{ role: 'viewer' }] }]);
    const ordered = await db.from('projects').select('name, project_members(role)').order('created_at', { referencedTable: 'project_members', ascending: false }).limit(2, { referencedTable: 'project_members' });
    expect(ordered.data).toEqual([{ name: 'Apollo', project_members: [{ role: 'viewer' }, { role: 'collaborator' }] }]);
    const paged = await db.from('projects').select('name, project_members(role)').order('created_at', { referencedTable: 'project_members' }).range(1, 1, { referencedTable: 'project_members' });
    expect(paged.data).toEqual([{ name: 'Apollo', project_members: [{ role: 'collaborator' }] }]);
    const ored = await db.from('projects').select('name, project_members(role)').or('role.eq.owner,role.eq.viewer', { referencedTable: 'project_members' }).order('role', { referencedTable: 'project_members' });
    expect(ored.data).toEqual([{ name: 'Apollo', project_members: [{ role: 'owner' }, { role: 'viewer' }] }]);
  });

  it('orders parents by a to-one embed column', async () => {
    const service = stack.client(stack.serviceKey);
    const all = await service.from('project_members').select('role, projects(name)').order('projects(name)', { ascending: false }).order('role');
    expect(all.data).toEqual([
      { role: 'owner', projects: { name: 'Other' } },
      { role: 'owner', projects: { name: 'Apollo' } },
      { role: 'collaborator', projects: { name: 'Apollo' } },
      { role: 'viewer', projects: { name: 'Apollo' } },
    ]);
  });

  it('!inner with a filter restricts the parents; is(rel, null) and not(rel, is, null)', async () => {
    const service = stack.client(stack.serviceKey);
    const inner = await service.from('projects').select('name, project_members!inner(role)').eq('project_members.role', 'viewer');
    expect(inner.data).toEqual([{ name: 'Apollo', project_members: [{ role: 'viewer' }] }]);
    const counted = await service.from('projects').select('name, project_members!inner()', { count: 'exact' }).eq('project_members.role', 'viewer');
    expect({ data: counted.data, count: counted.count }).toEqual({ data: [{ name: 'Apollo' }], count: 1 });
    const without = await service.from('projects').select('name, project_members()').eq('project_members.role', 'viewer').is('project_members', null);
    expect(without.data).toEqual([{ name: 'Other' }]);
    const withOne = await service.from('projects').select('name, project_members()').eq('project_members.role', 'viewer').not('project_members', 'is', null);
    expect(withOne.data).toEqual([{ name: 'Apollo' }]);
  });

  it('aliases, hints and spreads', async () => {
    const db = client('owner');
    const aliased = await db.from('projects').select('name, members:project_members!project_members_project_id_fkey(role)').eq('id', apollo).eq('members.role', 'owner');
    expect(aliased.data).toEqual([{ name: 'Apollo', members: [{ role: 'owner' }] }]);
    const columnHint = await db.from('project_members').select('role, project:projects!project_id(name)').eq('user_id', users.owner);
    expect(columnHint.data).toEqual([{ role: 'owner', project: { name: 'Apollo' } }]);
    const spread = await db.from('project_members').select('role, ...projects(project_name:name)').eq('user_id', users.collaborator);
    expect(spread.data).toEqual([{ role: 'collaborator', project_name: 'Apollo' }]);
    const toMany = await db.from('projects').select('name, ...project_members(roles:role)').order('role', { referencedTable: 'project_members' });
    expect(toMany.data).toEqual([{ name: 'Apollo', roles: ['owner', 'collaborator', 'viewer'] }]);
  });

  it('rel(count) counts the embedded rows the caller may see; count() is refused with aggregates off', async () => {
    const owner = await client('owner').from('projects').select('name, project_members(count)');
    expect(owner.data).toEqual([{ name: 'Apollo', project_members: [{ count: 3 }] }]);
    const outsider = await client('outsider').from('projects').select('name, project_members(count)');
    expect(outsider.data).toEqual([{ name: 'Other', project_members: [{ count: 1 }] }]);
    const aggregate = await client('owner').from('projects').select('name, project_members(count())');
    expect({ status: aggregate.status, code: aggregate.error?.code, message: aggregate.error?.message }).toEqual({ status: 400, code: 'PGRST123', message: 'Use of aggregate functions is not allowed' });
  });
});

describe('cardinalities through supabase-js', () => {
  it('many-to-many through a junction, one-to-one as an object, a view embedded by its carried key', async () => {
    const db = client('owner').schema('embedcheck');
    const clubs = await db.from('people').select('name, clubs(name)').order('id').order('id', { referencedTable: 'clubs' });
    expect(clubs.data).toEqual([{ name: 'Ann', clubs: [{ name: 'Chess' }, { name: 'Rowing' }] }, { name: 'Bob', clubs: [{ name: 'Rowing' }] }]);
    const members = await db.from('clubs').select('name, people!memberships(name)').eq('id', 2).order('id', { referencedTable: 'people' });
    expect(members.data).toEqual([{ name: 'Rowing', people: [{ name: 'Ann' }, { name: 'Bob' }] }]);
    const passports = await db.from('people').select('name, passports(number)').order('id');
    expect(passports.data).toEqual([{ name: 'Ann', passports: { number: 'P-1' } }, { name: 'Bob', passports: null }]);
    const readers = await db.from('letters').select('id, readers!reader(name)');
    expect(readers.data).toEqual([{ id: 1, readers: { name: 'Bob' } }]);
  });
});

describe('RLS on embedded rows', () => {
  it('each user sees only the embedded rows its policies allow', async () => {
    const owner = await client('owner').from('projects').select('name, project_invitations(email)');
    expect(owner.data).toEqual([{ name: 'Apollo', project_invitations: [{ email: 'guest@test.tandem.dev' }] }]);
    const viewer = await client('viewer').from('projects').select('name, project_invitations(email)');
    expect(viewer.data).toEqual([{ name: 'Apollo', project_invitations: [] }]);
    const hiddenInner = await client('viewer').from('projects').select('name, project_invitations!inner(email)');
    expect(hiddenInner.data).toEqual([]);
    const outsider = await client('outsider').from('project_members').select('role, projects(name, project_members(role))');
    expect(outsider.data).toEqual([{ role: 'owner', projects: { name: 'Other', project_members: [{ role: 'owner' }] } }]);
  });

  it('a to-one embed of a row the caller may not read is null', async () => {
    // The outsider's job is in a project the owner is not in: the owner sees neither.
    const service = stack.client(stack.serviceKey);
    const jobs = await service.from('jobs').select('type, projects(name)').order('projects(name)');
    expect(jobs.data).toEqual([{ type: 'demo.echo', projects: { name: 'Apollo' } }, { type: 'demo.echo', projects: { name: 'Other' } }]);
    const members = await client('viewer').from('jobs').select('type, projects(name)');
    expect(members.data).toEqual([{ type: 'demo.echo', projects: { name: 'Apollo' } }]);
  });

  it('column grants hold in embeds, and anon reads nothing through one', async () => {
    const secret = await client('owner').from('projects').select('name, project_invitations(token_hash)');
    expect({ status: secret.status, code: secret.error?.code, message: secret.error?.message }).toEqual({ status: 403, code: '42501', message: 'permission denied for table project_invitations' });
    const anon = await client().from('projects').select('name, project_members(role)');
    expect({ status: anon.status, code: anon.error?.code }).toEqual({ status: 401, code: '42501' });
  });
});

describe('bad embeds are PostgREST 4xx errors through supabase-js, never a 500', () => {
  it('PGRST200 for no relationship: profiles has no key to project_members (both reference auth.users)', async () => {
    const { status, error } = await client('owner').from('project_members').select('role, profiles(display_name)');
    expect({ status, code: error?.code, message: error?.message, details: error?.details }).toEqual({
      status: 400,
      code: 'PGRST200',
      message: "Could not find a relationship between 'project_members' and 'profiles' in the schema cache",
      details: "Searched for a foreign key relationship between 'project_members' and 'profiles' in the schema 'public', but no matches were found.",
    });
  });

  it('PGRST201 with the candidates for an ambiguous embed, and the hint that resolves it', async () => {
    const db = client('owner').schema('embedcheck');
    const ambiguous = await db.from('letters').select('id, people(name)');
    expect(ambiguous.status).toBe(300);
    expect(ambiguous.error).toMatchObject({
      code: 'PGRST201',
      message: "Could not embed because more than one relationship was found for 'letters' and 'people'",
      hint: "Try changing 'people' to one of the following: 'people!letters_author_fkey', 'people!letters_reader_fkey'. Find the desired relationship in the 'details' key.",
    });
    expect(ambiguous.error?.details).toEqual([
      { cardinality: 'many-to-one', embedding: 'letters with people', relationship: 'letters_author_fkey using letters(author) and people(id)' },
      { cardinality: 'many-to-one', embedding: 'letters with people', relationship: 'letters_reader_fkey using letters(reader) and people(id)' },
    ]);
    const resolved = await db.from('letters').select('id, author:people!letters_author_fkey(name), reader:people!reader(name)');
    expect(resolved.data).toEqual([{ id: 1, author: { name: 'Ann' }, reader: { name: 'Bob' } }]);
  });

  const attempts: { name: string; path: string }[] = [
    { name: 'an unknown embed', path: '/projects?select=*,nope(*)' },
    { name: 'a hint that matches nothing', path: '/projects?select=*,project_members!nope(*)' },
    { name: 'a filter on a resource not embedded', path: '/projects?select=id&project_members.role=eq.owner' },
    { name: 'an order on a to-many embed', path: '/projects?select=id,project_members(role)&order=project_members(role)' },
    { name: 'an unknown column in an embed', path: '/projects?select=id,project_members(nope)' },
    { name: 'SQL in an embed name', path: '/projects?select=id,"project_members;drop table x"(role)' },
    { name: 'SQL in an embed alias', path: '/projects?select=id,"a"" from x;--":project_members(role)&a=is.null' },
    { name: 'SQL in an embed hint', path: "/projects?select=id,project_members!\"x'; drop table x;--\"(role)" },
    { name: 'an embed of a table in another schema', path: '/projects?select=id,users(email)' },
    { name: 'a malformed embed', path: '/projects?select=id,project_members(role' },
    { name: 'a related order on an unknown column', path: '/project_members?select=role,projects(name)&order=projects(nope)' },
  ];

  it.each(attempts)('$name', async ({ path }) => {
    const response = await stack.rest(path, { token: tokens[users.owner] });
    const body = (await response.json()) as Record<string, unknown>;
    expect(response.status, JSON.stringify(body)).toBeGreaterThanOrEqual(300);
    expect(response.status, JSON.stringify(body)).toBeLessThan(500);
    expect(Object.keys(body).sort()).toEqual(['code', 'details', 'hint', 'message']);
  });

  it('the tables are all still there', async () => {
    const [row] = await stack.admin<{ n: number }[]>`select count(*)::int as n from public.project_members`;
    expect(row?.n).toBe(4);
  });
});

describe('the read SQL over a named source (what writes embed on)', () => {
  it('reads the top level from a CTE of written rows, embeds joined on it', async () => {
    const cache = await loadSchemaCache(stack.admin, ['public'], () => undefined);
    // As after a PATCH: the top-level filter and limit belong to the write, the embed's filter to the read.
    const plan = planRead(cache, 'public', 'projects', parseQueryParams(`select=name,description,project_members(role)&project_members.role=eq.owner&id=eq.${apollo}&limit=0`), { forWrite: true, maxRows: 1 });
    expect({ where: plan.where, range: plan.range, embedWhere: plan.embeds[0]?.node.where.length, embedRange: plan.embeds[0]?.node.range }).toEqual({ where: [], range: { offset: 0 }, embedWhere: 1, embedRange: { offset: 0 } });
    expect(returnedColumns(plan, ['id'])).toEqual(['name', 'description', 'id']);
    const params = parseQueryParams(`select=name&id=eq.${apollo}&or=(name.eq.Apollo,name.eq.Zeus)`);
    const where = rootConditions(cache.relation('public', 'projects')!, params);
    expect(where).toHaveLength(2);
    expect(() => rootConditions(cache.relation('public', 'projects')!, parseQueryParams('nope=eq.1'))).toThrow('column projects.nope does not exist');
    const rows = await stack.admin
      .begin(async (tx) => {
        const result = await tx<{ total: string | null; page_total: string; body: string }[]>`${readSql(tx, {
          plan,
          casts: new Map(),
          offset: 0,
          limit: undefined,
          count: true,
          countLimit: undefined,
          body: 'json',
          stripNulls: false,
          source: { name: 'pgrst_written', cte: tx`update public.projects set description = 'changed' where ${conditionsSql(tx, tx`public.projects`, where)} returning *` },
        })}`;
        throw Object.assign(new Error('rollback'), { result });
      })
      .catch((error: { result?: unknown }) => error.result);
    const [row] = rows as { total: string; page_total: string; body: string }[];
    expect({ ...row, body: JSON.parse(row!.body) as unknown }).toEqual({ total: '1', page_total: '1', body: [{ name: 'Apollo', description: 'changed', project_members: [{ role: 'owner' }] }] });
    const [after] = await stack.admin<{ description: string }[]>`select description from public.projects where id = ${apollo}`;
    expect(after?.description).toBe('');
  });
});
