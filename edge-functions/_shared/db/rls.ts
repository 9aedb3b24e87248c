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

/** A statement postgres.js has not sent yet (what `` tx`...` `` returns). */
function isPendingQuery(value: unknown): boolean {
  return value instanceof Promise && typeof (value as { execute?: unknown }).execute === 'function';
}

/**
 * Opens a transaction, sets `role` and `request.jwt.claims` transaction-locally (as
 * `set_config(..., true)`, like PostgREST) plus any extra `settings`, runs `fn` and
 * commits; rolls back if `fn` throws. No claims means the `anon` role, as PostgREST does
 * for requests without a token.
 *
 * Round trips are pipelined on one reserved connection: BEGIN, the settings and the
 * callback's first statement go out together, and when the callback is a single
 * statement (it returns `` tx`...` `` itself) COMMIT goes with them — one round trip. A
 * failed step aborts the transaction, so nothing after it takes effect (COMMIT then
 * answers ROLLBACK) and its error reaches the caller.
 *
 * @example
 * const rows = await withRls(sql, { sub: userId, role: 'authenticated' }, (tx) =>
 *   tx`select id, name from public.projects`);
 */
export async function withRls<T>(
  sql: postgres.Sql<Record<string, unknown>>,
  claims: JwtClaims | null,
  fn: (tx: TransactionSql) => Promise<T>,
  options: { readOnly?: boolean; settings?: Record<string, string> } = {},
): Promise<T> {
  const effectiveClaims: JwtClaims = claims ?? { role: 'anon' };
  const role = effectiveClaims.role === 'authenticated' || effectiveClaims.role === 'service_role' ? effectiveClaims.role : 'anon';
  const settings = { ...options.settings, role, 'request.jwt.claims': JSON.stringify(effectiveClaims) };
  const tx = await sql.reserve();
  try {
    const begun = Promise.all([
      tx.unsafe(options.readOnly ? 'begin read only' : 'begin read write'),
      tx`select set_config(name, value, true) from json_each_text(${tx.json(settings)}::json) as s(name, value)`,
    ]);
    let result: Promise<T>;
    try {
      result = fn(tx);
    } catch (error) {
      result = Promise.reject(error);
    }
    const committing = isPendingQuery(result) ? Promise.all([result, tx`commit`]) : undefined;
    // Everything sent settles before anything is inspected, so no failure is left unhandled.
    const [setUp, outcome, pipelinedCommit] = await Promise.allSettled([begun, result, committing]);
    if (setUp.status === 'rejected' || outcome.status === 'rejected') {
      if (!committing) await tx`rollback`.catch(() => undefined);
      throw setUp.status === 'rejected' ? setUp.reason : (outcome as PromiseRejectedResult).reason;
    }
    // A statement that failed inside `fn` (and was caught there) aborted the transaction:
    // Postgres answers COMMIT with ROLLBACK, which must not pass for success.
    if (pipelinedCommit.status === 'rejected') throw pipelinedCommit.reason;
    const commit = pipelinedCommit.value ? pipelinedCommit.value[1] : await tx`commit`;
    if (commit.command !== 'COMMIT') throw new Error(`the transaction was rolled back (${commit.command}): a statement in it failed`);
    return outcome.value;
  } finally {
    tx.release();
  }
}
