/**
 * `GET /rest/v1/`: the OpenAPI (Swagger 2.0) description of the request's schema, as
 * PostgREST v16.2 builds it (upstream PostgREST/postgrest
 * src/library/PostgREST/Response/OpenAPI.hs; MainTx.hs for the openapi-mode). The CLI
 * sets no PGRST_OPENAPI_MODE, so the mode is PostgREST's default, follow-privileges:
 * only the relations the request's role holds some privilege on (read at request time,
 * under the role, as accessibleTables), and every function of the schema (accessibleFuncs
 * filters by schema only). The CLI sets no server proxy URI either: host `0.0.0.0:3000`,
 * basePath `/`. Keys are sorted, as aeson writes the document.
 *
 * Not reproduced: foreign keys that PostgREST infers for views (only tables' own
 * single-column foreign keys are described).
 */
import type postgres from 'postgres';
import type { JwtClaims, TransactionSql } from '../../core/db/rls.ts';
import type { DataApiConfig } from './config.ts';
import { fromPostgresError, mediaTypeError } from './errors.ts';
import { parseCookies, withRequestSettings } from './request-settings.ts';
import type { Routine, RoutineParam, SchemaCache } from './schema-cache.ts';

const POSTGREST_VERSION = '16.2';
const DOCS_VERSION = 'v16';
const JSON_MIMES = ['application/json', 'application/vnd.pgrst.object+json;nulls=stripped', 'application/vnd.pgrst.object+json'];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };

interface ColumnInfo {
  name: string;
  description: string | null;
  nullable: boolean;
  type: string;
  max_length: number | null;
  default: string | null;
  enum: string[];
  fk: { table: string; column: string } | null;
}

interface TableInfo {
  name: string;
  description: string | null;
  writable: boolean;
  pk: string[];
  columns: ColumnInfo[];
}

/**
 * The media type check of PostgREST's inspectPlan: application/openapi+json,
 * application/json or any; else PGRST107.
 *
 * @example
 * negotiateOpenApi('application/openapi+json'); // passes
 */
export function negotiateOpenApi(accept: string | undefined): void {
  const mimes = (accept ?? '*/*').split(',').map((part) => part.split(';')[0]!.trim().toLowerCase()).filter((m) => m !== '');
  if (mimes.length === 0 || mimes.some((m) => m === 'application/openapi+json' || m === 'application/json' || m === '*/*')) return;
  throw mediaTypeError(mimes);
}

/** The relations of `schema` the current role holds a privilege on, with what the document says of them. */
async function accessibleTables(tx: TransactionSql, schema: string): Promise<TableInfo[]> {
  // Column types as PostgREST's schema cache names them: read on a connection of
  // authenticator, whose search_path is the server's default ("$user", public), so a type
  // of another schema is schema-qualified.
  await tx`select pg_catalog.set_config('search_path', '"$user", public', true)`;
  const rows = await tx<{ tables: TableInfo[] | null }[]>`
    with cols as (
      select a.attrelid as relid, a.attnum,
             json_build_object(
               'name', a.attname,
               'description', d.description,
               'nullable', not (a.attnotnull or (t.typtype = 'd' and t.typnotnull)),
               'type', case when t.typtype = 'd' then format_type(t.typbasetype, null)
                            when t.typnamespace = 'pg_catalog'::regnamespace then format_type(a.atttypid, null)
                            else format_type(a.atttypid, a.atttypmod) end,
               'max_length', information_schema._pg_char_max_length(information_schema._pg_truetypid(a.*, t.*), information_schema._pg_truetypmod(a.*, t.*))::int,
               'default', case when a.attgenerated = 's' then null
                               when a.attidentity = 'd' then format('nextval(%L)', pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname))
                               else pg_get_expr(ad.adbin, ad.adrelid) end,
               'enum', coalesce((select json_agg(e.enumlabel order by e.enumsortorder) from pg_enum e
                                  where e.enumtypid = case when t.typtype = 'd' then t.typbasetype else a.atttypid end), '[]'),
               'fk', (select json_build_object('table', fc.relname, 'column', fa.attname)
                        from pg_constraint k
                        join pg_class fc on fc.oid = k.confrelid
                        join pg_attribute fa on fa.attrelid = k.confrelid and fa.attnum = k.confkey[1]
                       where k.contype = 'f' and k.conrelid = c.oid and k.conkey = array[a.attnum]
                       order by k.conname limit 1)
             ) as info
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        join pg_type t on t.oid = a.atttypid
        left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
        left join pg_description d on d.objoid = a.attrelid and d.objsubid = a.attnum and d.classoid = 'pg_class'::regclass
       where a.attnum > 0 and not a.attisdropped and n.nspname = ${schema}
    )
    select json_agg(json_build_object(
             'name', c.relname,
             'description', d.description,
             'writable', c.relkind in ('r', 'p') or (c.relkind in ('v', 'f') and (pg_relation_is_updatable(c.oid::regclass, true) & 28) <> 0),
             'pk', coalesce((select json_agg(a.attname order by a.attname) from pg_constraint k join pg_attribute a on a.attrelid = c.oid and a.attnum = any(k.conkey)
                              where k.conrelid = c.oid and k.contype = 'p'), '[]'),
             'columns', coalesce((select json_agg(cols.info order by cols.attnum) from cols where cols.relid = c.oid), '[]')
           ) order by c.relname) as tables
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      left join pg_description d on d.objoid = c.oid and d.objsubid = 0 and d.classoid = 'pg_class'::regclass
     where c.relkind in ('v', 'r', 'm', 'f', 'p') and n.nspname = ${schema} and not c.relispartition
       and (pg_has_role(c.relowner, 'USAGE')
            or has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
            or has_any_column_privilege(c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))`;
  return rows[0]?.tables ?? [];
}

