/**
 * Runs queries as a user, exactly as PostgREST does for each request, so that row-level
 * security alone decides what they see and change. Shared by the edge functions, the
 * worker and the tests; runs on Deno and Node.
 */
import type postgres from 'postgres';

/** The JWT claims PostgREST puts in `request.jwt.claims`. */
export type JwtClaims = { sub?: string; role?: string; email?: string; [claim: string]: unknown };

/** The SQL tag a `withRls` callback runs its statements on: one connection, inside the transaction. */
export type TransactionSql = postgres.Sql<Record<string, unknown>>;

/**
 * Opens a transaction, sets `role` and `request.jwt.claims` transaction-locally (as
 * `set_config(..., true)`, like PostgREST), runs `fn` and commits; rolls back if `fn`
 * throws. No claims means the `anon` role, as PostgREST does for requests without a token.
 *
 * BEGIN, the claims and the callback's first statement are pipelined on one reserved
 * connection (one round trip instead of three): a one-statement request costs two round
 * trips with COMMIT. If any of them fails, the transaction is aborted, so nothing after
 * it takes effect and the error reaches the caller.
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
  const tx = await sql.reserve();
  try {
    const begun = Promise.all([
      tx.unsafe(options.readOnly ? 'begin read only' : 'begin read write'),
      tx`select
        set_config('role', ${role}, true),
        set_config('request.jwt.claims', ${JSON.stringify(effectiveClaims)}, true)`,
    ]);
    // Both settle before either is inspected, so a failure of one is never left unhandled.
    const [setUp, outcome] = await Promise.allSettled([begun, Promise.resolve().then(() => fn(tx))]);
    if (setUp.status === 'rejected' || outcome.status === 'rejected') {
      await tx`rollback`.catch(() => undefined);
      throw setUp.status === 'rejected' ? setUp.reason : (outcome as PromiseRejectedResult).reason;
    }
    // A statement that failed inside `fn` (and was caught there) aborted the transaction:
    // Postgres answers COMMIT with ROLLBACK, which must not pass for success.
    const commit = await tx`commit`;
    if (commit.command !== 'COMMIT') throw new Error(`the transaction was rolled back (${commit.command}): a statement in it failed`);
    return outcome.value;
  } finally {
    tx.release();
  }
}
