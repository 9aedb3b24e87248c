/**
 * phx_join, as upstream's RealtimeChannel.join (supabase/realtime
 * lib/realtime_web/channels/realtime_channel.ex): the tenant's limits, the token, RLS on
 * realtime.messages for a private channel, then the reply, the postgres_changes refusal
 * and the presence state.
 */
import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { authorizeRead, AuthorizationCheckError, emptyPolicies, type Policies } from './authorization.ts';
import { closeChannel, push, readExtensions, reply, shutdown, subscribe, tenantTopicOf, type Channel, type Connection, type RealtimeContext } from './channels.ts';
import { readJoin } from './payloads.ts';
import { presenceWithinLimit } from './presence-handler.ts';
import type { InboundFrame } from './protocol.ts';
import { RealtimeTokenError, type Claims } from './tokens.ts';

async function refuseJoin(ctx: RealtimeContext, conn: Connection, frame: InboundFrame, reason: string): Promise<void> {
  ctx.log.warn('join_refused', { topic: frame.topic, reason });
  if (ctx.joinErrorBackoffMs > 0) await new Promise((resolve) => setTimeout(resolve, ctx.joinErrorBackoffMs));
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

/** Answers a phx_join frame; the socket reads its next frame only after this settles. */
export async function join(ctx: RealtimeContext, conn: Connection, frame: InboundFrame): Promise<void> {
  const { limits, counters, log } = ctx;
  if (!frame.topic.startsWith('realtime:')) {
    reply(conn, { joinRef: null, ref: frame.ref, topic: frame.topic }, 'error', { reason: 'unmatched topic' });
    return;
  }
  const subTopic = frame.topic.slice('realtime:'.length);
  if (!subTopic) return refuseJoin(ctx, conn, frame, 'TopicNameRequired: You must provide a topic name');

  // A second join of the same topic replaces the first, as a Phoenix socket does.
  const existing = conn.channels.get(frame.topic);
  if (existing) closeChannel(ctx, existing, 'phx_close');

  const request = readJoin(frame.payload, conn.apiKeyToken);
  const { isPrivate, presenceEnabled } = request;

  // Upstream's order: private_only, concurrent users, joins per second, channels per socket, then the token.
  if (limits.private_only && !isPrivate) return refuseJoin(ctx, conn, frame, 'PrivateOnly: This project only allows private channels');
  if (!ctx.users.has(conn) && ctx.users.size >= limits.max_concurrent_users) {
    log.error('rate_limit_reached', { code: 'ConnectionRateLimitReached', message: 'Too many connected users' });
    return refuseJoin(ctx, conn, frame, 'ConnectionRateLimitReached: Too many connected users');
  }
  if (counters.joins.triggered) {
    // Upstream asks the transport to disconnect; the transport, blocked in the join, first relays its refusal.
    await refuseJoin(ctx, conn, frame, 'ClientJoinRateLimitReached: Too many joins per second');
    conn.ws.close(1000, 'disconnect');
    return;
  }
  counters.joins.add();
  if (conn.channels.size >= limits.max_channels_per_client) return refuseJoin(ctx, conn, frame, 'ChannelRateLimitReached: Too many channels');

  let claims: Claims;
  try {
    claims = await ctx.verifyToken(request.accessToken);
  } catch (error) {
    return refuseJoin(ctx, conn, frame, error instanceof RealtimeTokenError ? error.reason : 'Unknown Error on Channel');
  }

  let policies: Policies | null = null;
  if (isPrivate) {
    try {
      policies = await authorizeRead(ctx.sql, emptyPolicies(), { topic: subTopic, claims, headers: conn.headers }, readExtensions(presenceEnabled));
    } catch (error) {
      if (error instanceof AuthorizationCheckError && error.kind === 'rls_policy_error') log.error('rls_policy_error', { topic: subTopic, error: error.message });
      return refuseJoin(ctx, conn, frame, describeCheckError(error, subTopic));
    }
    if (!policies.broadcast.read && !policies.presence.read) {
      return refuseJoin(ctx, conn, frame, `Unauthorized: You do not have permissions to read from this Channel topic: ${subTopic}`);
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
    presenceKey: request.presenceKey,
    ackBroadcast: request.ackBroadcast,
    selfBroadcast: request.selfBroadcast,
    accessToken: request.accessToken,
    claims,
    policies,
    presenceWindow: { count: 0, resetAt: 0 },
    closed: false,
    chain: Promise.resolve(),
  };
  subscribe(ctx, channel);

  const postgresChanges = request.postgresChanges;
  reply(conn, frame, 'ok', { postgres_changes: postgresChanges.map((entry, index) => ({ ...entry, id: index + 1 })) });
  if (postgresChanges.length > 0) {
    push(channel, 'system', {
      extension: 'postgres_changes',
      status: 'error',
      message: 'postgres_changes are not supported by the local Realtime; use broadcast (realtime.send) instead',
      channel: subTopic,
    });
  }
  if (presenceEnabled && (!isPrivate || policies?.presence.read === true)) {
    if (!presenceWithinLimit(ctx)) return shutdown(ctx, channel, 'Too many presence messages per second');
    push(channel, 'presence_state', ctx.presence.list(channel.tenantTopic));
  }
}
