/**
 * `npm run db:setup` (devstack/db/setup.ts) is idempotent, and the Supabase CLI's
 * `supabase db reset --db-url` works on a database prepared by it: the reset keeps the
 * platform bootstrap (roles, auth.users, auth.uid(), realtime.messages), empties auth,
 * re-applies every migration and loads the seed, whose users GoTrue can read.
 *
 * The reset runs on a database of its own in the run's cluster, never on the shared one.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { repoRoot, setupDatabase, withUser } from '../../devstack/db/setup.ts';
import { adminSql, type Sql } from '../harness/db.ts';

const run = promisify(execFile);
const supabaseBin = join(repoRoot, 'node_modules', '.bin', 'supabase');

const facts = JSON.parse(readFileSync(join(repoRoot, 'sql', 'platform', 'facts.json'), 'utf8')) as {
  gotrue_string_columns: { columns: string[] };
};
const gotrueStringColumns = facts.gotrue_string_columns.columns;

/** Versions of every migration file, as the CLI records them. */
const migrationVersions = readdirSync(join(repoRoot, 'supabase', 'migrations'))
  .filter((file) => /^\d+_.+\.sql$/.test(file))
  .map((file) => file.split('_')[0]!)
  .sort();

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function cliUrl(url: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('sslmode', 'disable');
  return parsed.toString();
}

async function appliedVersions(sql: Sql): Promise<string[]> {
  const rows = await sql<{ version: string }[]>`select version from supabase_migrations.schema_migrations order by version`;
  return rows.map((row) => row.version);
}

test('a second db:setup on a set-up database changes nothing', async () => {
  const result = await setupDatabase({ url: inject('databaseUrl') });
  expect(result).toEqual({ bootstrapped: false, migrationsApplied: [], seeded: false });
  const sql = adminSql({ max: 1 });
  try {
    expect(await appliedVersions(sql)).toEqual(migrationVersions);
  } finally {
    await sql.end();
  }
}, 60_000);

describe('supabase db reset --db-url on a database prepared by db:setup', () => {
  const database = `tandem_reset_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  let admin: Sql;
  let url: string;
  let sql: Sql;

  beforeAll(async () => {
    admin = adminSql({ max: 1 });
    await admin.unsafe(`create database ${database}`);
    url = withDatabase(inject('databaseUrl'), database);
    // supabase_admin's search_path includes auth (as on Supabase); with public alone, regclass
    // and regprocedure names below read schema-qualified.
    sql = postgres(url, { max: 2, onnotice: () => undefined, connection: { search_path: 'public' } });
  }, 60_000);

  afterAll(async () => {
    await sql?.end();
    await admin?.unsafe(`drop database if exists ${database} with (force)`);
    await admin?.end();
  }, 60_000);

  async function reset(asUser: string): Promise<string> {
    const target = cliUrl(withUser(url, asUser));
    const { stdout, stderr } = await run(supabaseBin, ['db', 'reset', '--db-url', target, '--workdir', repoRoot, '--yes'], {
      cwd: repoRoot,
      env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
      maxBuffer: 16 * 1024 * 1024,
    });
    return `${stdout}${stderr}`;
  }

  /** The bootstrap's contract, as the migrations and the devstack rely on it. */
  async function expectBootstrapIntact(): Promise<void> {
    const [state] = await sql<
      {
        users: string | null;
        sessions: string | null;
        messages: string | null;
        partitions: number;
        send: string | null;
        uid: string | null;
        schemas: string;
        postgres_super: boolean;
        service_bypass: boolean;
        api_roles: number;
      }[]
    >`
      select to_regclass('auth.users')::text as users,
             to_regclass('auth.sessions')::text as sessions,
             to_regclass('realtime.messages')::text as messages,
             (select count(*)::int from pg_inherits where inhparent = to_regclass('realtime.messages')) as partitions,
             to_regprocedure('realtime.send(jsonb, text, text, boolean)')::text as send,
             to_regprocedure('auth.uid()')::text as uid,
             (select string_agg(nspname || '=' || pg_get_userbyid(nspowner), ', ' order by nspname)
                from pg_namespace where nspname in ('auth', 'extensions', 'realtime')) as schemas,
             (select rolsuper from pg_roles where rolname = 'postgres') as postgres_super,
             (select rolbypassrls from pg_roles where rolname = 'service_role') as service_bypass,
             (select count(*)::int from pg_roles where rolname in ('anon', 'authenticated', 'service_role', 'authenticator')) as api_roles`;
    expect(state).toEqual({
      users: 'auth.users',
      sessions: 'auth.sessions',
      messages: 'realtime.messages',
      partitions: expect.any(Number),
      send: 'realtime.send(jsonb,text,text,boolean)',
      uid: 'auth.uid()',
      schemas: 'auth=supabase_admin, extensions=postgres, realtime=supabase_admin',
      postgres_super: false,
      service_bypass: true,
      api_roles: 4,
    });
    expect(state!.partitions).toBeGreaterThanOrEqual(5);
    const sub = randomUUID();
    const [claims] = await sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub, role: 'authenticated', email: 'x@y.z' })}, true)`;
      return tx<{ uid: string; email: string }[]>`select auth.uid()::text as uid, auth.email() as email`;
    });
    expect(claims).toEqual({ uid: sub, email: 'x@y.z' });
  }

  /** The migrations are applied and working: the sign-up trigger makes a profile. */
  async function expectMigrationsWorking(): Promise<void> {
    expect(await appliedVersions(sql)).toEqual(migrationVersions);
    const id = randomUUID();
    await sql`insert into auth.users (id, email, raw_user_meta_data) values (${id}, ${`${id}@reset.test`}, '{"display_name":"Reset"}')`;
    const [profile] = await sql<{ display_name: string }[]>`select display_name from public.profiles where id = ${id}`;
    expect(profile?.display_name).toBe('Reset');
    const triggers = await sql<{ tgname: string }[]>`
      select tgname from pg_trigger where tgrelid = 'auth.users'::regclass and not tgisinternal order by tgname`;
    expect(triggers.map((t) => t.tgname)).toEqual(['on_auth_user_created', 'on_auth_user_email_changed', 'on_auth_user_metadata_changed']);
  }

  test('db:setup bootstraps and migrates the fresh database', async () => {
    const first = await setupDatabase({ url });
    expect(first.bootstrapped).toBe(true);
    expect(first.migrationsApplied).toEqual(migrationVersions);
    await expectBootstrapIntact();
    await expectMigrationsWorking();
  }, 60_000);

  test('db reset (superuser URL) keeps the bootstrap, empties auth, re-applies the migrations and seeds', async () => {
    const before = randomUUID();
    await sql`insert into auth.users (id, email) values (${before}, ${`${before}@before.test`})`;
    await sql`insert into public.projects (name, created_by) values ('before reset', ${before})`;

    const output = await reset(new URL(url).username);
    for (const version of migrationVersions) expect(output).toContain(`Applying migration ${version}`);
    expect(output).toContain('Seeding data from supabase/seed.sql');

    await expectBootstrapIntact();
    const [counts] = await sql<{ before: number; seeded: number; projects: number }[]>`
      select (select count(*)::int from auth.users where id = ${before}) as before,
             (select count(*)::int from auth.users where email in ('alice@example.com', 'bob@example.com', 'carol@example.com')) as seeded,
             (select count(*)::int from public.projects where name = 'before reset') as projects`;
    expect(counts).toEqual({ before: 0, seeded: 3, projects: 0 });
    // GoTrue reads these columns into plain strings: a NULL in any of them fails the
    // seeded users' sign-in under real Supabase Auth (sql/platform/facts.json).
    const seededUsers = await sql<{ email: string; nulls: string[]; identities: number }[]>`
      select u.email,
             array(select key from jsonb_each(to_jsonb(u)) where key = any(${gotrueStringColumns}) and value = 'null'::jsonb) as nulls,
             (select count(*)::int from auth.identities i where i.user_id = u.id and i.provider = 'email') as identities
      from auth.users u where u.email like '%@example.com' order by u.email`;
    expect(seededUsers).toEqual(['alice', 'bob', 'carol'].map((name) => ({ email: `${name}@example.com`, nulls: [], identities: 1 })));
    await expectMigrationsWorking();
  }, 120_000);

  test('a second db reset, as postgres (the role that owns the migrations), works the same', async () => {
    await reset('postgres');
    await expectBootstrapIntact();
    await expectMigrationsWorking();
  }, 120_000);
});

