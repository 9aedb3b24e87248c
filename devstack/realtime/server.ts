/**
 * The devstack's local Realtime: a stand-in for Supabase Realtime (development and tests,
 * no Docker) that speaks the same Phoenix protocol at `/realtime/v1/websocket` and
 * authorizes private channels with RLS on `realtime.messages` exactly as upstream does.
 * Production uses Supabase Realtime itself.
 *
 * This file starts the server and wires its parts, split by concern as supabase/realtime
 * splits them: socket.ts (handshake, frames, heartbeat), join.ts (phx_join),
 * channel-events.ts (a joined channel's pushes), broadcast-handler.ts, presence-handler.ts,
 * payloads.ts (the zod schemas of client payloads), protocol.ts (the serializer),
 * channels.ts (connections, channels, fan-out), rest-broadcast.ts, rate-limits.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import postgres from 'postgres';
import { WebSocketServer } from 'ws';
import type { JwtVerifierConfig } from '../../core/auth/jwt.ts';
import { createLogger, type Logger } from '../../core/log.ts';
import { authorizeWrite, emptyPolicies } from './authorization.ts';
import { deliverDatabaseMessage } from './broadcast-handler.ts';
import { fanOut, tenantTopicOf, type RealtimeContext } from './channels.ts';
import { listenForDatabaseMessages } from './database-broadcasts.ts';
import { maintainPartitions } from './partitions.ts';
import { PresenceRegistry } from './presence.ts';
import { createTenantCounters, DEFAULT_TENANT_LIMITS, maxPayloadBytes as payloadLimitOf, type TenantLimits } from './rate-limits.ts';
import { createRestBroadcastHandler, REALTIME_API_PREFIX } from './rest-broadcast.ts';
import { handleUpgrade, REALTIME_PATH } from './socket.ts';
import { createRealtimeTokenVerifier } from './tokens.ts';

export { REALTIME_PATH };

export interface RealtimeServerOptions {
  /** Postgres URL of a role that may insert into realtime.messages bypassing RLS (supabase_admin / postgres). */
  databaseUrl: string;
  /** How tokens are verified: TANDEM_JWT_SECRET (HS256) and/or SUPABASE_JWKS. */
  jwt: JwtVerifierConfig;
  logger?: Logger;
  /** Delay before a refused join is answered; upstream's CHANNEL_ERROR_BACKOFF_MS (5 s). */
  joinErrorBackoffMs?: number;
  /** Delay before a refused WebSocket handshake is answered; upstream's CONNECT_ERROR_BACKOFF_MS (2 s). */
  connectErrorBackoffMs?: number;
  /**
   * The tenant's limits under upstream's tenant field names (`max_events_per_second`,
   * `max_payload_size_in_kb`, ...); unset ones take upstream's defaults, which `supabase start`
   * seeds (its config.toml exposes none of them).
   */
  tenant?: Partial<TenantLimits>;
  /** One rate-counter tick; upstream's is 5 s (averages over 12 ticks). Tests shorten it. */
  rateCounterTickMs?: number;
  /**
   * Opaque API keys (`sb_publishable_…`, `sb_secret_…`): the JWT to use in their place, as
   * Supabase's API gateway substitutes one before Realtime sees the request.
   */
  resolveApiKey?: (apiKey: string) => string | undefined;
  /** How often partitions are maintained (always also at start). */
  partitionMaintenanceMs?: number;
  /** Connections used for authorization checks. */
  poolSize?: number;
  /** application_name of the server's Postgres connections. */
  applicationName?: string;
  /** A socket that sends nothing (not even a heartbeat) for this long is closed; Phoenix's default is 60 s. */
  idleTimeoutMs?: number;
}

export interface RealtimeServer {
  /** Hands a node:http 'upgrade' to the server (mount it in a gateway). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Answers a request under /realtime/v1/api (the REST broadcast; mount it in a gateway). */
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  /** Starts an own HTTP server; port 0 picks a free port. */
  listen(port: number, host?: string): Promise<{ url: string; port: number }>;
  /** Drops every WebSocket connection at once, as a network loss would (clients reconnect). */
  dropConnections(): void;
  close(): Promise<void>;
}

/**
 * Starts the local Realtime: connects to Postgres, maintains the messages partitions,
 * listens for committed `realtime.send` rows, and returns a server to mount or listen.
 *
 * @example
 * const realtime = await createRealtimeServer({ databaseUrl, jwt: { jwtSecret } });
 * gatewayServer.on('upgrade', (req, socket, head) => realtime.handleUpgrade(req, socket, head));
 * // or: const { url } = await realtime.listen(54332);
 */
