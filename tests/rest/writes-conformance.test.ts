/**
 * Write cases drawn from PostgREST v16.2's spec tests (test/spec/Feature/Query: InsertSpec,
 * UpdateSpec, DeleteSpec, UpsertSpec, PgSafeUpdateSpec, PreferencesSpec), asked of the local
 * Data API through the devstack gateway on fixtures shaped as PostgREST's (fixtures.ts).
 * Cases run in order (each may depend on the rows the earlier ones wrote); each asserts
 * the status, the headers that carry meaning, the exact body and, where it matters, what
 * the table holds afterwards (a refused write leaves it unchanged).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPEC_FIXTURES, WRITE_FIXTURES } from './fixtures.ts';
import { startRestStack, type RestStack } from './stack.ts';

let stack: RestStack;
beforeAll(async () => {
  stack = await startRestStack({ setupSql: SPEC_FIXTURES + WRITE_FIXTURES, config: { schemas: ['test'], extraSearchPath: ['public', 'extensions'], maxRows: undefined } });
});
afterAll(() => stack?.stop());

const JSON_TYPE = 'application/json; charset=utf-8';
const pgrstError = (code: string, message: string, details: string | null = null, hint: string | null = null) => ({ code, message, details, hint });

interface Case {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** Request body: a string as is, anything else as JSON. */
  send?: unknown;
  status: number;
  /** Response JSON (deep-equal); '' for an empty body. */
  body?: unknown;
  expectHeaders?: Record<string, string | RegExp | null>;
  /** A superuser query and the rows it must give after the request. */
  after?: { sql: string; rows: unknown[] };
}

const rep = { prefer: 'return=representation' };

