/**
 * `/rpc/<function>`: a call as PostgREST v16.2 answers it (src/PostgREST/App.hs,
 * Response.hs for CallReadPlan): plan (rpc-plan.ts), one transaction with the request's
 * settings, read-only unless a volatile function is POSTed (so a volatile function that
 * writes, called by GET, fails with Postgres's 25006, a 405), one statement (rpc-sql.ts);
 * 204 without a body for a void function, else 200/206 with Content-Range. Errors the
 * function raises are mapped as PostgREST maps SQLSTATEs (errors.ts, fromPostgresError).
 */
import type postgres from 'postgres';
import type { JwtClaims } from '../../core/db/rls.ts';
import type { DataApiConfig } from './config.ts';
import { fromPostgresError, invalidRange, notBuiltYet, PgrstError } from './errors.ts';
import { parseQueryParams } from './grammar.ts';
import { contentRange, negotiateRead, readPreferences, topLevelRange } from './negotiate.ts';
import { parseCookies, withRequestSettings } from './request-settings.ts';
import { planRpc } from './rpc-plan.ts';
import { rpcSql } from './rpc-sql.ts';
import type { SchemaCache } from './schema-cache.ts';

interface RpcRow {
  total: string | null;
  page_total: string;
  body: string;
  response_headers: string | null;
  response_status: string | null;
}

/**
 * The function's `response.status` and `response.headers` settings (upstream
 * PostgREST/postgrest src/library/PostgREST/Response.hs, overrideStatusHeaders): they
 * replace the status and add to (or override) the headers; malformed ones are PGRST112 /
 * PGRST111.
 */
function overrideStatusHeaders(row: RpcRow, status: number, headers: Record<string, string>): { status: number; headers: Record<string, string> } {
  let overridden = status;
  if (row.response_status !== null) {
    const digits = /^\d+/.exec(row.response_status);
    if (!digits) throw new PgrstError(500, 'PGRST112', 'response.status guc must be a valid status code');
    overridden = Number(digits[0]);
    if (overridden < 200 || overridden > 599) throw new PgrstError(500, 'PGRST112', 'response.status guc must be a valid status code');
  }
  if (row.response_headers === null) return { status: overridden, headers };
  const invalid = () => new PgrstError(500, 'PGRST111', 'response.headers guc must be a JSON array composed of objects with a single key and a string value');
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.response_headers);
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed)) throw invalid();
  const merged: Record<string, string> = { ...headers };
  for (const entry of parsed) {
    const pairs = entry !== null && typeof entry === 'object' && !Array.isArray(entry) ? Object.entries(entry as Record<string, unknown>) : [];
    if (pairs.length !== 1 || typeof pairs[0]![1] !== 'string') throw invalid();
    const [name, value] = pairs[0] as [string, string];
    for (const key of Object.keys(merged)) if (key.toLowerCase() === name.toLowerCase()) delete merged[key];
    merged[name] = value;
  }
  return { status: overridden, headers: merged };
}

export interface RpcContext {
  sql: postgres.Sql<Record<string, unknown>>;
  config: DataApiConfig;
  cache: SchemaCache;
  request: Request;
  url: URL;
  /** The path after /rest/v1. */
  rawPath: string;
  name: string;
  schema: string;
  negotiatedByProfile: boolean;
  /** Verifies the token: the role, the claims (null for anon) and the Authorization PostgREST saw. */
  authenticate(): Promise<{ role: string; claims: JwtClaims | null; authorization: string | undefined }>;
  resolveCast(cast: string): Promise<string>;
}

/**
 * Serves one call.
 *
 * @example
 * if (resource.kind === 'routine') return serveRpc({ sql, config, cache, request, url, rawPath, name, schema, negotiatedByProfile, authenticate, resolveCast });
 */
export async function serveRpc(ctx: RpcContext): Promise<Response> {
  const { request, url } = ctx;
  const method = request.method as 'GET' | 'HEAD' | 'POST';
  const params = parseQueryParams(url.search.slice(1), { rpcRead: method !== 'POST' });
  const contentType = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const body = method === 'POST' ? await request.text() : '';
  const prefs = readPreferences(request.headers.get('prefer') ? [request.headers.get('prefer')!] : []);
  const top = params.ranges.get('limit');
  const range = topLevelRange({
    rangeHeader: method === 'GET' ? (request.headers.get('range') ?? undefined) : undefined,
    limit: top?.limit,
    offset: top?.offset ?? 0,
    hasLimit: top?.limit !== undefined,
    maxRows: ctx.config.maxRows,
  });
  const { role, claims, authorization } = await ctx.authenticate();
  const plan = planRpc(ctx.cache, { schema: ctx.schema, name: ctx.name, method, params, body, contentType });
  const media = negotiateRead(request.headers.get('accept') ?? undefined);
  if (media.format === 'csv') throw notBuiltYet('CSV responses of functions');
  const casts = new Map<string, string>();
  for (const item of plan.select) if (item.cast !== undefined) casts.set(item.cast, await ctx.resolveCast(item.cast));

  const headers: Record<string, string> = {};
  for (const [name, value] of request.headers) if (name !== 'cookie') headers[name] = value;
  if (authorization !== undefined) headers.authorization = authorization;
  else delete headers.authorization;

  let row: RpcRow;
  try {
    row = await withRequestSettings(
      ctx.sql,
      {
        claims,
        method,
        path: ctx.rawPath,
        headers,
        cookies: parseCookies(request.headers.get('cookie') ?? undefined),
        searchPath: [ctx.schema, ...ctx.config.extraSearchPath],
        roleSettings: ctx.cache.roleSettings.get(role) ?? {},
        readOnly: plan.readOnly,
        ...(prefs.timezone !== undefined ? { timezone: prefs.timezone } : {}),
      },
      async (tx) => {
        const [result] = await tx<RpcRow[]>`${rpcSql(tx, {
          plan,
          casts,
          offset: range.offset,
          limit: range.limit,
          count: prefs.count !== undefined,
          body: method === 'HEAD' ? 'none' : media.format === 'single' ? 'single' : 'json',
          stripNulls: media.stripNulls,
        })}`;
        return result!;
      },
    );
  } catch (error) {
    throw fromPostgresError(error, role !== 'anon') ?? error;
  }

  const pageTotal = Number(row.page_total);
  const total = row.total === null ? undefined : Number(row.total);
  if (media.format === 'single' && !plan.single && pageTotal !== 1) {
    throw new PgrstError(406, 'PGRST116', 'Cannot coerce the result to a single JSON object', `The result contains ${pageTotal} rows`);
  }
  const { status, header } = contentRange(range.offset, pageTotal, total);
  const responseHeaders: Record<string, string> = {
    'content-range': header,
    ...(ctx.negotiatedByProfile ? { 'content-profile': ctx.schema } : {}),
    ...(prefs.applied ? { 'preference-applied': prefs.applied } : {}),
  };
  if (plan.void) {
    const out = overrideStatusHeaders(row, 204, responseHeaders);
    return new Response(null, out);
  }
  if (status === 416) {
    const error = invalidRange({ offset: range.offset, total: total ?? 0 });
    const out = overrideStatusHeaders(row, status, { ...responseHeaders, 'content-type': 'application/json; charset=utf-8' });
    return new Response(JSON.stringify(error.body), out);
  }
  const out = overrideStatusHeaders(row, status, { ...responseHeaders, 'content-type': media.contentType });
  return new Response(method === 'HEAD' || out.status === 204 || out.status === 304 ? null : row.body, out);
}