export async function createRealtimeServer(options: RealtimeServerOptions): Promise<RealtimeServer> {
  const log = options.logger ?? createLogger({ service: 'realtime' });
  const limits: TenantLimits = { ...DEFAULT_TENANT_LIMITS, ...options.tenant };
  const sql = postgres(options.databaseUrl, {
    max: options.poolSize ?? 10,
    onnotice: () => undefined,
    connection: { application_name: `${options.applicationName ?? 'tandem-local-realtime'}:pool` },
  });
  const ctx: RealtimeContext = {
    sql,
    log,
    limits,
    maxPayloadBytes: payloadLimitOf(limits),
    counters: createTenantCounters(limits, { tickMs: options.rateCounterTickMs ?? 5000, log }),
    verifyToken: createRealtimeTokenVerifier(options.jwt),
    presence: new PresenceRegistry(),
    subscribers: new Map(),
    users: new Set(),
    connections: new Set(),
    joinErrorBackoffMs: options.joinErrorBackoffMs ?? 5000,
    connectErrorBackoffMs: options.connectErrorBackoffMs ?? 2000,
    idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
    resolveApiKey: options.resolveApiKey,
  };
  const { counters } = ctx;
  // Upstream's endpoint: max_frame_size 5_000_000.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 5_000_000, perMessageDeflate: false });
  const ownServers: Server[] = [];

  let databaseListener: { stop(): Promise<void> };
  try {
    const [schema] = await sql<{ messages: boolean; hook: boolean }[]>`
      select to_regclass('realtime.messages') is not null as messages,
             exists (select 1 from pg_trigger where tgname = 'notify_local_realtime' and tgrelid = to_regclass('realtime.messages')) as hook`;
    if (!schema?.messages) throw new Error('the database has no realtime.messages table: run `npm run db:setup` on it first');
    if (!schema.hook) {
      log.warn('realtime_send_not_delivered', {
        reason: 'realtime.messages has no notify_local_realtime trigger (it comes with sql/platform/03_realtime.sql); rows written by realtime.send will not reach channels',
      });
    }
    await maintainPartitions(sql, log);
    databaseListener = await listenForDatabaseMessages(
      { url: options.databaseUrl, sql, log, applicationName: options.applicationName ?? 'tandem-local-realtime' },
      (message) => deliverDatabaseMessage(ctx, message),
    );
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    throw error;
  }
  const maintenance = setInterval(() => void maintainPartitions(sql, log), options.partitionMaintenanceMs ?? 4 * 3600_000);
  maintenance.unref();

  const handleRequest = createRestBroadcastHandler({
    limits,
    counters,
    log,
    verifyToken: ctx.verifyToken,
    resolveApiKey: options.resolveApiKey,
    async canBroadcast(topic, claims, headers) {
      const policies = await authorizeWrite(sql, emptyPolicies(), { topic, claims, headers }, ['broadcast']);
      return policies.broadcast.write === true;
    },
    deliver: (topic, isPrivate, broadcast) => fanOut(ctx, tenantTopicOf(topic, isPrivate), broadcast),
  });
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => handleUpgrade(ctx, wss, req, socket, head);

  return {
    handleUpgrade: upgrade,
    handleRequest,
    async listen(port: number, host = '127.0.0.1') {
      const server = createServer((req, res) => {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        if (path === REALTIME_API_PREFIX || path.startsWith(`${REALTIME_API_PREFIX}/`)) return handleRequest(req, res);
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'not_found', message: `WebSocket endpoint is ${REALTIME_PATH}` } }));
      });
      server.on('upgrade', upgrade);
      await new Promise<void>((resolve, reject) => {
        server.once('error', (error: NodeJS.ErrnoException) =>
          reject(error.code === 'EADDRINUSE' ? new Error(`port ${port} is already in use on ${host}`) : error),
        );
        server.listen(port, host, () => resolve());
      });
      ownServers.push(server);
      const address = server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      return { url: `ws://${host}:${actualPort}${REALTIME_PATH}`, port: actualPort };
    },
    dropConnections() {
      for (const conn of ctx.connections) conn.ws.terminate();
    },
    async close() {
      clearInterval(maintenance);
      counters.stop();
      for (const conn of ctx.connections) conn.ws.terminate();
      ctx.connections.clear();
      await databaseListener.stop();
      await Promise.all(
        ownServers.map((server) => new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        })),
      );
      wss.close();
      await sql.end({ timeout: 5 });
    },
  };
}
