/**
 * Runs queries as a user, exactly as PostgREST does for each request, so that row-level
 * security alone decides what they see and change. Shared by the edge functions, the
 * worker and the tests; runs on Deno and Node.
 */
import type postgres from 'postgres';

/** The JWT claims PostgREST puts in `request.jwt.claims`. */
export type JwtClaims = { sub?: string; role?: string; email?: string; [claim: string]: unknown };

/** A transaction-scoped SQL tag (what `sql.begin` hands its callback). */
export type TransactionSql = postgres.TransactionSql<Record<string, unknown>>;

/**
 * Opens a transaction, sets `role` and `request.jwt.claims` transaction-locally (as
 * `set_config(..., true)`, like PostgREST), and runs `fn`.
 * No claims means the `anon` role, as PostgREST does for requests without a token.
 *
 * @example
 * const rows = await withRls(sql, { sub: userId, role: 'authenticated' }, (tx) =>
 *   tx`select id, name from public.projects`);
 */
export async function withRls<T>(
  sql: postgres.Sql<Record<string, unknown>>,
  claims: JwtClaims | null,
  fn: (tx: TransactionSql) => Promise<T>,
  options: { readOnly?: boolean } = {},
): Promise<T> {
  const effectiveClaims: JwtClaims = claims ?? { role: 'anon' };
  const role = effectiveClaims.role === 'authenticated' || effectiveClaims.role === 'service_role' ? effectiveClaims.role : 'anon';
  const begin = options.readOnly ? 'read only' : 'read write';
  return sql.begin(begin, async (tx) => {
    await tx`select
      set_config('role', ${role}, true),
      set_config('request.jwt.claims', ${JSON.stringify(effectiveClaims)}, true)`;
    return fn(tx);
  }) as Promise<T>;
}
