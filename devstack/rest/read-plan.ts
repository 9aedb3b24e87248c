/**
 * Turns parsed query parameters into a read plan tree against the schema cache, as
 * PostgREST v16.2 builds its ReadPlanTree (upstream PostgREST/postgrest
 * src/PostgREST/Plan.hs, readPlan): the select tree with one node per embedded resource;
 * filters, `or`/`and` trees, orders and ranges attached to the node their path names
 * (PGRST108 when it names no embed); each embed's relationship found from the parent
 * (PGRST200 none, PGRST201 ambiguous); `rel=is.null` filters on embeds; `order=rel(col)`
 * on to-one embeds (PGRST118 otherwise); aggregates refused (PGRST123: the CLI leaves
 * `db-aggregates-enabled` off). Unknown columns are refused with Postgres's 42703 before
 * any SQL is built, so names in a plan are known to exist and the SQL builder only quotes
 * them.
 *
 * `rel(count)` is no aggregate to PostgREST: `count` is parsed as a column, which PostgREST
 * writes as `"rel_1"."count"`, and Postgres reads a column reference that names no column
 * as a function of the whole row: `count("rel_1")`. So it works with aggregates off; the
 * plan keeps it as the field `count` when the relation has no such column.
 */
import { aggregatesNotAllowed, AmbiguousEmbedError, columnNotFound, invalidRange, noRelationship, notEmbedded, relatedOrderNotToOne, tableNotFound, type AmbiguousCandidate } from './errors.ts';
import type { Field, Filter, LogicTree, OrderTerm, QueryParams, Range, SelectItem } from './grammar.ts';
import type { Relation, Relationship, SchemaCache } from './schema-cache.ts';

export interface PlannedSelect {
  field: Field;
  /** Set for `*` */
  star?: boolean;
  alias?: string;
  cast?: string;
}

/** A condition of a node's WHERE: a filter, a logic tree, or `rel=is.null` on an embed. */
export type PlannedCondition =
  | { kind: 'filter'; filter: Filter }
  | { kind: 'nullEmbed'; negated: boolean; aggAlias: string }
  | { kind: 'expr'; negated: boolean; operator: 'and' | 'or'; children: PlannedCondition[] };

type Direction = { direction?: 'asc' | 'desc'; nulls?: 'nullsfirst' | 'nullslast' };

/** An order term: a column of the node, or a column of a to-one embed (its lateral alias). */
export type PlannedOrder = ({ kind: 'field'; field: Field } | { kind: 'relation'; aggAlias: string; field: Field }) & Direction;

export interface ReadNode {
  relation: Relation;
  /** The alias of the relation in SQL; undefined at the root and on many-to-many embeds (qualified name). */
  alias: string | undefined;
  select: PlannedSelect[];
  where: PlannedCondition[];
  order: PlannedOrder[];
  /** The range of an embedded node (the root's comes from the request's range). */
  range: Range;
  embeds: Embed[];
}

export interface Embed {
  /** The name in `select` (a table, a constraint or a column). */
  name: string;
  alias: string | undefined;
  relationship: Relationship;
  joinType: 'left' | 'inner' | undefined;
  /** Alias of the lateral subquery (`<table>_<name>_<depth>`). */
  aggAlias: string;
  spread: 'to-one' | 'to-many' | undefined;
  /** For a to-many spread: the order moved into its json_agg, by the extra selects' aliases. */
  spreadOrder: { alias: string; source: PlannedOrder }[];
  /** A JSON embed that selects nothing at any depth (`rel()`): joined, not output. */
  empty: boolean;
  node: ReadNode;
}

export interface ReadPlan extends ReadNode {
  /**
   * Embeds a filter, order or limit named by their relation though they have an alias
   * (`select=owner:clients(*)&clients.name=eq.x`): accepted, as with PostgREST's default
   * `db-use-legacy-target-names`, and warned about (legacyTargetWarning).
   */
  legacyTargets: { name: string; alias: string }[];
}

export interface PlanOptions {
  /** `max_rows`, which PostgREST applies to every embedded level too. */
  maxRows?: number | undefined;
  /**
   * The read after a write (`Prefer: return=representation`): as PostgREST's mutateReadPlan,
   * the top level's filters and logic trees belong to the write, not to the read, and no
   * level gets a range or `max_rows`.
   */
  forWrite?: boolean;
}

