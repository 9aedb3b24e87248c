/**
 * The Phoenix wire protocol as Supabase Realtime speaks it: serializer 1.0.0 (JSON objects)
 * and 2.0.0 (JSON arrays, plus binary frames for user broadcasts — kind 3 "user broadcast
 * push" from clients, kind 4 "user broadcast" to clients).
 */

export type Vsn = '1.0.0' | '2.0.0';

/** A decoded client frame. `payload` is JSON, or a user broadcast push for kind-3 frames. */
export interface InboundFrame {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: unknown;
}

/** A client's binary broadcast (kind 3), as upstream keeps it: event, encoding and raw bytes. */
export interface UserBroadcastPush {
  kind: 'user_broadcast_push';
  userEvent: string;
  encoding: 'json' | 'binary';
  body: Uint8Array;
}

/** A broadcast on its way to subscribers: JSON (`payload` map) or a user broadcast. */
export type OutboundBroadcast =
  | { kind: 'json'; payload: unknown }
  | { kind: 'user'; userEvent: string; encoding: 'json' | 'binary'; body: Uint8Array; metadata?: Record<string, unknown> };

/** Why a frame could not be decoded; the server drops such a frame and keeps the socket, as upstream does. */
export class MalformedFrameError extends Error {
  override readonly name = 'MalformedFrameError';
}

const KIND_USER_BROADCAST_PUSH = 3;
const KIND_USER_BROADCAST = 4;
const textDecoder = new TextDecoder('utf-8', { fatal: true });
const textEncoder = new TextEncoder();

/**
 * Decodes one client frame for the connection's serializer version.
 *
 * @example
 * decodeFrame('2.0.0', '["1","1","realtime:room","phx_join",{}]', false).event // 'phx_join'
 */
