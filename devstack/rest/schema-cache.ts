/**
 * What the local Data API knows of the database, read from the catalog at start as
 * PostgREST's schema cache is: the relations (tables, views, materialized views, foreign
 * tables) of the exposed schemas with their columns, the roles that exist, and the role
 * settings (`alter role ... set statement_timeout`) applied per request. Every identifier
 * the SQL builder writes comes from here. Exposed schemas that do not exist are skipped
 * with a warning (PostgREST fails to start on them; `supabase start` exposes
 * `graphql_public`, which a bootstrap without pg_graphql lacks).
 */
import type postgres from 'postgres';

export interface Relation {
  schema: string;
  name: string;
  /** pg_class.relkind: r table, p partitioned, v view, m materialized view, f foreign table. */
  kind: string;
  columns: Map<string, { type: string }>;
}

export interface SchemaCache {
  /** The exposed schemas that exist, in config order; the first is the default. */
  schemas: string[];
  relations: Map<string, Relation>;
  roles: Set<string>;
  /** Per role, the settings PostgREST sets before switching to it. */
  roleSettings: Map<string, Record<string, string>>;
  relation(schema: string, name: string): Relation | undefined;
  relationNames(schema: string): string[];
  /** Functions of the exposed schemas, by `schema.name` (overloads share a key). */
  routines: Map<string, Routine[]>;
}

/** One input parameter of a function, as PostgREST's RoutineParam. */
export interface RoutineParam {
  /** '' for an unnamed parameter. */
  name: string;
  /** The type as Postgres names it, schema-qualified unless in pg_catalog (a cast target). */
  type: string;
  /** Without a DEFAULT. */
  required: boolean;
  variadic: boolean;
}

/** A function as PostgREST's schema cache holds it (SchemaCache.hs, allFunctions). */
export interface Routine {
  schema: string;
  name: string;
  description: string | null;
  params: RoutineParam[];
  /** The return type's schema and name (the relation's, for a table's row type). */
  returnType: { schema: string; name: string };
  setof: boolean;
  /** A row type, or OUT/INOUT/TABLE columns. */
  composite: boolean;
  volatility: 'immutable' | 'stable' | 'volatile';
}

/**
 * Reads the functions of `schemas` as PostgREST's allFunctions does: plain functions
 * (not procedures, aggregates or window functions), no trigger functions, and only those
 * callable by named arguments (at most one unnamed parameter, of a type PostgREST passes a
 * raw body to). Types are read with an empty search_path so each is schema-qualified and
 * can be cast to whatever the request's search_path.
 *
 * @example
 * const routines = await loadRoutines(sql, ['public']);
 * routines.get('public.accept_invitation')?.[0]?.params; // [{ name: 'token', type: 'text', ... }]
 */
export async function loadRoutines(sql: postgres.Sql<Record<string, unknown>>, schemas: readonly string[]): Promise<Map<string, Routine[]>> {
  const rows = await sql.begin(async (tx) => {
    await tx`select pg_catalog.set_config('search_path', '', true)`;
    return tx<{
      schema: string;
      name: string;
      description: string | null;
      args: { name: string; type: string; required: boolean; variadic: boolean }[] | null;
      ret_schema: string;
      ret_name: string;
      setof: boolean;
      composite: boolean;
      volatility: string;
    }[]>`
      with args as (
        select p.oid,
               pg_catalog.json_agg(pg_catalog.json_build_object(
                 'name', coalesce(a.name, ''),
                 'type', pg_catalog.format_type(a.type, null),
                 'required', a.idx <= p.pronargs - p.pronargdefaults,
                 'variadic', coalesce(a.mode = 'v', false)
               ) order by a.idx) as args,
               case pg_catalog.count(*) - pg_catalog.count(a.name)
                 when 0 then true
                 when 1 then (pg_catalog.array_agg(a.type))[1] in ('bytea'::pg_catalog.regtype, 'json'::pg_catalog.regtype, 'jsonb'::pg_catalog.regtype, 'text'::pg_catalog.regtype, 'xml'::pg_catalog.regtype)
                 else false
               end as callable
          from pg_catalog.pg_proc p,
               unnest(coalesce(p.proargnames, pg_catalog.array_fill(null::text, array[pg_catalog.cardinality(coalesce(p.proallargtypes, p.proargtypes::pg_catalog.oid[]))])),
                      coalesce(p.proallargtypes, p.proargtypes::pg_catalog.oid[]),
                      coalesce(p.proargmodes, pg_catalog.array_fill('i'::"char", array[pg_catalog.cardinality(coalesce(p.proallargtypes, p.proargtypes::pg_catalog.oid[]))])))
                 with ordinality as a (name, type, mode, idx)
         where a.mode in ('i', 'b', 'v')
         group by p.oid
      )
      select pn.nspname as schema, p.proname as name, d.description,
             a.args, tn.nspname as ret_schema, coalesce(comp.relname, t.typname) as ret_name,
             p.proretset as setof,
             (t.typtype = 'c' or coalesce(p.proargmodes::text[] && '{t,b,o}', false)) as composite,
             p.provolatile::text as volatility
        from pg_catalog.pg_proc p
        left join args a on a.oid = p.oid
        join pg_catalog.pg_namespace pn on pn.oid = p.pronamespace
        join pg_catalog.pg_type t on t.oid = p.prorettype
        join pg_catalog.pg_namespace tn on tn.oid = t.typnamespace
        left join pg_catalog.pg_class comp on comp.oid = t.typrelid
        left join pg_catalog.pg_description d on d.objoid = p.oid and d.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass
       where t.oid <> 'pg_catalog.trigger'::pg_catalog.regtype and coalesce(a.callable, true)
         and p.prokind = 'f' and pn.nspname = any(${[...schemas]}::text[])
       order by pn.nspname, p.proname, p.oid`;
  });
  const routines = new Map<string, Routine[]>();
  for (const row of rows) {
    const key = `${row.schema}.${row.name}`;
    const routine: Routine = {
      schema: row.schema,
      name: row.name,
      description: row.description,
      params: row.args ?? [],
      returnType: { schema: row.ret_schema, name: row.ret_name },
      setof: row.setof,
      composite: row.composite,
      volatility: row.volatility === 'i' ? 'immutable' : row.volatility === 's' ? 'stable' : 'volatile',
    };
    routines.set(key, [...(routines.get(key) ?? []), routine]);
  }
  return routines;
}

