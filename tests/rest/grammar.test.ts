/**
 * The query grammar against the examples of PostgREST v16.2's own parser
 * (src/PostgREST/ApiRequest/QueryParams.hs doctests): what parses, into what, and where
 * a malformed value fails.
 */
import { describe, expect, it } from 'vitest';
import { PgrstError } from '../../devstack/rest/errors.ts';
import { haskellShow, parseFilterValue, parseLogicTree, parseOrder, parseQueryParams, parseSelect } from '../../devstack/rest/grammar.ts';

function failure(run: () => unknown): PgrstError {
  try {
    run();
  } catch (error) {
    if (error instanceof PgrstError) return error;
    throw error;
  }
  throw new Error('expected a parse failure');
}

describe('select', () => {
  it('parses fields, aliases, casts, JSON paths, stars and embeds', () => {
    expect(parseSelect('name,location')).toEqual([
      { kind: 'field', field: { name: 'name', jsonPath: [] } },
      { kind: 'field', field: { name: 'location', jsonPath: [] } },
    ]);
    expect(parseSelect('alias:name->jsonpath::cast')).toEqual([
      { kind: 'field', field: { name: 'name', jsonPath: [{ arrow: '->', operand: 'jsonpath', isIndex: false }] }, alias: 'alias', cast: 'cast' },
    ]);
    expect(parseSelect('alias:name->!@#$%^&*_a::cast')[0]).toMatchObject({ field: { jsonPath: [{ operand: '!@#$%^&*_a' }] } });
    expect(parseSelect('data->1->>-2')[0]).toMatchObject({ field: { jsonPath: [{ operand: '+1', isIndex: true }, { arrow: '->>', operand: '-2', isIndex: true }] } });
    expect(parseSelect('identifier-with-dashes,"quoted, name"')).toMatchObject([{ field: { name: 'identifier-with-dashes' } }, { field: { name: 'quoted, name' } }]);
    expect(parseSelect('*,client(*,nested(*))')).toMatchObject([
      { kind: 'field', field: { name: '*' } },
      { kind: 'relation', name: 'client', children: [{ field: { name: '*' } }, { kind: 'relation', name: 'nested' }] },
    ]);
    expect(parseSelect('alias:rel!inner!hint(*)')[0]).toMatchObject({ kind: 'relation', name: 'rel', alias: 'alias', hint: 'hint', joinType: 'inner' });
    expect(parseSelect('...rel!hint(*)')[0]).toMatchObject({ kind: 'spread', name: 'rel', hint: 'hint' });
    expect(parseSelect('count()')[0]).toMatchObject({ aggregate: 'count' });
    expect(parseSelect('amount.sum()')[0]).toMatchObject({ aggregate: 'sum', field: { name: 'amount' } });
    expect(parseSelect('')).toEqual([]);
    expect(parseSelect(' id , name ')).toHaveLength(2);
  });

  it('fails where PostgREST fails, with its message', () => {
    expect(failure(() => parseSelect('id,clients(name[])')).message).toBe('"failed to parse select parameter (id,clients(name[]))" (line 1, column 16)');
    expect(failure(() => parseSelect('data->>-78xy')).message).toBe('"failed to parse select parameter (data->>-78xy)" (line 1, column 11)');
    expect(failure(() => parseSelect('name!hint')).message).toBe('"failed to parse select parameter (name!hint)" (line 1, column 5)');
    expect(failure(() => parseSelect('*!hint')).message).toBe('"failed to parse select parameter (*!hint)" (line 1, column 2)');
    expect(failure(() => parseSelect('name::')).message).toBe('"failed to parse select parameter (name::)" (line 1, column 7)');
    expect(failure(() => parseSelect('id,,')).body).toMatchObject({ code: 'PGRST100', message: '"failed to parse select parameter (id,,)" (line 1, column 4)' });
  });
});

describe('filters', () => {
  it('parses every operator, not., quantifiers, lists and fts languages', () => {
    expect(parseFilterValue('eq.1')).toEqual({ negated: false, operation: { kind: 'quant', operator: 'eq', value: '1' } });
    expect(parseFilterValue('not.eq(all).value')).toEqual({ negated: true, operation: { kind: 'quant', operator: 'eq', quantifier: 'all', value: 'value' } });
    expect(parseFilterValue('eq(any).{1,2}')).toMatchObject({ operation: { quantifier: 'any', value: '{1,2}' } });
    for (const op of ['neq', 'cs', 'cd', 'ov', 'sl', 'sr', 'nxr', 'nxl', 'adj']) expect(parseFilterValue(`${op}.x`).operation).toEqual({ kind: 'simple', operator: op, value: 'x' });
    for (const op of ['gt', 'gte', 'lt', 'lte', 'like', 'ilike', 'match', 'imatch']) expect(parseFilterValue(`${op}.x`).operation).toEqual({ kind: 'quant', operator: op, value: 'x' });
    expect(parseFilterValue('in.(1,"a,b",3)').operation).toEqual({ kind: 'in', values: ['1', 'a,b', '3'] });
    expect(parseFilterValue('in.()').operation).toEqual({ kind: 'in', values: [''] });
    expect(parseFilterValue('is.NULL').operation).toEqual({ kind: 'is', value: 'null' });
    expect(parseFilterValue('is.not_null').operation).toEqual({ kind: 'is', value: 'not_null' });
    expect(parseFilterValue('isdistinct.2').operation).toEqual({ kind: 'isdistinct', value: '2' });
    expect(parseFilterValue('fts(french).amusant').operation).toEqual({ kind: 'fts', operator: 'fts', language: 'french', value: 'amusant' });
    expect(parseFilterValue('wfts.a b').operation).toEqual({ kind: 'fts', operator: 'wfts', value: 'a b' });
    expect(parseFilterValue('eq.a.b.c').operation).toMatchObject({ value: 'a.b.c' });
  });

  it('fails as PostgREST does on unknown operators', () => {
    expect(failure(() => parseFilterValue('noop.0')).body).toEqual({
      code: 'PGRST100',
      message: '"failed to parse filter (noop.0)" (line 1, column 1)',
      details: 'unexpected "o" expecting "not" or operator (eq, gt, ...)',
      hint: null,
    });
    expect(failure(() => parseFilterValue('val')).details).toBe('unexpected "v" expecting "not" or operator (eq, gt, ...)');
    expect(failure(() => parseFilterValue('fts().value')).message).toBe('"failed to parse filter (fts().value)" (line 1, column 4)');
    expect(failure(() => parseFilterValue('is.maybe')).message).toBe('"failed to parse filter (is.maybe)" (line 1, column 4)');
  });
});

