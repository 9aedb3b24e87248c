/**
 * Which primary and foreign keys of tables a view carries, so relationships reach views as
 * PostgREST v16.2 lets them (upstream PostgREST/postgrest src/PostgREST/SchemaCache.hs,
 * allViewsKeyDependencies): a view column that is a plain reference to a table column
 * (the `resorigtbl`/`resorigcol` of its target entry in the view's stored query, followed
 * through views over views) carries that column; a view carries a key when it carries
 * every column of it. PostgREST turns the stored query into JSON with string replaces in
 * SQL; this parses the node tree text instead.
 */
import type postgres from 'postgres';

/** A key of a table carried by a view: per key column (in key order), the view columns that carry it. */
export interface ViewKeyDependency {
  table: { schema: string; name: string };
  view: { schema: string; name: string };
  constraint: string;
  /** `p` primary key, `f` the referencing columns of a foreign key, `f_ref` its referenced columns. */
  type: 'p' | 'f' | 'f_ref';
  columns: [string, string[]][];
}

type NodeValue = string | NodeValue[] | PgNode;
interface PgNode {
  type: string;
  fields: Map<string, NodeValue[]>;
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === ' ' || ch === '\n' || ch === '\t') {
      i++;
      continue;
    }
    if ('{}()'.includes(ch)) {
      tokens.push(ch);
      i++;
      continue;
    }
    let word = '';
    while (i < text.length && !' \n\t{}()'.includes(text[i]!)) {
      if (text[i] === '\\' && i + 1 < text.length) i++;
      word += text[i]!;
      i++;
    }
    tokens.push(word);
  }
  return tokens;
}

/**
 * Parses pg_node_tree text (nodes `{TYPE :field value ...}`, lists `(...)`, atoms).
 *
 * @example
 * parseNodeTree('({QUERY :targetList ({TARGETENTRY :resno 1 :resorigtbl 16384 :resorigcol 1})})');
 */
export function parseNodeTree(text: string): NodeValue {
  const tokens = tokenize(text);
  let pos = 0;
  const value = (): NodeValue => {
    const token = tokens[pos++];
    if (token === '{') {
      const node: PgNode = { type: tokens[pos++] ?? '', fields: new Map() };
      let key: string | undefined;
      while (pos < tokens.length && tokens[pos] !== '}') {
        const next = tokens[pos]!;
        if (next.startsWith(':') && next.length > 1) {
          key = next.slice(1);
          node.fields.set(key, []);
          pos++;
        } else {
          const v = value();
          if (key !== undefined) node.fields.get(key)!.push(v);
        }
      }
      pos++;
      return node;
    }
    if (token === '(') {
      const list: NodeValue[] = [];
      while (pos < tokens.length && tokens[pos] !== ')') list.push(value());
      pos++;
      return list;
    }
    return token ?? '';
  };
  return value();
}

function field(node: PgNode, name: string): NodeValue | undefined {
  return node.fields.get(name)?.[0];
}

/** The (resno, resorigtbl, resorigcol) of the first query's target list. */
function targetEntries(definition: string): { resno: number; table: number; column: number }[] {
  const tree = parseNodeTree(definition);
  const query = Array.isArray(tree) ? tree[0] : tree;
  if (!query || typeof query !== 'object' || Array.isArray(query)) return [];
  const list = field(query, 'targetList');
  if (!Array.isArray(list)) return [];
  return list.flatMap((entry) => {
    if (typeof entry !== 'object' || Array.isArray(entry) || entry.type !== 'TARGETENTRY') return [];
    const num = (name: string) => Number(field(entry, name));
    return [{ resno: num('resno'), table: num('resorigtbl'), column: num('resorigcol') }];
  });
}

interface ViewRow {
  oid: string;
  schema: string;
  name: string;
  definition: string;
  columns: string[];
}

interface KeyRow {
  constraint: string;
  type: 'p' | 'f' | 'f_ref';
  oid: string;
  schema: string;
  name: string;
  attnums: number[];
  attnames: string[];
}

/**
 * Reads the key dependencies of the views of `schemas` (views over views are followed
 * through any schema).
 *
 * @example
 * const deps = await loadViewKeyDependencies(sql, ['public']);
 */
