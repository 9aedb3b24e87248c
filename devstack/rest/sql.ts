/**
 * SQL for a read plan, shaped as PostgREST's (src/PostgREST/Query/QueryBuilder.hs,
 * Statements.hs mainRead, SqlFragment.hs): a `pgrst_source` CTE with the selected
 * columns, filters, order, limit and offset; an optional count CTE; one row with the
 * total, the page count and the body built by Postgres (json_agg, or the CSV text).
 * Each embed is a `LEFT JOIN LATERAL` (`INNER` for `!inner`) on a correlated subquery of
 * the embedded relation: a to-one embed is `row_to_json` of its one row, a to-many one the
 * `json_agg` of its rows; the embedded relations are read as the caller, so RLS filters
 * them as it filters the top level.
 * Identifiers come from the plan (known to the schema cache) and are quoted; every value
 * is a bound parameter of unknown type, so Postgres infers its type from the column as it
 * does for PostgREST (a malformed uuid is 22P02 from Postgres, not from here).
 */
import type postgres from 'postgres';
import type { TransactionSql } from '../../core/db/rls.ts';
import type { Field, Filter, OpExpr } from './grammar.ts';
import type { Relationship } from './schema-cache.ts';
import type { Embed, PlannedCondition, PlannedOrder, ReadNode, ReadPlan } from './read-plan.ts';

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
  /**
   * Read the top level from a named row source instead of the relation (a write's
   * `RETURNING` rows): `FROM "<name>" AS "<relation>"`, embeds joined on it as on the
   * relation. With `cte`, readSql defines it first (`WITH "<name>" AS (<cte>), ...`); else
   * the caller puts readSql where the name is in scope. The name must not be
   * `pgrst_source` (the read's own CTE).
   */
  source?: ReadSource;
}

export interface ReadSource {
  name: string;
  cte?: Fragment;
}

/**
 * A quoted identifier, written whole: postgres.js's `sql(name)` splits a name on `.` (a
 * column or alias named `a.b` would become `"a"."b"`), and PostgREST quotes names as they
 * are (upstream PostgREST/postgrest src/PostgREST/SchemaCache/Identifiers.hs, pgFmtIdent).
 *
 * @example
 * ident(tx, 'a.b'); // "a.b"
 */
export function ident(q: TransactionSql, name: string): Fragment {
  return q.unsafe(`"${name.replaceAll('"', '""')}"`);
}

/**
 * Fragments joined by a separator (the caller passes at least one part).
 *
 * @example
 * join(tx, [tx`a`, tx`b`], tx`, `); // a, b
 */
export function join(q: TransactionSql, parts: Fragment[], separator: Fragment): Fragment {
  return parts.reduce((acc, part, i) => (i === 0 ? part : q`${acc}${separator}${part}`));
}

/** How a node's rows are named in SQL: an alias, the source's alias, or the qualified relation. */
type Ref = Fragment;

function nodeRef(q: TransactionSql, node: ReadNode, source: ReadSource | undefined, isRoot: boolean): Ref {
  if (isRoot && source) return q`${ident(q, node.relation.name)}`;
  if (node.alias !== undefined) return q`${ident(q, node.alias)}`;
  return q`${ident(q, node.relation.schema)}.${ident(q, node.relation.name)}`;
}

/**
 * A column of the rows named `ref`, with its JSON path (`->`, `->>`).
 *
 * @example
 * fieldSql(tx, ident(tx, 'pgrst_call'), field); // "pgrst_call"."data"->>'a'
 */
