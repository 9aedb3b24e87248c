/**
 * SQL of a write plan, shaped as PostgREST v16.2's (upstream PostgREST
 * src/library/PostgREST/Query/QueryBuilder.hs mutatePlanToQuery, SqlFragment.hs
 * fromJsonBodyF and addConfigPgrstInserted, Statements.hs mainWrite): the body is one
 * JSON parameter read by json_to_record(set) with the columns' types, the statement runs in
 * a `pgrst_write` CTE and the written rows are read back by the read builder (sql.ts
 * readSql with `source`). One row `{page_total, body, location, inserted}` comes back.
 */
import type postgres from 'postgres';
import type { TransactionSql } from '../../core/db/rls.ts';
import { conditionsSql, ident, join, readSql, type ReadQuery } from './sql.ts';
import type { WritePlan } from './write-plan.ts';

type Fragment = postgres.PendingQuery<postgres.Row[]>;

/** The CTE holding the rows the statement returned. */
export const WRITE_SOURCE = 'pgrst_write';

function table(q: TransactionSql, plan: WritePlan): Fragment {
  return q`${ident(q, plan.relation.schema)}.${ident(q, plan.relation.name)}`;
}

/** A literal for jsonb_build_object's key, quoted as pgFmtLit does. */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** `set_config('pgrst.inserted', …)`: +1 per proposed row, −1 per row the conflict branch updates. */
function insertedCounter(q: TransactionSql, add: boolean): Fragment {
  return add
    ? q`set_config('pgrst.inserted', (coalesce(nullif(current_setting('pgrst.inserted', true), '')::int, 0) + 1)::text, true) <> '0'`
    : q`set_config('pgrst.inserted', (coalesce(nullif(current_setting('pgrst.inserted', true), '')::int, 0) - 1)::text, true) <> '-1'`;
}

/** fromJsonBodyF: ` FROM (SELECT $1 AS json_data) pgrst_payload, [defaults,] LATERAL (...) pgrst_body`. */
function bodySource(q: TransactionSql, plan: WritePlan, limitOne: boolean): Fragment {
  const payload = plan.payload!;
  const defaults = plan.applyDefaults ? plan.columns.filter((c) => c.default !== undefined) : [];
  const jsonb = plan.applyDefaults;
  const data = jsonb ? q`${payload.json}::text::jsonb` : q`${payload.json}::text::json`;
  let defaultsClause = q``;
  if (jsonb) {
    const defs = q.unsafe(`jsonb_build_object(${defaults.map((c) => `${literal(c.name)}, ${c.default}`).join(',')})`);
    defaultsClause = payload.isObject
      ? q`LATERAL (SELECT ${defs} || pgrst_payload.json_data AS val) pgrst_json_defs, `
      : q`LATERAL (SELECT jsonb_agg(${defs} || elem) AS val from jsonb_array_elements(pgrst_payload.json_data) elem) pgrst_json_defs, `;
  }
  const final = jsonb ? q`pgrst_json_defs.val` : q`pgrst_payload.json_data`;
  let fields: Fragment;
  if (plan.columns.length === 0) {
    fields = payload.isObject ? q`(values(1)) _ ` : q`${q.unsafe(jsonb ? 'jsonb_array_elements' : 'json_array_elements')}(${final}) _ `;
  } else {
    const fn = q.unsafe(`${jsonb ? 'jsonb' : 'json'}_to_record${payload.isObject ? '' : 'set'}`);
    const typed = join(q, plan.columns.map((c) => q`${ident(q, c.name)} ${q.unsafe(c.type)}`), q`, `);
    fields = q`${fn}(${final}) AS _(${typed}) ${limitOne ? q`LIMIT 1` : q``}`;
  }
  const parsed = plan.columns.length === 0 ? q`` : join(q, plan.columns.map((c) => q`${ident(q, c.name)}`), q`, `);
  return q`FROM (SELECT ${data} AS json_data) pgrst_payload, ${defaultsClause}LATERAL (SELECT ${parsed} FROM ${fields}) pgrst_body `;
}

function returningSql(q: TransactionSql, plan: WritePlan): Fragment {
  if (plan.returning.length === 0) return q`RETURNING 1`;
  return q`RETURNING ${join(q, plan.returning.map((c) => (c === '*' ? q`${table(q, plan)}.*` : q`${table(q, plan)}.${ident(q, c)}`)), q`, `)}`;
}

/** ` WHERE …` of the write's conditions on the table, or nothing. */
function whereSql(q: TransactionSql, plan: WritePlan): Fragment {
  return plan.conditions.length === 0 ? q`` : q` WHERE ${conditionsSql(q, table(q, plan), plan.conditions)}`;
}

