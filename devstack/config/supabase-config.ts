/**
 * The Supabase CLI project's settings (`supabase/config.toml`) as the devstack reads them:
 * one TOML parser (smol-toml, a TOML 1.0 parser that refuses what the CLI's Go decoder
 * refuses, such as a key or table defined twice) and one zod schema for the sections Tandem
 * reads — `[api]`, `[auth]` with `[auth.rate_limit]`, `[functions.<name>]`. Other sections
 * and keys pass through unchecked: the CLI owns them.
 *
 * A file that is not TOML, or a value of the wrong type in a section Tandem reads, is an
 * error naming the file, the line or the key — as `supabase start` refuses such a file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { z } from 'zod';
import { repoRoot } from '../db/setup.ts';

export const SUPABASE_CONFIG_PATH = join(repoRoot, 'supabase', 'config.toml');

/** What a malformed or mistyped config.toml raises; the message is one line. */
export class SupabaseConfigError extends Error {
  override readonly name = 'SupabaseConfigError';
}

// The CLI decodes these as Go uints (pkg/config/config.go): whole numbers, never negative.
const count = z.number().int().nonnegative();
const port = z.number().int().min(1).max(65535);

const apiSection = z.looseObject({
  enabled: z.boolean().optional(),
  port: port.optional(),
  schemas: z.array(z.string()).optional(),
  extra_search_path: z.array(z.string()).optional(),
  max_rows: count.optional(),
});

const authSection = z.looseObject({
  enabled: z.boolean().optional(),
  jwt_expiry: count.optional(),
  refresh_token_reuse_interval: count.optional(),
  enable_signup: z.boolean().optional(),
  minimum_password_length: count.optional(),
  rate_limit: z.looseObject({ sign_in_sign_ups: count.optional(), token_refresh: count.optional() }).optional(),
});

const functionSection = z.looseObject({
  enabled: z.boolean().optional(),
  verify_jwt: z.boolean().optional(),
  entrypoint: z.string().optional(),
  import_map: z.string().optional(),
});

export const supabaseConfigSchema = z.looseObject({
  project_id: z.string().optional(),
  api: apiSection.optional(),
  auth: authSection.optional(),
  functions: z.record(z.string(), functionSection).optional(),
});

export type SupabaseConfig = z.infer<typeof supabaseConfigSchema>;

/** The `[api]` settings Tandem uses (the Data API's exposed schemas and row cap). */
export interface ApiSettings {
  /** `[api] schemas`: the schemas the Data API exposes; empty when unset. */
  schemas: string[];
  /** `[api] extra_search_path`; empty when unset. */
  extraSearchPath: string[];
  /** `[api] max_rows`: PostgREST's db-max-rows; undefined when unset (no cap). */
  maxRows: number | undefined;
  /** `[api] port`. */
  port: number | undefined;
}

function parseToml(text: string, source: string): Record<string, unknown> {
  try {
    return parse(text) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      throw new SupabaseConfigError(`${source}: line ${error.line}, column ${error.column}: ${reason}`);
    }
    throw error;
  }
}

/**
 * Parses config.toml text and checks the sections Tandem reads.
 *
 * @example
 * parseSupabaseConfig('[api]\nschemas = ["public"]\nmax_rows = 1000').api?.max_rows // 1000
 */
export function parseSupabaseConfig(text: string, source = 'supabase/config.toml'): SupabaseConfig {
  const result = supabaseConfigSchema.safeParse(parseToml(text, source));
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new SupabaseConfigError(`${source}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return result.data;
}

const loaded = new Map<string, SupabaseConfig>();

/**
 * This repository's `supabase/config.toml` (or the file at `path`), read and checked once.
 *
 * @example
 * loadSupabaseConfig().functions?.jobs?.verify_jwt // false
 */
export function loadSupabaseConfig(path = SUPABASE_CONFIG_PATH): SupabaseConfig {
  let config = loaded.get(path);
  if (!config) {
    config = parseSupabaseConfig(readFileSync(path, 'utf8'), path);
    loaded.set(path, config);
  }
  return config;
}

/**
 * The `[api]` settings of a parsed config (default: this repository's).
 *
 * @example
 * apiSettings().schemas // ['public', 'graphql_public']
 */
export function apiSettings(config: SupabaseConfig = loadSupabaseConfig()): ApiSettings {
  const api = config.api ?? {};
  return { schemas: api.schemas ?? [], extraSearchPath: api.extra_search_path ?? [], maxRows: api.max_rows, port: api.port };
}

export type TomlLiteral = number | boolean | string | string[];

/**
 * The integer, boolean, string and string-array values of each table of a TOML document, by the
 * table's dotted name (`''` for the top level, `auth.rate_limit`); other values are left out.
 * The shape the local Auth's reader (devstack/auth/config.ts) takes its keys from.
 *
 * @example
 * tomlLiteralSections('[api]\nschemas = ["public"]').get('api')?.get('schemas') // ['public']
 */
export function tomlLiteralSections(text: string, source = 'supabase/config.toml'): Map<string, Map<string, TomlLiteral>> {
  const sections = new Map<string, Map<string, TomlLiteral>>();
  const visit = (name: string, table: Record<string, unknown>) => {
    const literals = new Map<string, TomlLiteral>();
    sections.set(name, literals);
    for (const [key, value] of Object.entries(table)) {
      if (Number.isInteger(value) || typeof value === 'boolean' || typeof value === 'string') literals.set(key, value as number | boolean | string);
      else if (Array.isArray(value) && value.every((item) => typeof item === 'string')) literals.set(key, value as string[]);
      else if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) {
        visit(name ? `${name}.${key}` : key, value as Record<string, unknown>);
      }
    }
  };
  visit('', parseToml(text, source));
  return sections;
}
