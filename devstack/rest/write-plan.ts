/**
 * The plan of a write (POST, PATCH, PUT, DELETE on a relation) as PostgREST v16.2 builds
 * its MutatePlan (upstream PostgREST src/library/PostgREST/Plan.hs mutatePlan,
 * ApiRequest.hs getRanges): the written columns (the payload's keys, each known to the
 * schema cache, else PGRST204), the conflict target of an upsert, the filters of an
 * update or delete, PUT's rules (PGRST105, PGRST114), and the columns RETURNING hands to the
 * read of the written rows. Also the part of the catalog only writes need: primary keys and
 * column defaults.
 */
import type postgres from 'postgres';
import type { Payload } from './body.ts';
import { invalidPutFilters, PgrstError, putLimitNotAllowed, writeColumnNotFound } from './errors.ts';
import type { QueryParams } from './grammar.ts';
import type { Preferences } from './negotiate.ts';
import { returnedColumns, rootConditions, type PlannedCondition, type ReadPlan } from './read-plan.ts';
import type { Relation } from './schema-cache.ts';

export type Mutation = 'create' | 'update' | 'upsert' | 'delete';

/** Primary keys and column defaults of the exposed relations, keyed `schema.name`. */
export interface WriteCatalog {
  primaryKeys: Map<string, string[]>;
  /** `schema.name` → column → default expression (pg_get_expr). */
  defaults: Map<string, Map<string, string>>;
}

export interface WriteColumn {
  name: string;
  /** The column's type as format_type names it (json_to_recordset's column list). */
  type: string;
  default?: string;
}

export interface WritePlan {
  mutation: Mutation;
  relation: Relation;
  columns: WriteColumn[];
  /** JSON text of the body; absent for DELETE. */
  payload?: Payload;
  applyDefaults: boolean;
  /** POST with a resolution preference and a conflict target (the on_conflict list, else the primary key). */
  onConflict?: { resolution: 'merge-duplicates' | 'ignore-duplicates'; columns: string[] };
  /** The root filters and logic trees: WHERE of an update or delete; PUT's conditions on the body. */
  conditions: PlannedCondition[];
  /** RETURNING: [] is `RETURNING 1`, ['*'] every column. */
  returning: string[];
  primaryKey: string[];
}

/**
 * Reads primary keys and defaults of the exposed schemas' tables.
 *
 * @example
 * const catalog = await loadWriteCatalog(sql, ['public']);
 */
export async function loadWriteCatalog(sql: postgres.Sql<Record<string, unknown>>, schemas: readonly string[]): Promise<WriteCatalog> {
  const keys = await sql<{ schema: string; name: string; columns: string[] }[]>`
    select n.nspname as schema, c.relname as name,
           array(select a.attname::text from unnest(k.conkey) with ordinality u(attnum, ord)
                   join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum = u.attnum order by u.ord) as columns
      from pg_catalog.pg_constraint k
      join pg_catalog.pg_class c on c.oid = k.conrelid
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where k.contype = 'p' and n.nspname = any(${[...schemas]}::text[])`;
  const defaults = await sql<{ schema: string; name: string; column: string; expr: string }[]>`
    select n.nspname as schema, c.relname as name, a.attname as column, pg_catalog.pg_get_expr(d.adbin, d.adrelid) as expr
      from pg_catalog.pg_attrdef d
      join pg_catalog.pg_class c on c.oid = d.adrelid
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      join pg_catalog.pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum
     where n.nspname = any(${[...schemas]}::text[]) and a.attgenerated = ''`;
  const catalog: WriteCatalog = { primaryKeys: new Map(), defaults: new Map() };
  for (const k of keys) catalog.primaryKeys.set(`${k.schema}.${k.name}`, k.columns);
  for (const d of defaults) {
    const key = `${d.schema}.${d.name}`;
    const map = catalog.defaults.get(key) ?? new Map<string, string>();
    map.set(d.column, d.expr);
    catalog.defaults.set(key, map);
  }
  return catalog;
}

