/**
 * The local Data API: `/rest/v1` of the Docker-free devstack, answering reads and writes
 * on the exposed tables and views as PostgREST v16.2 answers them (the version the pinned
 * Supabase CLI runs) and refusing the rest in PostgREST's error shape. A Hono app; the
 * gateway hands it Node requests through {@link createDataApiHandler}.
 *
 * What a request goes through, in PostgREST's order (src/PostgREST/App.hs, ApiRequest.hs):
 * the resource from the path, the schema from Accept-Profile (Content-Profile for writes),
 * the method, the query parameters, Prefer, the range, the token (none = anon); then a
 * write goes to write.ts; a read negotiates its media type and runs one read-only
 * transaction with the request's settings (request-settings.ts) and one statement built by
 * sql.ts. Calls to `/rpc/<function>` are served by rpc.ts, the root (the OpenAPI document)
 * by openapi.ts; the schema cache is replaced on `NOTIFY pgrst, 'reload schema'`
 * (schema-reload.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Hono, type Context } from 'hono';
import type postgres from 'postgres';
import { decodeJwt } from 'jose';
import { createClaimsVerifier, InvalidTokenError, type JwtVerifierConfig } from '../../core/auth/jwt.ts';
import type { JwtClaims } from '../../core/db/rls.ts';
import type { DataApiConfig } from './config.ts';
import { fromPostgresError, invalidRange, invalidResourcePath, jwtError, notBuiltYet, PgrstError, unacceptableSchema, unsupportedMethod } from './errors.ts';
import { parseQueryParams } from './grammar.ts';
import { contentRange, negotiateRead, readPreferences, topLevelRange } from './negotiate.ts';
import { serveOpenApi } from './openapi.ts';
import { legacyTargetWarning, planCasts, planRead } from './read-plan.ts';
import { serveRpc } from './rpc.ts';
import { parseCookies, withRequestSettings } from './request-settings.ts';
import { loadSchemaCache, type SchemaCache } from './schema-cache.ts';
import { listenForSchemaReload } from './schema-reload.ts';
import { countSourceSql, readSql, type ReadQuery } from './sql.ts';
import { MAX_BODY_BYTES, readBody } from './body.ts';
import { loadWriteCatalog, type WriteCatalog } from './write-plan.ts';
import { serveWrite } from './write.ts';

export const DATA_API_PREFIX = '/rest/v1';

export interface DataApiOptions {
  /** A connection pool as the role PostgREST's authenticator stands for (the devstack's `postgres`). */
  sql: postgres.Sql<Record<string, unknown>>;
  config: DataApiConfig;
  jwt: JwtVerifierConfig;
  /** Opaque `sb_…` keys → the JWT the gateway puts in their place (the CLI's Kong rule). */
  resolveApiKey?: (apiKey: string) => string | undefined;
  warn?: (message: string) => void;
  /** Largest request body taken (413 beyond); default body.ts MAX_BODY_BYTES. */
  maxBodyBytes?: number;
}

export interface DataApi {
  app: Hono;
  /** For the gateway: serves a Node request under /rest/v1. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** The schema cache now (replaced on `NOTIFY pgrst, 'reload schema'`). */
  readonly cache: SchemaCache;
  /** Resolves when the reloads notified so far are done. */
  schemaReloaded(): Promise<void>;
  /** Stops listening for reloads. */
  close(): Promise<void>;
}

const ROLES = new Set(['anon', 'authenticated', 'service_role']);

function errorResponse(error: PgrstError): Response {
  return new Response(JSON.stringify(error.body), {
    status: error.status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'proxy-status': `PostgREST; error=${error.code}`,
      ...error.headers,
    },
  });
}

/**
 * The Authorization PostgREST receives behind the CLI's Kong (supabase/cli
 * internal/start/start.go, BearerToken): the client's own unless it is `Bearer sb_…`;
 * else the JWT an opaque apikey stands for; else the apikey header itself (which, not
 * being `Bearer …`, PostgREST then ignores: anon).
 */
export function gatewayAuthorization(headers: Headers, resolveApiKey?: (key: string) => string | undefined): string | undefined {
  const authorization = headers.get('authorization') ?? undefined;
  if (authorization !== undefined && authorization.slice(0, 10) !== 'Bearer sb_') return authorization;
  const apiKey = headers.get('apikey') ?? undefined;
  if (apiKey !== undefined && apiKey.startsWith('sb_')) {
    const jwt = resolveApiKey?.(apiKey);
    if (jwt) return `Bearer ${jwt}`;
  }
  return apiKey;
}

