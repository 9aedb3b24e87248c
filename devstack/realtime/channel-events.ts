/**
 * The pushes a joined channel answers, as upstream's RealtimeChannel.handle_in (supabase/realtime
 * lib/realtime_web/channels/realtime_channel.ex): broadcast and presence go to their
 * handlers; access_token swaps the channel's token and re-checks its read policies;
 * phx_leave closes it; anything else is counted and ignored.
 */
import { authorizeRead, AuthorizationCheckError, emptyPolicies, type Policies } from './authorization.ts';
import { handleBroadcast } from './broadcast-handler.ts';
import { authorizationContext, closeChannel, readExtensions, reply, scheduleTokenCheck, shutdown, type Channel, type RealtimeContext } from './channels.ts';
import { accessTokenPayload } from './payloads.ts';
import { handlePresence } from './presence-handler.ts';
import type { InboundFrame } from './protocol.ts';
import { RealtimeTokenError, type Claims } from './tokens.ts';

/** Upstream's catch-all handle_in: counted as an event, logged at info, never answered. */
function ignoreUnknown(ctx: RealtimeContext, channel: Channel, event = 'access_token'): void {
  ctx.counters.events.add();
  ctx.log.info('unexpected_client_message', { topic: channel.subTopic, event });
}

async function handleAccessToken(ctx: RealtimeContext, channel: Channel, frame: InboundFrame): Promise<void> {
  const parsed = accessTokenPayload.safeParse(frame.payload);
  // Upstream's access_token clauses take a string or null; anything else is an unknown message.
  if (!parsed.success) return ignoreUnknown(ctx, channel);
  const token = parsed.data.access_token;
  if (token === null) return;
  if (token.startsWith('sb_') || token === channel.accessToken) return;
  const previous = channel.policies;
  channel.accessToken = token;
  let claims: Claims;
  try {
    claims = await ctx.verifyToken(token);
  } catch (error) {
    if (!(error instanceof RealtimeTokenError)) throw error;
    // Upstream words a bad signature as the inspected atom here.
    return shutdown(ctx, channel, error.code === 'JwtSignatureError' ? ':signature_error' : error.message);
  }
  channel.claims = claims;
  if (channel.isPrivate) {
    let policies: Policies;
    try {
      policies = await authorizeRead(ctx.sql, emptyPolicies(), authorizationContext(channel), readExtensions(channel.presenceEnabled));
    } catch (error) {
      if (error instanceof AuthorizationCheckError && error.kind === 'rls_policy_error') {
        return shutdown(ctx, channel, `You do not have permissions to read from this Channel topic: ${channel.subTopic}`);
      }
      if (error instanceof AuthorizationCheckError && error.kind === 'query_canceled') return shutdown(ctx, channel, 'Query was cancelled, please try again');
      return shutdown(ctx, channel, 'Realtime was unable to connect to the project database');
    }
    if (!policies.broadcast.read && !policies.presence.read) {
      return shutdown(ctx, channel, `You do not have permissions to read from this Channel topic: ${channel.subTopic}`);
    }
    const revoked =
      (previous?.broadcast.read === true && policies.broadcast.read === false) ||
      (previous?.presence.read === true && policies.presence.read === false);
    if (revoked) return shutdown(ctx, channel, `You no longer have permission to read from this Channel topic: ${channel.subTopic}`);
    channel.policies = policies;
  }
  scheduleTokenCheck(ctx, channel);
}

/** Answers one push on a joined channel (run in the channel's order, channels.ts enqueue). */
export function handleChannelEvent(ctx: RealtimeContext, channel: Channel, frame: InboundFrame): Promise<void> | void {
  switch (frame.event) {
    case 'broadcast':
      return handleBroadcast(ctx, channel, frame);
    case 'presence':
      return handlePresence(ctx, channel, frame);
    case 'access_token':
      return handleAccessToken(ctx, channel, frame);
    case 'phx_leave':
      // A leave for an older join raced a server close: Phoenix does not answer it.
      if (frame.joinRef !== null && channel.joinRef !== null && frame.joinRef !== channel.joinRef) return;
      reply(channel.conn, frame, 'ok', {});
      return closeChannel(ctx, channel, 'phx_close');
    default:
      return ignoreUnknown(ctx, channel, frame.event);
  }
}
