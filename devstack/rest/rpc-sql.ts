/**
 * SQL for a function call, shaped as PostgREST's (src/PostgREST/Query/QueryBuilder.hs,
 * callPlanToQuery; Statements.hs, mainCall): a `pgrst_source` CTE calling the function
 * with named arguments (`"p" := $1::type` from the query string, or the JSON body spread
 * by json_to_record into `pgrst_body`), the read on top (select, filters, order, limit)
 * and one row `{total, page_total, body}` built by Postgres. A scalar result is read from
 * `pgrst_scalar`; a single result is the first element. Identifiers come from the schema
 * cache or the request's select/filters and are quoted; argument values are bound.
 */
import type postgres from 'postgres';
import type { TransactionSql } from '../../core/db/rls.ts';
import type { LogicTree, OrderTerm } from './grammar.ts';
import type { RpcPlan } from './rpc-plan.ts';
import type { RoutineParam } from './schema-cache.ts';
import { arrayLiteral, directionSql, fieldSql, filterSql, ident, join } from './sql.ts';

type Fragment = postgres.PendingQuery<postgres.Row[]>;

export interface RpcQuery {
  plan: RpcPlan;
  /** Casts of the select resolved to Postgres's own type names. */
  casts: Map<string, string>;
  offset: number;
  limit: number | undefined;
  count: boolean;
  body: 'json' | 'single' | 'none';
  stripNulls: boolean;
}

/** PostgREST's ppTypeMaxLength: fixed-length types take any length when read from a body. */
function typeMaxLength(type: string): string {
  return type.replace(/^(bit|character)(\[\])?$/, (_, base: string, array: string | undefined) => `${base} varying${array ?? ''}`);
}

/** The call's rows by their alias. */
function callRef(q: TransactionSql, alias: string): Fragment {
  return q`${ident(q, alias)}`;
}

function logicSql(q: TransactionSql, alias: string, tree: LogicTree): Fragment {
  if (tree.kind === 'filter') return filterSql(q, callRef(q, alias), tree.filter);
  const inner = join(q, tree.children.map((child) => logicSql(q, alias, child)), tree.operator === 'and' ? q` AND ` : q` OR `);
  return tree.negated ? q`NOT (${inner})` : q`(${inner})`;
}

function orderSql(q: TransactionSql, alias: string, term: OrderTerm): Fragment {
  return directionSql(q, fieldSql(q, callRef(q, alias), term.field), term);
}

function namedArg(q: TransactionSql, param: RoutineParam, value: Fragment): Fragment {
  return param.variadic ? q`VARIADIC ${ident(q, param.name)} := ${value}` : q`${ident(q, param.name)} := ${value}`;
}

/** `FROM <call> pgrst_call`, with the arguments as PostgREST passes them. */
function fromCallSql(q: TransactionSql, plan: RpcPlan): Fragment {
  const fn = q`${ident(q, plan.routine.schema)}.${ident(q, plan.routine.name)}`;
  const callIt = (argument: Fragment) => (plan.scalar ? q`(SELECT ${fn}(${argument}) pgrst_scalar) pgrst_call` : q`${fn}(${argument}) pgrst_call`);
  const { args, params } = plan;
  if (args.kind === 'single') return q`FROM ${callIt(q`${args.body}::text::${q.unsafe(params[0]!.type)}`)}`;
  if (params.length === 0) return q`FROM ${callIt(q``)}`;
  if (args.kind === 'direct') {
    const list = params.map((p) => {
      const value = args.values.get(p.name)!;
      const text = Array.isArray(value) ? arrayLiteral(value) : value;
      return namedArg(q, p, q`${text}::${q.unsafe(p.type)}`);
    });
    return q`FROM ${callIt(join(q, list, q`, `))}`;
  }
  const record = join(q, params.map((p) => q`${ident(q, p.name)} ${q.unsafe(typeMaxLength(p.type))}`), q`, `);
  const list = join(q, params.map((p) => namedArg(q, p, q`pgrst_body.${ident(q, p.name)}`)), q`, `);
  return q`FROM json_to_record(${args.body}::text::json) AS pgrst_body(${record}), LATERAL ${callIt(list)}`;
}

function selectListSql(q: TransactionSql, query: RpcQuery, alias: string): Fragment {
  const { plan } = query;
  if (plan.scalar) return q`${ident(q, alias)}.pgrst_scalar`;
  if (plan.select.length === 0) return q``;
  return join(
    q,
    plan.select.map((item) => {
      if (item.star) return q`${ident(q, alias)}.*`;
      let out = fieldSql(q, callRef(q, alias), item.field);
      if (item.cast !== undefined) out = q`CAST( ${out} AS ${q.unsafe(query.casts.get(item.cast)!)} )`;
      return item.alias !== undefined ? q`${out} AS ${ident(q, item.alias)}` : out;
    }),
    q`, `,
  );
}

/**
 * The call: one row `{total, page_total, body, response_headers, response_status}`.
 *
 * @example
 * const [row] = await tx`${rpcSql(tx, { plan, casts: new Map(), offset: 0, limit: undefined, count: false, body: 'json', stripNulls: false })}`;
 */
export function rpcSql(q: TransactionSql, query: RpcQuery): Fragment {
  const { plan } = query;
  const alias = plan.routine.name;
  const source = plan.scalar ? q`SELECT pgrst_call.pgrst_scalar ${fromCallSql(q, plan)}` : q`SELECT pgrst_call.* ${fromCallSql(q, plan)}`;
  const conditions = [...plan.filters.map((f) => filterSql(q, callRef(q, alias), f)), ...plan.logic.map((t) => logicSql(q, alias, t))];
  const where = conditions.length === 0 ? q`` : q` WHERE ${join(q, conditions, q` AND `)}`;
  const order = plan.order.length === 0 ? q`` : q` ORDER BY ${join(q, plan.order.map((t) => orderSql(q, alias, t)), q`, `)}`;
  const paged = query.limit !== undefined || query.offset !== 0;
  const limit = !paged ? q`` : q` LIMIT ${query.limit === undefined ? q`ALL` : q`${String(query.limit)}`} OFFSET ${String(query.offset)}`;
  const read = q`SELECT ${selectListSql(q, query, alias)} FROM pgrst_source AS ${ident(q, alias)}${where}${order}${limit}`;
  const countCte = query.count ? q`, pgrst_source_count AS (SELECT 1 FROM pgrst_source AS ${ident(q, alias)}${where})` : q``;
  const total = query.count ? q`(SELECT pg_catalog.count(*) FROM pgrst_source_count)` : q`null::bigint`;
  const pageTotal = plan.single ? q`1` : q`pg_catalog.count(_postgrest_t)`;
  const target = plan.scalar ? q`_postgrest_t.pgrst_scalar` : q`_postgrest_t`;
  const strip = (inner: Fragment) => (query.stripNulls ? q`json_strip_nulls(${inner})` : inner);
  const body =
    query.body === 'none'
      ? q`''::text`
      : query.body === 'single' || plan.single
        ? q`coalesce(${strip(q`json_agg(${target})->0`)}, 'null')::text`
        : q`coalesce(${strip(q`json_agg(${target})`)}, '[]')::text`;
  // The function may set response.status / response.headers (read after it ran, as PostgREST reads them).
  const gucs = q`nullif(current_setting('response.headers', true), '') AS response_headers, nullif(current_setting('response.status', true), '') AS response_status`;
  return q`WITH pgrst_source AS (${source})${countCte} SELECT ${total} AS total, ${pageTotal} AS page_total, ${body} AS body, ${gucs} FROM (${read}) _postgrest_t`;
}
