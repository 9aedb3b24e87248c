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
import { expandColumns, loadViewKeyDependencies, type ViewKeyDependency } from './view-keys.ts';

export interface Relation {
  schema: string;
  name: string;
  /** pg_class.relkind: r table, p partitioned, v view, m materialized view, f foreign table. */
  kind: string;
  columns: Map<string, { type: string }>;
}

/** A schema-qualified relation name. */
export interface QualifiedName {
  schema: string;
  name: string;
}

/** Pairs of (column of the relationship's table, column of its foreign table). */
export type ColumnPairs = [string, string][];

/**
 * How a relationship joins, as PostgREST's Cardinality (upstream PostgREST/postgrest
 * src/PostgREST/SchemaCache/Relationship.hs): the constructors' order (o2m, m2o, o2o, m2m)
 * is the order ambiguous candidates are listed in.
 */
export type Cardinality =
  | { kind: 'o2m' | 'm2o'; constraint: string; columns: ColumnPairs }
  | { kind: 'o2o'; constraint: string; columns: ColumnPairs; isParent: boolean }
  | {
      kind: 'm2m';
      junction: {
        table: QualifiedName;
        constraint1: string;
        constraint2: string;
        /** (column of the table, column of the junction). */
        sourceColumns: ColumnPairs;
        /** (column of the foreign table, column of the junction). */
        targetColumns: ColumnPairs;
      };
    };

/** A relationship from `table` to `foreignTable` found from the catalog's foreign keys. */
export interface Relationship {
  table: QualifiedName;
  foreignTable: QualifiedName;
  isSelf: boolean;
  cardinality: Cardinality;
  tableIsView: boolean;
  foreignTableIsView: boolean;
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
  /** Every relationship between relations of the exposed schemas (loadRelationships). */
  relationships: Relationship[];
  /** The relationships from `schema.name` to relations of the same schema, in PostgREST's order. */
  relationshipsFrom(schema: string, name: string): Relationship[];
  /** Functions of the exposed schemas, by `schema.name` (overloads share a key). */
  routines: Map<string, Routine[]>;
}

const CARDINALITY_ORDER = { o2m: 0, m2o: 1, o2o: 2, m2m: 3 } as const;

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cardinalityKey(c: Cardinality): string[] {
  if (c.kind === 'm2m') {
    const j = c.junction;
    return [j.table.schema, j.table.name, j.constraint1, j.constraint2, JSON.stringify(j.sourceColumns), JSON.stringify(j.targetColumns)];
  }
  return [c.constraint, JSON.stringify(c.columns), c.kind === 'o2o' ? String(c.isParent) : ''];
}

/** PostgREST sorts each origin's candidates (derived Ord of Relationship): foreign table, self, cardinality. */
function compareRelationships(a: Relationship, b: Relationship): number {
  const keys = (r: Relationship) => [r.foreignTable.schema, r.foreignTable.name, r.isSelf ? '1' : '0', String(CARDINALITY_ORDER[r.cardinality.kind]), ...cardinalityKey(r.cardinality)];
  const ka = keys(a);
  const kb = keys(b);
  for (let i = 0; i < Math.max(ka.length, kb.length); i++) {
    const c = compareText(ka[i] ?? '', kb[i] ?? '');
    if (c !== 0) return c;
  }
  return 0;
}

