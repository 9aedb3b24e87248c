/**
 * Database helpers for tests: a superuser connection to the run's database and users
 * created directly in auth.users (as Supabase Auth would).
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import type { JwtClaims } from '../../edge-functions/_shared/db/rls.ts';

export type Sql = postgres.Sql<Record<string, unknown>>;

/**
 * A superuser connection to the test database; close it with `sql.end()`.
 *
 * @example
 * const sql = adminSql();
 * afterAll(() => sql.end());
 */
export function adminSql(options: { max?: number } = {}): Sql {
  return postgres(inject('databaseUrl'), { max: options.max ?? 4, onnotice: () => undefined });
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
    insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    values (${id}, 'authenticated', 'authenticated', ${email}, now(), '{"provider":"email"}',
            ${sql.json({ display_name: options.displayName ?? email.split('@')[0] })}, now(), now())`;
  return { id, email, claims: claimsFor(id, email) };
}

/** Access-token claims for a user id, shaped like Supabase Auth's. */
export function claimsFor(id: string, email: string): JwtClaims {
  return { sub: id, role: 'authenticated', aud: 'authenticated', email, is_anonymous: false };
}