export function fieldSql(q: TransactionSql, ref: Ref, field: Field): Fragment {
  let out = q`${ref}.${ident(q, field.name)}`;
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

/**
 * One filter on the rows named `ref`.
 *
 * @example
 * filterSql(tx, ident(tx, 'pgrst_call'), filter); // "pgrst_call"."id" = $1
 */
export function filterSql(q: TransactionSql, ref: Ref, filter: Filter): Fragment {
  return opSql(q, fieldSql(q, ref, filter.field), filter.expr);
}

/** A WHERE condition; `nullEmbed` tests the embed's lateral row (pgFmtFilter, CoercibleFilterNullEmbed). */
function conditionSql(q: TransactionSql, ref: Ref, condition: PlannedCondition): Fragment {
  switch (condition.kind) {
    case 'filter':
      return filterSql(q, ref, condition.filter);
    case 'nullEmbed':
      return q`${ident(q, condition.aggAlias)} IS ${q.unsafe(condition.negated ? '' : 'NOT ')}DISTINCT FROM NULL`;
    case 'expr': {
      const inner = join(q, condition.children.map((child) => conditionSql(q, ref, child)), condition.operator === 'and' ? q` AND ` : q` OR `);
      return condition.negated ? q`NOT (${inner})` : q`(${inner})`;
    }
  }
}

/**
 * An ORDER BY term's direction and nulls placement after its target.
 *
 * @example
 * directionSql(tx, target, { direction: 'desc', nulls: 'nullslast' }); // target DESC NULLS LAST
 */
export function directionSql(q: TransactionSql, out: Fragment, term: { direction?: 'asc' | 'desc'; nulls?: 'nullsfirst' | 'nullslast' }): Fragment {
  if (term.direction) out = q`${out} ${q.unsafe(term.direction === 'asc' ? 'ASC' : 'DESC')}`;
  if (term.nulls) out = q`${out} ${q.unsafe(term.nulls === 'nullsfirst' ? 'NULLS FIRST' : 'NULLS LAST')}`;
  return out;
}

function orderSql(q: TransactionSql, ref: Ref, term: PlannedOrder): Fragment {
  const target = term.kind === 'field' ? fieldSql(q, ref, term.field) : fieldSql(q, q`${ident(q, term.aggAlias)}`, term.field);
  return directionSql(q, target, term);
}

function orderBySql(q: TransactionSql, ref: Ref, order: PlannedOrder[]): Fragment {
  return order.length === 0 ? q`` : q` ORDER BY ${join(q, order.map((t) => orderSql(q, ref, t)), q`, `)}`;
}

/**
 * Conditions ANDed, on the rows named `ref` (for a write's WHERE: `tx\`${ident(q, schema)}.${ident(q, table)}\``).
 *
 * @example
 * tx`UPDATE ${table} SET ... WHERE ${conditionsSql(tx, table, rootConditions(relation, params))}`;
 */
export function conditionsSql(q: TransactionSql, ref: Fragment, conditions: PlannedCondition[]): Fragment {
  return conditions.length === 0 ? q`TRUE` : join(q, conditions.map((c) => conditionSql(q, ref, c)), q` AND `);
}

/**
 * getJoinConditions: the embedded rows' columns equal to the parent's; a many-to-many
 * joins the junction to both sides.
 */
function joinConditions(q: TransactionSql, rel: Relationship, childRef: Ref, parentRef: Ref): Fragment[] {
  const c = rel.cardinality;
  if (c.kind === 'm2m') {
    const junction = q`${ident(q, c.junction.table.schema)}.${ident(q, c.junction.table.name)}`;
    return [
      ...c.junction.targetColumns.map(([column, junctionColumn]) => q`${junction}.${ident(q, junctionColumn)} = ${childRef}.${ident(q, column)}`),
      ...c.junction.sourceColumns.map(([column, junctionColumn]) => q`${junction}.${ident(q, junctionColumn)} = ${parentRef}.${ident(q, column)}`),
    ];
  }
  return c.columns.map(([column, foreignColumn]) => q`${childRef}.${ident(q, foreignColumn)} = ${parentRef}.${ident(q, column)}`);
}

function fromSql(q: TransactionSql, node: ReadNode, source: ReadSource | undefined, isRoot: boolean, rel: Relationship | undefined): Fragment {
  const table = isRoot && source ? q`${ident(q, source.name)} AS ${ident(q, node.relation.name)}` : node.alias !== undefined ? q`${ident(q, node.relation.schema)}.${ident(q, node.relation.name)} AS ${ident(q, node.alias)}` : q`${ident(q, node.relation.schema)}.${ident(q, node.relation.name)}`;
  if (rel?.cardinality.kind === 'm2m') return q`${table}, ${ident(q, rel.cardinality.junction.table.schema)}.${ident(q, rel.cardinality.junction.table.name)}`;
  return table;
}

/** The names a spread puts in its parent (generateSpreadSelectFields): its columns and its own embeds' names. */
function spreadNames(embed: Embed): string[] {
  const own = embed.node.select.map((s) => (s.star ? '*' : (s.alias ?? s.field.name)));
  const nested = embed.node.embeds.flatMap((e) => (e.spread ? spreadNames(e) : e.empty ? [] : [e.alias ?? e.name]));
  return [...own, ...nested];
}

function aggColumn(q: TransactionSql, aggAlias: string, name: string): Fragment {
  return name === '*' ? q`${ident(q, aggAlias)}.*` : q`${ident(q, aggAlias)}.${ident(q, name)}`;
}

/** getJoinSelects: what each embed adds to its parent's select list. */
function embedSelects(q: TransactionSql, embed: Embed): Fragment[] {
  const agg = ident(q, embed.aggAlias);
  if (embed.spread) return spreadNames(embed).map((name) => aggColumn(q, embed.aggAlias, name));
  if (embed.empty) return [];
  const name = ident(q, embed.alias ?? embed.name);
  return embed.relationship.cardinality.kind === 'm2o' || embed.relationship.cardinality.kind === 'o2o'
    ? [q`row_to_json(${agg}.*)::jsonb AS ${name}`]
    : [q`COALESCE( ${agg}.${agg}, '[]') AS ${name}`];
}

interface Context {
  casts: Map<string, string>;
  source: ReadSource | undefined;
}

function selectItemsSql(q: TransactionSql, ctx: Context, node: ReadNode, ref: Ref): Fragment[] {
  return node.select.map((item) => {
    if (item.star) return q`${ref}.*`;
    let out = fieldSql(q, ref, item.field);
    if (item.cast !== undefined) out = q`CAST( ${out} AS ${q.unsafe(ctx.casts.get(item.cast)!)} )`;
    return item.alias !== undefined ? q`${out} AS ${ident(q, item.alias)}` : out;
  });
}

/** getJoin: the lateral join of one embed. */
function joinSql(q: TransactionSql, ctx: Context, embed: Embed, parentRef: Ref): Fragment {
  const sub = nodeSql(q, ctx, embed.node, false, embed, parentRef, undefined);
  const agg = ident(q, embed.aggAlias);
  const kind = q.unsafe(embed.joinType === 'inner' ? 'INNER' : 'LEFT');
  const lateral = (subquery: Fragment, on: Fragment) => q` ${kind} JOIN LATERAL ( ${subquery} ) AS ${agg} ON ${on}`;
  const nonNull = embed.joinType === 'inner' ? q`${agg} IS NOT NULL` : q`TRUE`;
  if (embed.spread === 'to-one' || (!embed.spread && (embed.relationship.cardinality.kind === 'm2o' || embed.relationship.cardinality.kind === 'o2o'))) {
    return lateral(sub, q`TRUE`);
  }
  const aggregate = q`SELECT json_agg(${agg})::jsonb AS ${agg}`;
  if (embed.spread === 'to-many') {
    const order = embed.spreadOrder.length === 0 ? q`` : q` ORDER BY ${join(q, embed.spreadOrder.map(({ alias, source }) => directionSql(q, q`${agg}.${ident(q, alias)}`, source)), q`, `)}`;
    const columns = spreadNames(embed).map((name) => q`COALESCE(json_agg(${aggColumn(q, embed.aggAlias, name)}${order}),'[]')::jsonb AS ${ident(q, name)}`);
    return lateral(q`${aggregate}${columns.length === 0 ? q`` : q`, ${join(q, columns, q`, `)}`} FROM (${sub} ) AS ${agg}`, nonNull);
  }
  return lateral(q`${aggregate} FROM (${sub} ) AS ${agg}`, nonNull);
}

/**
 * A LIMIT or OFFSET count. PostgREST binds them as unknown-typed parameters (upstream
 * PostgREST/postgrest src/PostgREST/Query/SqlFragment.hs limitOffsetF), but postgres.js
 * without prepared statements spends a round trip describing any statement that has
 * parameters, so a plain integer is written as a literal: an unfiltered read then has
 * none (same plan, same result). Anything else (`offset=1e23` read as a number) stays a
 * parameter, for Postgres to refuse as it refuses PostgREST's.
 *
 * @example
 * q` LIMIT ${rangeBoundSql(q, 100)}`; // LIMIT 100
 */
export function rangeBoundSql(q: TransactionSql, value: number): Fragment {
  return Number.isSafeInteger(value) && value >= 0 ? q.unsafe(String(value)) : q`${String(value)}`;
}

function limitSql(q: TransactionSql, offset: number, limit: number | undefined): Fragment {
  if (limit === undefined && offset === 0) return q``;
  return q` LIMIT ${limit === undefined ? q`ALL` : rangeBoundSql(q, limit)} OFFSET ${rangeBoundSql(q, offset)}`;
}

/** readPlanToQuery: one level's SELECT, its embeds joined laterally. */
function nodeSql(q: TransactionSql, ctx: Context, node: ReadNode, isRoot: boolean, embed: Embed | undefined, parentRef: Ref | undefined, rootRange: { offset: number; limit: number | undefined } | undefined): Fragment {
  const ref = nodeRef(q, node, ctx.source, isRoot);
  const own = node.select.length === 0 && node.embeds.length === 0 && !isRoot ? [q`${ref}.*`] : selectItemsSql(q, ctx, node, ref);
  const extra = embed?.spread === 'to-many' ? embed.spreadOrder.map(({ alias, source }) => q`${source.kind === 'field' ? fieldSql(q, ref, source.field) : fieldSql(q, q`${ident(q, source.aggAlias)}`, source.field)} AS ${ident(q, alias)}`) : [];
  const selects = [...own, ...extra, ...node.embeds.flatMap((e) => embedSelects(q, e))];
  const joins = node.embeds.map((e) => joinSql(q, ctx, e, ref));
  const conditions = [...node.where.map((c) => conditionSql(q, ref, c)), ...(embed && parentRef ? joinConditions(q, embed.relationship, ref, parentRef) : [])];
  const where = conditions.length === 0 ? q`` : q` WHERE ${join(q, conditions, q` AND `)}`;
  const range = rootRange ?? { offset: node.range.offset, limit: node.range.limit };
  const selectList = selects.length === 0 ? q`` : join(q, selects, q`, `);
  return q`SELECT ${selectList} FROM ${fromSql(q, node, ctx.source, isRoot, embed?.relationship)}${joins.length === 0 ? q`` : join(q, joins, q``)}${where}${orderBySql(q, ref, node.order)}${limitSql(q, range.offset, range.limit)}`;
}

/**
 * readPlanToCountQuery: the rows counted, filters only; an `!inner` embed (and a null
 * filter on an embed) becomes an EXISTS on its own count query.
 */
function countNodeSql(q: TransactionSql, node: ReadNode, source: ReadSource | undefined, isRoot: boolean, embed: Embed | undefined, parentRef: Ref | undefined): Fragment {
  const ref = nodeRef(q, node, source, isRoot);
  const nested = (e: Embed) => countNodeSql(q, e.node, source, false, e, ref);
  const condition = (c: PlannedCondition): Fragment => {
    if (c.kind === 'filter') return filterSql(q, ref, c.filter);
    if (c.kind === 'nullEmbed') {
      const target = node.embeds.find((e) => e.aggAlias === c.aggAlias)!;
      return q`${q.unsafe(c.negated ? '' : 'NOT ')}EXISTS (${nested(target)})`;
    }
    const inner = join(q, c.children.map(condition), c.operator === 'and' ? q` AND ` : q` OR `);
    return c.negated ? q`NOT (${inner})` : q`(${inner})`;
  };
  const conditions = [
    ...node.where.map(condition),
    ...(embed && parentRef ? joinConditions(q, embed.relationship, ref, parentRef) : []),
    ...node.embeds.filter((e) => e.joinType === 'inner').map((e) => q`EXISTS (${nested(e)} )`),
  ];
  const where = conditions.length === 0 ? q`` : q` WHERE ${join(q, conditions, q` AND `)}`;
  return q`SELECT 1 FROM ${fromSql(q, node, source, isRoot, embed?.relationship)}${where}`;
}

/**
 * The query whose EXPLAIN gives `Prefer: count=planned` its estimate, and the rows
 * counted by `count=exact` when paged.
 *
 * @example
 * await tx`EXPLAIN (FORMAT JSON) ${countSourceSql(tx, plan)}`;
 */
export function countSourceSql(q: TransactionSql, plan: ReadPlan, source?: ReadSource): Fragment {
  return countNodeSql(q, plan, source, true, undefined, undefined);
}

/**
 * The read: one row `{total, page_total, body}`; `body` is text (JSON or CSV) built by
 * Postgres, or '' for HEAD. With `query.source`, the top level reads that source.
 *
 * @example
 * const [row] = await tx`${readSql(tx, { plan, casts, offset: 0, limit: undefined, count: false, countLimit: undefined, body: 'json', stripNulls: false })}`;
 */
export function readSql(q: TransactionSql, query: ReadQuery): Fragment {
  const { plan, source } = query;
  if (source?.name === 'pgrst_source') throw new Error('readSql: the source must not be named pgrst_source');
  const paged = query.limit !== undefined || query.offset !== 0;
  const main = nodeSql(q, { casts: query.casts, source }, plan, true, undefined, undefined, { offset: query.offset, limit: query.limit });
  const countSource = query.countLimit === undefined ? countSourceSql(q, plan, source) : q`${countSourceSql(q, plan, source)} LIMIT ${rangeBoundSql(q, query.countLimit)}`;
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
  const sourceCte = source?.cte ? q`${ident(q, source.name)} AS (${source.cte}), ` : q``;
  return q`WITH ${sourceCte}pgrst_source AS (${main})${countCte} SELECT ${total} AS total, pg_catalog.count(_postgrest_t) AS page_total, ${body} AS body FROM (SELECT * FROM pgrst_source) _postgrest_t`;
}
