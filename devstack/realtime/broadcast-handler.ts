/**
 * Broadcasts, as upstream's BroadcastHandler (supabase/realtime
 * lib/realtime_web/channels/realtime_channel/broadcast_handler.ex): a client's push, checked
 * against a private channel's write policy and the payload limit, and the rows that
 * realtime.send commits (database-broadcasts.ts), fanned out to the topic.
 */
import { authorizeWrite, emptyPolicies } from './authorization.ts';
import { authorizationContext, fanOut, reply, tenantTopicOf, type Channel, type RealtimeContext } from './channels.ts';
import type { DatabaseMessage } from './database-broadcasts.ts';
import { broadcastPayload } from './payloads.ts';
import { broadcastSize, type InboundFrame } from './protocol.ts';

/** Answers a `broadcast` push on a joined channel. */
export async function handleBroadcast(ctx: RealtimeContext, channel: Channel, frame: InboundFrame): Promise<void> {
  const broadcast = broadcastPayload.parse(frame.payload);
  if (channel.isPrivate) {
    if (channel.policies?.broadcast.write === undefined) {
      try {
        channel.policies = await authorizeWrite(ctx.sql, channel.policies ?? emptyPolicies(), authorizationContext(channel), ['broadcast', 'presence']);
      } catch (error) {
        ctx.log.error('broadcast_authorization_failed', { topic: channel.subTopic, error: (error as Error).message });
        return;
      }
    }
    // Upstream drops a denied broadcast silently, even with ack.
    if (channel.policies?.broadcast.write !== true) return;
  }
  ctx.counters.events.add();
  if (broadcastSize(broadcast) > ctx.maxPayloadBytes) {
    // Upstream replies {:error, :payload_size_exceeded}: the atom is the whole response.
    if (channel.ackBroadcast) reply(channel.conn, frame, 'error', 'payload_size_exceeded');
    return;
  }
  fanOut(ctx, channel.tenantTopic, broadcast, channel.selfBroadcast ? undefined : channel);
  if (channel.ackBroadcast) reply(channel.conn, frame, 'ok', {});
}

/** Delivers a committed realtime.send row to its topic. */
export function deliverDatabaseMessage(ctx: RealtimeContext, message: DatabaseMessage): void {
  // Upstream's replication handler drops a row while the events limit is triggered, and an oversize one.
  if (ctx.counters.events.triggered) return ctx.log.warn('database_broadcast_dropped', { id: message.id, reason: 'Too many messages per second' });
  if (Buffer.byteLength(message.payloadJson) > ctx.maxPayloadBytes) return ctx.log.warn('database_broadcast_dropped', { id: message.id, reason: 'payload_size_exceeded' });
  ctx.counters.events.add();
  fanOut(ctx, tenantTopicOf(message.topic, message.private), {
    kind: 'user',
    userEvent: message.event,
    encoding: 'json',
    body: Buffer.from(message.payloadJson),
    metadata: { id: message.id },
  });
}
