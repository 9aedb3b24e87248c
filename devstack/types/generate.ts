/**
 * `npm run gen:types`: writes client/database.types.ts — supabase-js `Database` types for
 * the public schema — from the live catalog (SUPABASE_DB_URL, else DATABASE_URL).
 *
 * `supabase gen types typescript` needs Docker (it runs postgres-meta in a container), so
 * this reads the same catalog facts postgres-meta reads and emits the same structure: Row /
 * Insert / Update / Relationships per table, Views, Functions (Args / Returns), Enums,
 * CompositeTypes, the Tables/TablesInsert/TablesUpdate/Enums/CompositeTypes helpers and
 * `Constants`. Like the CLI it does not read grants: Insert lists every column, optional
 * when nullable, defaulted or identity.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import postgres from 'postgres';
import { databaseUrlFromEnv, repoRoot } from '../db/setup.ts';

export const DATABASE_TYPES_PATH = join(repoRoot, 'client', 'database.types.ts');
/** The PostgREST major.minor of the Supabase stack Tandem targets (SUPABASE-FACTS.md). */
const POSTGREST_VERSION = '14.1';
const WIDTH = 80;

interface Column {
  table_id: number;
  name: string;
  format: string;
  is_nullable: boolean;
  has_default: boolean;
  identity: string;
}
interface Table {
  id: number;
  name: string;
  kind: string;
  is_updatable: boolean;
}
interface Relationship {
  foreign_key_name: string;
  relation: string;
  columns: string[];
  is_one_to_one: boolean;
  referenced_relation: string;
  referenced_columns: string[];
}
interface FunctionArg {
  name: string;
  mode: 'in' | 'out' | 'inout' | 'variadic' | 'table';
  type: string;
  has_default: boolean;
}
interface FunctionInfo {
  name: string;
  argument_types: string;
  return_type: string;
  return_relation: string | null;
  returns_set: boolean;
  args: FunctionArg[];
}
interface TypeInfo {
  schema: string;
  name: string;
  enums: string[];
  attributes: Array<{ name: string; type: string }>;
}

