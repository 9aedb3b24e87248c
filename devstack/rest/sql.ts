/**
 * SQL for a read plan, shaped as PostgREST's (src/PostgREST/Query/QueryBuilder.hs,
 * Statements.hs mainRead, SqlFragment.hs): a `pgrst_source` CTE with the selected
 * columns, filters, order, limit and offset; an optional count CTE; one row with the
 * total, the page count and the body built by Postgres (json_agg, or the CSV text).
 * Identifiers come from the plan (known to the schema cache) and are quoted; every value
 * is a bound parameter of unknown type, so Postgres infers its type from the column as it
 * does for PostgREST (a malformed uuid is 22P02 from Postgres, not from here).
 */
import type postgres from 'postgres';
import type { TransactionSql } from '../../core/db/rls.ts';
import type { Field, Filter, LogicTree, OpExpr, OrderTerm } from './grammar.ts';
import type { ReadPlan } from './read-plan.ts';

type Fragment = postgres.PendingQuery<postgres.Row[]>;

export type BodyFormat = 'json' | 'single' | 'csv' | 'none';

export interface ReadQuery {
  plan: ReadPlan;
  /** Casts resolved to Postgres's own type names (format_type). */
  casts: Map<string, string>;
  offset: number;
  limit: number | undefined;
  /** Count the whole filtered relation (Prefer: count=exact, and the first step of estimated). */
  count: boolean;
  /** With `count`, an upper bound on what is counted (estimated: max_rows + 1). */
  countLimit: number | undefined;
  body: BodyFormat;
  /** `nulls=stripped` media types: json_strip_nulls around each object. */
  stripNulls: boolean;
}

function join(q: TransactionSql, parts: Fragment[], separator: Fragment): Fragment {
  return parts.reduce((acc, part, i) => (i === 0 ? part : q`${acc}${separator}${part}`));
}

function column(q: TransactionSql, plan: ReadPlan, name: string): Fragment {
  return q`${q(plan.relation.schema)}.${q(plan.relation.name)}.${q(name)}`;
}

function fieldSql(q: TransactionSql, plan: ReadPlan, field: Field): Fragment {
  let out = column(q, plan, field.name);
  for (const step of field.jsonPath) {
    const operand = step.isIndex ? q`${step.operand}::int` : q`${step.operand}`;
    out = step.arrow === '->' ? q`${out}->${operand}` : q`${out}->>${operand}`;
  }
  return out;
}