/** addViewM2OAndO2ORels: a table's many-to-one (or one-to-one child) relationship, from and to the views carrying its key. */
function viewRelationships(deps: ViewKeyDependency[], tableRelationships: Relationship[]): Relationship[] {
  const out: Relationship[] = [];
  const sameTable = (a: QualifiedName, b: QualifiedName) => a.schema === b.schema && a.name === b.name;
  for (const rel of tableRelationships) {
    const c = rel.cardinality;
    if (c.kind === 'm2m' || c.kind === 'o2m' || (c.kind === 'o2o' && c.isParent)) continue;
    const card = (columns: ColumnPairs): Cardinality => (c.kind === 'm2o' ? { kind: 'm2o', constraint: c.constraint, columns } : { kind: 'o2o', constraint: c.constraint, columns, isParent: false });
    const fromViews = deps.filter((d) => d.type === 'f' && d.constraint === c.constraint && sameTable(d.table, rel.table));
    const toViews = deps.filter((d) => d.type === 'f_ref' && d.constraint === c.constraint && sameTable(d.table, rel.foreignTable));
    for (const from of fromViews) {
      for (const viewColumns of expandColumns(from.columns)) {
        out.push({ ...rel, table: from.view, isSelf: false, cardinality: card(viewColumns.map((v, i) => [v, c.columns[i]![1]])), tableIsView: true, foreignTableIsView: false });
      }
    }
    for (const to of toViews) {
      for (const viewColumns of expandColumns(to.columns)) {
        out.push({ ...rel, foreignTable: to.view, isSelf: false, cardinality: card(c.columns.map(([t], i) => [t, viewColumns[i]!])), tableIsView: false, foreignTableIsView: true });
      }
    }
    for (const from of fromViews) {
      for (const fromColumns of expandColumns(from.columns)) {
        for (const to of toViews) {
          for (const toColumns of expandColumns(to.columns)) {
            out.push({ table: from.view, foreignTable: to.view, isSelf: sameTable(from.view, to.view), cardinality: card(fromColumns.map((v, i) => [v, toColumns[i]!])), tableIsView: true, foreignTableIsView: true });
          }
        }
      }
    }
  }
  return out;
}

interface ForeignKeyRow {
  table_schema: string;
  table_name: string;
  foreign_table_schema: string;
  foreign_table_name: string;
  is_self: boolean;
  constraint_name: string;
  columns: string[];
  foreign_columns: string[];
  one_to_one: boolean;
}

/**
 * Reads the relationships PostgREST infers from foreign keys (upstream PostgREST/postgrest
 * src/PostgREST/SchemaCache.hs: allM2OandO2ORels, addM2MRels, addInverseRels,
 * removeInternal): each foreign key is a many-to-one (a one-to-one when its columns are
 * exactly a primary key or unique constraint of the referencing table) and its inverse;
 * a table with two foreign keys whose columns are all in its primary key is the junction
 * of a many-to-many between the referenced tables. A view that carries the columns of a
 * foreign key (view-keys.ts) relates as its table does (addViewM2OAndO2ORels), and carries
 * its table's primary key for junctions. Relationships touching a relation outside the
 * exposed schemas are dropped.
 *
 * @example
 * const rels = await loadRelationships(sql, ['public']);
 */
