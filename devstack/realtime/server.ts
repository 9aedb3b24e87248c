/**
 * The devstack's local Realtime: a stand-in for Supabase Realtime (development and tests,
 * no Docker) that speaks the same Phoenix protocol at `/realtime/v1/websocket` and
 * authorizes private channels with RLS on `realtime.messages` exactly as upstream does.
 * Production uses Supabase Realtime itself.
 *
 * Frames of one connection are handled in order, and a join completes before the next
 * frame is read (as a Phoenix socket does); each channel then handles its own events in
 * order, while fan-out (broadcast, presence, database messages) reaches it directly.
 */
import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import postgres from 'postgres';
import { WebSocket, WebSocketServer } from 'ws';
import type { JwtVerifierConfig } from '../../core/auth/jwt.ts';
import { createLogger, type Logger } from '../../core/log.ts';
import {
  authorizeRead,
  authorizeWrite,
  AuthorizationCheckError,
  emptyPolicies,
  type AuthorizationContext,
  type Extension,
  type Policies,
} from './authorization.ts';
import { listenForDatabaseMessages, type DatabaseMessage } from './database-broadcasts.ts';
import { maintainPartitions } from './partitions.ts';
import { PresenceRegistry, type PresenceDiff } from './presence.ts';
import {
  broadcastSize,
  decodeFrame,
  encodeBroadcast,
  encodeMessage,
  isUserBroadcastPush,
  MalformedFrameError,
  type InboundFrame,
  type OutboundBroadcast,
  type Vsn,
} from './protocol.ts';
import { createTenantCounters, DEFAULT_TENANT_LIMITS, maxPayloadBytes as payloadLimitOf, type TenantLimits } from './rate-limits.ts';
import { createRestBroadcastHandler, REALTIME_API_PREFIX } from './rest-broadcast.ts';
import { createRealtimeTokenVerifier, RealtimeTokenError, type Claims } from './tokens.ts';

export const REALTIME_PATH = '/realtime/v1/websocket';

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
  /** Number of open WebSocket connections. */
  connectionCount(): number;
  /** Drops every WebSocket connection at once, as a network loss would (clients reconnect). */
  dropConnections(): void;
  close(): Promise<void>;
}

interface Connection {
  id: string;
  ws: WebSocket;
  vsn: Vsn;
  /** The (resolved) API key: the token used when a join carries none. */
  apiKeyToken: string;
  headers: Record<string, string>;
  channels: Map<string, Channel>;
  inbound: Promise<void>;
}

interface Channel {
  id: string;
  conn: Connection;
  topic: string;
  subTopic: string;
  joinRef: string | null;
  isPrivate: boolean;
  tenantTopic: string;
  presenceEnabled: boolean;
  presenceKey: string;
  ackBroadcast: boolean;
  selfBroadcast: boolean;
  accessToken: string;
  claims: Claims;
  policies: Policies | null;
  expiryTimer?: NodeJS.Timeout;
  presenceWindow: { count: number; resetAt: number };
  /** The payload last tracked (upstream's presence_track_payload): an unchanged track is a no-op. */
  trackedPayloadJson?: string;
  closed: boolean;
  chain: Promise<void>;
}

const CONFIRM_TOKEN_INTERVAL_MS = 5 * 60_000;

/** Upstream's FlexibleBoolean: true, or "true" in any case; anything else is the default, false. */
function flexibleBoolean(value: unknown): boolean {
  return value === true || (typeof value === 'string' && value.toLowerCase() === 'true');
}