describe('db:setup on a database bootstrapped by an earlier Tandem', () => {
  const database = `tandem_upgrade_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  /** The columns the bootstrap gained when it began to follow GoTrue's and Realtime's migrations. */
  const addedUserColumns = [
    'email_change_token_new',
    'email_change_token_current',
    'email_change_confirm_status',
    'phone_change',
    'phone_change_token',
    'phone_change_sent_at',
    'reauthentication_token',
    'reauthentication_sent_at',
  ];
  let admin: Sql;
  let sql: Sql;

  beforeAll(async () => {
    admin = adminSql({ max: 1 });
    await admin.unsafe(`create database ${database}`);
    const url = withDatabase(inject('databaseUrl'), database);
    await setupDatabase({ url, supabaseDefaultPrivileges: false });
    sql = postgres(url, { max: 1, onnotice: () => undefined });
    // Back to what the earlier bootstrap left: no newer columns, a user with NULL tokens.
    await sql.unsafe(`alter table auth.users ${addedUserColumns.map((c) => `drop column ${c}`).join(', ')}`);
    await sql`alter table realtime.messages drop column binary_payload`;
    await sql`insert into auth.users (id, email, confirmation_token, recovery_token, email_change)
              values (${randomUUID()}, 'earlier@upgrade.test', null, null, null)`;
  }, 120_000);

  afterAll(async () => {
    await sql?.end();
    await admin?.unsafe(`drop database if exists ${database} with (force)`);
    await admin?.end();
  }, 60_000);

  test('re-applies the bootstrap: the GoTrue columns and binary_payload are back, earlier users hold no NULL strings', async () => {
    const result = await setupDatabase({ url: withDatabase(inject('databaseUrl'), database), supabaseDefaultPrivileges: false });
    expect(result).toEqual({ bootstrapped: true, migrationsApplied: [], seeded: false });
    const columns = await sql<{ attname: string }[]>`
      select attname from pg_attribute
       where attrelid = 'auth.users'::regclass and attnum > 0 and not attisdropped and attname = any(${addedUserColumns})`;
    expect(columns.map((c) => c.attname).sort()).toEqual([...addedUserColumns].sort());
    const [payload] = await sql<{ ok: boolean }[]>`
      select exists (select 1 from pg_attribute where attrelid = 'realtime.messages'::regclass
                      and attname = 'binary_payload' and not attisdropped) as ok`;
    expect(payload?.ok).toBe(true);
    const nulls = await sql<{ email: string }[]>`
      select email from auth.users
       where ${sql.unsafe(gotrueStringColumns.map((c) => `${c} is null`).join(' or '))}`;
    expect(nulls).toEqual([]);
    const again = await setupDatabase({ url: withDatabase(inject('databaseUrl'), database), supabaseDefaultPrivileges: false });
    expect(again.bootstrapped).toBe(false);
  }, 120_000);
});