/** Reads the public schema's catalog. */
async function readCatalog(sql: postgres.Sql, schema: string) {
  const tables = await sql<Table[]>`
    select c.oid::int as id, c.relname as name, c.relkind as kind,
           (c.relkind in ('r', 'p') or pg_relation_is_updatable(c.oid, false) & 20 = 20) as is_updatable
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relkind in ('r', 'p', 'v', 'm', 'f')
      and not c.relispartition
    order by c.relname`;
  const columns = await sql<Column[]>`
    select a.attrelid::int as table_id, a.attname as name,
           case when t.typtype = 'd' then bt.typname else t.typname end as format,
           not (a.attnotnull or (t.typtype = 'd' and t.typnotnull)) as is_nullable,
           a.atthasdef as has_default,
           a.attidentity::text as identity
    from pg_attribute a
    join pg_class c on c.oid = a.attrelid
    join pg_namespace n on n.oid = c.relnamespace
    join pg_type t on t.oid = a.atttypid
    left join pg_type bt on bt.oid = t.typbasetype
    where n.nspname = ${schema} and c.relkind in ('r', 'p', 'v', 'm', 'f') and a.attnum > 0 and not a.attisdropped
    order by a.attname`;
  const relationships = await sql<Relationship[]>`
    select con.conname as foreign_key_name, rel.relname as relation,
           array(select att.attname from unnest(con.conkey) with ordinality k(attnum, ord)
                 join pg_attribute att on att.attrelid = con.conrelid and att.attnum = k.attnum order by k.ord)::text[] as columns,
           exists (select 1 from pg_constraint u
                   where u.conrelid = con.conrelid and u.contype in ('p', 'u')
                     and u.conkey::int2[] @> con.conkey::int2[] and u.conkey::int2[] <@ con.conkey::int2[]) as is_one_to_one,
           frel.relname as referenced_relation,
           array(select att.attname from unnest(con.confkey) with ordinality k(attnum, ord)
                 join pg_attribute att on att.attrelid = con.confrelid and att.attnum = k.attnum order by k.ord)::text[] as referenced_columns
    from pg_constraint con
    join pg_class rel on rel.oid = con.conrelid
    join pg_namespace n on n.oid = rel.relnamespace
    join pg_class frel on frel.oid = con.confrelid
    join pg_namespace fn on fn.oid = frel.relnamespace
    where con.contype = 'f' and n.nspname = ${schema} and fn.nspname = ${schema}`;
  const functions = await sql<Array<FunctionInfo & { arg_names: string[] | null; arg_modes: string[] | null; arg_types: string[]; defaults: number; input_count: number }>>`
    select p.proname as name,
           pg_get_function_identity_arguments(p.oid) as argument_types,
           rt.typname as return_type,
           case when rt.typrelid <> 0 then (select r.relname from pg_class r where r.oid = rt.typrelid) end as return_relation,
           p.proretset as returns_set,
           p.proargnames as arg_names,
           p.proargmodes::text[] as arg_modes,
           array(select format_type_name.typname from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) with ordinality u(oid, ord)
                 join pg_type format_type_name on format_type_name.oid = u.oid order by u.ord)::text[] as arg_types,
           p.pronargdefaults::int as defaults,
           p.pronargs::int as input_count
    from pg_proc p
    join pg_namespace n on n.oid = p.pronamespace
    join pg_type rt on rt.oid = p.prorettype
    where n.nspname = ${schema} and p.prokind = 'f' and rt.typname not in ('trigger', 'event_trigger')
    order by p.proname, 2`;
  const types = await sql<TypeInfo[]>`
    select n.nspname as schema, t.typname as name,
           array(select e.enumlabel from pg_enum e where e.enumtypid = t.oid order by e.enumsortorder)::text[] as enums,
           coalesce((select json_agg(json_build_object('name', a.attname, 'type', at.typname) order by a.attnum)
                     from pg_attribute a join pg_type at on at.oid = a.atttypid
                     where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped and t.typtype = 'c'
                       and (select relkind from pg_class where oid = t.typrelid) = 'c'), '[]') as attributes
    from pg_type t join pg_namespace n on n.oid = t.typnamespace
    where n.nspname = ${schema} and (t.typtype = 'e' or (t.typtype = 'c' and (select relkind from pg_class where oid = t.typrelid) = 'c'))
    order by t.typname`;

  const modeNames: Record<string, FunctionArg['mode']> = { i: 'in', o: 'out', b: 'inout', v: 'variadic', t: 'table' };
  const fns: FunctionInfo[] = functions.map((fn) => {
    const modes = fn.arg_modes ?? fn.arg_types.map(() => 'i');
    let inputSeen = 0;
    const args = fn.arg_types.map((type, index) => {
      const mode = modeNames[modes[index] ?? 'i'] ?? 'in';
      const isInput = mode === 'in' || mode === 'inout' || mode === 'variadic';
      const has_default = isInput && inputSeen++ >= fn.input_count - fn.defaults;
      return { name: fn.arg_names?.[index] ?? '', mode, type, has_default };
    });
    args.sort((a, b) => a.name.localeCompare(b.name));
    return { name: fn.name, argument_types: fn.argument_types, return_type: fn.return_type, return_relation: fn.return_relation, returns_set: fn.returns_set, args };
  });
  return { tables, columns, relationships, functions: fns, types };
}

function quote(value: string): string {
  return JSON.stringify(value);
}

/** Prettier's rule for a type literal: one line when it fits, else one member per line. */
function objectType(members: string[], indent: number, forceExpand = false, lead = 0): string {
  if (members.length === 0) return '{}';
  const inline = `{ ${members.join('; ')} }`;
  if (!forceExpand && !members.some((m) => m.includes('\n')) && indent + lead + inline.length <= WIDTH) return inline;
  const pad = ' '.repeat(indent + 2);
  return `{\n${members.map((m) => pad + m.replace(/\n/g, `\n${' '.repeat(2)}`)).join('\n')}\n${' '.repeat(indent)}}`;
}

/**
 * Generates the `database.types.ts` text for `schema` (default public).
 *
 * @example
 * const text = await generateDatabaseTypes(sql);
 */