function asObject(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function tenantTopicOf(subTopic: string, isPrivate: boolean): string {
  return `${isPrivate ? 'private' : 'public'}|${subTopic}`;
}

function refuseHandshake(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: message });
  const reason = STATUS_CODES[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
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
  const joinErrorBackoffMs = options.joinErrorBackoffMs ?? 5000;
  const connectErrorBackoffMs = options.connectErrorBackoffMs ?? 2000;
  const limits: TenantLimits = { ...DEFAULT_TENANT_LIMITS, ...options.tenant };
  const maxPayloadBytes = payloadLimitOf(limits);
  const counters = createTenantCounters(limits, { tickMs: options.rateCounterTickMs ?? 5000, log });
  /** Sockets with a joined channel (upstream's UsersCounter): what max_concurrent_users limits. */
  const users = new Set<Connection>();
  const verifyToken = createRealtimeTokenVerifier(options.jwt);
  const sql = postgres(options.databaseUrl, {
    max: options.poolSize ?? 10,
    onnotice: () => undefined,
    connection: { application_name: `${options.applicationName ?? 'tandem-local-realtime'}:pool` },
  });
  const presence = new PresenceRegistry();
  const subscribers = new Map<string, Set<Channel>>();
  const connections = new Set<Connection>();
  // Upstream's endpoint: max_frame_size 5_000_000.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 5_000_000, perMessageDeflate: false });
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
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
      deliverDatabaseMessage,
    );
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    throw error;
  }
  const maintenance = setInterval(() => void maintainPartitions(sql, log), options.partitionMaintenanceMs ?? 4 * 3600_000);
  maintenance.unref();

  // ---- sending -------------------------------------------------------------------------

  function send(conn: Connection, data: string | Buffer): void {
    if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(data);
  }

  function reply(conn: Connection, frame: { joinRef: string | null; ref: string | null; topic: string }, status: 'ok' | 'error', response: unknown): void {
    send(conn, encodeMessage(conn.vsn, { joinRef: frame.joinRef, ref: frame.ref, topic: frame.topic, event: 'phx_reply', payload: { status, response } }));
  }

  function push(channel: Channel, event: string, payload: unknown): void {
    send(channel.conn, encodeMessage(channel.conn.vsn, { joinRef: channel.joinRef, ref: null, topic: channel.topic, event, payload }));
  }

  /**
   * Sends a broadcast to the topic's subscribers. As upstream's MessageDispatcher, each copy
   * counts as an event, and a receiving channel while the events limit is triggered gets its
   * copy, then `Too many messages per second` and is closed.
   */
  function fanOut(tenantTopic: string, broadcast: OutboundBroadcast, except?: Channel): void {
    const encoded = new Map<Vsn, string | Buffer | undefined>();
    const overLimit: Channel[] = [];
    for (const channel of subscribers.get(tenantTopic) ?? []) {
      if (channel === except || channel.closed) continue;
      if (channel.isPrivate && channel.policies?.broadcast.read !== true) continue;
      const vsn = channel.conn.vsn;
      if (!encoded.has(vsn)) encoded.set(vsn, encodeBroadcast(vsn, channel.topic, broadcast));
      const frame = encoded.get(vsn);
      if (frame !== undefined) send(channel.conn, frame);
      counters.events.add();
      if (counters.events.triggered) overLimit.push(channel);
    }
    for (const channel of overLimit) enqueue(channel, () => shutdown(channel, 'Too many messages per second'));
  }

  function fanOutPresence(tenantTopic: string, diff: PresenceDiff | undefined): void {
    if (!diff) return;
    let delivered = 0;
    for (const channel of subscribers.get(tenantTopic) ?? []) {
      if (channel.closed) continue;
      if (channel.isPrivate && channel.policies?.presence.read !== true) continue;
      send(channel.conn, encodeMessage(channel.conn.vsn, { joinRef: null, ref: null, topic: channel.topic, event: 'presence_diff', payload: diff }));
      delivered += 1;
    }
    counters.presence.add(delivered);
  }

  /** Upstream's limit_presence_event: over the average the event is refused, else it counts. */
  function presenceWithinLimit(): boolean {
    if (counters.presence.avg > limits.max_presence_events_per_second) return false;
    counters.presence.add();
    return true;
  }

  function deliverDatabaseMessage(message: DatabaseMessage): void {
    // Upstream's replication handler drops a row while the events limit is triggered, and an oversize one.
    if (counters.events.triggered) return log.warn('database_broadcast_dropped', { id: message.id, reason: 'Too many messages per second' });
    if (Buffer.byteLength(message.payloadJson) > maxPayloadBytes) return log.warn('database_broadcast_dropped', { id: message.id, reason: 'payload_size_exceeded' });
    counters.events.add();
    fanOut(tenantTopicOf(message.topic, message.private), {
      kind: 'user',
      userEvent: message.event,
      encoding: 'json',
      body: Buffer.from(message.payloadJson),
      metadata: { id: message.id },
    });
  }

  const handleRequest = createRestBroadcastHandler({
    limits,
    counters,
    log,
    verifyToken,
    resolveApiKey: options.resolveApiKey,
    async canBroadcast(topic, claims, headers) {
      const policies = await authorizeWrite(sql, emptyPolicies(), { topic, claims, headers }, ['broadcast']);
      return policies.broadcast.write === true;
    },
    deliver: (topic, isPrivate, broadcast) => fanOut(tenantTopicOf(topic, isPrivate), broadcast),
  });

  // ---- channel lifecycle -----------------------------------------------------------------

  function authorizationContext(channel: Pick<Channel, 'subTopic' | 'claims' | 'conn'>): AuthorizationContext {
    return { topic: channel.subTopic, claims: channel.claims, headers: channel.conn.headers };
  }

  function readExtensions(presenceEnabled: boolean): Extension[] {
    return presenceEnabled ? ['broadcast', 'presence'] : ['broadcast'];
  }

  function scheduleTokenCheck(channel: Channel): void {
    clearTimeout(channel.expiryTimer);
    const untilExpiry = channel.claims.exp * 1000 - Date.now();
    channel.expiryTimer = setTimeout(() => enqueue(channel, () => confirmToken(channel)), Math.max(0, Math.min(CONFIRM_TOKEN_INTERVAL_MS, untilExpiry)));
    channel.expiryTimer.unref();
  }

  async function confirmToken(channel: Channel): Promise<void> {
    if (channel.closed) return;
    try {
      channel.claims = await verifyToken(channel.accessToken);
      scheduleTokenCheck(channel);
    } catch (error) {
      const message = error instanceof RealtimeTokenError ? error.message : String(error);
      shutdown(channel, message);
    }
  }

  /** Closes a channel; `notify` sends phx_close (or phx_error after a crash) to the client. */
  function closeChannel(channel: Channel, notify: 'phx_close' | 'phx_error' | false): void {
    if (channel.closed) return;
    channel.closed = true;
    clearTimeout(channel.expiryTimer);
    subscribers.get(channel.tenantTopic)?.delete(channel);
    if (subscribers.get(channel.tenantTopic)?.size === 0) subscribers.delete(channel.tenantTopic);
    if (channel.conn.channels.get(channel.topic) === channel) channel.conn.channels.delete(channel.topic);
    fanOutPresence(channel.tenantTopic, presence.untrack(channel.tenantTopic, channel.id));
    if (notify) send(channel.conn, encodeMessage(channel.conn.vsn, { joinRef: channel.joinRef, ref: channel.joinRef, topic: channel.topic, event: notify, payload: {} }));
  }

  /** Upstream's shutdown_response: a system error message, then the channel closes. */
  function shutdown(channel: Channel, message: string): void {
    if (channel.closed) return;
    push(channel, 'system', { extension: 'system', status: 'error', message, channel: channel.subTopic });
    log.warn('channel_shutdown', { topic: channel.subTopic, message });
    closeChannel(channel, 'phx_close');
  }

  function enqueue(channel: Channel, task: () => Promise<void> | void): void {
    channel.chain = channel.chain
      .then(async () => {
        if (!channel.closed) await task();
      })
      .catch((error: unknown) => {
        log.error('channel_crashed', { topic: channel.subTopic, error });
        closeChannel(channel, 'phx_error');
      });
  }

  async function refuseJoin(conn: Connection, frame: InboundFrame, reason: string): Promise<void> {
    log.warn('join_refused', { topic: frame.topic, reason });
    if (joinErrorBackoffMs > 0) await new Promise((resolve) => setTimeout(resolve, joinErrorBackoffMs));
    reply(conn, frame, 'error', { reason });
  }

  function describeCheckError(error: unknown, topic: string): string {
    if (error instanceof AuthorizationCheckError) {
      switch (error.kind) {
        case 'rls_policy_error':
          return `Unauthorized: You do not have permissions to read from this Channel topic: ${topic}`;
        case 'missing_partition':
          return 'MissingPartition: Realtime was unable to find the expected messages partition';
        case 'query_canceled':
          return `QueryCanceled: ${error.message}`;
        default:
          return 'UnableToConnectToProject: Realtime was unable to connect to the project database';
      }
    }
    return 'Unknown Error on Channel';
  }

  async function join(conn: Connection, frame: InboundFrame): Promise<void> {
    if (!frame.topic.startsWith('realtime:')) {
      reply(conn, { joinRef: null, ref: frame.ref, topic: frame.topic }, 'error', { reason: 'unmatched topic' });
      return;
    }
    const subTopic = frame.topic.slice('realtime:'.length);
    if (!subTopic) return refuseJoin(conn, frame, 'TopicNameRequired: You must provide a topic name');

    // A second join of the same topic replaces the first, as a Phoenix socket does.
    const existing = conn.channels.get(frame.topic);
    if (existing) closeChannel(existing, 'phx_close');

    const params = asObject(frame.payload);
    const config = asObject(params.config);
    const broadcastConfig = asObject(config.broadcast);
    const presenceConfig = asObject(config.presence);
    const isPrivate = flexibleBoolean(config.private);
    const presenceEnabled = flexibleBoolean(presenceConfig.enabled);
    const key = presenceConfig.key;
    const presenceKey = typeof key === 'string' && key !== '' ? key : key !== undefined && key !== null && key !== '' ? String(key) : randomUUID();
    // Upstream's assign_access_token: an `sb_` key means the socket's API key; else user_token, then access_token.
    const offered = params.access_token !== undefined && params.access_token !== null && params.access_token !== false ? params.access_token : params.user_token;
    const accessToken =
      typeof offered === 'string' && offered.startsWith('sb_')
        ? conn.apiKeyToken
        : typeof params.user_token === 'string'
          ? params.user_token
          : typeof params.access_token === 'string'
            ? params.access_token
            : conn.apiKeyToken;

    // Upstream's order: private_only, concurrent users, joins per second, channels per socket, then the token.
    if (limits.private_only && !isPrivate) return refuseJoin(conn, frame, 'PrivateOnly: This project only allows private channels');
    if (!users.has(conn) && users.size >= limits.max_concurrent_users) {
      log.error('rate_limit_reached', { code: 'ConnectionRateLimitReached', message: 'Too many connected users' });
      return refuseJoin(conn, frame, 'ConnectionRateLimitReached: Too many connected users');
    }
    if (counters.joins.triggered) {
      // Upstream asks the transport to disconnect; the transport, blocked in the join, first relays its refusal.
      await refuseJoin(conn, frame, 'ClientJoinRateLimitReached: Too many joins per second');
      conn.ws.close(1000, 'disconnect');
      return;
    }
    counters.joins.add();
    if (conn.channels.size >= limits.max_channels_per_client) return refuseJoin(conn, frame, 'ChannelRateLimitReached: Too many channels');

    let claims: Claims;
    try {
      claims = await verifyToken(accessToken);
    } catch (error) {
      return refuseJoin(conn, frame, error instanceof RealtimeTokenError ? error.reason : 'Unknown Error on Channel');
    }

    let policies: Policies | null = null;
    if (isPrivate) {
      try {
        policies = await authorizeRead(sql, emptyPolicies(), { topic: subTopic, claims, headers: conn.headers }, readExtensions(presenceEnabled));
      } catch (error) {
        if (error instanceof AuthorizationCheckError && error.kind === 'rls_policy_error') log.error('rls_policy_error', { topic: subTopic, error: error.message });
        return refuseJoin(conn, frame, describeCheckError(error, subTopic));
      }
      if (!policies.broadcast.read && !policies.presence.read) {
        return refuseJoin(conn, frame, `Unauthorized: You do not have permissions to read from this Channel topic: ${subTopic}`);
      }
    }

    if (conn.ws.readyState !== WebSocket.OPEN) return;

    const channel: Channel = {
      id: randomUUID(),
      conn,
      topic: frame.topic,
      subTopic,
      joinRef: frame.joinRef ?? frame.ref,
      isPrivate,
      tenantTopic: tenantTopicOf(subTopic, isPrivate),
      presenceEnabled,
      presenceKey,
      ackBroadcast: flexibleBoolean(broadcastConfig.ack),
      selfBroadcast: flexibleBoolean(broadcastConfig.self),
      accessToken,
      claims,
      policies,
      presenceWindow: { count: 0, resetAt: 0 },
      closed: false,
      chain: Promise.resolve(),
    };
    conn.channels.set(frame.topic, channel);
    users.add(conn);
    const group = subscribers.get(channel.tenantTopic) ?? new Set<Channel>();
    group.add(channel);
    subscribers.set(channel.tenantTopic, group);
    scheduleTokenCheck(channel);

    const postgresChanges = Array.isArray(config.postgres_changes) ? config.postgres_changes.filter((entry) => entry !== null) : [];
    reply(conn, frame, 'ok', { postgres_changes: postgresChanges.map((entry, index) => ({ ...asObject(entry), id: index + 1 })) });
    if (postgresChanges.length > 0) {
      push(channel, 'system', {
        extension: 'postgres_changes',
        status: 'error',
        message: 'postgres_changes are not supported by the local Realtime; use broadcast (realtime.send) instead',
        channel: subTopic,
      });
    }
    if (presenceEnabled && (!isPrivate || policies?.presence.read === true)) {
      if (!presenceWithinLimit()) return shutdown(channel, 'Too many presence messages per second');
      push(channel, 'presence_state', presence.list(channel.tenantTopic));
    }
  }

  // ---- channel events --------------------------------------------------------------------

  async function ensureWrite(channel: Channel): Promise<Policies> {
    let policies = channel.policies ?? emptyPolicies();
    if (policies.presence.read === undefined) {
      policies = await authorizeRead(sql, policies, authorizationContext(channel), ['broadcast', 'presence']);
    }
    return authorizeWrite(sql, policies, authorizationContext(channel), ['broadcast', 'presence']);
  }

  async function handleBroadcast(channel: Channel, frame: InboundFrame): Promise<void> {
    let broadcast: OutboundBroadcast;
    if (isUserBroadcastPush(frame.payload)) {
      broadcast = { kind: 'user', userEvent: frame.payload.userEvent, encoding: frame.payload.encoding, body: frame.payload.body };
    } else {
      // Upstream relays whatever JSON the client sent as the broadcast's payload.
      broadcast = { kind: 'json', payload: frame.payload };
    }
    if (channel.isPrivate) {
      if (channel.policies?.broadcast.write === undefined) {
        try {
          channel.policies = await authorizeWrite(sql, channel.policies ?? emptyPolicies(), authorizationContext(channel), ['broadcast', 'presence']);
        } catch (error) {
          log.error('broadcast_authorization_failed', { topic: channel.subTopic, error: (error as Error).message });
          return;
        }
      }
      // Upstream drops a denied broadcast silently, even with ack.
      if (channel.policies?.broadcast.write !== true) return;
    }
    counters.events.add();
    if (broadcastSize(broadcast) > maxPayloadBytes) {
      // Upstream replies {:error, :payload_size_exceeded}: the atom is the whole response.
      if (channel.ackBroadcast) reply(channel.conn, frame, 'error', 'payload_size_exceeded');
      return;
    }
    fanOut(channel.tenantTopic, broadcast, channel.selfBroadcast ? undefined : channel);
    if (channel.ackBroadcast) reply(channel.conn, frame, 'ok', {});
  }

  async function handlePresence(channel: Channel, frame: InboundFrame): Promise<void> {
    const payload = asObject(frame.payload);
    if (typeof payload.event !== 'string') return reply(channel.conn, frame, 'ok', {});
    const now = Date.now();
    const window = channel.presenceWindow;
    if (now > window.resetAt) {
      window.count = 1;
      window.resetAt = now + limits.client_presence_window_ms;
    } else if (window.count >= limits.max_client_presence_events_per_window) {
      log.error('client_presence_rate_limit', { topic: channel.subTopic });
      return shutdown(channel, 'Client presence rate limit exceeded');
    } else {
      window.count += 1;
    }

    const event = payload.event.toLowerCase();
    if (event === 'untrack') {
      channel.trackedPayloadJson = undefined;
      fanOutPresence(channel.tenantTopic, presence.untrack(channel.tenantTopic, channel.id));
      return reply(channel.conn, frame, 'ok', {});
    }
    if (event !== 'track') {
      log.error('unknown_presence_event', { event });
      return reply(channel.conn, frame, 'error', {});
    }
    if (channel.isPrivate) {
      if (channel.policies?.presence.write === undefined) {
        try {
          channel.policies = await ensureWrite(channel);
        } catch (error) {
          log.error('presence_authorization_failed', { topic: channel.subTopic, error: (error as Error).message });
          return reply(channel.conn, frame, 'error', {});
        }
      }
      if (channel.policies?.presence.write !== true) return reply(channel.conn, frame, 'error', {});
    }
    const trackPayload = payload.payload === undefined ? {} : payload.payload;
    if (!trackPayload || typeof trackPayload !== 'object' || Array.isArray(trackPayload)) {
      return reply(channel.conn, frame, 'error', { reason: 'Presence track payload must be a map' });
    }
    const trackedJson = JSON.stringify(trackPayload);
    if (trackedJson === channel.trackedPayloadJson) return reply(channel.conn, frame, 'ok', {});
    if (Buffer.byteLength(trackedJson) > maxPayloadBytes) return shutdown(channel, 'Track message size exceeded');
    if (!presenceWithinLimit()) return shutdown(channel, 'Too many presence messages per second');
    channel.trackedPayloadJson = trackedJson;
    channel.presenceEnabled = true;
    fanOutPresence(channel.tenantTopic, presence.track(channel.tenantTopic, channel.id, channel.presenceKey, trackPayload as Record<string, unknown>));
    reply(channel.conn, frame, 'ok', {});
  }

  async function handleAccessToken(channel: Channel, frame: InboundFrame): Promise<void> {
    const token = asObject(frame.payload).access_token;
    // Upstream's access_token clauses take a string or null; anything else is an unknown message.
    if (typeof token !== 'string') return token === null ? undefined : ignoreUnknown(channel);
    if (token.startsWith('sb_') || token === channel.accessToken) return;
    const previous = channel.policies;
    channel.accessToken = token;
    let claims: Claims;
    try {
      claims = await verifyToken(token);
    } catch (error) {
      if (!(error instanceof RealtimeTokenError)) throw error;
      // Upstream words a bad signature as the inspected atom here.
      return shutdown(channel, error.code === 'JwtSignatureError' ? ':signature_error' : error.message);
    }
    channel.claims = claims;
    if (channel.isPrivate) {
      let policies: Policies;
      try {
        policies = await authorizeRead(sql, emptyPolicies(), authorizationContext(channel), readExtensions(channel.presenceEnabled));
      } catch (error) {
        if (error instanceof AuthorizationCheckError && error.kind === 'rls_policy_error') {
          return shutdown(channel, `You do not have permissions to read from this Channel topic: ${channel.subTopic}`);
        }
        if (error instanceof AuthorizationCheckError && error.kind === 'query_canceled') return shutdown(channel, 'Query was cancelled, please try again');
        return shutdown(channel, 'Realtime was unable to connect to the project database');
      }
      if (!policies.broadcast.read && !policies.presence.read) {
        return shutdown(channel, `You do not have permissions to read from this Channel topic: ${channel.subTopic}`);
      }
      const revoked =
        (previous?.broadcast.read === true && policies.broadcast.read === false) ||
        (previous?.presence.read === true && policies.presence.read === false);
      if (revoked) return shutdown(channel, `You no longer have permission to read from this Channel topic: ${channel.subTopic}`);
      channel.policies = policies;
    }
    scheduleTokenCheck(channel);
  }

  function handleChannelEvent(channel: Channel, frame: InboundFrame): Promise<void> | void {
    switch (frame.event) {
      case 'broadcast':
        return handleBroadcast(channel, frame);
      case 'presence':
        return handlePresence(channel, frame);
      case 'access_token':
        return handleAccessToken(channel, frame);
      case 'phx_leave':
        // A leave for an older join raced a server close: Phoenix does not answer it.
        if (frame.joinRef !== null && channel.joinRef !== null && frame.joinRef !== channel.joinRef) return;
        reply(channel.conn, frame, 'ok', {});
        return closeChannel(channel, 'phx_close');
      default:
        return ignoreUnknown(channel, frame.event);
    }
  }

  /** Upstream's catch-all handle_in: counted as an event, logged at info, never answered. */
  function ignoreUnknown(channel: Channel, event = 'access_token'): void {
    counters.events.add();
    log.info('unexpected_client_message', { topic: channel.subTopic, event });
  }

  // ---- connections -----------------------------------------------------------------------

  async function handleFrame(conn: Connection, data: Buffer, isBinary: boolean): Promise<void> {
    let frame: InboundFrame;
    try {
      frame = decodeFrame(conn.vsn, data, isBinary);
    } catch (error) {
      // Upstream's socket rescues a frame it cannot decode: logged, dropped, the socket kept.
      log.error('malformed_websocket_message', { error: error instanceof MalformedFrameError ? error.message : String(error) });
      return;
    }
    if (frame.topic === 'phoenix' && frame.event === 'heartbeat') return reply(conn, frame, 'ok', {});
    if (frame.event === 'phx_join') return join(conn, frame);
    const channel = conn.channels.get(frame.topic);
    if (channel) {
      enqueue(channel, () => handleChannelEvent(channel, frame));
      return;
    }
    if (frame.event === 'phx_leave') return reply(conn, frame, 'ok', {});
    reply(conn, { joinRef: null, ref: frame.ref, topic: frame.topic }, 'error', { reason: 'unmatched topic' });
  }

  function accept(ws: WebSocket, vsn: Vsn, apiKeyToken: string, headers: Record<string, string>): void {
    const conn: Connection = { id: randomUUID(), ws, vsn, apiKeyToken, headers, channels: new Map(), inbound: Promise.resolve() };
    connections.add(conn);
    let idle: NodeJS.Timeout | undefined;
    const armIdleTimer = () => {
      clearTimeout(idle);
      idle = setTimeout(() => ws.close(1000, 'idle timeout'), idleTimeoutMs);
      idle.unref();
    };
    armIdleTimer();
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      armIdleTimer();
      const buffer = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      conn.inbound = conn.inbound
        .then(() => handleFrame(conn, buffer, isBinary))
        .catch((error: unknown) => log.error('frame_failed', { error }));
    });
    ws.on('close', () => {
      clearTimeout(idle);
      connections.delete(conn);
      users.delete(conn);
      for (const channel of [...conn.channels.values()]) closeChannel(channel, false);
    });
    ws.on('error', (error) => log.warn('socket_error', { error: error.message }));
  }

  /** Upstream's connect_error: every refusal from UserSocket.connect waits CONNECT_ERROR_BACKOFF_MS first. */
  async function refuseConnect(socket: Duplex, status: number, message: string): Promise<void> {
    if (connectErrorBackoffMs > 0) await new Promise((resolve) => setTimeout(resolve, connectErrorBackoffMs));
    refuseHandshake(socket, status, message);
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      // These two are Phoenix's own checks, made before UserSocket.connect (no backoff).
      if (url.pathname.replace(/\/+$/, '') !== REALTIME_PATH) return refuseHandshake(socket, 404, 'Not Found');
      const requested = url.searchParams.get('vsn') ?? '1.0.0';
      // Phoenix matches "~> 1.0.0" and "~> 2.0.0".
      const vsn: Vsn | undefined = /^2\.0\.\d+$/.test(requested) ? '2.0.0' : /^1\.0\.\d+$/.test(requested) ? '1.0.0' : undefined;
      if (!vsn) return refuseHandshake(socket, 403, `The client's requested transport version "${requested}" does not match server's version requirements`);
      const headerKey = req.headers['x-api-key'];
      const apiKey = (Array.isArray(headerKey) ? headerKey[0] : headerKey) ?? url.searchParams.get('apikey') ?? undefined;
      if (!apiKey) return refuseConnect(socket, 401, 'API key is missing');
      const apiKeyToken = apiKey.startsWith('sb_') ? options.resolveApiKey?.(apiKey) : apiKey;
      if (!apiKeyToken) return refuseConnect(socket, 401, 'The token provided is not a valid JWT');
      try {
        await verifyToken(apiKeyToken);
      } catch (error) {
        return refuseConnect(socket, 401, error instanceof RealtimeTokenError ? error.handshakeMessage : 'Error connecting to Realtime');
      }
      // Upstream's TenantRateLimiters.check_tenant.
      if (users.size >= limits.max_concurrent_users) return refuseConnect(socket, 429, 'Too many connected users');
      if (counters.joins.triggered) return refuseConnect(socket, 429, 'Too many joins per second');
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (name.startsWith('x-') && value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      wss.handleUpgrade(req, socket, head, (ws) => accept(ws, vsn, apiKeyToken, headers));
    })().catch((error: unknown) => {
      log.error('upgrade_failed', { error });
      socket.destroy();
    });
  }

  return {
    handleUpgrade,
    handleRequest,
    async listen(port: number, host = '127.0.0.1') {
      const server = createServer((req, res) => {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        if (path === REALTIME_API_PREFIX || path.startsWith(`${REALTIME_API_PREFIX}/`)) return handleRequest(req, res);
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'not_found', message: `WebSocket endpoint is ${REALTIME_PATH}` } }));
      });
      server.on('upgrade', handleUpgrade);
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
    connectionCount: () => connections.size,
    dropConnections() {
      for (const conn of connections) conn.ws.terminate();
    },
    async close() {
      clearInterval(maintenance);
      counters.stop();
      for (const conn of connections) conn.ws.terminate();
      connections.clear();
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
