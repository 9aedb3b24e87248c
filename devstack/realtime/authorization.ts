/**
 * Private-channel authorization exactly as Supabase Realtime does it, against RLS on
 * `realtime.messages`:
 *
 * - read (at join and on a new access token): in one transaction, insert one probe row per
 *   extension as the server's own (admin) role, then set `role`, `realtime.topic`,
 *   `request.jwt.claims` (+ legacy `request.jwt.claim.sub/role`, `request.headers`), select
 *   the probe ids — each visible id grants read for its extension — and roll back;
 * - write (lazily, at the first broadcast or track): set the same context and INSERT one
 *   row per extension under the user's role, each in a savepoint; a permission error means
 *   no write; roll back.
 */
import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { setRequestSettings, type TransactionSql } from '../../core/db/rls.ts';
import type { Claims } from './tokens.ts';

export type Extension = 'broadcast' | 'presence';

/** Per-extension results; `undefined` = not evaluated yet (upstream's nil). */
export interface Policies {
  broadcast: { read?: boolean; write?: boolean };
  presence: { read?: boolean; write?: boolean };
}

/** Who is asking, for which sub-topic (`project:…`, without `realtime:`). */
export interface AuthorizationContext {
  topic: string;
  claims: Claims;
  headers: Record<string, string>;
}

/** Why a check could not be made; `kind` maps to upstream's error handling. */
export class AuthorizationCheckError extends Error {
  override readonly name = 'AuthorizationCheckError';
  constructor(
    readonly kind: 'rls_policy_error' | 'missing_partition' | 'query_canceled' | 'database_unavailable',
    message: string,
  ) {
    super(message);
  }
}

/** A fresh, unevaluated policy set. */
export function emptyPolicies(): Policies {
  return { broadcast: {}, presence: {} };
}

function utcNow(): string {
  return new Date().toISOString().replace('Z', '');
}

/** The user's request context, as Realtime sets it (with the legacy `request.jwt.claim.*`). */
function setContext(tx: TransactionSql, context: AuthorizationContext) {
  const role = context.claims.role;
  return setRequestSettings(tx, {
    role,
    claims: context.claims,
    settings: {
      'realtime.topic': context.topic,
      'request.jwt.claim.sub': typeof context.claims.sub === 'string' ? context.claims.sub : null,
      'request.jwt.claim.role': role,
      'request.headers': JSON.stringify(context.headers),
    },
  });
}

function classify(error: unknown): AuthorizationCheckError {
  const pg = error as { code?: string; message?: string; table_name?: string };
  if (pg.code === '23514') return new AuthorizationCheckError('missing_partition', 'Realtime was unable to find the expected messages partition');
  if (pg.code === '57014') return new AuthorizationCheckError('query_canceled', pg.message ?? 'query canceled');
  if (typeof pg.code === 'string' && !pg.code.startsWith('08')) return new AuthorizationCheckError('rls_policy_error', pg.message ?? String(error));
  return new AuthorizationCheckError('database_unavailable', 'Realtime was unable to connect to the project database');
}

/** Thrown to end a check's transaction with a rollback. */
const ROLLBACK = Symbol('rollback');

/**
 * Runs `fn` in a transaction that is always rolled back (the probe rows must not stay),
 * as upstream's ROLLBACK AND CHAIN. sql.begin rather than a reserved connection with its
 * own BEGIN: postgres.js loses track of a reserved connection that drops mid-transaction
 * (core/db/rls.ts).
 */
async function inTransaction<T>(sql: postgres.Sql, fn: (tx: TransactionSql) => Promise<T>): Promise<T> {
  let result: { value: T } | undefined;
  try {
    await sql.begin(async (tx) => {
      result = { value: await fn(tx as TransactionSql) };
      throw ROLLBACK;
    });
  } catch (error) {
    if (error !== ROLLBACK) throw error instanceof AuthorizationCheckError ? error : classify(error);
  }
  return result!.value;
}

/**
 * Evaluates read permission for `extensions` (broadcast, and presence when enabled) and
 * returns the updated policies.
 *
 * @example
 * const policies = await authorizeRead(sql, emptyPolicies(), { topic: 'project:…', claims, headers: {} }, ['broadcast', 'presence']);
 */
export async function authorizeRead(
  sql: postgres.Sql,
  policies: Policies,
  context: AuthorizationContext,
  extensions: Extension[],
): Promise<Policies> {
  return inTransaction(sql, async (tx) => {
    const probes = extensions.map((extension) => ({ extension, id: randomUUID() }));
    const now = utcNow();
    for (const probe of probes) {
      await tx`insert into realtime.messages (id, topic, extension, inserted_at, updated_at)
               values (${probe.id}, ${context.topic}, ${probe.extension}, ${now}, ${now})`;
    }
    await setContext(tx, context);
    const visible = await tx<{ id: string }[]>`select id from realtime.messages where id = any(${probes.map((p) => p.id)}::uuid[])`;
    const ids = new Set(visible.map((row) => row.id));
    const next: Policies = { broadcast: { ...policies.broadcast }, presence: { ...policies.presence } };
    for (const probe of probes) next[probe.extension].read = ids.has(probe.id);
    return next;
  });
}

/**
 * Evaluates write permission: one INSERT per extension under the user's role, each in a
 * savepoint. Extensions not asked for get `write: false`, as upstream does.
 *
 * @example
 * const policies = await authorizeWrite(sql, current, context, ['broadcast', 'presence']);
 */
export async function authorizeWrite(
  sql: postgres.Sql,
  policies: Policies,
  context: AuthorizationContext,
  extensions: Extension[],
): Promise<Policies> {
  return inTransaction(sql, async (tx) => {
    await setContext(tx, context);
    const next: Policies = { broadcast: { ...policies.broadcast }, presence: { ...policies.presence } };
    const now = utcNow();
    for (const extension of ['broadcast', 'presence'] as const) {
      if (!extensions.includes(extension)) {
        next[extension].write = false;
        continue;
      }
      await tx`savepoint realtime_write_check`;
      try {
        await tx`insert into realtime.messages (topic, extension, inserted_at, updated_at)
                 values (${context.topic}, ${extension}, ${now}, ${now})`;
        await tx`release savepoint realtime_write_check`;
        next[extension].write = true;
      } catch (error) {
        await tx`rollback to savepoint realtime_write_check`;
        if ((error as { code?: string }).code !== '42501') throw error;
        next[extension].write = false;
      }
    }
    return next;
  });
}
