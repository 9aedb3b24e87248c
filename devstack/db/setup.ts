/**
 * `npm run db:setup [-- --seed]`: prepares a database for Tandem.
 *
 * 1. When the database is not a Supabase database (no `auth.users`), or was bootstrapped by
 *    an earlier Tandem whose bootstrap lacked GoTrue's newer columns, applies the platform
 *    bootstrap (`sql/platform/*.sql`, which gives schema public Supabase's default
 *    privileges, as `supabase start` has them) as the superuser of the given URL; with
 *    `--without-default-privileges`, then takes those default privileges away again
 *    (`sql/platform/variants/without-default-privileges.sql`).
 * 2. Runs the migrations as `postgres`, the non-superuser that runs them on hosted
 *    Supabase, with the pinned Supabase CLI (`supabase migration up --db-url`).
 * 3. With `--seed`, loads `supabase/seed.sql` (idempotent).
 *
 * A second run is a no-op. Reads `SUPABASE_DB_URL`, else `DATABASE_URL`.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { z } from 'zod';
import { parseEnv, parseFlags, runCommand, textVar, UsageError } from '../config/cli.ts';

const run = promisify(execFile);

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const platformDir = join(repoRoot, 'sql', 'platform');
const withoutDefaultPrivilegesFile = join(platformDir, 'variants', 'without-default-privileges.sql');
/** The pinned Supabase CLI (package.json, devDependencies). */
export const supabaseBin = join(repoRoot, 'node_modules', '.bin', 'supabase');

export interface SetupOptions {
  /** Connection URL; a superuser's when the bootstrap may be needed. */
  url: string;
  /** Also load supabase/seed.sql. */
  seed?: boolean;
  /**
   * Whether schema public keeps the bootstrap's default privileges (ALL on new tables,
   * sequences and functions to anon, authenticated, service_role), as `supabase start` has
   * them; `false` removes them after the bootstrap. Default true. Ignored when the database
   * needs no bootstrap.
   */
  supabaseDefaultPrivileges?: boolean;
  /** Progress lines; silent when omitted. */
  log?: (line: string) => void;
}

export interface SetupResult {
  bootstrapped: boolean;
  migrationsApplied: string[];
  seeded: boolean;
}

/**
 * The same URL with another user (and, for a local trust cluster, no password change).
 *
 * @example
 * withUser('postgres://supabase_admin@127.0.0.1:5433/postgres', 'postgres')
 * // 'postgres://postgres@127.0.0.1:5433/postgres'
 */
export function withUser(url: string, user: string): string {
  const parsed = new URL(url);
  parsed.username = user;
  return parsed.toString();
}

/** The URL with `sslmode=disable` added for local hosts, as the Supabase CLI needs. */
function forCli(url: string): string {
  const parsed = new URL(url);
  const local = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
  if (local && !parsed.searchParams.has('sslmode')) parsed.searchParams.set('sslmode', 'disable');
  return parsed.toString();
}

function connect(url: string) {
  return postgres(url, { max: 1, onnotice: () => undefined, connection: { application_name: 'tandem-db-setup' } });
}

/**
 * Applies the platform bootstrap (when needed), the migrations and optionally the seed.
 *
 * @example
 * await setupDatabase({ url: 'postgres://supabase_admin@127.0.0.1:5433/postgres', seed: true });
 */
