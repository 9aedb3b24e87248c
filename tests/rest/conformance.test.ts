/**
 * Request/response cases drawn from PostgREST v16.2's spec tests (test/spec/Feature/Query:
 * QuerySpec, AndOrParamsSpec, JsonOperatorSpec, RangeSpec, SingularSpec, ErrorSpec,
 * MultipleSchemaSpec, PlanSpec), asked of the local Data API through the devstack gateway
 * on fixtures shaped as PostgREST's (fixtures.ts). Each case asserts the status, the
 * headers that carry meaning and the exact body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPEC_FIXTURES } from './fixtures.ts';
import { startRestStack, type RestStack } from './stack.ts';

let stack: RestStack;
beforeAll(async () => {
  stack = await startRestStack({ setupSql: SPEC_FIXTURES, config: { schemas: ['test'], extraSearchPath: ['public', 'extensions'], maxRows: undefined } });
});
afterAll(() => stack?.stop());

const JSON_TYPE = 'application/json; charset=utf-8';
const ids = (...n: number[]) => n.map((id) => ({ id }));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const pgrstError = (code: string, message: string, details: string | null = null, hint: string | null = null) => ({ code, message, details, hint });

interface Case {
  name: string;
  path: string;
  method?: string;
  headers?: Record<string, string>;
  status: number;
  /** JSON body (deep-equal), text body (exact), or null for none. */
  body?: unknown;
  text?: string;
  expectHeaders?: Record<string, string | RegExp | null>;
}

