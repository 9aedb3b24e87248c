/**
 * The local Realtime's connections and joined channels, and what every handler does with
 * them: send to a socket, fan a broadcast or a presence diff out to a topic's subscribers,
 * run a channel's events in order, re-check its token, shut it down. The handlers
 * (join.ts, broadcast-handler.ts, presence-handler.ts, channel-events.ts) and the socket
 * (socket.ts) share one RealtimeContext, built by server.ts.
 */
import type postgres from 'postgres';
import { WebSocket } from 'ws';
import type { Logger } from '../../core/log.ts';
import type { AuthorizationContext, Extension, Policies } from './authorization.ts';
import type { PresenceDiff, PresenceRegistry } from './presence.ts';
import { encodeBroadcast, encodeMessage, type OutboundBroadcast, type Vsn } from './protocol.ts';
import type { createTenantCounters, TenantLimits } from './rate-limits.ts';
import { RealtimeTokenError, type Claims } from './tokens.ts';

export interface Connection {
  id: string;
  ws: WebSocket;
  vsn: Vsn;
  /** The (resolved) API key: the token used when a join carries none. */
  apiKeyToken: string;
  headers: Record<string, string>;
  channels: Map<string, Channel>;
  inbound: Promise<void>;
}

export interface Channel {
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

/** What the handlers of one server share. */
export interface RealtimeContext {
  sql: postgres.Sql;
  log: Logger;
  limits: TenantLimits;
  maxPayloadBytes: number;
  counters: ReturnType<typeof createTenantCounters>;
  verifyToken: (token: string) => Promise<Claims>;
  presence: PresenceRegistry;
  /** Joined channels by tenant topic. */
  subscribers: Map<string, Set<Channel>>;
  /** Sockets with a joined channel (upstream's UsersCounter): what max_concurrent_users limits. */
  users: Set<Connection>;
  connections: Set<Connection>;
  joinErrorBackoffMs: number;
  connectErrorBackoffMs: number;
  idleTimeoutMs: number;
  resolveApiKey?: (apiKey: string) => string | undefined;
}

const CONFIRM_TOKEN_INTERVAL_MS = 5 * 60_000;

export function tenantTopicOf(subTopic: string, isPrivate: boolean): string {
  return `${isPrivate ? 'private' : 'public'}|${subTopic}`;
}

export function send(conn: Connection, data: string | Buffer): void {
  if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(data);
}

export function reply(conn: Connection, frame: { joinRef: string | null; ref: string | null; topic: string }, status: 'ok' | 'error', response: unknown): void {
  send(conn, encodeMessage(conn.vsn, { joinRef: frame.joinRef, ref: frame.ref, topic: frame.topic, event: 'phx_reply', payload: { status, response } }));
}

export function push(channel: Channel, event: string, payload: unknown): void {
  send(channel.conn, encodeMessage(channel.conn.vsn, { joinRef: channel.joinRef, ref: null, topic: channel.topic, event, payload }));
}

export function authorizationContext(channel: Pick<Channel, 'subTopic' | 'claims' | 'conn'>): AuthorizationContext {
  return { topic: channel.subTopic, claims: channel.claims, headers: channel.conn.headers };
}

export function readExtensions(presenceEnabled: boolean): Extension[] {
  return presenceEnabled ? ['broadcast', 'presence'] : ['broadcast'];
}

/**
 * Sends a broadcast to the topic's subscribers. As upstream's MessageDispatcher, each copy
 * counts as an event, and a receiving channel while the events limit is triggered gets its
 * copy, then `Too many messages per second` and is closed.
 */
export function fanOut(ctx: RealtimeContext, tenantTopic: string, broadcast: OutboundBroadcast, except?: Channel): void {
  const encoded = new Map<Vsn, string | Buffer | undefined>();
  const overLimit: Channel[] = [];
  for (const channel of ctx.subscribers.get(tenantTopic) ?? []) {
    if (channel === except || channel.closed) continue;
    if (channel.isPrivate && channel.policies?.broadcast.read !== true) continue;
    const vsn = channel.conn.vsn;
    if (!encoded.has(vsn)) encoded.set(vsn, encodeBroadcast(vsn, channel.topic, broadcast));
    const frame = encoded.get(vsn);
    if (frame !== undefined) send(channel.conn, frame);
    ctx.counters.events.add();
    if (ctx.counters.events.triggered) overLimit.push(channel);
  }
  for (const channel of overLimit) enqueue(ctx, channel, () => shutdown(ctx, channel, 'Too many messages per second'));
}

export function fanOutPresence(ctx: RealtimeContext, tenantTopic: string, diff: PresenceDiff | undefined): void {
  if (!diff) return;
  let delivered = 0;
  for (const channel of ctx.subscribers.get(tenantTopic) ?? []) {
    if (channel.closed) continue;
    if (channel.isPrivate && channel.policies?.presence.read !== true) continue;
    send(channel.conn, encodeMessage(channel.conn.vsn, { joinRef: null, ref: null, topic: channel.topic, event: 'presence_diff', payload: diff }));
    delivered += 1;
  }
  ctx.counters.presence.add(delivered);
}

/** Adds a joined channel to its socket and its topic's subscribers, and starts its token checks. */
export function subscribe(ctx: RealtimeContext, channel: Channel): void {
  channel.conn.channels.set(channel.topic, channel);
  ctx.users.add(channel.conn);
  const group = ctx.subscribers.get(channel.tenantTopic) ?? new Set<Channel>();
  group.add(channel);
  ctx.subscribers.set(channel.tenantTopic, group);
  scheduleTokenCheck(ctx, channel);
}

export function scheduleTokenCheck(ctx: RealtimeContext, channel: Channel): void {
  clearTimeout(channel.expiryTimer);
  const untilExpiry = channel.claims.exp * 1000 - Date.now();
  channel.expiryTimer = setTimeout(() => enqueue(ctx, channel, () => confirmToken(ctx, channel)), Math.max(0, Math.min(CONFIRM_TOKEN_INTERVAL_MS, untilExpiry)));
  channel.expiryTimer.unref();
}

async function confirmToken(ctx: RealtimeContext, channel: Channel): Promise<void> {
  if (channel.closed) return;
  try {
    channel.claims = await ctx.verifyToken(channel.accessToken);
    scheduleTokenCheck(ctx, channel);
  } catch (error) {
    const message = error instanceof RealtimeTokenError ? error.message : String(error);
    shutdown(ctx, channel, message);
  }
}

/** Closes a channel; `notify` sends phx_close (or phx_error after a crash) to the client. */
export function closeChannel(ctx: RealtimeContext, channel: Channel, notify: 'phx_close' | 'phx_error' | false): void {
  if (channel.closed) return;
  channel.closed = true;
  clearTimeout(channel.expiryTimer);
  ctx.subscribers.get(channel.tenantTopic)?.delete(channel);
  if (ctx.subscribers.get(channel.tenantTopic)?.size === 0) ctx.subscribers.delete(channel.tenantTopic);
  if (channel.conn.channels.get(channel.topic) === channel) channel.conn.channels.delete(channel.topic);
  fanOutPresence(ctx, channel.tenantTopic, ctx.presence.untrack(channel.tenantTopic, channel.id));
  if (notify) send(channel.conn, encodeMessage(channel.conn.vsn, { joinRef: channel.joinRef, ref: channel.joinRef, topic: channel.topic, event: notify, payload: {} }));
}

/** Upstream's shutdown_response: a system error message, then the channel closes. */
export function shutdown(ctx: RealtimeContext, channel: Channel, message: string): void {
  if (channel.closed) return;
  push(channel, 'system', { extension: 'system', status: 'error', message, channel: channel.subTopic });
  ctx.log.warn('channel_shutdown', { topic: channel.subTopic, message });
  closeChannel(ctx, channel, 'phx_close');
}

/** Runs a task after the channel's earlier ones; a task that throws crashes the channel (phx_error). */
export function enqueue(ctx: RealtimeContext, channel: Channel, task: () => Promise<void> | void): void {
  channel.chain = channel.chain
    .then(async () => {
      if (!channel.closed) await task();
    })
    .catch((error: unknown) => {
      ctx.log.error('channel_crashed', { topic: channel.subTopic, error });
      closeChannel(ctx, channel, 'phx_error');
    });
}