async function claimsOf(authorization: string | undefined, verify: (token: string) => Promise<Record<string, unknown>>): Promise<JwtClaims | null> {
  if (authorization === undefined) return null;
  const match = /^bearer (.*)$/is.exec(authorization);
  if (!match) return null;
  const token = match[1]!.trim();
  if (token === '') throw jwtError('PGRST301', 'Empty JWT is sent in Authorization header');
  const parts = token.split('.').length;
  if (parts !== 3) throw jwtError('PGRST301', `Expected 3 parts in JWT; got ${parts}`);
  try {
    return (await verify(token)) as JwtClaims;
  } catch (error) {
    if (!(error instanceof InvalidTokenError)) throw error;
    switch (error.reason) {
      case 'expired':
        throw jwtError('PGRST303', 'JWT expired');
      case 'signature':
        throw jwtError('PGRST301', 'JWT cryptographic operation failed');
      case 'algorithm':
      case 'unknown_key':
        throw jwtError('PGRST301', 'No suitable key or wrong key type');
      case 'claims': {
        let nbf: unknown;
        try {
          nbf = decodeJwt(token).nbf;
        } catch {
          nbf = undefined;
        }
        throw jwtError('PGRST303', typeof nbf === 'number' && nbf * 1000 > Date.now() ? 'JWT not yet valid' : 'Parsing claims failed');
      }
      default:
        throw jwtError('PGRST301', "JWT couldn't be decoded");
    }
  }
}

/** Postgres's own name for a cast's type (PostgREST splices the cast; this resolves it first). */
function castResolver(sql: postgres.Sql<Record<string, unknown>>): (cast: string) => Promise<string> {
  const known = new Map<string, string>();
  return async (cast) => {
    const hit = known.get(cast);
    if (hit) return hit;
    let name: string | null = null;
    try {
      const [row] = await sql<{ name: string | null }[]>`select pg_catalog.format_type(pg_catalog.to_regtype(${cast}), null) as name`;
      name = row?.name ?? null;
    } catch {
      name = null;
    }
    if (name === null) throw new PgrstError(400, '42704', `type "${cast}" does not exist`);
    known.set(cast, name);
    return name;
  };
}

/**
 * Loads the schema cache and builds the Data API.
 *
 * @example
 * const api = await createDataApi({ sql, config: projectDataApiConfig(), jwt: { jwtSecret } });
 * gateway.on('/rest/v1', api.handle);
 */
