/**
 * The Data API settings of the Supabase CLI project (`supabase/config.toml` `[api]`), which
 * `supabase start` hands PostgREST as PGRST_DB_SCHEMAS, PGRST_DB_EXTRA_SEARCH_PATH and
 * PGRST_DB_MAX_ROWS (supabase/cli internal/start/start.go).
 */
import { readFileSync } from 'node:fs';
import { parseSupabaseConfig, SUPABASE_CONFIG_PATH } from '../config/supabase-config.ts';

export interface DataApiConfig {
  /** Exposed schemas; the first is the default. */
  schemas: string[];
  extraSearchPath: string[];
  /** Upper bound on the rows of one response (PGRST_DB_MAX_ROWS); undefined: none. */
  maxRows: number | undefined;
}

/** The CLI's defaults for a config.toml without these keys (pkg/config/templates/config.toml). */
const DEFAULTS: DataApiConfig = { schemas: ['public', 'graphql_public'], extraSearchPath: ['public', 'extensions'], maxRows: 1000 };

/**
 * The `[api]` settings of config.toml text (read by devstack/config/supabase-config.ts, the
 * one config.toml reader); a key that is missing keeps the CLI's default.
 *
 * @example
 * dataApiConfigFromToml('[api]\nschemas = ["public"]\nmax_rows = 10\n'); // { schemas: ['public'], maxRows: 10, ... }
 */
export function dataApiConfigFromToml(text: string): DataApiConfig {
  const api = parseSupabaseConfig(text).api ?? {};
  const maxRows = api.max_rows ?? DEFAULTS.maxRows;
  return {
    schemas: api.schemas ?? DEFAULTS.schemas,
    extraSearchPath: api.extra_search_path ?? DEFAULTS.extraSearchPath,
    maxRows: maxRows && maxRows > 0 ? maxRows : undefined,
  };
}

/** The project's `[api]` settings. */
export function projectDataApiConfig(): DataApiConfig {
  return dataApiConfigFromToml(readFileSync(SUPABASE_CONFIG_PATH, 'utf8'));
}