const cases: Case[] = [
  // Filters: comparison operators (QuerySpec "filters")
  { name: 'eq', path: '/items?id=eq.5', status: 200, body: ids(5), expectHeaders: { 'content-range': '0-0/*', 'content-type': JSON_TYPE } },
  { name: 'gt', path: '/items?id=gt.13', status: 200, body: ids(14, 15) },
  { name: 'gte', path: '/items?id=gte.14', status: 200, body: ids(14, 15) },
  { name: 'lt', path: '/items?id=lt.2', status: 200, body: ids(1) },
  { name: 'lte', path: '/items?id=lte.2', status: 200, body: ids(1, 2) },
  { name: 'neq with another filter', path: '/items?id=neq.1&id=lt.4', status: 200, body: ids(2, 3) },
  { name: 'in', path: '/items?id=in.(1,3,5)', status: 200, body: ids(1, 3, 5) },
  { name: 'in with an empty list', path: '/items?id=in.()', status: 200, body: [], expectHeaders: { 'content-range': '*/*' } },
  { name: 'not.in', path: '/items?id=not.in.(1,2,3,4,5,6,7,8,9,10,11,12,13)', status: 200, body: ids(14, 15) },
  { name: 'not.eq', path: '/items?id=not.eq.1&id=lt.3', status: 200, body: ids(2) },
  { name: 'eq(any)', path: '/items?id=eq(any).{1,3}', status: 200, body: ids(1, 3) },
  { name: 'gt(all)', path: '/items?id=gt(all).{12,13}', status: 200, body: ids(14, 15) },
  { name: 'a malformed bigint is 22P02 from Postgres', path: '/items?id=eq.abc', status: 400, body: pgrstError('22P02', 'invalid input syntax for type bigint: "abc"') },
  // Arrays and ranges
  { name: 'cs on an array', path: '/complex_items?select=id&arr_data=cs.{2}', status: 200, body: ids(2, 3) },
  { name: 'cd on an array', path: '/complex_items?select=id&arr_data=cd.{1,2,4}', status: 200, body: ids(1, 2) },
  { name: 'ov on an array', path: '/complex_items?select=id&arr_data=ov.{3,4}', status: 200, body: ids(3) },
  { name: 'sl on a range', path: '/ranges?select=id&range=sl.[9,10]', status: 200, body: ids(1, 2) },
  { name: 'sr on a range', path: '/ranges?select=id&range=sr.[3,4]', status: 200, body: ids(3, 4) },
  { name: 'adj on a range', path: '/ranges?select=id&range=adj.(3,6)', status: 200, body: ids(1, 3) },
  { name: 'nxr on a range', path: '/ranges?select=id&range=nxr.[3,5]', status: 200, body: ids(1) },
  { name: 'nxl on a range', path: '/ranges?select=id&range=nxl.[7,8]', status: 200, body: ids(4) },
  // Pattern matching
  { name: 'like with *', path: '/simple_pk?k=like.*yx', status: 200, body: [{ k: 'xyyx', extra: 'u' }] },
  { name: 'ilike', path: '/simple_pk?select=k&k=ilike.xy*&order=extra', status: 200, body: [{ k: 'xyyx' }, { k: 'xYYx' }] },
  { name: 'match', path: '/simple_pk?select=k&k=match.^xY', status: 200, body: [{ k: 'xYYx' }] },
  { name: 'imatch', path: '/simple_pk?select=k&k=imatch.^XY&order=extra', status: 200, body: [{ k: 'xyyx' }, { k: 'xYYx' }] },
  { name: 'like(any)', path: '/simple_pk?select=k&k=like(any).{xy*,*YYx}&order=extra', status: 200, body: [{ k: 'xyyx' }, { k: 'xYYx' }] },
  // Full-text search
  { name: 'fts', path: '/tsearch?text_search_vector=fts.impossible', status: 200, body: [{ text_search_vector: "'fun':5 'imposs':9 'kind':3" }] },
  { name: 'fts with &', path: '/tsearch?text_search_vector=fts.fun%26possible', status: 200, body: [{ text_search_vector: "'also':2 'fun':3 'possibl':8" }] },
  { name: 'fts with &!', path: '/tsearch?text_search_vector=fts.fun%26!possible', status: 200, body: [{ text_search_vector: "'fun':5 'imposs':9 'kind':3" }] },
  { name: 'plfts', path: '/tsearch?text_search_vector=plfts.The%20Fat%20Rats', status: 200, body: [{ text_search_vector: "'ate':3 'cat':2 'fat':1 'rat':4" }] },
  { name: 'wfts', path: '/tsearch?text_search_vector=wfts.fun%20and%20-possible', status: 200, body: [{ text_search_vector: "'fun':5 'imposs':9 'kind':3" }] },
  { name: 'fts with a language', path: '/tsearch?text_search_vector=fts(french).amusant', status: 200, body: [{ text_search_vector: "'amus':5 'fair':7 'impossibl':9 'peu':4" }] },
  { name: 'phfts', path: '/tsearch?text_search_vector=phfts.fat%20cats', status: 200, body: [{ text_search_vector: "'ate':3 'cat':2 'fat':1 'rat':4" }] },
  // is / isdistinct
  { name: 'is.null', path: '/nullable_integer?a=is.null', status: 200, body: [{ a: null }] },
  { name: 'is.NULL in upper case', path: '/no_pk?a=is.NULL', status: 200, body: [{ a: null, b: null }] },
  { name: 'not.is.null', path: '/no_pk?a=not.is.null', status: 200, body: [{ a: '1', b: '0' }, { a: '2', b: '0' }] },
  { name: 'isdistinct', path: '/no_pk?a=isdistinct.2', status: 200, body: [{ a: '1', b: '0' }, { a: null, b: null }] },
  // Logic trees (AndOrParamsSpec)
  { name: 'or', path: '/items?or=(id.eq.1,id.eq.2)', status: 200, body: ids(1, 2) },
  { name: 'and', path: '/items?and=(id.gt.3,id.lt.6)', status: 200, body: ids(4, 5) },
  { name: 'nested and in or', path: '/items?or=(id.eq.1,and(id.gt.13,id.lt.15))', status: 200, body: ids(1, 14) },
  { name: 'not.or', path: '/items?not.or=(id.gt.2,id.lt.2)', status: 200, body: ids(2) },
  { name: 'not.and nested', path: '/items?or=(id.eq.1,not.and(id.gt.1,id.lt.15))', status: 200, body: ids(1, 15) },
  { name: 'in inside or', path: '/items?or=(id.in.(1,2),id.eq.3)', status: 200, body: ids(1, 2, 3) },
  { name: 'a malformed logic tree', path: '/items?or=(id.eq.1', status: 400, body: pgrstError('PGRST100', '"failed to parse logic tree ((id.eq.1)" (line 1, column 11)', 'unexpected end of input expecting ")"') },
  // Select: columns, casts, aliases, JSON paths (QuerySpec "select", JsonOperatorSpec)
  { name: 'one column', path: '/complex_items?select=id', status: 200, body: ids(1, 2, 3) },
  { name: 'a cast', path: '/complex_items?select=id::text', status: 200, body: [{ id: '1' }, { id: '2' }, { id: '3' }] },
  { name: 'an unknown cast type', path: '/complex_items?select=id::fakecolumntype', status: 400, body: pgrstError('42704', 'type "fakecolumntype" does not exist') },
  { name: 'an alias', path: '/complex_items?select=myAlias:name&id=eq.1', status: 200, body: [{ myAlias: 'One' }] },
  // Names are quoted whole: a dot inside a quoted name is part of it (pgFmtIdent).
  { name: 'a quoted alias with a dot', path: '/complex_items?select="x.y":name&id=eq.1', status: 200, body: [{ 'x.y': 'One' }] },
  { name: 'a column whose name has a dot, selected and filtered', path: '/dotted?select="a.b"&"a.b"=eq.x', status: 200, body: [{ 'a.b': 'x' }] },
  { name: 'a dashed column', path: '/complex_items?select=field-with_sep&id=eq.3', status: 200, body: [{ 'field-with_sep': 3 }] },
  { name: 'a JSON path is named by its last key', path: '/complex_items?select=settings->foo->>bar&id=eq.1', status: 200, body: [{ bar: 'baz' }] },
  { name: 'a JSON path ->', path: '/complex_items?select=settings->foo->int&id=eq.1', status: 200, body: [{ int: 1 }] },
  { name: 'a JSON path with an alias and a cast', path: '/complex_items?select=n:settings->foo->>int::integer&id=eq.1', status: 200, body: [{ n: 1 }] },
  { name: 'a JSON path cast that fails', path: '/complex_items?select=settings->foo->>bar::integer', status: 400, body: pgrstError('22P02', 'invalid input syntax for type integer: "baz"') },
  { name: 'a JSON path filter', path: '/complex_items?select=id&settings->foo->>bar=eq.baz&id=lt.3', status: 200, body: ids(1, 2) },
  {
    name: 'a JSON arrow on an array column is 42883 (404)',
    path: '/complex_items?select=arr_data->0',
    status: 404,
    body: pgrstError('42883', 'operator does not exist: integer[] -> integer', null, 'No operator matches the given name and argument types. You might need to add explicit type casts.'),
  },
  { name: 'a view', path: '/items_view', status: 200, body: ids(1, 2, 3) },
  { name: 'select star', path: '/simple_pk?k=eq.xyyx&select=*', status: 200, body: [{ k: 'xyyx', extra: 'u' }] },
  // Order
  { name: 'order desc with limit', path: '/items?order=id.desc&limit=3', status: 200, body: ids(15, 14, 13), expectHeaders: { 'content-range': '0-2/*' } },
  { name: 'order nulls last', path: '/no_pk?select=a&order=a.desc.nullslast', status: 200, body: [{ a: '2' }, { a: '1' }, { a: null }] },
  { name: 'order nulls first', path: '/no_pk?select=a&order=a.asc.nullsfirst', status: 200, body: [{ a: null }, { a: '1' }, { a: '2' }] },
  { name: 'order by two columns', path: '/no_pk?select=a,b&order=b.desc,a.asc&b=not.is.null', status: 200, body: [{ a: '1', b: '0' }, { a: '2', b: '0' }] },
  // Ranges (RangeSpec)
  { name: 'limit and offset', path: '/items?limit=2&offset=3&order=id', status: 200, body: ids(4, 5), expectHeaders: { 'content-range': '3-4/*' } },
  { name: 'count=exact with limit is 206', path: '/items?limit=2&order=id', headers: { prefer: 'count=exact' }, status: 206, body: ids(1, 2), expectHeaders: { 'content-range': '0-1/15', 'preference-applied': 'count=exact' } },
  { name: 'count=exact of everything is 200', path: '/items?select=id&id=lt.4', headers: { prefer: 'count=exact' }, status: 200, body: ids(1, 2, 3), expectHeaders: { 'content-range': '0-2/3' } },
  {
    name: 'an offset past the count is 416',
    path: '/items?offset=20',
    headers: { prefer: 'count=exact' },
    status: 416,
    body: pgrstError('PGRST103', 'Requested range not satisfiable', 'An offset of 20 was requested, but there are only 15 rows.'),
    // A read's own headers: the 416 of a read is no error response (Response.hs).
    expectHeaders: { 'content-range': '*/15', 'proxy-status': null },
  },
  { name: 'Range header', path: '/items?order=id', headers: { range: '0-1' }, status: 200, body: ids(1, 2), expectHeaders: { 'content-range': '0-1/*' } },
  { name: 'open Range header', path: '/items?order=id', headers: { range: '10-' }, status: 200, body: ids(11, 12, 13, 14, 15), expectHeaders: { 'content-range': '10-14/*' } },
  { name: 'Range header with count', path: '/items?order=id', headers: { range: '0-1', prefer: 'count=exact' }, status: 206, body: ids(1, 2), expectHeaders: { 'content-range': '0-1/15' } },
  {
    name: 'a Range whose lower bound is above its upper',
    path: '/items',
    headers: { range: '2-1' },
    status: 416,
    body: pgrstError('PGRST103', 'Requested range not satisfiable', 'The lower boundary must be lower than or equal to the upper boundary in the Range header.'),
  },
  { name: 'a negative limit', path: '/items?limit=-1', status: 416, body: pgrstError('PGRST103', 'Requested range not satisfiable', 'Limit should be greater than or equal to zero.') },
  { name: 'limit=0', path: '/items?limit=0', status: 200, body: [], expectHeaders: { 'content-range': '*/*' } },
  { name: 'limit=0 with count', path: '/items?limit=0', headers: { prefer: 'count=exact' }, status: 206, body: [], expectHeaders: { 'content-range': '*/15' } },
  { name: 'count=planned gives an estimate', path: '/items?limit=1&order=id', headers: { prefer: 'count=planned' }, status: 206, body: ids(1), expectHeaders: { 'content-range': /^0-0\/\d+$/, 'preference-applied': 'count=planned' } },
  { name: 'count=estimated is exact under max_rows', path: '/items?limit=1&order=id', headers: { prefer: 'count=estimated' }, status: 206, body: ids(1), expectHeaders: { 'content-range': '0-0/15' } },
  // HEAD
  { name: 'HEAD', path: '/items?id=eq.1', method: 'HEAD', status: 200, text: '', expectHeaders: { 'content-range': '0-0/*' } },
  { name: 'HEAD with count', path: '/items', method: 'HEAD', headers: { prefer: 'count=exact' }, status: 200, text: '', expectHeaders: { 'content-range': '0-14/15' } },
  // Media types (SingularSpec, QuerySpec "CSV")
  { name: 'a single object', path: '/items?id=eq.5', headers: { accept: 'application/vnd.pgrst.object+json' }, status: 200, body: { id: 5 }, expectHeaders: { 'content-type': 'application/vnd.pgrst.object+json; charset=utf-8' } },
  {
    name: 'a single object of many rows is PGRST116',
    path: '/items?id=gt.0',
    headers: { accept: 'application/vnd.pgrst.object+json' },
    status: 406,
    body: pgrstError('PGRST116', 'Cannot coerce the result to a single JSON object', 'The result contains 15 rows'),
    expectHeaders: { 'content-type': JSON_TYPE, 'proxy-status': 'PostgREST; error=PGRST116' },
  },
  { name: 'a single object of no row is PGRST116', path: '/items?id=eq.99', headers: { accept: 'application/vnd.pgrst.object+json' }, status: 406, body: pgrstError('PGRST116', 'Cannot coerce the result to a single JSON object', 'The result contains 0 rows') },
  { name: 'nulls=stripped', path: '/no_pk?a=is.null', headers: { accept: 'application/vnd.pgrst.array+json;nulls=stripped' }, status: 200, body: [{}], expectHeaders: { 'content-type': 'application/vnd.pgrst.array+json;nulls=stripped; charset=utf-8' } },
  { name: 'CSV', path: '/items?id=lt.3&order=id', headers: { accept: 'text/csv' }, status: 200, text: 'id\n1\n2', expectHeaders: { 'content-type': 'text/csv; charset=utf-8' } },
  { name: 'CSV with nulls', path: '/no_pk?order=a', headers: { accept: 'text/csv' }, status: 200, text: 'a,b\n1,0\n2,0\n,' },
  { name: 'CSV of nothing', path: '/items?id=eq.99', headers: { accept: 'text/csv' }, status: 200, text: '\n' },
  { name: 'an unavailable media type', path: '/items', headers: { accept: 'text/plain' }, status: 406, body: pgrstError('PGRST107', 'None of these media types are available: text/plain') },
  { name: 'Accept by quality', path: '/items?id=eq.1', headers: { accept: 'text/plain, text/csv;q=0.5' }, status: 200, text: 'id\n1' },
  // Schemas (MultipleSchemaSpec)
  { name: 'an unknown Accept-Profile', path: '/items', headers: { 'accept-profile': 'nope' }, status: 406, body: pgrstError('PGRST106', 'Invalid schema: nope', null, 'Only the following schemas are exposed: test') },
  { name: 'Accept-Profile of the exposed schema', path: '/items?id=eq.1', headers: { 'accept-profile': 'test' }, status: 200, body: ids(1), expectHeaders: { 'content-profile': 'test' } },
  // Errors (ErrorSpec and the schema cache)
  { name: 'an unknown table', path: '/non_existent_table', status: 404, body: pgrstError('PGRST205', "Could not find the table 'test.non_existent_table' in the schema cache"), expectHeaders: { 'proxy-status': 'PostgREST; error=PGRST205' } },
  { name: 'an unknown table with a close one', path: '/itemz', status: 404, body: pgrstError('PGRST205', "Could not find the table 'test.itemz' in the schema cache", null, "Perhaps you meant the table 'test.items'") },
  { name: 'an unknown column in select', path: '/items?select=nope', status: 400, body: pgrstError('42703', 'column items.nope does not exist') },
  { name: 'an unknown column in a filter', path: '/items?nope=eq.1', status: 400, body: pgrstError('42703', 'column items.nope does not exist') },
  { name: 'an unknown column in order', path: '/items?order=nope.desc', status: 400, body: pgrstError('42703', 'column items.nope does not exist') },
  { name: 'an unknown operator', path: '/items?id=noop.1', status: 400, body: pgrstError('PGRST100', '"failed to parse filter (noop.1)" (line 1, column 1)', 'unexpected "o" expecting "not" or operator (eq, gt, ...)') },
  { name: 'a malformed select', path: '/items?select=id,,', status: 400, body: pgrstError('PGRST100', '"failed to parse select parameter (id,,)" (line 1, column 4)', 'unexpected "," expecting field name (* or [a..z0..9_$])') },
  { name: 'a malformed order', path: '/items?order=id.ac', status: 400, body: pgrstError('PGRST100', '"failed to parse order (id.ac)" (line 1, column 4)', 'unexpected "c" expecting "asc", "desc", "nullsfirst" or "nullslast"') },
  { name: 'aggregates are off, as on the CLI', path: '/items?select=count()', status: 400, body: pgrstError('PGRST123', 'Use of aggregate functions is not allowed') },
  { name: 'a table anon may not read is 401', path: '/secret', status: 401, body: pgrstError('42501', 'permission denied for table secret'), expectHeaders: { 'www-authenticate': 'Bearer' } },
  { name: 'strict handling of an unknown preference', path: '/items', headers: { prefer: 'handling=strict, foo=bar' }, status: 400, body: pgrstError('PGRST122', 'Invalid preferences given with handling=strict', 'Invalid preferences: foo=bar') },
  { name: 'lenient handling ignores it', path: '/items?id=eq.1', headers: { prefer: 'foo=bar' }, status: 200, body: ids(1) },
  { name: 'a path too deep', path: '/items/1', status: 404, body: pgrstError('PGRST125', 'Invalid path specified in request URL') },
  { name: 'an unsupported method', path: '/items', method: 'PURGE', status: 405, body: pgrstError('PGRST117', 'Unsupported HTTP method: PURGE') },
  { name: 'a wrong method on RPC', path: '/rpc/f', method: 'PUT', status: 405, body: pgrstError('PGRST101', 'Cannot use the PUT method on RPC') },
  // Content-Location carries the canonical query
  { name: 'Content-Location', path: '/items?select=id&id=eq.5', status: 200, body: ids(5), expectHeaders: { 'content-location': '/items?id=eq.5&select=id' } },
];