export async function setupDatabase(options: SetupOptions): Promise<SetupResult> {
  const log = options.log ?? (() => undefined);
  const admin = connect(options.url);
  let bootstrapped = false;
  let migrationUrl = options.url;
  try {
    const [state] = await admin<{ has_auth: boolean; outdated_bootstrap: boolean; is_superuser: boolean; user: string }[]>`
      select to_regclass('auth.users') is not null as has_auth,
             -- Bootstrapped by an earlier Tandem: its own trigger function is there, one of the
             -- GoTrue columns the bootstrap now reproduces is not, or PostgREST's event
             -- triggers (04_postgrest.sql) are not (sql/platform/README.md).
             (to_regprocedure('realtime.notify_local_realtime()') is not null
              and (not exists (select 1 from pg_attribute
                                where attrelid = to_regclass('auth.users') and attname = 'reauthentication_token'
                                  and not attisdropped)
                   or not exists (select 1 from pg_event_trigger where evtname = 'pgrst_ddl_watch'))) as outdated_bootstrap,
             (select rolsuper from pg_roles where rolname = current_user) as is_superuser,
             current_user as user`;
    if (!state) throw new Error('could not read the database state');
    if (!state.has_auth || state.outdated_bootstrap) {
      if (!state.is_superuser) {
        const why = state.has_auth
          ? 'this database was bootstrapped by an earlier Tandem, so it needs the platform bootstrap again'
          : 'this database has no auth schema, so it needs the platform bootstrap';
        throw new Error(
          `${why}, which must run as a superuser; ` +
            `"${state.user}" is not one. Use a superuser URL (e.g. supabase_admin) for db:setup.`,
        );
      }
      for (const file of readdirSync(platformDir).filter((f) => f.endsWith('.sql')).sort()) {
        log(`bootstrap: ${file}`);
        await admin.unsafe(readFileSync(join(platformDir, file), 'utf8'));
      }
      if (options.supabaseDefaultPrivileges === false) {
        log('bootstrap: variants/without-default-privileges.sql');
        await admin.unsafe(readFileSync(withoutDefaultPrivilegesFile, 'utf8'));
      }
      bootstrapped = true;
    }
    if (state.is_superuser && state.user !== 'postgres') migrationUrl = withUser(options.url, 'postgres');
  } finally {
    await admin.end();
  }

  const migrationsApplied = await runMigrations(migrationUrl, log);

  let seeded = false;
  if (options.seed) {
    const owner = connect(migrationUrl);
    try {
      log('seed: supabase/seed.sql');
      await owner.unsafe(readFileSync(join(repoRoot, 'supabase', 'seed.sql'), 'utf8'));
      seeded = true;
    } finally {
      await owner.end();
    }
  }
  return { bootstrapped, migrationsApplied, seeded };
}

/** Runs `supabase migration up` and returns the versions it applied. */
async function runMigrations(url: string, log: (line: string) => void): Promise<string[]> {
  const history = connect(url);
  const appliedBefore = await listApplied(history);
  await history.end();
  try {
    await run(supabaseBin, ['migration', 'up', '--db-url', forCli(url), '--workdir', repoRoot], {
      cwd: repoRoot,
      env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const failure = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`supabase migration up failed:\n${failure.stderr || failure.stdout || failure.message}`);
  }
  const after = connect(url);
  const appliedAfter = await listApplied(after);
  await after.end();
  const applied = appliedAfter.filter((version) => !appliedBefore.includes(version));
  for (const version of applied) log(`migration: ${version}`);
  return applied;
}

async function listApplied(sql: postgres.Sql): Promise<string[]> {
  const [exists] = await sql<{ ok: boolean }[]>`
    select to_regclass('supabase_migrations.schema_migrations') is not null as ok`;
  if (!exists?.ok) return [];
  const rows = await sql<{ version: string }[]>`select version from supabase_migrations.schema_migrations order by version`;
  return rows.map((row) => row.version);
}

/** The database URL from the environment: SUPABASE_DB_URL, else DATABASE_URL. */
export function databaseUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const { SUPABASE_DB_URL, DATABASE_URL } = parseEnv(DatabaseEnv, env);
  return SUPABASE_DB_URL ?? DATABASE_URL;
}

const DatabaseEnv = z.object({ SUPABASE_DB_URL: textVar(), DATABASE_URL: textVar() });

async function main(): Promise<void> {
  const { values } = parseFlags(process.argv.slice(2), {
    seed: { type: 'boolean', default: false },
    'without-default-privileges': { type: 'boolean', default: false },
  });
  const url = databaseUrlFromEnv();
  if (!url) throw new UsageError('needs SUPABASE_DB_URL or DATABASE_URL (a superuser URL for a plain PostgreSQL)');
  const result = await setupDatabase({
    url,
    seed: values.seed,
    supabaseDefaultPrivileges: !values['without-default-privileges'],
    log: (l) => process.stdout.write(`${l}\n`),
  });
  process.stdout.write(
    `${JSON.stringify({ event: 'db_setup_done', ...result, migrationsApplied: result.migrationsApplied.length })}\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runCommand('db:setup', main);