export async function generateDatabaseTypes(sql: postgres.Sql, schema = 'public'): Promise<string> {
  const catalog = await readCatalog(sql, schema);
  const enumNames = new Set(catalog.types.filter((t) => t.enums.length > 0).map((t) => t.name));
  const compositeNames = new Set(catalog.types.filter((t) => t.attributes.length > 0).map((t) => t.name));
  const tableNames = new Set(catalog.tables.filter((t) => t.kind === 'r' || t.kind === 'p' || t.kind === 'f').map((t) => t.name));
  const viewNames = new Set(catalog.tables.filter((t) => t.kind === 'v' || t.kind === 'm').map((t) => t.name));

  const tsType = (pgType: string): string => {
    if (pgType === 'bool') return 'boolean';
    if (['int2', 'int4', 'int8', 'float4', 'float8', 'numeric'].includes(pgType)) return 'number';
    if (['bytea', 'bpchar', 'varchar', 'date', 'text', 'citext', 'time', 'timetz', 'timestamp', 'timestamptz', 'uuid', 'vector', 'interval'].includes(pgType)) return 'string';
    if (pgType === 'json' || pgType === 'jsonb') return 'Json';
    if (pgType === 'void') return 'undefined';
    if (pgType === 'record') return 'Record<string, unknown>';
    if (pgType.startsWith('_')) return `(${tsType(pgType.slice(1))})[]`;
    if (enumNames.has(pgType)) return `Database[${quote(schema)}]["Enums"][${quote(pgType)}]`;
    if (compositeNames.has(pgType)) return `Database[${quote(schema)}]["CompositeTypes"][${quote(pgType)}]`;
    if (tableNames.has(pgType)) return `Database[${quote(schema)}]["Tables"][${quote(pgType)}]["Row"]`;
    if (viewNames.has(pgType)) return `Database[${quote(schema)}]["Views"][${quote(pgType)}]["Row"]`;
    return 'unknown';
  };
  const nullable = (type: string, isNullable: boolean) => (isNullable && type !== 'unknown' && type !== 'any' ? `${type} | null` : type);
  const columnsOf = (tableId: number) => catalog.columns.filter((c) => c.table_id === tableId);
  const column = (c: Column, optional: boolean, forceNullable?: boolean) =>
    `${c.name}${optional ? '?' : ''}: ${nullable(tsType(c.format), forceNullable ?? c.is_nullable)}`;
  const lines = (members: string[], indent: number) => members.map((m) => ' '.repeat(indent) + m).join('\n');

  const relationshipsOf = (name: string, indent: number) => {
    const rels = catalog.relationships
      .filter((r) => r.relation === name)
      .sort((a, b) => a.foreign_key_name.localeCompare(b.foreign_key_name) || a.referenced_relation.localeCompare(b.referenced_relation));
    if (rels.length === 0) return 'Relationships: []';
    const pad = ' '.repeat(indent);
    const body = rels
      .map((r) =>
        [
          `${pad}  {`,
          `${pad}    foreignKeyName: ${quote(r.foreign_key_name)}`,
          `${pad}    columns: ${JSON.stringify(r.columns).replace(/,/g, ', ')}`,
          `${pad}    isOneToOne: ${r.is_one_to_one}`,
          `${pad}    referencedRelation: ${quote(r.referenced_relation)}`,
          `${pad}    referencedColumns: ${JSON.stringify(r.referenced_columns).replace(/,/g, ', ')}`,
          `${pad}  },`,
        ].join('\n'),
      )
      .join('\n');
    return `Relationships: [\n${body}\n${pad}]`;
  };

  const tablesBlock = catalog.tables
    .filter((t) => tableNames.has(t.name))
    .map((table) => {
      const cols = columnsOf(table.id);
      const insert = cols.map((c) => (c.identity === 'a' ? `${c.name}?: never` : column(c, c.is_nullable || c.identity !== '' || c.has_default)));
      const update = cols.map((c) => (c.identity === 'a' ? `${c.name}?: never` : column(c, true)));
      return [
        `      ${table.name}: {`,
        `        Row: {\n${lines(cols.map((c) => column(c, false)), 10)}\n        }`,
        `        Insert: {\n${lines(insert, 10)}\n        }`,
        `        Update: {\n${lines(update, 10)}\n        }`,
        `        ${relationshipsOf(table.name, 8)}`,
        `      }`,
      ].join('\n');
    });

  const viewsBlock = catalog.tables
    .filter((t) => viewNames.has(t.name))
    .map((view) => {
      const cols = columnsOf(view.id);
      const parts = [`      ${view.name}: {`, `        Row: {\n${lines(cols.map((c) => column(c, false)), 10)}\n        }`];
      if (view.is_updatable) {
        parts.push(`        Insert: {\n${lines(cols.map((c) => column(c, true, true)), 10)}\n        }`);
        parts.push(`        Update: {\n${lines(cols.map((c) => column(c, true, true)), 10)}\n        }`);
      }
      parts.push(`        ${relationshipsOf(view.name, 8)}`, '      }');
      return parts.join('\n');
    });

  const byName = new Map<string, FunctionInfo[]>();
  for (const fn of catalog.functions) {
    const inArgs = fn.args.filter((a) => a.mode === 'in' || a.mode === 'inout' || a.mode === 'variadic');
    const postgrestCallable = inArgs.length === 0 || !inArgs.some((a) => a.name === '') || (inArgs.length === 1 && ['json', 'jsonb', 'text'].includes(inArgs[0]!.type));
    if (!postgrestCallable) continue;
    byName.set(fn.name, [...(byName.get(fn.name) ?? []), fn]);
  }
  const signature = (fn: FunctionInfo, indent: number, lead = 2): string => {
    const inArgs = fn.args.filter((a) => a.mode === 'in' || a.mode === 'inout' || a.mode === 'variadic');
    const args = inArgs.length === 0 ? 'never' : objectType(inArgs.map((a) => `${a.name}${a.has_default ? '?' : ''}: ${tsType(a.type)}`), indent + 2, false, 6);
    const tableArgs = fn.args.filter((a) => a.mode === 'table');
    let returns: string;
    if (tableArgs.length > 0) {
      returns = `${objectType(tableArgs.map((a) => `${a.name}: ${tsType(a.type)}`), indent + 2, true)}${fn.returns_set ? '[]' : ''}`;
    } else if (fn.return_relation && tableNames.has(fn.return_relation)) {
      const table = catalog.tables.find((t) => t.name === fn.return_relation)!;
      returns = `${objectType(columnsOf(table.id).map((c) => column(c, false)), indent + 2, true)}${fn.returns_set ? '[]' : ''}`;
    } else {
      returns = `${tsType(fn.return_type)}${fn.returns_set ? '[]' : ''}`;
    }
    const inline = `{ Args: ${args}; Returns: ${returns} }`;
    if (!inline.includes('\n') && indent + lead + inline.length <= WIDTH) return inline;
    const pad = ' '.repeat(indent + 2);
    return `{\n${pad}Args: ${args}\n${pad}Returns: ${returns}\n${' '.repeat(indent)}}`;
  };
  const functionsBlock = [...byName.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, fns]) => {
      fns.sort((a, b) => a.argument_types.localeCompare(b.argument_types) || a.return_type.localeCompare(b.return_type));
      if (fns.length === 1) return `      ${name}: ${signature(fns[0]!, 6, name.length + 2)}`;
      return `      ${name}:\n${fns.map((fn) => `        | ${signature(fn, 8, 2)}`).join('\n')}`;
    });

  const enums = catalog.types.filter((t) => t.enums.length > 0);
  const enumsBlock = enums.map((e) => {
    const union = e.enums.map(quote).join(' | ');
    const line = `      ${e.name}: ${union}`;
    return line.length <= WIDTH ? line : `      ${e.name}:\n${e.enums.map((v) => `        | ${quote(v)}`).join('\n')}`;
  });
  const composites = catalog.types.filter((t) => t.attributes.length > 0);
  const compositesBlock = composites.map(
    (c) => `      ${c.name}: {\n${lines(c.attributes.map((a) => `${a.name}: ${nullable(tsType(a.type), true)}`), 8)}\n      }`,
  );
  const never = '      [_ in never]: never';
  const constantsEnums = enums.map((e) => {
    const line = `      ${e.name}: [${e.enums.map(quote).join(', ')}],`;
    return line.length <= WIDTH ? line : `      ${e.name}: [\n${e.enums.map((v) => `        ${quote(v)},`).join('\n')}\n      ],`;
  });

  return `export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]

export type Database = {
  // Allows to automatically instantiate createClient with right options
  // instead of createClient<Database, { PostgrestVersion: 'XX' }>(URL, KEY)
  __InternalSupabase: {
    PostgrestVersion: ${quote(POSTGREST_VERSION)}
  }
  ${schema}: {
    Tables: {
${tablesBlock.length ? tablesBlock.join('\n') : never}
    }
    Views: {
${viewsBlock.length ? viewsBlock.join('\n') : never}
    }
    Functions: {
${functionsBlock.length ? functionsBlock.join('\n') : never}
    }
    Enums: {
${enumsBlock.length ? enumsBlock.join('\n') : never}
    }
    CompositeTypes: {
${compositesBlock.length ? compositesBlock.join('\n') : never}
    }
  }
}
${HELPERS.replace('__DEFAULT_SCHEMA__', schema)}
export const Constants = {
  ${schema}: {
    Enums: {${constantsEnums.length ? `\n${constantsEnums.join('\n')}\n    ` : ''}},
  },
} as const
`;
}

const HELPERS = `
type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "__DEFAULT_SCHEMA__">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] &
        DefaultSchema["Views"])
    ? (DefaultSchema["Tables"] &
        DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
        Row: infer R
      }
      ? R
      : never
    : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Insert: infer I
      }
      ? I
      : never
    : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Update: infer U
      }
      ? U
      : never
    : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never = never,
> = DefaultSchemaEnumNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
    : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never = never,
> = PublicCompositeTypeNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
    : never
`;

async function main(): Promise<void> {
  const url = databaseUrlFromEnv();
  if (!url) {
    process.stderr.write('gen:types needs SUPABASE_DB_URL or DATABASE_URL (a migrated database).\n');
    process.exit(2);
  }
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    const text = await generateDatabaseTypes(sql);
    writeFileSync(DATABASE_TYPES_PATH, text);
    process.stdout.write(`wrote ${DATABASE_TYPES_PATH}\n`);
  } finally {
    await sql.end();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