export async function loadViewKeyDependencies(sql: postgres.Sql<Record<string, unknown>>, schemas: readonly string[]): Promise<ViewKeyDependency[]> {
  const views = await sql<ViewRow[]>`
    select c.oid::text as oid, n.nspname as schema, c.relname as name, r.ev_action::text as definition,
           array(select a.attname::text from pg_catalog.pg_attribute a where a.attrelid = c.oid and a.attnum > 0 order by a.attnum) as columns
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      join pg_catalog.pg_rewrite r on r.ev_class = c.oid and r.rulename = '_RETURN'
     where c.relkind in ('v', 'm') and n.nspname not in ('pg_catalog', 'information_schema')`;
  if (views.length === 0) return [];
  const keys = await sql<KeyRow[]>`
    select con.conname as constraint, con.contype::text as type, c.oid::text as oid, n.nspname as schema, c.relname as name,
           array(select k from unnest(con.conkey) with ordinality as u(k, o) order by o)::int[] as attnums,
           array(select a.attname::text from unnest(con.conkey) with ordinality as u(k, o) join pg_catalog.pg_attribute a on a.attrelid = con.conrelid and a.attnum = u.k order by o) as attnames
      from pg_catalog.pg_constraint con
      join pg_catalog.pg_class c on c.oid = con.conrelid
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where con.contype in ('p', 'f')
    union all
    select con.conname, 'f_ref', c.oid::text, n.nspname, c.relname,
           array(select k from unnest(con.confkey) with ordinality as u(k, o) order by o)::int[],
           array(select a.attname::text from unnest(con.confkey) with ordinality as u(k, o) join pg_catalog.pg_attribute a on a.attrelid = con.confrelid and a.attnum = u.k order by o)
      from pg_catalog.pg_constraint con
      join pg_catalog.pg_class c on c.oid = con.confrelid
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where con.contype = 'f'`;
  const entries = new Map<string, Map<number, { table: string; column: number }>>();
  for (const view of views) {
    const map = new Map<number, { table: string; column: number }>();
    for (const e of targetEntries(view.definition)) if (e.table > 0) map.set(e.resno, { table: String(e.table), column: e.column });
    entries.set(view.oid, map);
  }
  // Follow a view column to the table column it comes from, through views over views.
  const origin = (table: string, column: number): { table: string; column: number } => {
    const seen = new Set<string>();
    let current = { table, column };
    for (;;) {
      const next = entries.get(current.table)?.get(current.column);
      if (!next || seen.has(next.table)) return current;
      seen.add(current.table);
      current = next;
    }
  };
  const exposed = new Set(schemas);
  const deps: ViewKeyDependency[] = [];
  for (const view of views) {
    if (!exposed.has(view.schema)) continue;
    // table oid → table attnum → the view columns carrying it
    const carried = new Map<string, Map<number, string[]>>();
    for (const [resno, entry] of entries.get(view.oid)!) {
      const name = view.columns[resno - 1];
      if (name === undefined) continue;
      const source = origin(entry.table, entry.column);
      const byColumn = carried.get(source.table) ?? new Map<number, string[]>();
      byColumn.set(source.column, [...(byColumn.get(source.column) ?? []), name]);
      carried.set(source.table, byColumn);
    }
    for (const key of keys) {
      const byColumn = carried.get(key.oid);
      if (!byColumn || !key.attnums.every((n) => byColumn.has(n))) continue;
      deps.push({
        table: { schema: key.schema, name: key.name },
        view: { schema: view.schema, name: view.name },
        constraint: key.constraint,
        type: key.type,
        columns: key.attnums.map((n, i): [string, string[]] => [key.attnames[i]!, byColumn.get(n)!]),
      });
    }
  }
  return deps;
}

/**
 * Every way to pick one view column per key column (expandKeyDepCols).
 *
 * @example
 * expandColumns([['a', ['a1', 'a2']], ['b', ['b1']]]); // [['a1', 'b1'], ['a2', 'b1']]
 */
export function expandColumns(columns: [string, string[]][]): string[][] {
  return columns.reduce<string[][]>((acc, [, viewColumns]) => acc.flatMap((prefix) => viewColumns.map((c) => [...prefix, c])), [[]]);
}