describe('order', () => {
  it('parses directions, nulls and JSON paths', () => {
    expect(parseOrder('name.desc.nullsfirst')).toEqual([{ kind: 'field', field: { name: 'name', jsonPath: [] }, direction: 'desc', nulls: 'nullsfirst' }]);
    expect(parseOrder('json_col->key.asc.nullslast')[0]).toMatchObject({ field: { jsonPath: [{ operand: 'key' }] }, direction: 'asc', nulls: 'nullslast' });
    expect(parseOrder('name,clients(name),id')).toMatchObject([{ kind: 'field' }, { kind: 'relation', relation: 'clients' }, { kind: 'field' }]);
  });

  it('fails at the positions PostgREST reports', () => {
    expect(failure(() => parseOrder('id.ac')).body).toMatchObject({ message: '"failed to parse order (id.ac)" (line 1, column 4)', details: 'unexpected "c" expecting "asc", "desc", "nullsfirst" or "nullslast"' });
    expect(failure(() => parseOrder('id.nulsfist')).details).toBe('unexpected "n" expecting "asc", "desc", "nullsfirst" or "nullslast"');
    expect(failure(() => parseOrder('id.asc.nlsfst')).body).toMatchObject({ message: '"failed to parse order (id.asc.nlsfst)" (line 1, column 8)', details: 'unexpected "l" expecting "nullsfirst" or "nullslast"' });
    expect(failure(() => parseOrder('id.descc')).message).toBe('"failed to parse order (id.descc)" (line 1, column 8)');
    expect(failure(() => parseOrder('id.nullslasttt')).message).toBe('"failed to parse order (id.nullslasttt)" (line 1, column 13)');
    expect(failure(() => parseOrder('clients(name,id)')).message).toBe('"failed to parse order (clients(name,id))" (line 1, column 13)');
  });
});

describe('logic trees', () => {
  it('parses nested and/or with not', () => {
    expect(parseLogicTree('or', '(id.eq.1,not.and(id.gt.2,name.in.(a,b)))')).toMatchObject({
      kind: 'expr',
      operator: 'or',
      negated: false,
      children: [{ kind: 'filter' }, { kind: 'expr', operator: 'and', negated: true, children: [{ kind: 'filter' }, { kind: 'filter', filter: { expr: { operation: { kind: 'in', values: ['a', 'b'] } } } }] }],
    });
    expect(parseLogicTree('not.and', '(a.eq.{1,2},b.eq."x,y")')).toMatchObject({ negated: true, children: [{ filter: { expr: { operation: { value: '{1,2}' } } } }, { filter: { expr: { operation: { value: 'x,y' } } } }] });
  });

  it('fails where PostgREST fails', () => {
    expect(failure(() => parseLogicTree('or', '()')).message).toBe('"failed to parse logic tree (())" (line 1, column 4)');
    expect(failure(() => parseLogicTree('or', '(id.in.1,2,id.eq.3)')).message).toBe('"failed to parse logic tree ((id.in.1,2,id.eq.3))" (line 1, column 10)');
    expect(failure(() => parseLogicTree('or', ')(')).message).toBe('"failed to parse logic tree ()()" (line 1, column 3)');
  });
});

describe('query strings', () => {
  it('splits filters, reserved parameters and ranges; canonicalises as PostgREST', () => {
    const params = parseQueryParams('select=id,name&id=eq.1&order=name.desc&limit=5&offset=10&or=(a.eq.1,b.eq.2)&c=eq.d&a=eq.b');
    expect(params.filters.map((f) => f.filter.field.name)).toEqual(['id', 'c', 'a']);
    expect(params.ranges.get('limit')).toEqual({ offset: 10, limit: 5 });
    expect(params.canonical).toBe('a=eq.b&c=eq.d&id=eq.1&limit=5&offset=10&or=%28a.eq.1%2Cb.eq.2%29&order=name.desc&select=id%2Cname');
    expect(parseQueryParams('a=eq.1&c=eq.3&b=eq.2&d').canonical).toBe('a=eq.1&b=eq.2&c=eq.3&d=');
    expect(parseQueryParams('rel.col=eq.1').filters[0]).toMatchObject({ path: ['rel'], filter: { field: { name: 'col' } } });
    expect(parseQueryParams('select=a+b').select[0]).toMatchObject({ field: { name: 'a b' } });
  });

  it('shows parameters in messages as Haskell shows strings', () => {
    expect(haskellShow('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(haskellShow('é1')).toBe('"\\233\\&1"');
    expect(haskellShow('\n')).toBe('"\\n"');
  });
});