function swaggerType(type: string): string | undefined {
  switch (type) {
    case 'character varying':
    case 'character':
    case 'text':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'smallint':
    case 'integer':
    case 'bigint':
      return 'integer';
    case 'numeric':
    case 'real':
    case 'double precision':
      return 'number';
    case 'json':
    case 'jsonb':
      return undefined;
  }
  return type.endsWith('[]') ? 'array' : 'string';
}

function swaggerFormat(type: string): string {
  return type === 'smallint' || type === 'integer' ? 'int32' : type === 'bigint' ? 'int64' : type;
}

function arrayItems(type: string): Json | undefined {
  if (swaggerType(type) !== 'array') return undefined;
  const element = swaggerType(type.slice(0, -2));
  return element === undefined ? {} : { type: element };
}

function tryJson(text: string): Json | undefined {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}

/** PostgREST's parseDefault: a string type's default without its cast and quotes; anything else as JSON, if it is. */
function defaultValue(type: string, value: string | null): Json | undefined {
  if (value === null) return undefined;
  if (swaggerType(type) === 'string') {
    const suffix = `::${type}`;
    const bare = value.endsWith(suffix) ? value.slice(0, -suffix.length).replace(/^'+|'+$/g, '') : value;
    return tryJson(`"${bare}"`);
  }
  return tryJson(value);
}

/** First line as summary, the rest (leading newlines dropped) as description. */
function summaryAndDescription(text: string | null): { summary?: string; description?: string } {
  if (text === null) return {};
  const newline = text.indexOf('\n');
  if (newline === -1) return { summary: text };
  const rest = text.slice(newline).replace(/^\n+/, '');
  return { summary: text.slice(0, newline), ...(rest !== '' ? { description: rest } : {}) };
}

function property(table: TableInfo, column: ColumnInfo): Json {
  const notes = ['Note:'];
  if (table.pk.includes(column.name)) notes.push('This is a Primary Key.<pk/>');
  if (column.fk) notes.push(`This is a Foreign Key to \`${column.fk.table}.${column.fk.column}\`.<fk table='${column.fk.table}' column='${column.fk.column}'/>`);
  const description = notes.length > 1 ? `${column.description !== null ? `${column.description}\n\n` : ''}${notes.join('\n')}` : column.description;
  return {
    default: defaultValue(column.type, column.default),
    description: description ?? undefined,
    enum: column.enum.length > 0 ? column.enum : undefined,
    format: swaggerFormat(column.type),
    maxLength: column.max_length ?? undefined,
    type: swaggerType(column.type),
    items: arrayItems(column.type),
  };
}

function preferParam(values: string[]): Json {
  return { name: 'Prefer', description: 'Preference', required: false, in: 'header', type: 'string', enum: values.length > 0 ? values : undefined };
}

function queryParam(name: string, description: string): Json {
  return { name, description, required: false, in: 'query', type: 'string' };
}

