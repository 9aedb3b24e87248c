/**
 * Presence pushes, as upstream's PresenceHandler (supabase/realtime
 * lib/realtime_web/channels/realtime_channel/presence_handler.ex): the client's call window,
 * the write policy of a private channel, track (an unchanged payload is a no-op) and untrack.
 */
import { authorizeRead, authorizeWrite, emptyPolicies, type Policies } from './authorization.ts';
import { authorizationContext, fanOutPresence, reply, shutdown, type Channel, type RealtimeContext } from './channels.ts';
import { presencePayload, trackPayload } from './payloads.ts';
import type { InboundFrame } from './protocol.ts';

/** Upstream's limit_presence_event: over the average the event is refused, else it counts. */
export function presenceWithinLimit(ctx: RealtimeContext): boolean {
  if (ctx.counters.presence.avg > ctx.limits.max_presence_events_per_second) return false;
  ctx.counters.presence.add();
  return true;
}

async function ensureWrite(ctx: RealtimeContext, channel: Channel): Promise<Policies> {
  let policies = channel.policies ?? emptyPolicies();
  if (policies.presence.read === undefined) {
    policies = await authorizeRead(ctx.sql, policies, authorizationContext(channel), ['broadcast', 'presence']);
  }
  return authorizeWrite(ctx.sql, policies, authorizationContext(channel), ['broadcast', 'presence']);
}

/** Answers a `presence` push on a joined channel. */
export async function handlePresence(ctx: RealtimeContext, channel: Channel, frame: InboundFrame): Promise<void> {
  const { limits, log } = ctx;
  const parsed = presencePayload.safeParse(frame.payload);
  if (!parsed.success) return reply(channel.conn, frame, 'ok', {});
  const now = Date.now();
  const window = channel.presenceWindow;
  if (now > window.resetAt) {
    window.count = 1;
    window.resetAt = now + limits.client_presence_window_ms;
  } else if (window.count >= limits.max_client_presence_events_per_window) {
    log.error('client_presence_rate_limit', { topic: channel.subTopic });
    return shutdown(ctx, channel, 'Client presence rate limit exceeded');
  } else {
    window.count += 1;
  }

  const { event } = parsed.data;
  if (event === 'untrack') {
    channel.trackedPayloadJson = undefined;
    fanOutPresence(ctx, channel.tenantTopic, ctx.presence.untrack(channel.tenantTopic, channel.id));
    return reply(channel.conn, frame, 'ok', {});
  }
  if (event !== 'track') {
    log.error('unknown_presence_event', { event });
    return reply(channel.conn, frame, 'error', {});
  }
  if (channel.isPrivate) {
    if (channel.policies?.presence.write === undefined) {
      try {
        channel.policies = await ensureWrite(ctx, channel);
      } catch (error) {
        log.error('presence_authorization_failed', { topic: channel.subTopic, error: (error as Error).message });
        return reply(channel.conn, frame, 'error', {});
      }
    }
    if (channel.policies?.presence.write !== true) return reply(channel.conn, frame, 'error', {});
  }
  const tracked = trackPayload.safeParse(parsed.data.payload);
  if (!tracked.success) return reply(channel.conn, frame, 'error', { reason: 'Presence track payload must be a map' });
  const trackedJson = JSON.stringify(tracked.data);
  if (trackedJson === channel.trackedPayloadJson) return reply(channel.conn, frame, 'ok', {});
  if (Buffer.byteLength(trackedJson) > ctx.maxPayloadBytes) return shutdown(ctx, channel, 'Track message size exceeded');
  if (!presenceWithinLimit(ctx)) return shutdown(ctx, channel, 'Too many presence messages per second');
  channel.trackedPayloadJson = trackedJson;
  channel.presenceEnabled = true;
  fanOutPresence(ctx, channel.tenantTopic, ctx.presence.track(channel.tenantTopic, channel.id, channel.presenceKey, tracked.data));
  reply(channel.conn, frame, 'ok', {});
}