/** The INSERT, UPDATE or DELETE statement (mutatePlanToQuery). */
export function mutationSql(q: TransactionSql, plan: WritePlan): Fragment {
  if (plan.mutation === 'delete') return q`DELETE FROM ${table(q, plan)} ${whereSql(q, plan)} ${returningSql(q, plan)}`;
  if (plan.mutation === 'update') {
    if (plan.columns.length === 0) {
      const cols = plan.returning.length === 0 ? q`NULL` : join(q, plan.returning.map((c) => (c === '*' ? q`${ident(q, plan.relation.name)}.*` : q`${ident(q, plan.relation.name)}.${ident(q, c)}`)), q`, `);
      return q`SELECT ${cols} FROM ${table(q, plan)} WHERE false`;
    }
    const sets = join(q, plan.columns.map((c) => q`${ident(q, c.name)} = "pgrst_body".${ident(q, c.name)}`), q`, `);
    return q`UPDATE ${table(q, plan)} SET ${sets} ${bodySource(q, plan, false)}${whereSql(q, plan)} ${returningSql(q, plan)}`;
  }
  const isPut = plan.mutation === 'upsert';
  const merge = plan.onConflict?.resolution === 'merge-duplicates';
  const names = plan.columns.length === 0 ? q` ` : q`(${join(q, plan.columns.map((c) => q`${ident(q, c.name)}`), q`, `)}) `;
  const selected = plan.columns.length === 0 ? q`` : join(q, plan.columns.map((c) => q`"pgrst_body".${ident(q, c.name)}`), q`, `);
  let where = q``;
  if (isPut) where = q`WHERE ${insertedCounter(q, true)} AND ${conditionsSql(q, q`${ident(q, 'pgrst_body')}`, plan.conditions)}`;
  else if (merge) where = q`WHERE ${insertedCounter(q, true)}`;
  let conflict = q``;
  if (plan.onConflict && plan.onConflict.columns.length > 0) {
    const cols = join(q, plan.onConflict.columns.map((c) => q`${ident(q, c)}`), q`, `);
    if (plan.onConflict.resolution === 'ignore-duplicates' || plan.columns.length === 0) conflict = q` ON CONFLICT(${cols}) DO NOTHING`;
    else {
      const sets = join(q, plan.columns.map((c) => q`${ident(q, c.name)} = EXCLUDED.${ident(q, c.name)}`), q`, `);
      conflict = q` ON CONFLICT(${cols}) DO UPDATE SET ${sets} WHERE ${insertedCounter(q, false)}`;
    }
  }
  return q`INSERT INTO ${table(q, plan)}${names}SELECT ${selected} ${bodySource(q, plan, false)}${where}${conflict} ${returningSql(q, plan)}`;
}

/**
 * The whole write statement: the mutation in a CTE, then the written rows read as the
 * request's select asks (or only counted when no representation is returned), the Location
 * of a single inserted row (return=headers-only) and how many rows an upsert inserted.
 *
 * @example
 * const [row] = await tx`${writeSql(tx, plan, readQuery, 'representation')}`;
 */
export function writeSql(q: TransactionSql, plan: WritePlan, read: ReadQuery, returns: 'representation' | 'headers-only' | 'minimal'): Fragment {
  const representation = returns === 'representation';
  const mutation = mutationSql(q, plan);
  const counted = plan.mutation === 'upsert' || (plan.mutation === 'create' && plan.onConflict?.resolution === 'merge-duplicates');
  const inserted = counted ? q`nullif(current_setting('pgrst.inserted', true), '')::int` : q`null::int`;
  const location =
    plan.mutation === 'create' && plan.primaryKey.length > 0 && returns === 'headers-only'
      ? q`CASE WHEN r.page_total = 1 THEN (WITH data AS (SELECT row_to_json(_) AS row FROM ${ident(q, WRITE_SOURCE)} AS _ LIMIT 1)
           SELECT array_agg(json_data.key || '=' || coalesce('eq.' || json_data.value, 'is.null'))
             FROM data CROSS JOIN json_each_text(data.row) AS json_data WHERE json_data.key = ANY(${plan.primaryKey}::text[])) END`
      : q`null::text[]`;
  const rows = representation
    ? readSql(q, { ...read, source: { name: WRITE_SOURCE } })
    : q`SELECT null::bigint AS total, pg_catalog.count(*) AS page_total, ''::text AS body FROM ${ident(q, WRITE_SOURCE)}`;
  return q`WITH ${ident(q, WRITE_SOURCE)} AS (${mutation}) SELECT r.page_total, r.body, ${location} AS location, ${inserted} AS inserted FROM (${rows}) r`;
}