/**
 * The relationship is to-one (an object embed).
 *
 * @example
 * isToOne(embed.relationship); // true for many-to-one and one-to-one
 */
export function isToOne(rel: Relationship): boolean {
  return rel.cardinality.kind === 'm2o' || rel.cardinality.kind === 'o2o';
}

interface Draft {
  name: string;
  alias: string | undefined;
  hint: string | undefined;
  joinType: 'left' | 'inner' | undefined;
  spread: boolean;
  depth: number;
  fields: Extract<SelectItem, { kind: 'field' }>[];
  children: Draft[];
  filters: Filter[];
  logic: LogicTree[];
  order: OrderTerm[] | undefined;
  range: Range | undefined;
}

function draftOf(name: string, items: SelectItem[], depth: number, embed: Partial<Draft> = {}): Draft {
  const draft: Draft = { name, alias: undefined, hint: undefined, joinType: undefined, spread: false, depth, fields: [], children: [], filters: [], logic: [], order: undefined, range: undefined, ...embed };
  for (const item of items) {
    if (item.kind === 'field') draft.fields.push(item);
    else {
      draft.children.push(
        draftOf(item.name, item.children, depth + 1, {
          alias: item.kind === 'relation' ? item.alias : undefined,
          hint: item.hint,
          joinType: item.joinType,
          spread: item.kind === 'spread',
        }),
      );
    }
  }
  return draft;
}

/** updateNode with legacy target names (PostgREST's default): a path step matches an embed's name or alias. */
function nodeAt(root: Draft, path: string[], legacy: Set<Draft>): Draft {
  let node = root;
  for (const step of path) {
    const next = node.children.find((c) => c.name === step || c.alias === step);
    if (!next) throw notEmbedded(step);
    if (next.name === step && next.alias !== undefined && next.alias !== step) legacy.add(next);
    node = next;
  }
  return node;
}

/**
 * The `Warning` header PostgREST v16.2 adds when a plan used legacy target names
 * (upstream PostgREST/postgrest src/PostgREST/App.hs, warningHeaders).
 *
 * @example
 * const warning = legacyTargetWarning(plan); // '299 PostgRESTv16.2 "Embedded resource was ..."'
 */
export function legacyTargetWarning(plan: ReadPlan): string | undefined {
  if (plan.legacyTargets.length === 0) return undefined;
  const replacements = plan.legacyTargets.map(({ name, alias }) => `\`${name}\` to \`${alias}\``).join(', ');
  return `299 PostgRESTv16.2 "Embedded resource was referenced by relation name even though it has an alias. This is deprecated and will stop working in a future release. Update ${replacements} in query string filters, orders or limits."`;
}

function sameName(a: { schema: string; name: string }, b: { schema: string; name: string }): boolean {
  return a.schema === b.schema && a.name === b.name;
}

function singleColumn(rel: Relationship, side: 0 | 1): string | undefined {
  const c = rel.cardinality;
  if (c.kind === 'm2m' || c.columns.length !== 1) return undefined;
  return c.columns[0]![side];
}

/** findRel: the relationships from `origin` that `target` (and `hint`) select. */
function findRelationship(cache: SchemaCache, schema: string, origin: string, target: string, hint: string | undefined): Relationship {
  const candidates = cache.relationshipsFrom(schema, origin);
  const constraintIs = (rel: Relationship, name: string) => rel.cardinality.kind !== 'm2m' && rel.cardinality.constraint === name;
  const matches = candidates.filter((rel) => {
    const kind = rel.cardinality.kind;
    if (rel.isSelf) {
      if (hint === undefined) return (target === rel.foreignTable.name && kind === 'o2m') || (singleColumn(rel, 0) === target && kind === 'm2o');
      return target === rel.foreignTable.name && kind === 'o2m' && singleColumn(rel, 1) === hint;
    }
    if (hint === undefined) {
      return target === rel.foreignTable.name || (constraintIs(rel, target) && !rel.foreignTableIsView) || (singleColumn(rel, 0) === target && !rel.foreignTableIsView);
    }
    return (
      target === rel.foreignTable.name &&
      (constraintIs(rel, hint) || singleColumn(rel, 0) === hint || singleColumn(rel, 1) === hint || (rel.cardinality.kind === 'm2m' && rel.cardinality.junction.table.name === hint))
    );
  });
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) {
    const parents = [...new Set(cache.relationships.filter((r) => r.table.schema === schema && r.foreignTable.schema === schema).map((r) => r.table.name))];
    const children = candidates.length > 0 ? candidates.map((r) => r.foreignTable.name) : undefined;
    throw noRelationship(origin, target, hint, schema, parents, children);
  }
  throw new AmbiguousEmbedError(origin, target, matches.map(candidate));
}