/** The mutation a method stands for on a relation (ApiRequest.hs getAction). */
export function mutationOf(method: string): Mutation | undefined {
  return ({ POST: 'create', PATCH: 'update', PUT: 'upsert', DELETE: 'delete' } as const)[method as 'POST'];
}

/**
 * PUT's range rule (getRanges): limit or offset is PGRST114. Checked before the body is read.
 *
 * @example
 * checkPutRange('upsert', params);
 */
export function checkPutRange(mutation: Mutation, params: QueryParams): void {
  const top = params.ranges.get('limit');
  if (mutation === 'upsert' && top !== undefined && (top.limit !== undefined || top.offset !== 0)) throw putLimitNotAllowed();
}

/**
 * Builds the write's plan from the read plan of the same request (which has already
 * checked the relation, select, filters and order).
 *
 * @example
 * const plan = planWrite({ mutation: 'create', readPlan, params, prefs, payload, catalog });
 */
export function planWrite(options: {
  mutation: Mutation;
  readPlan: ReadPlan;
  params: QueryParams;
  prefs: Preferences;
  payload: Payload | undefined;
  catalog: WriteCatalog;
}): WritePlan {
  const { mutation, readPlan, params, prefs, payload, catalog } = options;
  const relation = readPlan.relation;
  const key = `${relation.schema}.${relation.name}`;
  const primaryKey = catalog.primaryKeys.get(key) ?? [];
  const defaults = catalog.defaults.get(key) ?? new Map<string, string>();

  const columns: WriteColumn[] = [];
  for (const name of payload?.keys ?? []) {
    const column = relation.columns.get(name);
    if (!column) throw writeColumnNotFound(relation.name, name);
    const def = defaults.get(name);
    columns.push({ name, type: column.type, ...(def !== undefined ? { default: def } : {}) });
  }

  const conditions = rootConditions(relation, params);
  const filters = params.filters.filter((f) => f.path.length === 0).map((f) => f.filter);
  const logic = params.logic.filter((l) => l.path.length === 0);
  if (mutation === 'upsert') {
    const filterNames = new Set(filters.map((f) => f.field.name));
    const onlyPkEq =
      logic.length === 0 &&
      primaryKey.length > 0 &&
      filterNames.size === primaryKey.length &&
      primaryKey.every((k) => filterNames.has(k)) &&
      filters.every((f) => f.field.jsonPath.length === 0 && !f.expr.negated && f.expr.operation.kind === 'quant' && f.expr.operation.operator === 'eq' && f.expr.operation.quantifier === undefined);
    if (!onlyPkEq) throw invalidPutFilters();
  }

  let onConflict: WritePlan['onConflict'];
  if (mutation === 'create' && prefs.resolution !== undefined) {
    const target = params.onConflict ?? primaryKey;
    for (const name of target) if (!relation.columns.has(name)) throw new PgrstError(400, '42703', `column "${name}" does not exist`);
    // Kept with an empty target too: merge-duplicates still counts inserted rows (the 200/201 choice).
    onConflict = { resolution: prefs.resolution, columns: target };
  }
  if (mutation === 'upsert') onConflict = { resolution: 'merge-duplicates', columns: primaryKey };

  // inferColsEmbedNeeds: the selected columns plus the primary key, or every column for `*`.
  let returning: string[] = [];
  if (prefs.representation === 'representation' || prefs.representation === 'headers-only') {
    returning = readPlan.select.length === 0 && readPlan.embeds.length === 0 ? ['*'] : returnedColumns(readPlan, primaryKey);
  }

  return {
    mutation,
    relation,
    columns,
    ...(payload ? { payload } : {}),
    applyDefaults: prefs.missing === 'default' && mutation !== 'upsert',
    ...(onConflict ? { onConflict } : {}),
    conditions,
    returning,
    primaryKey,
  };
}
