/**
 * The payloads of the frames a client sends, as zod schemas — upstream's Ecto payload
 * schemas (supabase/realtime lib/realtime_web/channels/payloads/*.ex) and the payload
 * patterns of its channel's handle_in clauses (realtime_channel.ex, broadcast_handler.ex,
 * presence_handler.ex). The frame around them (refs, topic, event) is protocol.ts's.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { isUserBroadcastPush, type OutboundBroadcast } from './protocol.ts';

/**
 * Upstream's FlexibleBoolean: a boolean, or "true" / "false" in any case. Upstream logs
 * any other value as an invalid join payload and keeps the field's default (false), which
 * `.catch(false)` reproduces: `1`, `"1"` and `"yes"` are false.
 */
export const flexibleBoolean = z
  .union([z.boolean(), z.string().transform((text, ctx) => {
    const lower = text.toLowerCase();
    if (lower === 'true' || lower === 'false') return lower === 'true';
    ctx.addIssue({ code: 'custom', message: 'unable to parse, expected boolean' });
    return z.NEVER;
  })])
  .catch(false);

/** A nested map of the join config; anything else counts as absent, as upstream's invalid embed does. */
const embedded = <S extends z.ZodRawShape>(shape: S) => z.looseObject(shape).catch(() => z.looseObject(shape).parse({}));

/** `config.broadcast` (payloads/broadcast.ex): ack replies to each broadcast, self echoes it. */
const broadcastConfig = embedded({ ack: flexibleBoolean, self: flexibleBoolean });

/** `config.presence` (payloads/presence.ex): `key` is any value; none or "" means a fresh one. */
const presenceConfig = embedded({ enabled: flexibleBoolean, key: z.unknown().optional() });

/** `config` (payloads/config.ex): nulls are dropped from lists, as upstream drops them. */
const joinConfig = embedded({
  broadcast: broadcastConfig,
  presence: presenceConfig,
  private: flexibleBoolean,
  postgres_changes: z
    .array(z.unknown())
    .catch([])
    .transform((entries) => entries.filter((entry) => entry !== null)),
});

/**
 * The phx_join payload (payloads/join.ex). The tokens stay as sent: upstream's
 * assign_access_token reads the raw params, not the validated ones.
 */
export const joinPayload = embedded({ config: joinConfig, access_token: z.unknown().optional(), user_token: z.unknown().optional() });

/** What a join asks for, read from its payload. */
export interface JoinRequest {
  isPrivate: boolean;
  presenceEnabled: boolean;
  presenceKey: string;
  ackBroadcast: boolean;
  selfBroadcast: boolean;
  /** The requested postgres_changes, answered with ids and refused by a system message. */
  postgresChanges: Record<string, unknown>[];
  /** The token the channel runs with. */
  accessToken: string;
}

const plainObject = z.record(z.string(), z.unknown());

/**
 * Reads a phx_join payload; `apiKeyToken` is the socket's (resolved) API key.
 *
 * @example
 * readJoin({ config: { private: 'TRUE', presence: { key: 'u1' } } }, token).isPrivate // true
 */
export function readJoin(params: unknown, apiKeyToken: string): JoinRequest {
  const join = joinPayload.parse(params);
  const { config } = join;
  const key = config.presence.key;
  // Upstream's assign_access_token: an `sb_` key means the socket's API key; else user_token, then access_token.
  const offered = join.access_token !== undefined && join.access_token !== null && join.access_token !== false ? join.access_token : join.user_token;
  const accessToken =
    typeof offered === 'string' && offered.startsWith('sb_')
      ? apiKeyToken
      : typeof join.user_token === 'string'
        ? join.user_token
        : typeof join.access_token === 'string'
          ? join.access_token
          : apiKeyToken;
  return {
    isPrivate: config.private,
    presenceEnabled: config.presence.enabled,
    presenceKey: typeof key === 'string' && key !== '' ? key : key !== undefined && key !== null && key !== '' ? String(key) : randomUUID(),
    ackBroadcast: config.broadcast.ack,
    selfBroadcast: config.broadcast.self,
    postgresChanges: config.postgres_changes.map((entry) => ({ ...(plainObject.safeParse(entry).data ?? {}) })),
    accessToken,
  };
}

/**
 * A broadcast push (broadcast_handler.ex): a kind-3 binary user broadcast, or any JSON,
 * which upstream relays as the broadcast's payload.
 */
export const broadcastPayload = z.unknown().transform((payload): OutboundBroadcast =>
  isUserBroadcastPush(payload)
    ? { kind: 'user', userEvent: payload.userEvent, encoding: payload.encoding, body: payload.body }
    : { kind: 'json', payload },
);

/**
 * A presence push (presence_handler.ex): `event` is "track" or "untrack" in any case; a
 * payload without a string event is answered ok and otherwise ignored.
 */
export const presencePayload = z.looseObject({ event: z.string().transform((event) => event.toLowerCase()), payload: z.unknown().optional() });

/** A track's payload: a map; none means an empty one. */
export const trackPayload = z.preprocess((value) => (value === undefined ? {} : value), plainObject);

/**
 * An access_token push: a string, or null (ignored). Upstream's clauses match only these;
 * any other payload falls to the catch-all handle_in.
 */
export const accessTokenPayload = z.looseObject({ access_token: z.string().nullable() });

/** The socket's heartbeat: topic `phoenix`, event `heartbeat`, any payload; answered ok. */
export const isHeartbeat = (frame: { topic: string; event: string }): boolean => frame.topic === 'phoenix' && frame.event === 'heartbeat';