function parameterDefinitions(tables: TableInfo[]): Record<string, Json> {
  const defs: Record<string, Json> = {
    preferParams: preferParam([]),
    preferReturn: preferParam(['return=representation', 'return=minimal', 'return=none']),
    preferCount: preferParam(['count=none']),
    preferPost: preferParam(['return=representation', 'return=minimal', 'return=none', 'resolution=ignore-duplicates', 'resolution=merge-duplicates']),
    select: queryParam('select', 'Filtering Columns'),
    on_conflict: queryParam('on_conflict', 'On Conflict'),
    order: queryParam('order', 'Ordering'),
    range: { name: 'Range', description: 'Limiting and Pagination', required: false, in: 'header', type: 'string' },
    rangeUnit: { name: 'Range-Unit', description: 'Limiting and Pagination', required: false, in: 'header', type: 'string', default: 'items' },
    offset: queryParam('offset', 'Limiting and Pagination'),
    limit: queryParam('limit', 'Limiting and Pagination'),
  };
  for (const table of tables) {
    defs[`body.${table.name}`] = { name: table.name, description: table.name, required: false, in: 'body', schema: { $ref: `#/definitions/${table.name}` } };
    for (const column of table.columns) {
      defs[`rowFilter.${table.name}.${column.name}`] = { name: column.name, description: column.description ?? undefined, required: false, in: 'query', type: 'string' };
    }
  }
  return defs;
}

const ref = (name: string): Json => ({ $ref: `#/parameters/${name}` });

function tablePath(table: TableInfo): Json {
  const base = { tags: [table.name], ...summaryAndDescription(table.description) };
  const filters = table.columns.map((c) => `rowFilter.${table.name}.${c.name}`);
  const get = {
    ...base,
    parameters: [...filters, 'select', 'order', 'range', 'rangeUnit', 'offset', 'limit', 'preferCount'].map(ref),
    responses: { '200': { description: 'OK', schema: { type: 'array', items: { $ref: `#/definitions/${table.name}` } } }, '206': { description: 'Partial Content' } },
  };
  if (!table.writable) return { get };
  return {
    get,
    post: { ...base, parameters: [`body.${table.name}`, 'select', 'preferPost'].map(ref), responses: { '201': { description: 'Created' } } },
    patch: { ...base, parameters: [...filters, `body.${table.name}`, 'preferReturn'].map(ref), responses: { '204': { description: 'No Content' } } },
    delete: { ...base, parameters: [...filters, 'preferReturn'].map(ref), responses: { '204': { description: 'No Content' } } },
  };
}

/** A parameter type as PostgREST's regtype text shows it: no schema when it is on the search path. */
function shownType(type: string, searchPath: readonly string[]): string {
  for (const schema of searchPath) if (type.startsWith(`${schema}.`)) return type.slice(schema.length + 1);
  return type;
}

function procGetParam(param: RoutineParam, type: string): Json {
  if (param.variadic) {
    return { name: param.name, required: param.required, in: 'query', type: swaggerType(type) ?? 'string', collectionFormat: 'multi', items: { type: swaggerType(type.slice(0, -2)), format: swaggerFormat(type.slice(0, -2)) } };
  }
  const kind = swaggerType(type);
  return { name: param.name, required: param.required, in: 'query', format: swaggerFormat(type), type: kind === undefined || kind === 'array' ? 'string' : kind };
}

function procPath(routine: Routine, searchPath: readonly string[]): Json {
  const base = { ...summaryAndDescription(routine.description), tags: [`(rpc) ${routine.name}`], produces: JSON_MIMES, responses: { '200': { description: 'OK' } } };
  const types = routine.params.map((p) => shownType(p.type, searchPath));
  const required = routine.params.filter((p) => p.required).map((p) => p.name);
  const schema = {
    description: routine.description ?? undefined,
    type: 'object',
    properties: Object.fromEntries(routine.params.map((p, i) => [p.name, { type: swaggerType(types[i]!), items: arrayItems(types[i]!), format: swaggerFormat(types[i]!) }])),
    required: required.length > 0 ? required : undefined,
  };
  const post = { ...base, parameters: [{ name: 'args', required: true, in: 'body', schema }, ref('preferParams')] };
  if (routine.volatility === 'volatile') return { post };
  return { get: { ...base, parameters: routine.params.map((p, i) => procGetParam(p, types[i]!)) }, post };
}

/** Drops what the Swagger encoder omits (unset, null, empty objects and arrays) and sorts keys as aeson does. */
function normalize(value: Json | undefined): Json | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.map((v) => normalize(v) ?? null);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, Json> = {};
    for (const key of Object.keys(value).sort()) {
      const v = normalize(value[key]);
      const empty = v === null || (Array.isArray(v) ? v.length === 0 : typeof v === 'object' && Object.keys(v).length === 0);
      if (v !== undefined && !empty) out[key] = v;
    }
    return out;
  }
  return value;
}