function columnsText(columns: string[]): string {
  return `(${columns.join(', ')})`;
}

/** compressedRel and relHint of PostgREST's PGRST201. */
function candidate(rel: Relationship): AmbiguousCandidate {
  const embedding = `${rel.table.name} with ${rel.foreignTable.name}`;
  const c = rel.cardinality;
  if (c.kind === 'm2m') {
    const j = c.junction;
    return {
      cardinality: 'many-to-many',
      embedding,
      relationship: `${j.table.name} using ${j.constraint1}${columnsText(j.sourceColumns.map(([, jc]) => jc))} and ${j.constraint2}${columnsText(j.targetColumns.map(([, jc]) => jc))}`,
      hint: j.table.name,
    };
  }
  const names = { o2m: 'one-to-many', m2o: 'many-to-one', o2o: 'one-to-one' } as const;
  return {
    cardinality: names[c.kind],
    embedding,
    relationship: `${c.constraint} using ${rel.table.name}${columnsText(c.columns.map(([a]) => a))} and ${rel.foreignTable.name}${columnsText(c.columns.map(([, b]) => b))}`,
    hint: c.constraint,
  };
}

/** PostgREST names a JSON path's column after its last key (src/PostgREST/Plan.hs, addAliases). */
function defaultAlias(field: Field): string | undefined {
  const last = field.jsonPath.at(-1);
  if (!last) return undefined;
  if (!last.isIndex) return last.operand;
  const lastKey = [...field.jsonPath].reverse().find((step) => !step.isIndex);
  return lastKey?.operand ?? field.name;
}

function restrictRange(range: Range, maxRows: number | undefined): Range {
  if (range.limit !== undefined && range.limit < 0) throw invalidRange('negative');
  if (range.limit === 0) return range;
  if (maxRows === undefined) return range;
  return { offset: range.offset, limit: range.limit === undefined ? maxRows : Math.min(range.limit, maxRows) };
}

interface Built {
  node: ReadNode;
  draft: Draft;
  /** One per embed, in the same order. */
  children: Built[];
}

/** addRels over the draft tree: each child's relationship, relation, aliases and spread kind. */
function resolve(cache: SchemaCache, schema: string, relation: Relation, draft: Draft, alias: string | undefined, isRoot: boolean, options: PlanOptions): Built {
  const node: ReadNode = {
    relation,
    alias,
    select: [],
    where: [],
    order: [],
    range: isRoot ? { offset: 0 } : restrictRange(draft.range ?? { offset: 0 }, options.maxRows),
    embeds: [],
  };
  const built: Built = { node, draft, children: [] };
  for (const child of draft.children) {
    const rel = findRelationship(cache, schema, relation.name, child.name, child.hint);
    const target = cache.relation(rel.foreignTable.schema, rel.foreignTable.name);
    if (!target) throw tableNotFound(rel.foreignTable.schema, rel.foreignTable.name, cache.relationNames(schema));
    const childAlias = rel.cardinality.kind === 'm2m' ? undefined : `${rel.foreignTable.name}_${child.depth}`;
    const childBuilt = resolve(cache, schema, target, child, childAlias, false, options);
    const embed: Embed = {
      name: child.name,
      alias: child.alias,
      relationship: rel,
      joinType: child.joinType,
      aggAlias: `${rel.table.name}_${child.alias ?? child.name}_${child.depth}`,
      spread: child.spread ? (isToOne(rel) ? 'to-one' : 'to-many') : undefined,
      spreadOrder: [],
      empty: false,
      node: childBuilt.node,
    };
    node.embeds.push(embed);
    built.children.push(childBuilt);
  }
  return built;
}

function columnRef(node: ReadNode): string {
  return node.alias ?? node.relation.name;
}

function checkField(node: ReadNode, field: Field): void {
  if (!node.relation.columns.has(field.name)) throw columnNotFound(columnRef(node), field.name);
}

