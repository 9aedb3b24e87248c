/**
 * Request bodies as PostgREST reads them (devstack/rest/body.ts): JSON objects and arrays,
 * `columns=`, CSV with quoting, form bodies, and the limits of the local gateway.
 */
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, parsePayload } from '../../devstack/rest/body.ts';
import { PgrstError } from '../../devstack/rest/errors.ts';

const parse = (text: string, contentType = 'application/json', columns?: string[]) => parsePayload(Buffer.from(text), contentType, columns);
const failure = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    if (error instanceof PgrstError) return { status: error.status, ...error.body };
    throw error;
  }
  throw new Error('expected a PgrstError');
};

describe('parsePayload', () => {
  it('takes the keys of an object, sorted, and of a uniform array', () => {
    expect(parse('{"b":1,"a":2}')).toEqual({ json: '{"b":1,"a":2}', keys: ['a', 'b'], isObject: true });
    expect(parse('[{"a":1,"b":2},{"b":3,"a":4}]')).toMatchObject({ keys: ['a', 'b'], isObject: false });
  });

  it('reads an empty array and any scalar as []', () => {
    expect(parse('[]')).toEqual({ json: '[]', keys: [], isObject: false });
    expect(parse('"x"')).toEqual({ json: '[]', keys: [], isObject: false });
  });

  it('refuses mismatched keys, non-objects and invalid JSON with PGRST102', () => {
    expect(failure(() => parse('[{"a":1},{"a":1,"b":2}]'))).toMatchObject({ status: 400, code: 'PGRST102', message: 'All object keys must match' });
    expect(failure(() => parse('[{"a":1},2]'))).toMatchObject({ code: 'PGRST102', message: 'All object keys must match' });
    expect(failure(() => parse('{'))).toMatchObject({ code: 'PGRST102', message: 'Empty or invalid json' });
  });

  it('with columns= hands the JSON on unread', () => {
    expect(parse('{"x": ', 'application/json', ['b', 'a'])).toEqual({ json: '{"x": ', keys: ['a', 'b'], isObject: true });
    expect(parse(' \n[1]', 'application/json; charset=utf-8', ['a'])).toMatchObject({ isObject: false });
  });

  it('counts nesting outside strings only', () => {
    const deep = `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`;
    expect(failure(() => parse(deep))).toMatchObject({ status: 400, code: 'PGRST102' });
    expect(failure(() => parse(`{"a":${deep}}`, 'application/json', ['a']))).toMatchObject({ code: 'PGRST102' });
    expect(parse(`{"a":"${'['.repeat(MAX_JSON_DEPTH * 2)}\\"["}`).keys).toEqual(['a']);
  });

  it('reads CSV with quotes, doubled quotes, CRLF and NULL', () => {
    const payload = parse('a,b\r\n"x,1","say ""hi"""\r\nNULL,\n', 'text/csv');
    expect(JSON.parse(payload.json)).toEqual([{ a: 'x,1', b: 'say "hi"' }, { a: null, b: '' }]);
    expect(payload.keys).toEqual(['a', 'b']);
    expect(failure(() => parse('a,b\n1\n', 'text/csv'))).toMatchObject({ code: 'PGRST102', message: 'All lines must have same number of fields' });
    expect(failure(() => parse('a\n"open', 'text/csv'))).toMatchObject({ code: 'PGRST102' });
  });

  it('reads a form body as one object of strings', () => {
    expect(parse('a=1&b=x+y', 'application/x-www-form-urlencoded')).toEqual({ json: '{"a":"1","b":"x y"}', keys: ['a', 'b'], isObject: true });
  });

  it('refuses a body that is not UTF-8', () => {
    expect(failure(() => parsePayload(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), 'application/json', undefined))).toMatchObject({ code: 'PGRST102' });
  });

  it('refuses other media types', () => {
    expect(failure(() => parse('x', 'text/plain'))).toMatchObject({ code: 'PGRST102', message: 'Content-Type not acceptable: text/plain' });
  });
});