/**
 * Builds the document for the request's schema, inside the request's transaction (so the
 * role's privileges decide which relations appear).
 *
 * @example
 * const body = await openApiDocument(tx, cache, 'public', ['public', 'extensions']);
 */
export async function openApiDocument(tx: TransactionSql, cache: SchemaCache, schema: string, searchPath: readonly string[]): Promise<string> {
  const tables = await accessibleTables(tx, schema);
  const [described] = await tx<{ description: string | null }[]>`select pg_catalog.obj_description(${schema}::regnamespace, 'pg_namespace') as description`;
  // The schema's comment: first line the title, the rest (even empty) the description.
  const comment = described?.description ?? null;
  const newline = comment?.indexOf('\n') ?? -1;
  const title = comment === null ? undefined : newline === -1 ? comment : comment.slice(0, newline);
  const description = comment === null ? undefined : newline === -1 ? '' : comment.slice(newline).replace(/^\n+/, '');
  const routines = [...cache.routines.values()].flat().filter((r) => r.schema === schema);
  const paths: Record<string, Json> = {
    '/': {
      get: { tags: ['Introspection'], summary: 'OpenAPI description (this document)', produces: ['application/openapi+json', 'application/json'], responses: { '200': { description: 'OK' } } },
    },
  };
  for (const table of tables) paths[`/${table.name}`] = tablePath(table);
  for (const routine of routines) paths[`/rpc/${routine.name}`] = procPath(routine, searchPath);
  const definitions: Record<string, Json> = {};
  for (const table of tables) {
    const required = table.columns.filter((c) => !c.nullable).map((c) => c.name);
    definitions[table.name] = {
      description: table.description ?? undefined,
      type: 'object',
      properties: Object.fromEntries(table.columns.map((c) => [c.name, property(table, c)])),
      required: required.length > 0 ? required : undefined,
    };
  }
  const document: Json = {
    swagger: '2.0',
    basePath: '/',
    schemes: ['http'],
    host: '0.0.0.0:3000',
    info: { version: POSTGREST_VERSION, title: title ?? 'PostgREST API', description: description ?? 'This is a dynamic API generated by PostgREST' },
    externalDocs: { description: 'PostgREST Documentation', url: `https://postgrest.org/en/${DOCS_VERSION}/references/api.html` },
    definitions,
    parameters: parameterDefinitions(tables),
    paths,
    produces: [...JSON_MIMES, 'text/csv'],
    consumes: [...JSON_MIMES, 'text/csv'],
  };
  return JSON.stringify(normalize(document));
}

export interface OpenApiContext {
  sql: postgres.Sql<Record<string, unknown>>;
  config: DataApiConfig;
  cache: SchemaCache;
  request: Request;
  rawPath: string;
  schema: string;
  negotiatedByProfile: boolean;
  authenticate(): Promise<{ role: string; claims: JwtClaims | null; authorization: string | undefined }>;
}

/**
 * Serves `GET`/`HEAD /rest/v1/` in one read-only transaction as the request's role.
 *
 * @example
 * if (resource.kind === 'schema') return serveOpenApi({ sql, config, cache, request, rawPath, schema, negotiatedByProfile, authenticate });
 */
export async function serveOpenApi(ctx: OpenApiContext): Promise<Response> {
  const { request } = ctx;
  const { role, claims, authorization } = await ctx.authenticate();
  negotiateOpenApi(request.headers.get('accept') ?? undefined);
  const headers: Record<string, string> = {};
  for (const [name, value] of request.headers) if (name !== 'cookie') headers[name] = value;
  if (authorization !== undefined) headers.authorization = authorization;
  else delete headers.authorization;
  const searchPath = [ctx.schema, ...ctx.config.extraSearchPath];
  let body: string;
  try {
    body = await withRequestSettings(
      ctx.sql,
      {
        claims,
        method: request.method,
        path: ctx.rawPath,
        headers,
        cookies: parseCookies(request.headers.get('cookie') ?? undefined),
        searchPath,
        roleSettings: ctx.cache.roleSettings.get(role) ?? {},
        readOnly: true,
      },
      (tx) => openApiDocument(tx, ctx.cache, ctx.schema, searchPath),
    );
  } catch (error) {
    throw fromPostgresError(error, role !== 'anon') ?? error;
  }
  return new Response(request.method === 'HEAD' ? null : body, {
    status: 200,
    headers: { 'content-type': 'application/openapi+json; charset=utf-8', ...(ctx.negotiatedByProfile ? { 'content-profile': ctx.schema } : {}) },
  });
}