/** A Postgres array literal of the values, as PostgREST's pgBuildArrayLiteral (NULs dropped). */
export function arrayLiteral(values: string[]): string {
  const escape = (v: string) => `"${v.replace(/\0/g, '').replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return `{${values.map(escape).join(',')}}`;
}

const SIMPLE_SQL = { neq: '<>', cs: '@>', cd: '<@', ov: '&&', sl: '<<', sr: '>>', nxr: '&<', nxl: '&>', adj: '-|-' } as const;
const QUANT_SQL = { eq: '=', gte: '>=', gt: '>', lte: '<=', lt: '<', like: 'like', ilike: 'ilike', match: '~', imatch: '~*' } as const;
const FTS_SQL = { fts: 'to_tsquery', plfts: 'plainto_tsquery', phfts: 'phraseto_tsquery', wfts: 'websearch_to_tsquery' } as const;
const IS_SQL = { null: 'NULL', not_null: 'NOT NULL', true: 'TRUE', false: 'FALSE', unknown: 'UNKNOWN' } as const;

/** One operator expression on `target` (a column or JSON path), shared by reads and function calls. */
export function opSql(q: TransactionSql, target: Fragment, expr: OpExpr): Fragment {
  const op = expr.operation;
  let body: Fragment;
  switch (op.kind) {
    case 'simple':
      body = q`${target} ${q.unsafe(SIMPLE_SQL[op.operator])} ${op.value}`;
      break;
    case 'quant': {
      const value = op.operator === 'like' || op.operator === 'ilike' ? op.value.replace(/\*/g, '%') : op.value;
      const operand = op.quantifier === 'any' ? q`ANY(${value})` : op.quantifier === 'all' ? q`ALL(${value})` : q`${value}`;
      body = q`${target} ${q.unsafe(QUANT_SQL[op.operator])} ${operand}`;
      break;
    }
    case 'in':
      body = op.values.length === 1 && op.values[0] === '' ? q`${target} = ANY('{}')` : q`${target} = ANY (${arrayLiteral(op.values)})`;
      break;
    case 'is':
      body = q`${target} IS ${q.unsafe(IS_SQL[op.value])}`;
      break;
    case 'isdistinct':
      body = q`${target} IS DISTINCT FROM ${op.value}`;
      break;
    case 'fts': {
      const fn = q.unsafe(FTS_SQL[op.operator]);
      body = op.language !== undefined ? q`${target} @@ ${fn}(${op.language}, ${op.value})` : q`${target} @@ ${fn}(${op.value})`;
      break;
    }
  }
  return expr.negated ? q`NOT ${body}` : body;
}

function filterSql(q: TransactionSql, plan: ReadPlan, filter: Filter): Fragment {
  return opSql(q, fieldSql(q, plan, filter.field), filter.expr);
}

function logicSql(q: TransactionSql, plan: ReadPlan, tree: LogicTree): Fragment {
  if (tree.kind === 'filter') return filterSql(q, plan, tree.filter);
  const inner = join(q, tree.children.map((child) => logicSql(q, plan, child)), tree.operator === 'and' ? q` AND ` : q` OR `);
  return tree.negated ? q`NOT (${inner})` : q`(${inner})`;
}

function orderSql(q: TransactionSql, plan: ReadPlan, term: OrderTerm): Fragment {
  let out = fieldSql(q, plan, term.field);
  if (term.direction) out = q`${out} ${q.unsafe(term.direction === 'asc' ? 'ASC' : 'DESC')}`;
  if (term.nulls) out = q`${out} ${q.unsafe(term.nulls === 'nullsfirst' ? 'NULLS FIRST' : 'NULLS LAST')}`;
  return out;
}

function whereSql(q: TransactionSql, plan: ReadPlan): Fragment {
  const conditions = [...plan.filters.map((f) => filterSql(q, plan, f)), ...plan.logic.map((t) => logicSql(q, plan, t))];
  return conditions.length === 0 ? q`` : q` WHERE ${join(q, conditions, q` AND `)}`;
}

function fromSql(q: TransactionSql, plan: ReadPlan): Fragment {
  return q`${q(plan.relation.schema)}.${q(plan.relation.name)}`;
}

function selectListSql(q: TransactionSql, query: ReadQuery): Fragment {
  const { plan } = query;
  if (plan.select.length === 0) return q``;
  return join(
    q,
    plan.select.map((item) => {
      if (item.star) return q`${fromSql(q, plan)}.*`;
      let out = fieldSql(q, plan, item.field);
      if (item.cast !== undefined) out = q`CAST( ${out} AS ${q.unsafe(query.casts.get(item.cast)!)} )`;
      return item.alias !== undefined ? q`${out} AS ${q(item.alias)}` : out;
    }),
    q`, `,
  );
}

/** The query whose EXPLAIN gives `Prefer: count=planned` its estimate. */
export function countSourceSql(q: TransactionSql, plan: ReadPlan): Fragment {
  return q`SELECT 1 FROM ${fromSql(q, plan)}${whereSql(q, plan)}`;
}

/**
 * The read: one row `{total, page_total, body}`; `body` is text (JSON or CSV) built by
 * Postgres, or '' for HEAD.
 */
export function readSql(q: TransactionSql, query: ReadQuery): Fragment {
  const { plan } = query;
  const order = plan.order.length === 0 ? q`` : q` ORDER BY ${join(q, plan.order.map((t) => orderSql(q, plan, t)), q`, `)}`;
  const paged = query.limit !== undefined || query.offset !== 0;
  const limit = !paged ? q`` : q` LIMIT ${query.limit === undefined ? q`ALL` : q`${String(query.limit)}`} OFFSET ${String(query.offset)}`;
  const source = q`SELECT ${selectListSql(q, query)} FROM ${fromSql(q, plan)}${whereSql(q, plan)}${order}${limit}`;
  const countSource = query.countLimit === undefined ? countSourceSql(q, plan) : q`${countSourceSql(q, plan)} LIMIT ${String(query.countLimit)}`;
  const separateCount = query.count && (paged || query.countLimit !== undefined);
  const countCte = separateCount ? q`, pgrst_source_count AS (${countSource})` : q``;
  const total = !query.count ? q`null::bigint` : separateCount ? q`(SELECT pg_catalog.count(*) FROM pgrst_source_count)` : q`pg_catalog.count(_postgrest_t)`;
  const body =
    query.body === 'json'
      ? query.stripNulls
        ? q`coalesce(json_strip_nulls(json_agg(_postgrest_t)), '[]')::text`
        : q`coalesce(json_agg(_postgrest_t), '[]')::text`
      : query.body === 'single'
        ? query.stripNulls
          ? q`coalesce(json_strip_nulls(json_agg(_postgrest_t)->0), 'null')::text`
          : q`coalesce(json_agg(_postgrest_t)->0, 'null')::text`
        : query.body === 'csv'
          ? q`(SELECT coalesce(string_agg(a.k, ','), '') FROM (SELECT json_object_keys(r)::text as k FROM (SELECT row_to_json(hh) as r from pgrst_source as hh limit 1) s) a) || '\n' || coalesce(string_agg(substring(_postgrest_t::text, 2, length(_postgrest_t::text) - 2), '\n'), '')`
          : q`''::text`;
  return q`WITH pgrst_source AS (${source})${countCte} SELECT ${total} AS total, pg_catalog.count(_postgrest_t) AS page_total, ${body} AS body FROM (SELECT * FROM pgrst_source) _postgrest_t`;
}
