/**
 * Helpers for the Realtime conformance tests: the local Realtime started in-process on a
 * free port against the run's database, tokens signed with the test secret, real
 * supabase-js clients.
 */
import { randomUUID } from 'node:crypto';
import { createClient, type RealtimeChannel, type SupabaseClient } from '@supabase/supabase-js';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, inject } from 'vitest';
import { WebSocket } from 'ws';
import { createLogger } from '../../core/log.ts';
import { createRealtimeServer, type RealtimeServer, type RealtimeServerOptions } from '../../devstack/realtime/server.ts';
import { adminSql, type Sql, type TestUser } from '../harness/db.ts';

export const TEST_JWT_SECRET = 'tandem-realtime-test-secret-with-at-least-32-characters';
const secret = new TextEncoder().encode(TEST_JWT_SECRET);

/** Signs claims with the test secret; `expiresIn` in seconds (default one hour). */
export async function signToken(claims: Record<string, unknown>, expiresIn = 3600): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iat: now, exp: now + expiresIn, ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(secret);
}

/** An access token for a test user, shaped like Supabase Auth's. */
export function userToken(user: TestUser, expiresIn = 3600): Promise<string> {
  return signToken({ ...user.claims, session_id: randomUUID(), aal: 'aal1' }, expiresIn);
}

/** The anon key (role anon), as `supabase start` issues it. */
export function anonKey(): Promise<string> {
  return signToken({ iss: 'supabase-demo', role: 'anon' }, 10 * 365 * 86400);
}

export interface StartedRealtime {
  server: RealtimeServer;
  /** http://127.0.0.1:<port> — the base URL supabase-js needs. */
  baseUrl: string;
  /** ws://127.0.0.1:<port>/realtime/v1/websocket */
  wsUrl: string;
}

/** Starts the local Realtime on a free port against the test database. */
export async function startRealtime(options: Partial<RealtimeServerOptions> = {}): Promise<StartedRealtime> {
  const server = await createRealtimeServer({
    databaseUrl: inject('databaseUrl'),
    jwt: { jwtSecret: TEST_JWT_SECRET },
    logger: createLogger({}, { level: 'error', write: () => undefined }),
    joinErrorBackoffMs: 20,
    connectErrorBackoffMs: 20,
    ...options,
  });
  const { url, port } = await server.listen(0);
  return { server, baseUrl: `http://127.0.0.1:${port}`, wsUrl: url };
}

export interface TestClient {
  supabase: SupabaseClient;
  /** Replaces the token the client hands to Realtime (what a token refresh does). */
  setToken(token: string): Promise<void>;
}

/** A supabase-js client whose Realtime uses `token` (third-party-auth style `accessToken`). */
export async function connectClient(
  baseUrl: string,
  token: string,
  options: { vsn?: '1.0.0' | '2.0.0'; apiKey?: string } = {},
): Promise<TestClient> {
  let current = token;
  const supabase = createClient(baseUrl, options.apiKey ?? (await anonKey()), {
    accessToken: async () => current,
    realtime: { vsn: options.vsn, heartbeatIntervalMs: 25_000 },
  });
  return {
    supabase,
    async setToken(next: string) {
      current = next;
      await supabase.realtime.setAuth(next);
    },
  };
}

/** A raw WebSocket speaking the protocol by hand; `received` collects JSON frames parsed and binary ones as Buffers. */
export async function openRawSocket(wsUrl: string, vsn: '1.0.0' | '2.0.0', apiKey?: string): Promise<{ socket: WebSocket; received: unknown[] }> {
  const key = apiKey ?? (await anonKey());
  const socket = new WebSocket(`${wsUrl}?apikey=${encodeURIComponent(key)}&vsn=${vsn}`);
  const received: unknown[] = [];
  socket.on('message', (data: Buffer, isBinary: boolean) => received.push(isBinary ? Buffer.from(data) : JSON.parse(data.toString())));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { socket, received };
}

/** Resolves when `predicate` holds, polling; rejects with `what` after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Subscribes and resolves with the first terminal status (SUBSCRIBED, CHANNEL_ERROR, ...). */
export function subscribe(channel: RealtimeChannel): Promise<{ status: string; error?: Error }> {
  return new Promise((resolve) => {
    let settled = false;
    channel.subscribe((status, error) => {
      if (!settled) {
        settled = true;
        resolve({ status, error });
      }
    });
  });
}

/** Creates a project with members (role per user) directly in SQL, as the superuser. */
export async function createProject(sql: Sql, members: Array<[TestUser, 'owner' | 'collaborator' | 'viewer']>): Promise<string> {
  const owner = members.find(([, role]) => role === 'owner')?.[0] ?? members[0]?.[0];
  const [project] = await sql<{ id: string }[]>`
    insert into public.projects (name, created_by) values (${`Realtime ${randomUUID().slice(0, 8)}`}, ${owner?.id ?? null}) returning id`;
  const id = project!.id;
  for (const [user, role] of members) {
    await sql`insert into public.project_members (project_id, user_id, role) values (${id}, ${user.id}, ${role})
              on conflict (project_id, user_id) do update set role = excluded.role`;
  }
  return id;
}

/**
 * Registers a test file's Realtime setup: the local Realtime started before its tests, an
 * admin connection, and supabase-js clients (made with `client`) whose channels are removed
 * before the server closes afterwards.
 *
 * @example
 * const fixture = useRealtimeFixture();
 * it('…', async () => { const c = await fixture.client(await userToken(alice)); });
 */
export function useRealtimeFixture(): {
  readonly sql: Sql;
  readonly realtime: StartedRealtime;
  /** A client of the fixture's server, or of `options.baseUrl` (another server the test started). */
  client(token: string, options?: { vsn?: '1.0.0' | '2.0.0'; apiKey?: string; baseUrl?: string }): Promise<TestClient>;
} {
  const sql = adminSql();
  const clients: TestClient[] = [];
  let realtime: StartedRealtime | undefined;
  beforeAll(async () => {
    realtime = await startRealtime();
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.supabase.removeAllChannels()));
    await realtime?.server.close();
    await sql.end();
  });
  return {
    sql,
    get realtime() {
      return realtime as StartedRealtime;
    },
    async client(token, options = {}) {
      const created = await connectClient(options.baseUrl ?? (realtime as StartedRealtime).baseUrl, token, options);
      clients.push(created);
      return created;
    },
  };
}
