/**
 * `GET /rest/v1/`: the Swagger 2.0 document PostgREST serves, in its default
 * follow-privileges mode (relations the role cannot touch are left out, functions are
 * all listed), on fixture tables and on Tandem's own schema.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRestStack, type RestStack } from './stack.ts';

let stack: RestStack;
let userToken: string;

const FIXTURES = `
create schema oa;
comment on schema oa is 'Things API
All the things.';
grant usage on schema oa to anon, authenticated;
create type oa.kind as enum ('a', 'b');
create table oa.parents (id int primary key);
create table oa.things (
  id int primary key,
  label character varying(20) default 'x',
  kind oa.kind not null default 'a',
  count bigint default 42,
  tags text[],
  data jsonb,
  parent_id int references oa.parents (id)
);
comment on table oa.things is 'Things
Each one a thing.';
comment on column oa.things.id is 'the id';
create table oa.secret (id int);
create view oa.things_view as select id, label from oa.things;
grant select on oa.things, oa.things_view to anon, authenticated;
grant select on oa.parents to authenticated;
create function oa.lookup(id int, tags text[] default '{}') returns setof oa.things language sql stable as 'select * from oa.things';
comment on function oa.lookup(int, text[]) is 'Looks things up';
create function oa.bump(variadic n int[]) returns int language sql volatile as 'select 1';
`;

beforeAll(async () => {
  stack = await startRestStack({ setupSql: FIXTURES, config: { schemas: ['public', 'graphql_public', 'oa'] } });
  const id = '00000000-0000-4000-8000-00000000a001';
  await stack.admin`insert into auth.users (id, aud, role, email, created_at, updated_at) values (${id}, 'authenticated', 'authenticated', 'oa@test.tandem.dev', now(), now())`;
  userToken = await stack.tokenFor(id, 'oa@test.tandem.dev');
});
afterAll(() => stack?.stop());

async function document(schema: string, token?: string, accept = 'application/openapi+json'): Promise<{ status: number; type: string | null; body: Record<string, any> }> {
  const response = await stack.rest('/', { headers: { accept, 'accept-profile': schema }, ...(token ? { token } : {}) });
  return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as Record<string, any> };
}

describe('the OpenAPI document', () => {
  it('is Swagger 2.0 as PostgREST v16.2 frames it', async () => {
    const { status, type, body } = await document('oa');
    expect(status).toBe(200);
    expect(type).toBe('application/openapi+json; charset=utf-8');
    expect(body).toMatchObject({
      swagger: '2.0',
      basePath: '/',
      host: '0.0.0.0:3000',
      schemes: ['http'],
      info: { version: '16.2', title: 'Things API', description: 'All the things.' },
      externalDocs: { description: 'PostgREST Documentation', url: 'https://postgrest.org/en/v16/references/api.html' },
      produces: ['application/json', 'application/vnd.pgrst.object+json;nulls=stripped', 'application/vnd.pgrst.object+json', 'text/csv'],
    });
    expect(Object.keys(body).sort()).toEqual(['basePath', 'consumes', 'definitions', 'externalDocs', 'host', 'info', 'parameters', 'paths', 'produces', 'schemes', 'swagger']);
    expect(body.paths['/']).toEqual({
      get: { tags: ['Introspection'], summary: 'OpenAPI description (this document)', produces: ['application/openapi+json', 'application/json'], responses: { '200': { description: 'OK' } } },
    });
    expect(body.parameters.rangeUnit).toEqual({ name: 'Range-Unit', description: 'Limiting and Pagination', required: false, in: 'header', type: 'string', default: 'items' });
    expect(body.parameters.preferCount).toEqual({ name: 'Prefer', description: 'Preference', required: false, in: 'header', type: 'string', enum: ['count=none'] });
  });

  it('describes relations with types, formats, defaults, enums, keys and comments', async () => {
    const { body } = await document('oa', userToken);
    const things = body.definitions.things;
    expect(things.description).toBe('Things\nEach one a thing.');
    expect(things.required).toEqual(['id', 'kind']);
    expect(things.properties).toEqual({
      id: { description: 'the id\n\nNote:\nThis is a Primary Key.<pk/>', format: 'int32', type: 'integer' },
      label: { default: 'x', format: 'character varying', maxLength: 20, type: 'string' },
      kind: { default: 'a', enum: ['a', 'b'], format: 'oa.kind', type: 'string' },
      count: { default: 42, format: 'int64', type: 'integer' },
      tags: { format: 'text[]', items: { type: 'string' }, type: 'array' },
      data: { format: 'jsonb' },
      parent_id: { description: "Note:\nThis is a Foreign Key to `parents.id`.<fk table='parents' column='id'/>", format: 'int32', type: 'integer' },
    });
    expect(body.paths['/things'].get).toMatchObject({
      tags: ['things'],
      summary: 'Things',
      description: 'Each one a thing.',
      responses: { '200': { description: 'OK', schema: { type: 'array', items: { $ref: '#/definitions/things' } } }, '206': { description: 'Partial Content' } },
    });
    expect(body.paths['/things'].get.parameters[0]).toEqual({ $ref: '#/parameters/rowFilter.things.id' });
    expect(Object.keys(body.paths['/things']).sort()).toEqual(['delete', 'get', 'patch', 'post']);
    expect(body.parameters['rowFilter.things.id']).toEqual({ name: 'id', description: 'the id', required: false, in: 'query', type: 'string' });
  });

  it('leaves out relations the role holds no privilege on (follow-privileges)', async () => {
    const anon = await document('oa');
    expect(Object.keys(anon.body.definitions).sort()).toEqual(['things', 'things_view']);
    const user = await document('oa', userToken);
    expect(Object.keys(user.body.definitions).sort()).toEqual(['parents', 'things', 'things_view']);
    expect(user.body.paths['/secret']).toBeUndefined();
  });

  it('lists functions: GET and POST for stable ones, POST only for volatile ones', async () => {
    const { body } = await document('oa');
    expect(body.paths['/rpc/lookup'].get).toEqual({
      summary: 'Looks things up',
      tags: ['(rpc) lookup'],
      produces: ['application/json', 'application/vnd.pgrst.object+json;nulls=stripped', 'application/vnd.pgrst.object+json'],
      responses: { '200': { description: 'OK' } },
      parameters: [
        { name: 'id', required: true, in: 'query', format: 'int32', type: 'integer' },
        { name: 'tags', required: false, in: 'query', format: 'text[]', type: 'string' },
      ],
    });
    expect(body.paths['/rpc/lookup'].post.parameters).toEqual([
      { name: 'args', required: true, in: 'body', schema: { description: 'Looks things up', type: 'object', properties: { id: { format: 'int32', type: 'integer' }, tags: { format: 'text[]', items: { type: 'string' }, type: 'array' } }, required: ['id'] } },
      { $ref: '#/parameters/preferParams' },
    ]);
    expect(Object.keys(body.paths['/rpc/bump'])).toEqual(['post']);
  });

  it("describes Tandem's schema per role", async () => {
    const anon = await document('public');
    expect(anon.body.definitions ?? {}).not.toHaveProperty('projects');
    expect(Object.keys(anon.body.paths['/rpc/cancel_job'])).toEqual(['post']);
    expect(Object.keys(anon.body.paths['/rpc/my_invitations']).sort()).toEqual(['get', 'post']);
    const user = await document('public', userToken);
    expect(user.body.definitions.projects.properties.id).toMatchObject({ description: 'Note:\nThis is a Primary Key.<pk/>', format: 'uuid', type: 'string' });
    expect(user.body.definitions.project_members.properties.project_id.description).toBe(
      "Note:\nThis is a Primary Key.<pk/>\nThis is a Foreign Key to `projects.id`.<fk table='projects' column='id'/>",
    );
  });

  it('negotiates the media type and answers HEAD', async () => {
    expect((await document('oa', undefined, 'application/json')).status).toBe(200);
    const csv = await document('oa', undefined, 'text/csv');
    expect({ status: csv.status, code: csv.body.code }).toEqual({ status: 406, code: 'PGRST107' });
    const head = await stack.rest('/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});