function checkCondition(node: ReadNode, condition: PlannedCondition): void {
  if (condition.kind === 'filter') checkField(node, condition.filter.field);
  else if (condition.kind === 'expr') for (const child of condition.children) checkCondition(node, child);
}

/** addNullEmbedFilters: `rel=is.null` / `rel=not.is.null` where `rel` names an embed. */
function toCondition(tree: LogicTree, embeds: Embed[]): PlannedCondition {
  if (tree.kind === 'expr') return { kind: 'expr', negated: tree.negated, operator: tree.operator, children: tree.children.map((c) => toCondition(c, embeds)) };
  const { filter } = tree;
  if (filter.field.jsonPath.length === 0 && filter.expr.operation.kind === 'is' && filter.expr.operation.value === 'null') {
    const embed = embeds.find((e) => (e.alias ?? e.name) === filter.field.name);
    if (embed) return { kind: 'nullEmbed', negated: filter.expr.negated, aggAlias: embed.aggAlias };
  }
  return { kind: 'filter', filter };
}

function planSelect(node: ReadNode, fields: Draft['fields'], expandStar: boolean): PlannedSelect[] {
  const planned: PlannedSelect[] = [];
  for (const item of fields) {
    if (item.field.name === '*' && item.field.jsonPath.length === 0 && !item.aggregate) {
      if (expandStar) for (const name of node.relation.columns.keys()) planned.push({ field: { name, jsonPath: [] } });
      else planned.push({ field: item.field, star: true });
      continue;
    }
    // `count` naming no column: Postgres's functional notation, count(row) (see the module comment).
    const wholeRowCount = item.field.name === 'count' && item.field.jsonPath.length === 0 && !node.relation.columns.has('count');
    if (!wholeRowCount) checkField(node, item.field);
    const alias = item.alias ?? defaultAlias(item.field);
    planned.push({ field: item.field, ...(alias !== undefined ? { alias } : {}), ...(item.cast !== undefined ? { cast: item.cast } : {}) });
  }
  return planned;
}

/** The filters, orders and checks of a resolved node and its embeds, in PostgREST's order of errors. */
function finish(built: Built, spread: Embed['spread']): void {
  const { node, draft } = built;
  built.children.forEach((child, i) => finish(child, node.embeds[i]!.spread));
  // addRelatedOrders
  node.order = (draft.order ?? []).map((term): PlannedOrder => {
    const dir: Direction = { ...(term.direction ? { direction: term.direction } : {}), ...(term.nulls ? { nulls: term.nulls } : {}) };
    if (term.kind === 'field') return { kind: 'field', field: term.field, ...dir };
    const embed = node.embeds.find((e) => (e.alias ?? e.name) === term.relation);
    if (!embed) throw notEmbedded(term.relation);
    if (!isToOne(embed.relationship)) throw relatedOrderNotToOne(node.relation.name, embed.alias ?? embed.name);
    return { kind: 'relation', aggAlias: embed.aggAlias, field: term.field, ...dir };
  });
  // addNullEmbedFilters
  node.where = [
    ...draft.filters.map((filter) => toCondition({ kind: 'filter', filter }, node.embeds)),
    ...draft.logic.map((tree) => toCondition(tree, node.embeds)),
  ];
  // validateAggFunctions
  if (draft.fields.some((f) => f.aggregate)) throw aggregatesNotAllowed();
  // Unknown columns: Postgres's 42703, answered before the query.
  node.select = planSelect(node, draft.fields, spread === 'to-many');
  for (const condition of node.where) checkCondition(node, condition);
  for (const term of node.order) {
    if (term.kind === 'field') checkField(node, term.field);
    else {
      const embed = node.embeds.find((e) => e.aggAlias === term.aggAlias)!;
      if (!embed.node.relation.columns.has(term.field.name)) throw columnNotFound(term.aggAlias, term.field.name);
    }
  }
  for (const embed of node.embeds) {
    embed.empty = embed.spread === undefined && isEmpty(embed.node);
    if (embed.spread === 'to-many') {
      // addToManyOrderSelects: the order moves into the json_agg of each spread column.
      embed.spreadOrder = embed.node.order.map((source, i) => ({ alias: `${embed.aggAlias}_${source.field.name}_${i + 1}`, source }));
      embed.node.order = [];
    }
  }
}

