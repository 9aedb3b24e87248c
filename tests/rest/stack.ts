/**
 * The local Data API behind the real devstack gateway, on a private migrated database:
 * the gateway with local Auth and the Data API (functions and Realtime are not needed
 * here, so their routes answer 503/404), plus helpers to sign tokens as local Auth does
 * and to make supabase-js clients for them.
 */
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { SignJWT } from 'jose';
import postgres from 'postgres';
import WebSocket from 'ws';
import { createAuthServer, DEFAULT_JWT_SECRET } from '../../devstack/auth/server.ts';
import { withUser } from '../../devstack/db/setup.ts';
import { cliApiKey } from '../../devstack/auth/keys.ts';
import { startGateway } from '../../devstack/gateway/gateway.ts';
import { findFreePort } from '../../devstack/net/ports.ts';
import { createDataApi, type DataApi } from '../../devstack/rest/app.ts';
import { projectDataApiConfig, type DataApiConfig } from '../../devstack/rest/config.ts';
import { privateDatabase } from '../harness/database.ts';
import type { Sql } from '../harness/db.ts';

export interface RestStack {
  url: string;
  anonKey: string;
  serviceKey: string;
  /** Superuser connection to the stack's database. */
  admin: Sql;
  warnings: string[];
  dataApi: DataApi;
  /** A token for a user, as local Auth signs it. */
  tokenFor(userId: string, email: string, extra?: Record<string, unknown>): Promise<string>;
  sign(claims: Record<string, unknown>, expiresIn?: string | number): Promise<string>;
  /** supabase-js as the anon key, or with a user's access token. */
  client(accessToken?: string): SupabaseClient;
  /** Raw fetch against /rest/v1 with the anon apikey. */
  rest(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * @example
 * const stack = await startRestStack({ setupSql: 'create schema test; ...', config: { schemas: ['test'] } });
 */
export async function startRestStack(options: { setupSql?: string; config?: Partial<DataApiConfig> } = {}): Promise<RestStack> {
  const database = await privateDatabase();
  const admin = postgres(database.url, { max: 2, onnotice: () => undefined });
  if (options.setupSql) await admin.unsafe(options.setupSql);
  const serviceUrl = withUser(database.url, 'postgres');
  const sql = postgres(serviceUrl, { max: 4, onnotice: () => undefined, prepare: false });
  const warnings: string[] = [];
  const port = await findFreePort();
  const url = `http://127.0.0.1:${port}`;
  const auth = await createAuthServer({ databaseUrl: database.url, jwtSecret: DEFAULT_JWT_SECRET, issuer: `${url}/auth/v1` });
  // As in `npm run dev` (devstack/dev.ts): the Data API also trusts local Auth's ES256 keys,
  // so the tokens of users signed in through /auth/v1 are accepted.
  const dataApi = await createDataApi({
    sql,
    config: { ...projectDataApiConfig(), ...options.config },
    jwt: { jwtSecret: DEFAULT_JWT_SECRET, jwks: auth.jwks },
    warn: (m) => warnings.push(m),
  });
  const anonKey = await cliApiKey(DEFAULT_JWT_SECRET, 'anon');
  const serviceKey = await cliApiKey(DEFAULT_JWT_SECRET, 'service_role');
  const gateway = await startGateway({
    port,
    functionsUrl: 'http://127.0.0.1:1',
    auth: auth.handler,
    realtimeUpgrade: (_req, socket) => socket.destroy(),
    realtimeRequest: (_req, res) => res.writeHead(404).end(),
    dataApi: dataApi.handle,
    consoleConfig: { supabaseUrl: url, anonKey },
  });
  const secret = new TextEncoder().encode(DEFAULT_JWT_SECRET);
  const sign = (claims: Record<string, unknown>, expiresIn: string | number = '1h') =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt().setExpirationTime(expiresIn).sign(secret);
  return {
    url,
    anonKey,
    serviceKey,
    admin,
    warnings,
    dataApi,
    sign,
    tokenFor: (userId, email, extra = {}) => sign({ sub: userId, email, role: 'authenticated', aud: 'authenticated', aal: 'aal1', session_id: userId, is_anonymous: false, ...extra }),
    client: (accessToken) =>
      createClient(url, anonKey, {
        auth: { persistSession: false, autoRefreshToken: false },
        // supabase-js builds its Realtime client eagerly; the reads here never open it.
        realtime: { transport: WebSocket as unknown as typeof globalThis.WebSocket },
        ...(accessToken ? { accessToken: async () => accessToken } : {}),
      }),
    rest: (path, init = {}) => {
      const { token, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (!headers.has('apikey')) headers.set('apikey', anonKey);
      if (token !== null && !headers.has('authorization')) headers.set('authorization', `Bearer ${token ?? anonKey}`);
      return fetch(`${url}/rest/v1${path}`, { ...rest, headers });
    },
    stop: async () => {
      await gateway.close();
      await dataApi.close();
      await auth.close();
      await sql.end({ timeout: 5 });
      await admin.end({ timeout: 5 });
      await database.drop();
    },
  };
}

/** The four people of the workspace suites: an owner, a collaborator and a viewer of one project, and an outsider. */
export interface WorkspaceUsers {
  owner: string;
  collaborator: string;
  viewer: string;
  outsider: string;
}

/**
 * Adds an Auth user per id and returns each one's access token, by id.
 *
 * @example
 * const tokens = await createUsers(stack, Object.values(users), (id) => `rest-${id}@test.tandem.dev`);
 */
export async function createUsers(stack: RestStack, ids: string[], emailOf: (id: string) => string): Promise<Record<string, string>> {
  const tokens: Record<string, string> = {};
  for (const id of ids) {
    await stack.admin`insert into auth.users (id, aud, role, email, created_at, updated_at) values (${id}, 'authenticated', 'authenticated', ${emailOf(id)}, now(), now())`;
    tokens[id] = await stack.tokenFor(id, emailOf(id));
  }
  return tokens;
}

/**
 * The owner's project (`projectId`, with the collaborator and the viewer as members) and,
 * when `otherProjectId` is given, one of the outsider's.
 *
 * @example
 * await seedProjects(stack, users, projectId, otherProjectId);
 */
export async function seedProjects(stack: RestStack, users: WorkspaceUsers, projectId: string, otherProjectId?: string): Promise<void> {
  await stack.admin`insert into public.projects (id, name, created_by) values (${projectId}, 'Apollo', ${users.owner})`;
  if (otherProjectId !== undefined) await stack.admin`insert into public.projects (id, name, created_by) values (${otherProjectId}, 'Other', ${users.outsider})`;
  await stack.admin`insert into public.project_members (project_id, user_id, role) values (${projectId}, ${users.collaborator}, 'collaborator'), (${projectId}, ${users.viewer}, 'viewer')`;
}
