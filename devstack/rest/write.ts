/**
 * The write path of the local Data API: POST (insert, upsert), PATCH, PUT and DELETE on a
 * relation, answered as PostgREST v16.2 answers them (upstream PostgREST
 * src/library/PostgREST/MainTx.hs actionResult for MutateReadPlan, Response.hs
 * actionResponse): one read-write transaction with the request's settings, the statement
 * of write-sql.ts, then PostgREST's checks that roll the write back (PGRST116 singular,
 * PGRST124 max-affected, PGRST115 PUT), the status, Content-Range, Location and
 * Preference-Applied of each mutation. UPDATE and DELETE without a filter are refused
 * with pg-safeupdate's error, as on Supabase (errors.ts safeUpdateRefusal).
 */
import type postgres from 'postgres';
import type { JwtClaims } from '../../core/db/rls.ts';
import { parsePayload, type Payload } from './body.ts';
import { fromPostgresError, maxAffectedViolation, PgrstError, putMatchingPk, safeUpdateRefusal, singularityError } from './errors.ts';
import type { QueryParams } from './grammar.ts';
import { contentRange, negotiateRead, readPreferences, writePreferenceApplied } from './negotiate.ts';
import { planCasts, planRead } from './read-plan.ts';
import { withRequestSettings } from './request-settings.ts';
import type { SchemaCache } from './schema-cache.ts';
import type { ReadQuery } from './sql.ts';
import { checkPutRange, mutationOf, planWrite, type WriteCatalog } from './write-plan.ts';
import { writeSql } from './write-sql.ts';

export interface WriteRequest {
  sql: postgres.Sql<Record<string, unknown>>;
  cache: SchemaCache;
  catalog: WriteCatalog;
  method: string;
  relation: string;
  schema: string;
  negotiatedByProfile: boolean;
  params: QueryParams;
  headers: Headers;
  body: Buffer;
  role: string;
  claims: JwtClaims | null;
  /** What withRequestSettings needs besides the claims. */
  settings: { path: string; headers: Record<string, string>; cookies: Record<string, string>; searchPath: string[]; roleSettings: Record<string, string> };
  resolveCast: (cast: string) => Promise<string>;
}

/** renderSimpleQuery of the Location pairs (`k=eq.v`), values percent-encoded. */
function locationOf(relation: string, pairs: string[]): string {
  const query = pairs
    .map((pair) => {
      const eq = pair.indexOf('=');
      return `${encodeURIComponent(pair.slice(0, eq))}=${encodeURIComponent(pair.slice(eq + 1))}`;
    })
    .join('&');
  return `/${relation}?${query}`;
}

/**
 * Serves one write.
 *
 * @example
 * return serveWrite({ sql, cache, catalog, method: 'POST', relation: 'projects', ... });
 */
export async function serveWrite(request: WriteRequest): Promise<Response> {
  const mutation = mutationOf(request.method)!;
  const { params, headers } = request;
  const prefs = readPreferences(headers.get('prefer') ? [headers.get('prefer')!] : []);
  checkPutRange(mutation, params);
  const readPlan = planRead(request.cache, request.schema, request.relation, params, { forWrite: true });
  let payload: Payload | undefined;
  if (mutation !== 'delete') {
    payload = parsePayload(request.body, headers.get('content-type') ?? undefined, mutation === 'upsert' ? undefined : params.columns);
  }
  const plan = planWrite({ mutation, readPlan, params, prefs, payload, catalog: request.catalog });
  const media = negotiateRead(headers.get('accept') ?? undefined);
  const unfiltered = plan.conditions.length === 0;
  if (mutation === 'delete' && unfiltered) throw safeUpdateRefusal('DELETE');
  if (mutation === 'update' && unfiltered && plan.columns.length > 0) throw safeUpdateRefusal('UPDATE');

  const casts = new Map<string, string>();
  for (const cast of planCasts(readPlan)) casts.set(cast, await request.resolveCast(cast));
  const top = params.ranges.get('limit');
  // Root filters belong to the statement (a forWrite plan leaves them out); the read of the
  // written rows keeps select, embeds and order.
  const read: ReadQuery = {
    plan: readPlan,
    casts,
    offset: top?.offset ?? 0,
    limit: top?.limit,
    count: false,
    countLimit: undefined,
    body: media.format,
    stripNulls: media.stripNulls,
  };
  const returns = prefs.representation ?? 'minimal';

  let row: { page_total: string; body: string; location: string[] | null; inserted: number | null };
  try {
    row = await withRequestSettings(
      request.sql,
      { ...request.settings, claims: request.claims, method: request.method, readOnly: false, ...(prefs.timezone !== undefined ? { timezone: prefs.timezone } : {}) },
      async (tx) => {
        const [result] = await tx<{ page_total: string; body: string; location: string[] | null; inserted: number | null }[]>`${writeSql(tx, plan, read, returns)}`;
        const pageTotal = Number(result!.page_total);
        // Each check throws inside the transaction, so the write is rolled back.
        if (mutation === 'upsert' && pageTotal !== 1) throw putMatchingPk();
        if (mutation !== 'upsert' && media.format === 'single' && pageTotal !== 1) throw singularityError(pageTotal);
        if ((mutation === 'update' || mutation === 'delete') && prefs.handling === 'strict' && prefs.maxAffected !== undefined && pageTotal > prefs.maxAffected) {
          throw maxAffectedViolation(pageTotal);
        }
        return result!;
      },
    );
  } catch (error) {
    if (error instanceof PgrstError) throw error;
    throw fromPostgresError(error, request.role !== 'anon') ?? error;
  }

  const pageTotal = Number(row.page_total);
  // shouldCount: exact and estimated count a write's rows; planned does not.
  const total = prefs.count === 'exact' || prefs.count === 'estimated' ? pageTotal : undefined;
  const hasConflictTarget = plan.primaryKey.length > 0 || params.onConflict !== undefined;
  const applied = writePreferenceApplied(prefs, mutation, hasConflictTarget);
  const out: Record<string, string> = {
    ...(request.negotiatedByProfile ? { 'content-profile': request.schema } : {}),
    ...(applied ? { 'preference-applied': applied } : {}),
  };
  const full = returns === 'representation';
  if (full) out['content-type'] = media.contentType;
  let status: number;
  // Content-Range as Response.hs builds it: contentRangeH 1 0 (always `*/total`) for inserts
  // and deletes, contentRangeH 0 (n - 1) for updates; none for PUT.
  switch (mutation) {
    case 'create':
      if (row.location && row.location.length > 0) out.location = locationOf(request.relation, row.location);
      out['content-range'] = contentRange(1, 0, total).header;
      status = prefs.resolution === 'merge-duplicates' && plan.onConflict && (row.inserted ?? 0) <= 0 ? 200 : 201;
      // PostgREST sends an empty body with Content-Length: 0 (and no Content-Type) here.
      if (!full) out['content-length'] = '0';
      return new Response(full ? row.body : null, { status, headers: out });
    case 'update':
      out['content-range'] = contentRange(0, pageTotal, total).header;
      return new Response(full ? row.body : null, { status: full ? 200 : 204, headers: out });
    case 'delete':
      out['content-range'] = contentRange(1, 0, total).header;
      return new Response(full ? row.body : null, { status: full ? 200 : 204, headers: out });
    case 'upsert':
      return new Response(full ? row.body : null, { status: full ? ((row.inserted ?? 0) > 0 ? 201 : 200) : 204, headers: out });
  }
}
