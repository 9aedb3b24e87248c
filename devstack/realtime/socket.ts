/**
 * The WebSocket side, as upstream's UserSocket and Phoenix's socket (supabase/realtime
 * lib/realtime_web/channels/user_socket.ex): the handshake (path, serializer version, API
 * key, the tenant's connection limits), then each socket's frames in order — heartbeat,
 * joins, and pushes handed to their channel — and the idle timeout.
 *
 * Frames of one connection are handled in order, and a join completes before the next
 * frame is read (as a Phoenix socket does); each channel then handles its own events in
 * order, while fan-out (broadcast, presence, database messages) reaches it directly.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { handleChannelEvent } from './channel-events.ts';
import { closeChannel, enqueue, reply, type Connection, type RealtimeContext } from './channels.ts';
import { join } from './join.ts';
import { isHeartbeat } from './payloads.ts';
import { decodeFrame, MalformedFrameError, type InboundFrame, type Vsn } from './protocol.ts';
import { RealtimeTokenError } from './tokens.ts';

export const REALTIME_PATH = '/realtime/v1/websocket';

function refuseHandshake(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: message });
  const reason = STATUS_CODES[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Upstream's connect_error: every refusal from UserSocket.connect waits CONNECT_ERROR_BACKOFF_MS first. */
async function refuseConnect(ctx: RealtimeContext, socket: Duplex, status: number, message: string): Promise<void> {
  if (ctx.connectErrorBackoffMs > 0) await new Promise((resolve) => setTimeout(resolve, ctx.connectErrorBackoffMs));
  refuseHandshake(socket, status, message);
}

async function handleFrame(ctx: RealtimeContext, conn: Connection, data: Buffer, isBinary: boolean): Promise<void> {
  let frame: InboundFrame;
  try {
    frame = decodeFrame(conn.vsn, data, isBinary);
  } catch (error) {
    // Upstream's socket rescues a frame it cannot decode: logged, dropped, the socket kept.
    ctx.log.error('malformed_websocket_message', { error: error instanceof MalformedFrameError ? error.message : String(error) });
    return;
  }
  if (isHeartbeat(frame)) return reply(conn, frame, 'ok', {});
  if (frame.event === 'phx_join') return join(ctx, conn, frame);
  const channel = conn.channels.get(frame.topic);
  if (channel) {
    enqueue(ctx, channel, () => handleChannelEvent(ctx, channel, frame));
    return;
  }
  if (frame.event === 'phx_leave') return reply(conn, frame, 'ok', {});
  reply(conn, { joinRef: null, ref: frame.ref, topic: frame.topic }, 'error', { reason: 'unmatched topic' });
}

function accept(ctx: RealtimeContext, ws: WebSocket, vsn: Vsn, apiKeyToken: string, headers: Record<string, string>): void {
  const conn: Connection = { id: randomUUID(), ws, vsn, apiKeyToken, headers, channels: new Map(), inbound: Promise.resolve() };
  ctx.connections.add(conn);
  let idle: NodeJS.Timeout | undefined;
  const armIdleTimer = () => {
    clearTimeout(idle);
    idle = setTimeout(() => ws.close(1000, 'idle timeout'), ctx.idleTimeoutMs);
    idle.unref();
  };
  armIdleTimer();
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    armIdleTimer();
    const buffer = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    conn.inbound = conn.inbound
      .then(() => handleFrame(ctx, conn, buffer, isBinary))
      .catch((error: unknown) => ctx.log.error('frame_failed', { error }));
  });
  ws.on('close', () => {
    clearTimeout(idle);
    ctx.connections.delete(conn);
    ctx.users.delete(conn);
    for (const channel of [...conn.channels.values()]) closeChannel(ctx, channel, false);
  });
  ws.on('error', (error) => ctx.log.warn('socket_error', { error: error.message }));
}

/**
 * Takes a node:http 'upgrade' for the server `wss` (noServer): refuses it with upstream's
 * status and message, or accepts the socket.
 */
export function handleUpgrade(ctx: RealtimeContext, wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): void {
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
    if (!apiKey) return refuseConnect(ctx, socket, 401, 'API key is missing');
    const apiKeyToken = apiKey.startsWith('sb_') ? ctx.resolveApiKey?.(apiKey) : apiKey;
    if (!apiKeyToken) return refuseConnect(ctx, socket, 401, 'The token provided is not a valid JWT');
    try {
      await ctx.verifyToken(apiKeyToken);
    } catch (error) {
      return refuseConnect(ctx, socket, 401, error instanceof RealtimeTokenError ? error.handshakeMessage : 'Error connecting to Realtime');
    }
    // Upstream's TenantRateLimiters.check_tenant.
    if (ctx.users.size >= ctx.limits.max_concurrent_users) return refuseConnect(ctx, socket, 429, 'Too many connected users');
    if (ctx.counters.joins.triggered) return refuseConnect(ctx, socket, 429, 'Too many joins per second');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (name.startsWith('x-') && value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    wss.handleUpgrade(req, socket, head, (ws) => accept(ctx, ws, vsn, apiKeyToken, headers));
  })().catch((error: unknown) => {
    ctx.log.error('upgrade_failed', { error });
    socket.destroy();
  });
}