/**
 * Reads the schema cache.
 *
 * @example
 * const cache = await loadSchemaCache(sql, ['public', 'graphql_public'], (m) => console.warn(m));
 */
export async function loadSchemaCache(
  sql: postgres.Sql<Record<string, unknown>>,
  schemas: readonly string[],
  warn: (message: string) => void,
): Promise<SchemaCache> {
  const existing = await sql<{ nspname: string }[]>`select nspname from pg_catalog.pg_namespace where nspname = any(${[...schemas]}::text[])`;
  const present = schemas.filter((s) => existing.some((e) => e.nspname === s));
  for (const missing of schemas.filter((s) => !present.includes(s))) {
    warn(`the exposed schema "${missing}" (supabase/config.toml [api] schemas) does not exist: skipped`);
  }
  const rows = await sql<{ schema: string; name: string; kind: string; column: string | null; type: string | null }[]>`
    select n.nspname as schema, c.relname as name, c.relkind::text as kind,
           a.attname as column, pg_catalog.format_type(a.atttypid, a.atttypmod) as type
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      left join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
     where n.nspname = any(${present}::text[]) and c.relkind in ('r', 'p', 'v', 'm', 'f')
     order by n.nspname, c.relname, a.attnum`;
  const relations = new Map<string, Relation>();
  for (const row of rows) {
    const key = `${row.schema}.${row.name}`;
    let relation = relations.get(key);
    if (!relation) {
      relation = { schema: row.schema, name: row.name, kind: row.kind, columns: new Map() };
      relations.set(key, relation);
    }
    if (row.column !== null) relation.columns.set(row.column, { type: row.type ?? '' });
  }
  const roles = new Set((await sql<{ rolname: string }[]>`select rolname from pg_catalog.pg_roles`).map((r) => r.rolname));
  const settingRows = await sql<{ rolname: string; setconfig: string[] }[]>`
    select r.rolname, s.setconfig
      from pg_catalog.pg_db_role_setting s
      join pg_catalog.pg_roles r on r.oid = s.setrole
     where s.setdatabase in (0, (select oid from pg_catalog.pg_database where datname = current_database()))
     order by s.setdatabase`;
  const roleSettings = new Map<string, Record<string, string>>();
  for (const { rolname, setconfig } of settingRows) {
    const settings = roleSettings.get(rolname) ?? {};
    for (const entry of setconfig) {
      const eq = entry.indexOf('=');
      if (eq > 0) settings[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    roleSettings.set(rolname, settings);
  }
  const routines = await loadRoutines(sql, present);
  return {
    schemas: present,
    routines,
    relations,
    roles,
    roleSettings,
    relation: (schema, name) => relations.get(`${schema}.${name}`),
    relationNames: (schema) => [...relations.values()].filter((r) => r.schema === schema).map((r) => r.name),
  };
}
