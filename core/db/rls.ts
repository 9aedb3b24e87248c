/**
 * Runs queries as a user, exactly as PostgREST does for each request, so that row-level
 * security alone decides what they see and change. The per-request settings (`role`,
 * `request.jwt.claims`, and whatever a caller adds) are set by setRequestSettings, the one
 * statement that the functions (withRls) and the local Realtime's channel authorization
 * (devstack/realtime/authorization.ts) both use. (The worker never runs under a user's
 * RLS: job status is written by the privileged role, docs/worker.md.)
 */
import type postgres from 'postgres';

/** The JWT claims PostgREST puts in `request.jwt.claims`. */
export type JwtClaims = { sub?: string; role?: string; email?: string; [claim: string]: unknown };

/** A transaction-scoped SQL tag (what `sql.begin` hands its callback). */
export type TransactionSql = postgres.TransactionSql<Record<string, unknown>>;

/**
 * Opens a transaction, sets `role` and `request.jwt.claims` transaction-locally (as
 * `set_config(..., true)`, like PostgREST) plus any extra `settings`, runs `fn` and
 * commits; rolls back if `fn` throws. No claims means the `anon` role, as PostgREST does
 * for requests without a token.
 *
 * The settings and the callback's first statement are sent together (one round trip),
 * so a single-statement request costs three: BEGIN, settings + statement, COMMIT.
 * (Sending BEGIN and COMMIT in the same batch needs a reserved connection, and
 * postgres.js loses track of a reserved connection that drops mid-transaction: the pool
 * never recovered from a Postgres restart in tests/resilience. sql.begin does recover.)
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
  return sql.begin(options.readOnly ? 'read only' : 'read write', async (tx) => {
    // postgres.js sends a statement when it is awaited: execute() sends this one now, ahead
    // of anything the callback sends.
    const applied = setRequestSettings(tx, { role, claims: effectiveClaims, settings: options.settings }).execute();
    let result: Promise<T>;
    try {
      result = fn(tx);
    } catch (error) {
      result = Promise.reject(error);
    }
    // Both settle before either is inspected, so a failure of one is never left unhandled.
    const [setUp, outcome] = await Promise.allSettled([applied, result]);
    if (setUp.status === 'rejected') throw setUp.reason;
    if (outcome.status === 'rejected') throw outcome.reason;
    return outcome.value;
  }) as Promise<T>;
}

/** What a request runs as: the role to switch to, the claims, and any further settings. */
export interface RequestSettings {
  role: string;
  claims: Record<string, unknown>;
  /** More transaction-local settings (`realtime.topic`, ...); null resets one, as set_config does. */
  settings?: Record<string, string | null>;
}

/**
 * The statement that sets `role`, `request.jwt.claims` and `settings` transaction-locally
 * (`set_config(name, value, true)`, as PostgREST and Supabase Realtime do), in one round
 * trip. Not sent until awaited (or `.execute()`d). Only inside a transaction: outside one,
 * set_config(..., true) lasts for the statement alone.
 *
 * @example
 * await sql.begin(async (tx) => {
 *   await setRequestSettings(tx, { role: 'authenticated', claims, settings: { 'realtime.topic': topic } });
 *   return tx`select id from realtime.messages where id = ${probe}`;
 * });
 */
export function setRequestSettings(tx: TransactionSql, request: RequestSettings): postgres.PendingQuery<postgres.Row[]> {
  const settings = { ...request.settings, role: request.role, 'request.jwt.claims': JSON.stringify(request.claims) };
  return tx`select set_config(name, value, true) from json_each_text(${tx.unsafe(jsonLiteral(settings))}::json) as s(name, value)`;
}

/**
 * The settings as a SQL literal rather than a bound parameter: postgres.js (without
 * prepared statements, as the functions and the Data API run it) describes a statement
 * with parameters in a round trip of its own before executing it, and holds back the
 * transaction's next statement until then; a literal lets the settings go out together
 * with the statement after them. The JSON text is dollar-quoted (no escape processing,
 * whatever standard_conforming_strings says) and carries no `$` at all (JSON.stringify's
 * output gets `\u0024` for it, and escapes control characters and lone surrogates), so
 * nothing in a claim or a header can end the quote.
 */
function jsonLiteral(value: unknown): string {
  return `$tandem$${JSON.stringify(value).replaceAll('$', '\\u0024')}$tandem$`;
}