export function decodeFrame(vsn: Vsn, data: Buffer, isBinary: boolean): InboundFrame {
  if (isBinary) {
    if (vsn !== '2.0.0') throw new MalformedFrameError('binary frames need serializer 2.0.0');
    return decodeBinary(data);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch {
    throw new MalformedFrameError('the frame is not valid JSON');
  }
  if (vsn === '2.0.0') {
    if (!Array.isArray(parsed) || parsed.length < 5) throw new MalformedFrameError('expected V2 array [join_ref, ref, topic, event, payload]');
    const [joinRef, ref, topic, event, payload] = parsed as unknown[];
    return checkFields({ joinRef: asRef(joinRef), ref: asRef(ref), topic, event, payload });
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new MalformedFrameError('expected a V1 object {topic, event, payload, ref}');
  const message = parsed as Record<string, unknown>;
  // Phoenix.Socket.Message.from_map! fetches these four keys (join_ref is optional).
  for (const key of ['topic', 'event', 'payload', 'ref']) {
    if (!(key in message)) throw new MalformedFrameError(`missing key ${JSON.stringify(key)}`);
  }
  return checkFields({ joinRef: asRef(message.join_ref), ref: asRef(message.ref), topic: message.topic, event: message.event, payload: message.payload });
}

function asRef(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return null;
}

function checkFields(frame: { joinRef: string | null; ref: string | null; topic: unknown; event: unknown; payload: unknown }): InboundFrame {
  if (typeof frame.topic !== 'string' || typeof frame.event !== 'string') throw new MalformedFrameError('topic and event must be strings');
  return { ...frame, topic: frame.topic, event: frame.event };
}

function decodeBinary(data: Buffer): InboundFrame {
  if (data.length < 7 || data[0] !== KIND_USER_BROADCAST_PUSH) throw new MalformedFrameError('unsupported binary frame (only kind 3, user broadcast push)');
  const sizes = [data[1]!, data[2]!, data[3]!, data[4]!, data[5]!];
  const encoding = data[6] === 0 ? 'binary' : 'json';
  let offset = 7;
  const fields: string[] = [];
  try {
    for (const size of sizes) {
      if (offset + size > data.length) throw new MalformedFrameError('binary frame shorter than its header says');
      fields.push(textDecoder.decode(data.subarray(offset, offset + size)));
      offset += size;
    }
  } catch (error) {
    if (error instanceof MalformedFrameError) throw error;
    throw new MalformedFrameError('binary frame header is not UTF-8');
  }
  const [joinRef, ref, topic, userEvent, metadata] = fields as [string, string, string, string, string];
  // Upstream decodes the metadata but passes the user payload on as bytes, unread.
  if (metadata !== '') {
    try {
      JSON.parse(metadata);
    } catch {
      throw new MalformedFrameError('binary broadcast metadata is not JSON');
    }
  }
  const body = new Uint8Array(data.subarray(offset));
  const push: UserBroadcastPush = { kind: 'user_broadcast_push', userEvent, encoding, body };
  return { joinRef: joinRef || null, ref: ref || null, topic, event: 'broadcast', payload: push };
}

/** True for a kind-3 user broadcast push payload. */
export function isUserBroadcastPush(payload: unknown): payload is UserBroadcastPush {
  return !!payload && typeof payload === 'object' && (payload as { kind?: unknown }).kind === 'user_broadcast_push';
}

/**
 * Encodes a server message (reply, push, close, error) for the serializer.
 *
 * @example
 * encodeMessage('2.0.0', { joinRef: '1', ref: '1', topic: 'realtime:room', event: 'phx_reply', payload: { status: 'ok', response: {} } })
 */
export function encodeMessage(
  vsn: Vsn,
  message: { joinRef: string | null; ref: string | null; topic: string; event: string; payload: unknown },
): string {
  if (vsn === '2.0.0') return JSON.stringify([message.joinRef, message.ref, message.topic, message.event, message.payload]);
  return JSON.stringify({ topic: message.topic, event: message.event, payload: message.payload, ref: message.ref });
}

/**
 * Encodes a broadcast for one subscriber's serializer, or undefined when it cannot carry
 * it (a binary payload to a 1.0.0 client, as upstream drops it).
 *
 * @example
 * encodeBroadcast('2.0.0', 'realtime:room', { kind: 'json', payload: { type: 'broadcast', event: 'ping', payload: {} } })
 */
export function encodeBroadcast(vsn: Vsn, topic: string, broadcast: OutboundBroadcast): string | Buffer | undefined {
  if (broadcast.kind === 'json') return encodeMessage(vsn, { joinRef: null, ref: null, topic, event: 'broadcast', payload: broadcast.payload });
  if (vsn === '2.0.0') {
    const topicBytes = textEncoder.encode(topic);
    const eventBytes = textEncoder.encode(broadcast.userEvent);
    const metadataBytes = broadcast.metadata ? textEncoder.encode(JSON.stringify(broadcast.metadata)) : new Uint8Array(0);
    if (topicBytes.length > 255 || eventBytes.length > 255 || metadataBytes.length > 255) return undefined;
    const header = Buffer.from([
      KIND_USER_BROADCAST,
      topicBytes.length,
      eventBytes.length,
      metadataBytes.length,
      broadcast.encoding === 'json' ? 1 : 0,
    ]);
    return Buffer.concat([header, topicBytes, eventBytes, metadataBytes, broadcast.body]);
  }
  if (broadcast.encoding !== 'json') return undefined;
  let userPayload: unknown;
  try {
    userPayload = JSON.parse(Buffer.from(broadcast.body).toString('utf8'));
  } catch {
    return undefined; // upstream's conversion to a JSON broadcast fails and the copy is dropped
  }
  const payload: Record<string, unknown> = { event: broadcast.userEvent, payload: userPayload, type: 'broadcast' };
  if (broadcast.metadata) payload.meta = broadcast.metadata;
  return encodeMessage(vsn, { joinRef: null, ref: null, topic, event: 'broadcast', payload });
}

/** Byte size of a broadcast's user payload, for the payload-size limit. */
export function broadcastSize(broadcast: OutboundBroadcast): number {
  return broadcast.kind === 'json' ? Buffer.byteLength(JSON.stringify(broadcast.payload) ?? '') : broadcast.body.byteLength;
}
