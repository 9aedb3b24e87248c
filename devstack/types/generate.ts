/**
 * `npm run gen:types`: writes client/database.types.ts — supabase-js `Database` types — by
 * running Supabase's own generator, postgres-meta, against a database set up with
 * `npm run db:setup` (SUPABASE_DB_URL, else DATABASE_URL).
 *
 * `supabase gen types typescript --local` (or `--db-url`) runs the postgres-meta image its
 * Dockerfile pins (`node dist/server/server.js` in a container). The npm package of the same
 * version (package.json, devDependencies) is that program, so this runs it with Node and the
 * environment the CLI passes, and no Docker: the output is the CLI's, byte for byte.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { parseFlags, runCommand, UsageError } from '../config/cli.ts';
import { apiSettings, loadSupabaseConfig, parseSupabaseConfig } from '../config/supabase-config.ts';
import { databaseUrlFromEnv, repoRoot } from '../db/setup.ts';

export const DATABASE_TYPES_PATH = join(repoRoot, 'client', 'database.types.ts');

const serverScript = join(
  dirname(createRequire(import.meta.url).resolve('@supabase/postgres-meta/package.json')),
  'dist',
  'server',
  'server.js',
);

/**
 * The schemas the CLI includes when no `--schema` is given: `public`, then `[api] schemas`
 * of supabase/config.toml, without repeats.
 */
export function includedSchemas(configToml?: string): string[] {
  const { schemas } = apiSettings(configToml === undefined ? loadSupabaseConfig() : parseSupabaseConfig(configToml));
  return [...new Set(['public', ...schemas])];
}

/**
 * postgres-meta's TypeScript types for the database at `url` (a superuser or `postgres` URL),
 * as `supabase gen types typescript --db-url <url>` prints them.
 *
 * @example
 * const text = await generateDatabaseTypes('postgres://postgres@127.0.0.1:5433/postgres');
 */
export async function generateDatabaseTypes(url: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [serverScript], {
    // Only what the CLI sets in the container: nothing from this shell (PG_META_*, a
    // PG_META_POSTGREST_VERSION) may change the output.
    env: {
      PATH: process.env.PATH ?? '',
      PG_META_DB_URL: url,
      // The CLI's --query-timeout default (15s) sets both.
      PG_CONN_TIMEOUT_SECS: '15',
      PG_QUERY_TIMEOUT_SECS: '15',
      PG_META_GENERATE_TYPES: 'typescript',
      PG_META_GENERATE_TYPES_INCLUDED_SCHEMAS: includedSchemas().join(','),
      PG_META_GENERATE_TYPES_SWIFT_ACCESS_CONTROL: 'internal',
      // false only with --postgrest-v9-compat or a PostgREST v9 image.
      PG_META_GENERATE_TYPES_DETECT_ONE_TO_ONE_RELATIONSHIPS: 'true',
    },
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

async function main(): Promise<void> {
  parseFlags(process.argv.slice(2), {});
  const url = databaseUrlFromEnv();
  if (!url) throw new UsageError('needs SUPABASE_DB_URL or DATABASE_URL (a database set up with `npm run db:setup`)');
  writeFileSync(DATABASE_TYPES_PATH, await generateDatabaseTypes(url));
  process.stdout.write(`wrote ${DATABASE_TYPES_PATH}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runCommand('gen:types', main);