export async function createDataApi(options: DataApiOptions): Promise<DataApi> {
  const warn = options.warn ?? (() => undefined);
  // The write catalog (primary keys, defaults) is reloaded with the schema cache.
  let loadedCatalog: WriteCatalog | undefined;
  const load = async () => {
    const fresh = await loadSchemaCache(options.sql, options.config.schemas, warn);
    loadedCatalog = await loadWriteCatalog(options.sql, fresh.schemas);
    return fresh;
  };
  let cache = await load();
  let catalog = loadedCatalog!;
  const reloader = await listenForSchemaReload({
    sql: options.sql,
    load,
    current: () => cache,
    replace: (fresh) => {
      cache = fresh;
      catalog = loadedCatalog!;
    },
    warn,
  });
  const verify = createClaimsVerifier(options.jwt);
  const resolveCast = castResolver(options.sql);
  const app = new Hono();

  app.onError((error) => {
    if (error instanceof PgrstError) return errorResponse(error);
    warn(`local Data API: unexpected error: ${error instanceof Error ? error.stack : String(error)}`);
    return errorResponse(new PgrstError(500, 'PGRSTX00', 'Internal error of the local Data API'));
  });

  app.options('*', (c) => {
    // Kong's cors plugin answers preflights itself.
    const requested = c.req.header('access-control-request-headers');
    return c.body(null, 200, {
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT',
      ...(requested ? { 'access-control-allow-headers': requested } : {}),
    });
  });

  app.all('*', async (c) => {
    const response = await serve(c);
    response.headers.set('access-control-allow-origin', '*');
    return response;
  });

  /** The token and role of a request, as PostgREST's auth middleware resolves them. */
  async function authenticate(c: Context): Promise<{ authorization: string | undefined; role: string; claims: JwtClaims | null }> {
    const authorization = gatewayAuthorization(c.req.raw.headers, options.resolveApiKey);
    const verified = await claimsOf(authorization, verify);
    const role = typeof verified?.role === 'string' ? verified.role : 'anon';
    if (!ROLES.has(role)) {
      if (!cache.roles.has(role)) throw new PgrstError(401, '22023', `role "${role}" does not exist`, null, null, { 'www-authenticate': 'Bearer' });
      throw new PgrstError(403, '42501', `permission denied to set role "${role}"`);
    }
    return { authorization, role, claims: verified ? { ...verified, role } : null };
  }

  async function serve(c: Context): Promise<Response> {
    const url = new URL(c.req.url);
    const rawPath = url.pathname.slice(DATA_API_PREFIX.length) || '/';
    const segments = rawPath.split('/').filter((s) => s !== '').map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
    const method = c.req.method;

    // Resource
    let resource: { kind: 'schema' } | { kind: 'relation'; name: string } | { kind: 'routine'; name: string };
    if (segments.length === 0) resource = { kind: 'schema' };
    else if (segments.length === 1) resource = { kind: 'relation', name: segments[0]! };
    else if (segments.length === 2 && segments[0] === 'rpc') resource = { kind: 'routine', name: segments[1]! };
    else throw invalidResourcePath();

    // Schema (Accept-Profile for reads, Content-Profile for writes)
    const profileHeader = ['DELETE', 'PATCH', 'POST', 'PUT'].includes(method) ? 'content-profile' : 'accept-profile';
    const profile = c.req.header(profileHeader);
    if (profile !== undefined && !cache.schemas.includes(profile)) throw unacceptableSchema(profile, cache.schemas);
    const schema = profile ?? cache.schemas[0]!;
    const negotiatedByProfile = profile !== undefined || options.config.schemas.length !== 1;

    // Action
    if (resource.kind === 'routine') {
      if (!['GET', 'HEAD', 'POST'].includes(method)) throw new PgrstError(405, 'PGRST101', `Cannot use the ${method} method on RPC`);
      return serveRpc({ sql: options.sql, config: options.config, cache, request: c.req.raw, url, rawPath, name: resource.name, schema, negotiatedByProfile, authenticate: () => authenticate(c), resolveCast });
    }
    if (resource.kind === 'schema') {
      if (!['GET', 'HEAD'].includes(method)) throw unsupportedMethod(method);
      return serveOpenApi({ sql: options.sql, config: options.config, cache, request: c.req.raw, rawPath, schema, negotiatedByProfile, authenticate: () => authenticate(c) });
    }
    const isWrite = ['POST', 'PATCH', 'PUT', 'DELETE'].includes(method);
    if (!isWrite && method !== 'GET' && method !== 'HEAD') throw unsupportedMethod(method);

    const params = parseQueryParams(url.search.slice(1));
    const prefs = readPreferences(c.req.raw.headers.get('prefer') ? [c.req.raw.headers.get('prefer')!] : []);
    const top = params.ranges.get('limit');
    const range = topLevelRange({
      rangeHeader: method === 'GET' ? c.req.header('range') : undefined,
      limit: top?.limit,
      offset: top?.offset ?? 0,
      hasLimit: top?.limit !== undefined,
      maxRows: isWrite ? undefined : options.config.maxRows,
    });

    const { authorization, role, claims } = await authenticate(c);

    const headers: Record<string, string> = {};
    for (const [name, value] of c.req.raw.headers) if (name !== 'cookie') headers[name] = value;
    if (authorization !== undefined) headers.authorization = authorization;
    else delete headers.authorization;
    const settings = {
      path: rawPath,
      headers,
      cookies: parseCookies(c.req.header('cookie')),
      searchPath: [schema, ...options.config.extraSearchPath],
      roleSettings: cache.roleSettings.get(role) ?? {},
    };

    if (isWrite) {
      return serveWrite({
        sql: options.sql,
        cache,
        catalog,
        method,
        relation: resource.name,
        schema,
        negotiatedByProfile,
        params,
        headers: c.req.raw.headers,
        body: Buffer.from(await c.req.arrayBuffer()),
        role,
        claims,
        settings,
        resolveCast,
      });
    }

    const media = negotiateRead(c.req.header('accept'));
    const plan = planRead(cache, schema, resource.name, params, { maxRows: options.config.maxRows });
    const casts = new Map<string, string>();
    for (const cast of planCasts(plan)) casts.set(cast, await resolveCast(cast));

    const query: ReadQuery = {
      plan,
      casts,
      offset: range.offset,
      limit: range.limit,
      count: prefs.count !== undefined && prefs.count !== 'planned',
      countLimit: prefs.count === 'estimated' && options.config.maxRows !== undefined ? options.config.maxRows + 1 : undefined,
      body: method === 'HEAD' ? 'none' : media.format,
      stripNulls: media.stripNulls,
    };

    let row: { total: string | null; page_total: string; body: string };
    let planned: number | undefined;
    try {
      [row, planned] = await withRequestSettings(
        options.sql,
        {
          ...settings,
          claims,
          method,
          readOnly: true,
          ...(prefs.timezone !== undefined ? { timezone: prefs.timezone } : {}),
        },
        async (tx) => {
          const [result] = await tx<{ total: string | null; page_total: string; body: string }[]>`${readSql(tx, query)}`;
          let estimate: number | undefined;
          if (prefs.count === 'planned' || prefs.count === 'estimated') {
            const [explained] = await tx<{ plan: unknown }[]>`EXPLAIN (FORMAT JSON) ${countSourceSql(tx, plan)}`;
            const json = Object.values(explained ?? {})[0];
            const parsed = typeof json === 'string' ? JSON.parse(json) : json;
            const rows = (parsed as { Plan?: { 'Plan Rows'?: number } }[] | undefined)?.[0]?.Plan?.['Plan Rows'];
            estimate = typeof rows === 'number' ? rows : undefined;
          }
          return [result!, estimate] as const;
        },
      );
    } catch (error) {
      throw fromPostgresError(error, role !== 'anon') ?? error;
    }

    const pageTotal = Number(row.page_total);
    let total = row.total === null ? undefined : Number(row.total);
    if (prefs.count === 'planned') total = planned;
    if (prefs.count === 'estimated' && total !== undefined && options.config.maxRows !== undefined && total > options.config.maxRows && planned !== undefined) {
      total = Math.max(total, planned);
    }
    if (media.format === 'single' && pageTotal !== 1) {
      throw new PgrstError(406, 'PGRST116', 'Cannot coerce the result to a single JSON object', `The result contains ${pageTotal} rows`);
    }
    const { status, header } = contentRange(range.offset, pageTotal, total);
    const responseHeaders: Record<string, string> = {
      'content-range': header,
      'content-location': `/${resource.name}${params.canonical ? `?${params.canonical}` : ''}`,
      'content-type': media.contentType,
      ...(negotiatedByProfile ? { 'content-profile': schema } : {}),
      ...(prefs.applied ? { 'preference-applied': prefs.applied } : {}),
      ...(legacyTargetWarning(plan) !== undefined ? { warning: legacyTargetWarning(plan)! } : {}),
    };
    if (status === 416) {
      const error = invalidRange({ offset: range.offset, total: total ?? 0 });
      return new Response(JSON.stringify(error.body), { status, headers: { ...responseHeaders, 'content-type': 'application/json; charset=utf-8' } });
    }
    return new Response(method === 'HEAD' ? null : row.body, { status, headers: responseHeaders });
  }

  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    void toFetchRequest(req, maxBodyBytes).then(async (request) => {
      const response = await app.fetch(request);
      await writeResponse(res, response, req.method === 'HEAD');
    }).catch(async (error: unknown) => {
      if (error instanceof PgrstError && !res.headersSent) {
        const response = errorResponse(error);
        response.headers.set('access-control-allow-origin', '*');
        await writeResponse(res, response, false);
        return;
      }
      warn(`local Data API: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
      res.end();
    });
  };
  return {
    app,
    handle,
    get cache() {
      return cache;
    },
    schemaReloaded: () => reloader.settled(),
    close: () => reloader.stop(),
  };
}

async function toFetchRequest(req: IncomingMessage, maxBodyBytes: number): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const method = req.method ?? 'GET';
  const body = await readBody(req, maxBodyBytes);
  const withBody = method !== 'GET' && method !== 'HEAD' && body.length > 0;
  return new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, { method, headers, ...(withBody ? { body: new Uint8Array(body) } : {}) });
}

async function writeResponse(res: ServerResponse, response: Response, head: boolean): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const body = head || response.body === null ? undefined : Buffer.from(await response.arrayBuffer());
  if (body !== undefined) headers['content-length'] = String(body.length);
  res.writeHead(response.status, headers);
  res.end(body);
}
