/**
 * Turns parsed query parameters into a read plan against the schema cache, refusing what
 * PostgREST would refuse before querying (unknown relation or column, aggregates, which
 * the CLI's PostgREST leaves disabled) and what this stand-in does not build yet (embeds).
 * Names in a plan are known to exist, so the SQL builder quotes them and nothing else.
 */
import { columnNotFound, notBuiltYet, PgrstError, tableNotFound } from './errors.ts';
import type { Field, Filter, LogicTree, OrderTerm, QueryParams, SelectItem } from './grammar.ts';
import type { Relation, SchemaCache } from './schema-cache.ts';

export interface PlannedSelect {
  field: Field;
  /** Set for `*` */
  star?: boolean;
  alias?: string;
  cast?: string;
}

export interface ReadPlan {
  relation: Relation;
  select: PlannedSelect[];
  filters: Filter[];
  logic: LogicTree[];
  order: OrderTerm[];
}

const EMBEDS = 'Embedded resources (select=rel(...), rel.col filters, rel.order, rel.limit)';

function checkField(relation: Relation, field: Field): void {
  if (!relation.columns.has(field.name)) throw columnNotFound(relation.name, field.name);
}

function checkLogic(relation: Relation, tree: LogicTree): void {
  if (tree.kind === 'filter') checkField(relation, tree.filter.field);
  else for (const child of tree.children) checkLogic(relation, child);
}

/** PostgREST names a JSON path's column after its last key (src/PostgREST/Plan.hs, addAliases). */
function defaultAlias(field: Field): string | undefined {
  const last = field.jsonPath.at(-1);
  if (!last) return undefined;
  if (!last.isIndex) return last.operand;
  const lastKey = [...field.jsonPath].reverse().find((step) => !step.isIndex);
  return lastKey?.operand ?? field.name;
}

function planSelect(relation: Relation, items: SelectItem[]): PlannedSelect[] {
  const planned: PlannedSelect[] = [];
  for (const item of items) {
    if (item.kind !== 'field') throw notBuiltYet(EMBEDS);
    if (item.aggregate) throw new PgrstError(400, 'PGRST123', 'Use of aggregate functions is not allowed');
    if (item.field.name === '*') {
      planned.push({ field: item.field, star: true });
      continue;
    }
    checkField(relation, item.field);
    const alias = item.alias ?? defaultAlias(item.field);
    planned.push({ field: item.field, ...(alias !== undefined ? { alias } : {}), ...(item.cast !== undefined ? { cast: item.cast } : {}) });
  }
  return planned;
}

/**
 * Builds the plan of a read on `schema.name`.
 *
 * @example
 * const plan = planRead(cache, 'public', 'projects', parseQueryParams('select=id&name=eq.x'));
 */
export function planRead(cache: SchemaCache, schema: string, name: string, params: QueryParams): ReadPlan {
  const relation = cache.relation(schema, name);
  if (!relation) throw tableNotFound(schema, name, cache.relationNames(schema));
  if (params.filters.some((f) => f.path.length > 0) || params.logic.some((l) => l.path.length > 0) || params.order.some((o) => o.path.length > 0)) {
    throw notBuiltYet(EMBEDS);
  }
  if ([...params.ranges.keys()].some((key) => key !== 'limit')) throw notBuiltYet(EMBEDS);
  const select = planSelect(relation, params.select);
  const filters = params.filters.map((f) => f.filter);
  for (const filter of filters) checkField(relation, filter.field);
  const logic = params.logic.map((l) => l.tree);
  for (const tree of logic) checkLogic(relation, tree);
  const order = params.order.flatMap((o) => o.terms);
  for (const term of order) {
    if (term.kind === 'relation') throw notBuiltYet(EMBEDS);
    checkField(relation, term.field);
  }
  return { relation, select, filters, logic, order };
}
