/**
 * The Data API settings of the Supabase CLI project (`supabase/config.toml` `[api]`), which
 * `supabase start` hands PostgREST as PGRST_DB_SCHEMAS, PGRST_DB_EXTRA_SEARCH_PATH and
 * PGRST_DB_MAX_ROWS (supabase/cli internal/start/start.go). Only the keys it reads are
 * parsed: `schemas` and `extra_search_path` (arrays of strings) and `max_rows` (an integer).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../db/setup.ts';

export interface DataApiConfig {
  /** Exposed schemas; the first is the default. */
  schemas: string[];
  extraSearchPath: string[];
  /** Upper bound on the rows of one response (PGRST_DB_MAX_ROWS); undefined: none. */
  maxRows: number | undefined;
}

/** The CLI's defaults for a config.toml without these keys (pkg/config/templates/config.toml). */
const DEFAULTS: DataApiConfig = { schemas: ['public', 'graphql_public'], extraSearchPath: ['public', 'extensions'], maxRows: 1000 };

function stringArray(text: string): string[] | undefined {
  const match = /^\[(.*)\]$/s.exec(text.trim());
  if (!match) return undefined;
  const items = match[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const values = items.map((item) => /^"((?:[^"\\]|\\.)*)"$/.exec(item)?.[1]);
  return values.every((v): v is string => v !== undefined) ? values : undefined;
}

/**
 * The `[api]` settings of config.toml text; a key that is missing or not a plain literal
 * keeps the CLI's default.
 *
 * @example
 * dataApiConfigFromToml('[api]\nschemas = ["public"]\nmax_rows = 10\n'); // { schemas: ['public'], maxRows: 10, ... }
 */
export function dataApiConfigFromToml(text: string): DataApiConfig {
  const config = { ...DEFAULTS };
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').replace(/^#.*$/, '').trim();
    const header = /^\[([A-Za-z0-9_.-]+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    if (section !== 'api') continue;
    const entry = /^([A-Za-z0-9_]+)\s*=\s*(.+)$/.exec(line);
    if (!entry) continue;
    const [, key, value] = entry as unknown as [string, string, string];
    if (key === 'schemas') config.schemas = stringArray(value) ?? config.schemas;
    if (key === 'extra_search_path') config.extraSearchPath = stringArray(value) ?? config.extraSearchPath;
    if (key === 'max_rows' && /^\d+$/.test(value)) config.maxRows = Number(value) > 0 ? Number(value) : undefined;
  }
  return config;
}

/** The project's `[api]` settings. */
export function projectDataApiConfig(): DataApiConfig {
  return dataApiConfigFromToml(readFileSync(join(repoRoot, 'supabase', 'config.toml'), 'utf8'));
}
