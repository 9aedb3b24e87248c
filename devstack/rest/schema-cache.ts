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
  return {
    schemas: present,
    relations,
    roles,
    roleSettings,
    relation: (schema, name) => relations.get(`${schema}.${name}`),
    relationNames: (schema) => [...relations.values()].filter((r) => r.schema === schema).map((r) => r.name),
  };
}
