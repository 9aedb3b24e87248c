/**
 * Database helpers for tests: a superuser connection to the run's database and users
 * created directly in auth.users (as Supabase Auth would).
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import type { JwtClaims } from '../../core/db/rls.ts';

export type Sql = postgres.Sql<Record<string, unknown>>;

/**
 * A superuser connection to the test database (or to `url`); close it with `sql.end()`.
 *
 * @example
 * const sql = adminSql();
 * afterAll(() => sql.end());
 */
export function adminSql(options: { max?: number; url?: string } = {}): Sql {
  return postgres(options.url ?? inject('databaseUrl'), { max: options.max ?? 4, onnotice: () => undefined });
}

export interface TestDatabase {
  /** Names the database in test titles. */
  label: string;
  /** Superuser URL. */
  url: string;
  /** Whether schema public has Supabase's default privileges (ALL to the API roles on new objects). */
  supabaseDefaultPrivileges: boolean;
}

/**
 * The two databases the database suite runs on: one without default privileges in public
 * (as new hosted projects) and one with Supabase's (as `supabase start`).
 *
 * @example
 * describe.each(testDatabases())('on the database $label', ({ url }) => { ... });
 */
export function testDatabases(): TestDatabase[] {
  return [
    { label: 'without default privileges', url: inject('databaseUrl'), supabaseDefaultPrivileges: false },
    { label: "with Supabase's default privileges", url: inject('defaultPrivilegesDatabaseUrl'), supabaseDefaultPrivileges: true },
  ];
}

export interface TestUser {
  id: string;
  email: string;
  /** The access-token claims Supabase Auth would issue for this user. */
  claims: JwtClaims;
}

/**
 * Inserts a confirmed user into auth.users (the profile follows by trigger).
 *
 * @example
 * const alice = await createUser(sql, { displayName: 'Alice' });
 */
export async function createUser(sql: Sql, options: { email?: string; displayName?: string } = {}): Promise<TestUser> {
  const id = randomUUID();
  const email = options.email ?? `user-${id.slice(0, 8)}@test.tandem.dev`;
  await sql`
    insert into auth.users (instance_id, id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    values ('00000000-0000-0000-0000-000000000000', ${id}, 'authenticated', 'authenticated', ${email}, now(), '{"provider":"email"}',
            ${sql.json({ display_name: options.displayName ?? email.split('@')[0] })}, now(), now())`;
  return { id, email, claims: claimsFor(id, email) };
}

/** Access-token claims for a user id, shaped like Supabase Auth's. */
export function claimsFor(id: string, email: string): JwtClaims {
  return { sub: id, role: 'authenticated', aud: 'authenticated', email, is_anonymous: false };
}