function isEmpty(node: ReadNode): boolean {
  return node.select.length === 0 && node.embeds.every((e) => isEmpty(e.node));
}

/** The flagged drafts in tree order (readPlanWarnings: the node, then its children). */
function legacyOrder(draft: Draft, legacy: Set<Draft>): { name: string; alias: string }[] {
  const own = legacy.has(draft) && draft.alias !== undefined ? [{ name: draft.name, alias: draft.alias }] : [];
  return [...own, ...draft.children.flatMap((c) => legacyOrder(c, legacy))];
}

/**
 * The casts a plan's selects use, at every level (each is resolved to Postgres's own type
 * name before the SQL is built).
 *
 * @example
 * for (const cast of planCasts(plan)) casts.set(cast, await resolveCast(cast));
 */
export function planCasts(plan: ReadNode): string[] {
  return [...plan.select.flatMap((s) => (s.cast !== undefined ? [s.cast] : [])), ...plan.embeds.flatMap((e) => planCasts(e.node))];
}

/**
 * The columns a write must return for its read plan to work (inferColsEmbedNeeds): `*`
 * when the top level selects it, else the selected columns, the columns the embeds join
 * on and the primary key.
 *
 * @example
 * const returning = returnedColumns(plan, ['id']); // ['*'] or ['name', 'client_id', 'id']
 */
export function returnedColumns(plan: ReadPlan, primaryKey: readonly string[]): string[] {
  if (plan.select.some((s) => s.star)) return ['*'];
  // `count` naming no column is the whole-row count, read from the rows whatever they are.
  const names = new Set(plan.select.map((s) => s.field.name).filter((n) => plan.relation.columns.has(n)));
  for (const embed of plan.embeds) {
    const c = embed.relationship.cardinality;
    for (const [column] of c.kind === 'm2m' ? c.junction.sourceColumns : c.columns) names.add(column);
  }
  for (const column of primaryKey) names.add(column);
  return [...names];
}

/**
 * The top-level filters and logic trees of a request as conditions on `relation`, columns
 * checked (42703): the WHERE of a write (PostgREST's qsFiltersRoot and root qsLogic),
 * which a `forWrite` read plan leaves out. Write them with sql.ts conditionsSql.
 *
 * @example
 * const where = rootConditions(relation, parseQueryParams('id=eq.1&or=(a.is.null,b.eq.2)'));
 */
export function rootConditions(relation: Relation, params: QueryParams): PlannedCondition[] {
  const node: ReadNode = { relation, alias: undefined, select: [], where: [], order: [], range: { offset: 0 }, embeds: [] };
  const conditions = [
    ...params.filters.filter((f) => f.path.length === 0).map((f) => toCondition({ kind: 'filter', filter: f.filter }, [])),
    ...params.logic.filter((l) => l.path.length === 0).map((l) => toCondition(l.tree, [])),
  ];
  for (const condition of conditions) checkCondition(node, condition);
  return conditions;
}

/**
 * Builds the plan of a read on `schema.name`.
 *
 * @example
 * const plan = planRead(cache, 'public', 'projects', parseQueryParams('select=id,project_members(role)&name=eq.x'));
 */
export function planRead(cache: SchemaCache, schema: string, name: string, params: QueryParams, options: PlanOptions = {}): ReadPlan {
  const relation = cache.relation(schema, name);
  if (!relation) throw tableNotFound(schema, name, cache.relationNames(schema));
  const root = draftOf(name, params.select, 0);
  const write = options.forWrite === true;
  const legacy = new Set<Draft>();
  // addFilters, addOrders, addRanges, addLogicTrees (PGRST108 for a path naming no embed)
  for (const { path, filter } of params.filters) if (!write || path.length > 0) nodeAt(root, path, legacy).filters.push(filter);
  for (const { path, terms } of params.order) nodeAt(root, path, legacy).order = terms;
  for (const [key, range] of write ? [] : params.ranges) {
    if (key === 'limit') continue;
    nodeAt(root, key.split('.').slice(0, -1), legacy).range = range;
  }
  for (const { path, tree } of params.logic) if (!write || path.length > 0) nodeAt(root, path, legacy).logic.push(tree);
  const built = resolve(cache, schema, relation, root, undefined, true, write ? { ...options, maxRows: undefined } : options);
  finish(built, undefined);
  return { ...built.node, legacyTargets: legacyOrder(root, legacy) };
}