export async function loadRelationships(sql: postgres.Sql<Record<string, unknown>>, schemas: readonly string[]): Promise<Relationship[]> {
  const rows = await sql<ForeignKeyRow[]>`
    with keys as (
      select conrelid, array_agg(k order by k) as cols
        from pg_catalog.pg_constraint, unnest(conkey) as k
       where contype in ('p', 'u') and connamespace <> 'pg_catalog'::regnamespace
       group by oid, conrelid
    )
    select ns1.nspname as table_schema, tab.relname as table_name,
           ns2.nspname as foreign_table_schema, other.relname as foreign_table_name,
           con.conrelid = con.confrelid as is_self, con.conname as constraint_name,
           cols.columns, cols.foreign_columns,
           (cols.attnums in (select k.cols from keys k where k.conrelid = con.conrelid)) as one_to_one
      from pg_catalog.pg_constraint con
      join lateral (
        select array_agg(a.attname::text order by u.ord) as columns,
               array_agg(r.attname::text order by u.ord) as foreign_columns,
               array_agg(a.attnum order by a.attnum) as attnums
          from unnest(con.conkey, con.confkey) with ordinality as u(col, ref, ord)
          join pg_catalog.pg_attribute a on a.attrelid = con.conrelid and a.attnum = u.col
          join pg_catalog.pg_attribute r on r.attrelid = con.confrelid and r.attnum = u.ref
      ) cols on true
      join pg_catalog.pg_namespace ns1 on ns1.oid = con.connamespace
      join pg_catalog.pg_class tab on tab.oid = con.conrelid
      join pg_catalog.pg_class other on other.oid = con.confrelid
      join pg_catalog.pg_namespace ns2 on ns2.oid = other.relnamespace
     where con.contype = 'f' and con.conparentid = 0
     order by con.conrelid, con.conname`;
  const pkRows = await sql<{ schema: string; name: string; columns: string[] }[]>`
    select n.nspname as schema, c.relname as name, array_agg(a.attname::text) as columns
      from pg_catalog.pg_constraint con
      join pg_catalog.pg_class c on c.oid = con.conrelid
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      join pg_catalog.pg_attribute a on a.attrelid = con.conrelid and a.attnum = any(con.conkey)
     where con.contype = 'p'
     group by n.nspname, c.relname`;
  const primaryKeys = new Map(pkRows.map((r) => [`${r.schema}.${r.name}`, new Set(r.columns)]));
  const manyToOne: Relationship[] = rows.map((row) => {
    const columns = row.columns.map((c, i): [string, string] => [c, row.foreign_columns[i]!]);
    return {
      table: { schema: row.table_schema, name: row.table_name },
      foreignTable: { schema: row.foreign_table_schema, name: row.foreign_table_name },
      isSelf: row.is_self,
      cardinality: row.one_to_one ? { kind: 'o2o', constraint: row.constraint_name, columns, isParent: false } : { kind: 'm2o', constraint: row.constraint_name, columns },
      tableIsView: false,
      foreignTableIsView: false,
    };
  });
  const viewKeys = await loadViewKeyDependencies(sql, schemas);
  manyToOne.push(...viewRelationships(viewKeys, manyToOne));
  for (const dep of viewKeys) {
    if (dep.type !== 'p') continue;
    primaryKeys.set(`${dep.view.schema}.${dep.view.name}`, new Set(dep.columns.map(([, viewColumns]) => viewColumns[0]!)));
  }
  const manyToMany: Relationship[] = [];
  const key = (q: QualifiedName) => `${q.schema}.${q.name}`;
  for (const first of manyToOne) {
    if (first.cardinality.kind !== 'm2o') continue;
    for (const second of manyToOne) {
      if (second.cardinality.kind !== 'm2o' || key(second.table) !== key(first.table) || second.cardinality.constraint === first.cardinality.constraint) continue;
      const pk = primaryKeys.get(key(first.table)) ?? new Set<string>();
      const junctionColumns = [...first.cardinality.columns, ...second.cardinality.columns].map(([c]) => c);
      if (!junctionColumns.every((c) => pk.has(c))) continue;
      manyToMany.push({
        table: first.foreignTable,
        foreignTable: second.foreignTable,
        isSelf: key(first.foreignTable) === key(second.foreignTable),
        cardinality: {
          kind: 'm2m',
          junction: {
            table: first.table,
            constraint1: first.cardinality.constraint,
            constraint2: second.cardinality.constraint,
            sourceColumns: first.cardinality.columns.map(([j, t]): [string, string] => [t, j]),
            targetColumns: second.cardinality.columns.map(([j, t]): [string, string] => [t, j]),
          },
        },
        tableIsView: false,
        foreignTableIsView: false,
      });
    }
  }
  const direct = [...manyToOne, ...manyToMany];
  const inverse: Relationship[] = [];
  for (const rel of direct) {
    const c = rel.cardinality;
    if (c.kind === 'm2m' || c.kind === 'o2m') continue;
    const swapped = c.columns.map(([a, b]): [string, string] => [b, a]);
    inverse.push({
      table: rel.foreignTable,
      foreignTable: rel.table,
      isSelf: rel.isSelf,
      cardinality: c.kind === 'o2o' ? { kind: 'o2o', constraint: c.constraint, columns: swapped, isParent: !c.isParent } : { kind: 'o2m', constraint: c.constraint, columns: swapped },
      tableIsView: rel.foreignTableIsView,
      foreignTableIsView: rel.tableIsView,
    });
  }
  const exposed = new Set(schemas);
  return [...direct, ...inverse]
    .filter((r) => exposed.has(r.table.schema) && exposed.has(r.foreignTable.schema) && (r.cardinality.kind !== 'm2m' || exposed.has(r.cardinality.junction.table.schema)))
    .sort(compareRelationships);
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
  const relationships = await loadRelationships(sql, present);
  const routines = await loadRoutines(sql, present);
  return {
    schemas: present,
    routines,
    relations,
    roles,
    roleSettings,
    relation: (schema, name) => relations.get(`${schema}.${name}`),
    relationNames: (schema) => [...relations.values()].filter((r) => r.schema === schema).map((r) => r.name),
    relationships,
    relationshipsFrom: (schema, name) => relationships.filter((r) => r.table.schema === schema && r.table.name === name && r.foreignTable.schema === schema),
  };
}