const cases: Case[] = [
  // Insert (InsertSpec)
  {
    name: 'insert one object: 201, no body, Content-Range */*',
    method: 'POST',
    path: '/tiobe_pls',
    send: { name: 'Go', rank: 19 },
    status: 201,
    body: '',
    expectHeaders: { 'content-range': '*/*', 'content-type': null, location: null },
    after: { sql: "select rank from test.tiobe_pls where name = 'Go'", rows: [{ rank: 19 }] },
  },
  {
    name: 'insert with return=representation and select',
    method: 'POST',
    path: '/tiobe_pls?select=name',
    headers: rep,
    send: { name: 'Rust', rank: 20 },
    status: 201,
    body: [{ name: 'Rust' }],
    expectHeaders: { 'content-type': JSON_TYPE, 'preference-applied': 'return=representation' },
  },
  {
    name: 'insert many with count=exact',
    method: 'POST',
    path: '/tiobe_pls',
    headers: { prefer: 'count=exact' },
    send: [{ name: 'Perl', rank: 21 }, { name: 'Lua', rank: 22 }],
    status: 201,
    body: '',
    expectHeaders: { 'content-range': '*/2', 'preference-applied': 'count=exact' },
  },
  {
    name: 'return=minimal ignores select',
    method: 'POST',
    path: '/tiobe_pls?select=nope',
    headers: { prefer: 'return=minimal' },
    send: { name: 'Zig', rank: 30 },
    status: 400,
    body: pgrstError('42703', 'column tiobe_pls.nope does not exist'),
  },
  {
    name: 'headers-only gives the Location of a serial pk',
    method: 'POST',
    path: '/auto_incrementing_pk',
    headers: { prefer: 'return=headers-only' },
    send: { non_nullable_string: 'not null' },
    status: 201,
    body: '',
    expectHeaders: { location: '/auto_incrementing_pk?id=eq.1', 'preference-applied': 'return=headers-only', 'content-type': null },
  },
  {
    name: 'headers-only Location of a composite pk',
    method: 'POST',
    path: '/employees',
    headers: { prefer: 'return=headers-only' },
    send: { first_name: 'Ann', last_name: 'Lee', salary: '1000', company: 'X', occupation: 'Y' },
    status: 201,
    body: '',
    expectHeaders: { location: '/employees?first_name=eq.Ann&last_name=eq.Lee' },
  },
  {
    name: 'no Location without a primary key',
    method: 'POST',
    path: '/no_pk',
    headers: { prefer: 'return=headers-only' },
    send: { a: 'foo', b: 'bar' },
    status: 201,
    body: '',
    expectHeaders: { location: null },
  },
  {
    name: 'can post nulls',
    method: 'POST',
    path: '/no_pk',
    headers: rep,
    send: { a: null, b: 'z' },
    status: 201,
    body: [{ a: null, b: 'z' }],
  },
  {
    name: 'an array of mismatched keys is PGRST102',
    method: 'POST',
    path: '/no_pk',
    send: [{ a: '1', b: '2' }, { a: '3' }],
    status: 400,
    body: pgrstError('PGRST102', 'All object keys must match'),
    after: { sql: "select count(*)::int as n from test.no_pk where a in ('1', '3') and b is distinct from '0'", rows: [{ n: 0 }] },
  },
  {
    name: 'an array of non-objects is PGRST102',
    method: 'POST',
    path: '/no_pk',
    send: [1, 2],
    status: 400,
    body: pgrstError('PGRST102', 'All object keys must match'),
  },
  {
    name: 'invalid JSON is PGRST102',
    method: 'POST',
    path: '/no_pk',
    send: '{"a": ',
    status: 400,
    body: pgrstError('PGRST102', 'Empty or invalid json'),
  },
  {
    name: 'an empty body is PGRST102',
    method: 'POST',
    path: '/no_pk',
    send: '',
    status: 400,
    body: pgrstError('PGRST102', 'Empty or invalid json'),
  },
  {
    name: 'an unknown key is PGRST204',
    method: 'POST',
    path: '/tiobe_pls',
    send: { name: 'Ada', rank: 1, colour: 'red' },
    status: 400,
    body: pgrstError('PGRST204', "Could not find the 'colour' column of 'tiobe_pls' in the schema cache"),
    after: { sql: "select count(*)::int as n from test.tiobe_pls where name = 'Ada'", rows: [{ n: 0 }] },
  },
  {
    name: 'columns= takes only those keys',
    method: 'POST',
    path: '/with_defaults?columns=id,name',
    headers: rep,
    send: { id: 1, name: 'one', 'field-with_sep': 5, extra: 'ignored' },
    status: 201,
    body: [{ id: 1, name: 'one', 'field-with_sep': 1 }],
  },
  {
    name: 'columns= with a missing key inserts null without missing=default',
    method: 'POST',
    path: '/with_defaults?columns=id,name',
    headers: rep,
    send: { id: 2 },
    status: 201,
    body: [{ id: 2, name: null, 'field-with_sep': 1 }],
  },
  {
    name: 'columns= with missing=default takes the column default',
    method: 'POST',
    path: '/with_defaults?columns=id,name,field-with_sep',
    headers: { prefer: 'return=representation, missing=default' },
    send: [{ id: 3 }, { id: 4, name: 'four' }],
    status: 201,
    body: [{ id: 3, name: 'unnamed', 'field-with_sep': 1 }, { id: 4, name: 'four', 'field-with_sep': 1 }],
    expectHeaders: { 'preference-applied': 'missing=default, return=representation' },
  },
  {
    name: 'columns= naming an unknown column is PGRST204',
    method: 'POST',
    path: '/with_defaults?columns=id,nope',
    send: { id: 9 },
    status: 400,
    body: pgrstError('PGRST204', "Could not find the 'nope' column of 'with_defaults' in the schema cache"),
  },
  {
    name: 'a serial key comes from its sequence',
    method: 'POST',
    path: '/auto_incrementing_pk?select=id',
    headers: rep,
    send: { non_nullable_string: 'b' },
    status: 201,
    body: [{ id: 2 }],
  },
  {
    name: 'a duplicate pk is 23505 (409)',
    method: 'POST',
    path: '/tiobe_pls',
    send: { name: 'Java', rank: 99 },
    status: 409,
    body: pgrstError('23505', 'duplicate key value violates unique constraint "tiobe_pls_pkey"', 'Key (name)=(Java) already exists.'),
    after: { sql: "select rank from test.tiobe_pls where name = 'Java'", rows: [{ rank: 1 }] },
  },
  {
    name: 'a foreign key violation is 23503 (409)',
    method: 'POST',
    path: '/children',
    send: { id: 1, parent_id: 7, x: 1 },
    status: 409,
    body: pgrstError('23503', 'insert or update on table "children" violates foreign key constraint "children_parent_id_fkey"', 'Key (parent_id)=(7) is not present in table "parents".'),
  },
  {
    name: 'a check violation is 23514 (400)',
    method: 'POST',
    path: '/children',
    send: { id: 1, parent_id: 1, x: 0 },
    status: 400,
    body: pgrstError('23514', 'new row for relation "children" violates check constraint "children_x_check"', 'Failing row contains (1, 1, 0).'),
  },
  {
    name: 'a not-null violation is 23502 (400)',
    method: 'POST',
    path: '/simple_pk',
    send: { extra: 'foo' },
    status: 400,
    body: pgrstError('23502', 'null value in column "k" of relation "simple_pk" violates not-null constraint', 'Failing row contains (null, foo).'),
  },
  {
    name: 'limited privileges: insert with the granted select',
    method: 'POST',
    path: '/limited?select=id',
    headers: rep,
    send: { id: 1 },
    status: 201,
    body: [{ id: 1 }],
  },
  {
    name: 'limited privileges: representation of every column is 42501',
    method: 'POST',
    path: '/limited',
    headers: rep,
    send: { id: 2 },
    status: 401,
    body: pgrstError('42501', 'permission denied for table limited'),
    after: { sql: 'select count(*)::int as n from test.limited where id = 2', rows: [{ n: 0 }] },
  },
  {
    name: 'limited privileges: a column without insert grant is 42501',
    method: 'POST',
    path: '/limited',
    send: { id: 3, secret: 's' },
    status: 401,
    body: pgrstError('42501', 'permission denied for table limited'),
  },
  {
    name: 'RLS WITH CHECK refuses an insert',
    method: 'POST',
    path: '/guarded',
    send: { id: 100 },
    status: 401,
    body: pgrstError('42501', 'new row violates row-level security policy for table "guarded"'),
  },
  {
    name: 'CSV insert',
    method: 'POST',
    path: '/no_pk',
    headers: { 'content-type': 'text/csv', prefer: 'return=representation' },
    send: 'a,b\ncsv1,NULL\n"c,2","q""x"',
    status: 201,
    body: [{ a: 'csv1', b: null }, { a: 'c,2', b: 'q"x' }],
  },
  {
    name: 'an unknown content type is PGRST102',
    method: 'POST',
    path: '/no_pk',
    headers: { 'content-type': 'application/xml' },
    send: '<a/>',
    status: 400,
    body: pgrstError('PGRST102', 'Content-Type not acceptable: application/xml'),
  },
  {
    name: 'singular representation of two inserted rows is PGRST116 and rolled back',
    method: 'POST',
    path: '/tiobe_pls',
    headers: { prefer: 'return=representation', accept: 'application/vnd.pgrst.object+json' },
    send: [{ name: 'Elm', rank: 40 }, { name: 'Nim', rank: 41 }],
    status: 406,
    body: pgrstError('PGRST116', 'Cannot coerce the result to a single JSON object', 'The result contains 2 rows'),
    after: { sql: "select count(*)::int as n from test.tiobe_pls where name in ('Elm', 'Nim')", rows: [{ n: 0 }] },
  },
  // Upsert (UpsertSpec)
  {
    name: 'merge-duplicates inserts and updates: 201',
    method: 'POST',
    path: '/tiobe_pls',
    headers: { prefer: 'return=representation, resolution=merge-duplicates' },
    send: [{ name: 'Javascript', rank: 6 }, { name: 'Java', rank: 2 }, { name: 'C', rank: 1 }],
    status: 201,
    body: [{ name: 'Javascript', rank: 6 }, { name: 'Java', rank: 2 }, { name: 'C', rank: 1 }],
    expectHeaders: { 'preference-applied': 'resolution=merge-duplicates, return=representation' },
  },
  {
    name: 'merge-duplicates that only updates: 200',
    method: 'POST',
    path: '/tiobe_pls',
    headers: { prefer: 'return=representation, resolution=merge-duplicates' },
    send: [{ name: 'Java', rank: 3 }, { name: 'C', rank: 4 }],
    status: 200,
    body: [{ name: 'Java', rank: 3 }, { name: 'C', rank: 4 }],
  },
  {
    name: 'merge-duplicates of an empty array: 200',
    method: 'POST',
    path: '/tiobe_pls',
    headers: { prefer: 'return=representation, resolution=merge-duplicates' },
    send: [],
    status: 200,
    body: [],
  },
  {
    name: 'ignore-duplicates skips existing rows',
    method: 'POST',
    path: '/tiobe_pls',
    headers: { prefer: 'return=representation, resolution=ignore-duplicates' },
    send: [{ name: 'Java', rank: 50 }, { name: 'Kotlin', rank: 51 }],
    status: 201,
    body: [{ name: 'Kotlin', rank: 51 }],
    after: { sql: "select rank from test.tiobe_pls where name = 'Java'", rows: [{ rank: 3 }] },
  },
  {
    name: 'merge-duplicates on a composite key with on_conflict',
    method: 'POST',
    path: '/employees?on_conflict=first_name,last_name&select=first_name,company',
    headers: { prefer: 'return=representation, resolution=merge-duplicates' },
    send: { first_name: 'Ann', last_name: 'Lee', salary: '2000', company: 'Z', occupation: 'Y' },
    status: 200,
    body: [{ first_name: 'Ann', company: 'Z' }],
  },
  {
    name: 'resolution without a primary key is not applied',
    method: 'POST',
    path: '/no_pk',
    headers: { prefer: 'resolution=ignore-duplicates' },
    send: { a: 'np', b: 'np' },
    status: 201,
    body: '',
    expectHeaders: { 'preference-applied': null },
  },
  {
    name: 'PUT inserts a row: 201',
    method: 'PUT',
    path: '/tiobe_pls?name=eq.Go2',
    headers: rep,
    send: [{ name: 'Go2', rank: 19 }],
    status: 201,
    body: [{ name: 'Go2', rank: 19 }],
  },
  {
    name: 'PUT updates a row: 200',
    method: 'PUT',
    path: '/tiobe_pls?name=eq.Go2',
    headers: rep,
    send: { name: 'Go2', rank: 18 },
    status: 200,
    body: [{ name: 'Go2', rank: 18 }],
  },
  {
    name: 'PUT without return is 204',
    method: 'PUT',
    path: '/tiobe_pls?name=eq.Go2',
    send: { name: 'Go2', rank: 17 },
    status: 204,
    body: '',
    after: { sql: "select rank from test.tiobe_pls where name = 'Go2'", rows: [{ rank: 17 }] },
  },
  {
    name: 'PUT with a mismatched pk is PGRST115',
    method: 'PUT',
    path: '/tiobe_pls?name=eq.MATLAB',
    send: [{ name: 'Perl', rank: 17 }],
    status: 400,
    body: pgrstError('PGRST115', 'Payload values do not match URL in primary key column(s)'),
    after: { sql: "select rank from test.tiobe_pls where name = 'Perl'", rows: [{ rank: 21 }] },
  },
  {
    name: 'PUT with a non-pk filter is PGRST105',
    method: 'PUT',
    path: '/tiobe_pls?rank=eq.1',
    send: { name: 'x', rank: 1 },
    status: 405,
    body: pgrstError('PGRST105', "Filters must include all and only primary key columns with 'eq' operators"),
  },
  {
    name: 'PUT with only part of a composite key is PGRST105',
    method: 'PUT',
    path: '/employees?first_name=eq.Ann',
    send: { first_name: 'Ann', last_name: 'Lee' },
    status: 405,
    body: pgrstError('PGRST105', "Filters must include all and only primary key columns with 'eq' operators"),
  },
  {
    name: 'PUT on a table without pk is PGRST105',
    method: 'PUT',
    path: '/no_pk?a=eq.one&b=eq.two',
    send: [{ a: 'one', b: 'two' }],
    status: 405,
    body: pgrstError('PGRST105', "Filters must include all and only primary key columns with 'eq' operators"),
  },
  {
    name: 'PUT with limit is PGRST114',
    method: 'PUT',
    path: '/tiobe_pls?name=eq.Javascript&limit=1',
    send: { name: 'Javascript', rank: 1 },
    status: 400,
    body: pgrstError('PGRST114', 'limit/offset querystring parameters are not allowed for PUT'),
  },
  // Update (UpdateSpec)
  {
    name: 'update one row: 204 with Content-Range',
    method: 'PATCH',
    path: '/tiobe_pls?name=eq.Kotlin',
    send: { rank: 52 },
    status: 204,
    body: '',
    expectHeaders: { 'content-range': '0-0/*' },
    after: { sql: "select rank from test.tiobe_pls where name = 'Kotlin'", rows: [{ rank: 52 }] },
  },
  {
    name: 'update with representation, order and count',
    method: 'PATCH',
    path: '/tiobe_pls?name=in.(Perl,Lua)&order=name&select=name,rank',
    headers: { prefer: 'return=representation, count=exact' },
    send: { rank: 60 },
    status: 200,
    body: [{ name: 'Lua', rank: 60 }, { name: 'Perl', rank: 60 }],
    expectHeaders: { 'content-range': '0-1/2', 'preference-applied': 'return=representation, count=exact' },
  },
  {
    name: 'update matching no row: 200 [] with representation',
    method: 'PATCH',
    path: '/tiobe_pls?name=eq.Nothing',
    headers: rep,
    send: { rank: 1 },
    status: 200,
    body: [],
    expectHeaders: { 'content-range': '*/*' },
  },
  {
    name: 'update with an empty body changes nothing',
    method: 'PATCH',
    path: '/tiobe_pls?name=eq.Kotlin',
    headers: rep,
    send: {},
    status: 200,
    body: [],
  },
  {
    name: 'update can set a column to null',
    method: 'PATCH',
    path: '/tiobe_pls?name=eq.Kotlin',
    headers: rep,
    send: { rank: null },
    status: 200,
    body: [{ name: 'Kotlin', rank: null }],
  },
  {
    name: 'update with an unknown column is PGRST204',
    method: 'PATCH',
    path: '/tiobe_pls?name=eq.Kotlin',
    send: { nope: 1 },
    status: 400,
    body: pgrstError('PGRST204', "Could not find the 'nope' column of 'tiobe_pls' in the schema cache"),
  },
  {
    name: 'update without a filter is refused as pg-safeupdate does',
    method: 'PATCH',
    path: '/tiobe_pls',
    headers: { prefer: 'count=exact' },
    send: { rank: 0 },
    status: 400,
    body: pgrstError('21000', 'UPDATE requires a WHERE clause'),
    after: { sql: 'select count(*)::int as n from test.tiobe_pls where rank = 0', rows: [{ n: 0 }] },
  },
  {
    name: 'update with a logic tree is filtered',
    method: 'PATCH',
    path: '/tiobe_pls?or=(name.eq.Lua,name.eq.Perl)',
    headers: { prefer: 'count=exact' },
    send: { rank: 61 },
    status: 204,
    body: '',
    expectHeaders: { 'content-range': '0-1/2' },
  },
  {
    name: 'max-affected with handling=strict refuses and rolls back',
    method: 'PATCH',
    path: '/tiobe_pls?rank=eq.61',
    headers: { prefer: 'handling=strict, max-affected=1' },
    send: { rank: 62 },
    status: 400,
    body: pgrstError('PGRST124', 'Query result exceeds max-affected preference constraint', 'The query affects 2 rows'),
    after: { sql: 'select count(*)::int as n from test.tiobe_pls where rank = 62', rows: [{ n: 0 }] },
  },
  {
    name: 'max-affected without strict is ignored',
    method: 'PATCH',
    path: '/tiobe_pls?rank=eq.61',
    headers: { prefer: 'max-affected=1' },
    send: { rank: 62 },
    status: 204,
    body: '',
    expectHeaders: { 'preference-applied': null },
  },
  {
    name: 'max-affected within the bound is applied',
    method: 'PATCH',
    path: '/tiobe_pls?rank=eq.62',
    headers: { prefer: 'handling=strict, max-affected=2' },
    send: { rank: 63 },
    status: 204,
    body: '',
    expectHeaders: { 'preference-applied': 'handling=strict, max-affected=2' },
  },
  {
    name: 'an invalid preference with handling=strict is PGRST122',
    method: 'PATCH',
    path: '/tiobe_pls?name=eq.Lua',
    headers: { prefer: 'handling=strict, return=everything' },
    send: { rank: 1 },
    status: 400,
    body: pgrstError('PGRST122', 'Invalid preferences given with handling=strict', 'Invalid preferences: return=everything'),
  },
  {
    name: 'tx=rollback is ignored (db-tx-end = commit)',
    method: 'PATCH',
    path: '/tiobe_pls?name=eq.Lua',
    headers: { prefer: 'tx=rollback, return=minimal' },
    send: { rank: 70 },
    status: 204,
    body: '',
    expectHeaders: { 'preference-applied': 'return=minimal' },
    after: { sql: "select rank from test.tiobe_pls where name = 'Lua'", rows: [{ rank: 70 }] },
  },
  {
    name: 'RLS hides rows from an update: 200 []',
    method: 'PATCH',
    path: '/guarded?id=eq.50',
    headers: rep,
    send: { owner: 'z' },
    status: 200,
    body: [],
    after: { sql: 'select owner from test.guarded where id = 50', rows: [{ owner: 'y' }] },
  },
  // Delete (DeleteSpec)
  {
    name: 'delete: 204 with */n on count',
    method: 'DELETE',
    path: '/items?id=eq.1',
    headers: { prefer: 'count=exact' },
    status: 204,
    body: '',
    expectHeaders: { 'content-range': '*/1' },
    after: { sql: 'select count(*)::int as n from test.items where id = 1', rows: [{ n: 0 }] },
  },
  {
    name: 'delete with representation, select and a cast',
    method: 'DELETE',
    path: '/complex_items?id=eq.3&select=ID:id::text,name',
    headers: rep,
    status: 200,
    body: [{ ID: '3', name: 'Three' }],
  },
  {
    name: 'delete matching nothing with representation: []',
    method: 'DELETE',
    path: '/items?id=eq.1',
    headers: rep,
    status: 200,
    body: [],
  },
  {
    name: 'delete without a filter is refused as pg-safeupdate does',
    method: 'DELETE',
    path: '/items',
    status: 400,
    body: pgrstError('21000', 'DELETE requires a WHERE clause'),
    after: { sql: 'select count(*)::int as n from test.items', rows: [{ n: 14 }] },
  },
  {
    name: 'delete on a missing table is PGRST205',
    method: 'DELETE',
    path: '/nothing?id=eq.1',
    status: 404,
    body: pgrstError('PGRST205', "Could not find the table 'test.nothing' in the schema cache"),
  },
  {
    name: 'delete with max-affected strict',
    method: 'DELETE',
    path: '/items?id=lt.5',
    headers: { prefer: 'handling=strict, max-affected=2' },
    status: 400,
    body: pgrstError('PGRST124', 'Query result exceeds max-affected preference constraint', 'The query affects 3 rows'),
    after: { sql: 'select count(*)::int as n from test.items', rows: [{ n: 14 }] },
  },
];

describe('writes of the local Data API answer as PostgREST v16.2', () => {
  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)('$name: $method $path', async (c) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...c.headers };
    const body = c.send === undefined ? undefined : typeof c.send === 'string' ? c.send : JSON.stringify(c.send);
    const response = await stack.rest(c.path, { method: c.method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    expect({ status: response.status, text }).toMatchObject({ status: c.status });
    if (c.body === '') expect(text).toBe('');
    else expect(JSON.parse(text)).toEqual(c.body);
    if (c.status >= 400) {
      expect(response.headers.get('content-type')).toBe(JSON_TYPE);
      expect(response.headers.get('proxy-status')).toBe(`PostgREST; error=${(c.body as { code: string }).code}`);
    }
    for (const [name, value] of Object.entries(c.expectHeaders ?? {})) {
      if (value instanceof RegExp) expect(response.headers.get(name)).toMatch(value);
      else expect(response.headers.get(name)).toBe(value);
    }
    if (c.after) expect(await stack.admin.unsafe(c.after.sql)).toEqual(c.after.rows);
  });
});
