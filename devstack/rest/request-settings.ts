/**
 * PostgREST's per-request settings on top of the one implementation of role and
 * `request.jwt.claims` (core/db/rls.ts, withRls): PostgREST also sets,
 * in the same transaction and transaction-locally (src/PostgREST/Query/PreQuery.hs),
 * `search_path` (the request's schema, then `[api] extra_search_path`), the role's own
 * settings (`statement_timeout`, ...) before the role, `request.method`, `request.path`,
 * `request.headers` and `request.cookies` (JSON objects with lowercased names).
 *
 * The additions are PostgREST's alone (the functions set none of them), so they are built
 * here and applied by the one shared statement (setRequestSettings, through withRls).
 */
import type postgres from 'postgres';
import { withRls, type JwtClaims, type TransactionSql } from '../../core/db/rls.ts';

export interface RequestContext {
  /** Verified claims; null for a request without a token (anon). */
  claims: JwtClaims | null;
  method: string;
  /** The path as PostgREST sees it (after the gateway strips /rest/v1). */
  path: string;
  /** Request headers, names lowercased; `cookie` is left out, as PostgREST does. */
  headers: Record<string, string>;
  cookies: Record<string, string>;
  /** search_path: the request's schema first. */
  searchPath: string[];
  /** The role's settings from pg_db_role_setting. */
  roleSettings: Record<string, string>;
  readOnly: boolean;
  /** `Prefer: timezone=...`, set after the request's own settings. */
  timezone?: string;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Runs `fn` in one transaction with every setting PostgREST sets for the request.
 *
 * @example
 * await withRequestSettings(sql, context, (tx) => tx`select current_setting('request.method')`);
 */
export function withRequestSettings<T>(
  sql: postgres.Sql<Record<string, unknown>>,
  context: RequestContext,
  fn: (tx: TransactionSql) => Promise<T>,
): Promise<T> {
  const settings: Record<string, string> = {
    search_path: context.searchPath.map(quoteIdent).join(', '),
    ...context.roleSettings,
    'request.method': context.method,
    'request.path': context.path,
    'request.headers': JSON.stringify(context.headers),
    'request.cookies': JSON.stringify(context.cookies),
    ...(context.timezone !== undefined ? { timezone: context.timezone } : {}),
  };
  return withRls(sql, context.claims, fn, { readOnly: context.readOnly, settings });
}

/** Parses a Cookie header into name → value. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return cookies;
}