describe('the local Data API answers as PostgREST v16.2', () => {
  it('has at least 60 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });

  it.each(cases)('$name: $method $path', async (c) => {
    const response = await stack.rest(c.path, { method: c.method ?? 'GET', headers: c.headers });
    const text = await response.text();
    expect({ status: response.status, text }).toMatchObject({ status: c.status });
    if (c.text !== undefined) expect(text).toBe(c.text);
    else expect(JSON.parse(text)).toEqual(c.body);
    if (c.status >= 400) {
      expect(response.headers.get('content-type')).toBe(JSON_TYPE);
    }
    if (c.status >= 400 && !(c.expectHeaders && 'proxy-status' in c.expectHeaders)) {
      expect(response.headers.get('proxy-status')).toBe(`PostgREST; error=${(c.body as { code: string }).code}`);
    }
    for (const [name, value] of Object.entries(c.expectHeaders ?? {})) {
      if (value instanceof RegExp) expect(response.headers.get(name)).toMatch(value);
      else expect(response.headers.get(name)).toBe(value);
    }
  });

  it('answers concurrent requests, each in its own transaction', async () => {
    const responses = await Promise.all(range(1, 15).map((id) => stack.rest(`/items?id=eq.${id}`).then((r) => r.json())));
    expect(responses).toEqual(range(1, 15).map((id) => ids(id)));
  });
});
