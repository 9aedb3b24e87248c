/**
 * Realtime's REST broadcast, as supabase/realtime serves it behind the API gateway at
 * `/realtime/v1/api/...` (lib/realtime_web/router.ex, controllers/broadcast_controller.ex,
 * controllers/broadcast_single_controller.ex, tenants/batch_broadcast.ex,
 * tenants/single_broadcast.ex, plugs/auth_tenant.ex, plugs/rate_limiter.ex):
 *
 * - `POST /api/broadcast` `{messages: [{topic, event, payload, private?, id?}]}` → 202; public
 *   messages always go out, private ones only to topics whose RLS write check passes (the
 *   others are skipped silently, still 202); invalid messages → 422 `{errors}`.
 * - `POST /api/broadcast/:topic/events/:event[?private=true]`, the body (JSON, or bytes as
 *   `application/octet-stream`) being the payload → 202; a private topic the caller may not
 *   write → 403.
 *
 * The caller is the `Authorization: Bearer` token, else the `apikey` header (opaque `sb_`
 * keys mapped to their JWT as the gateway does); a bad or missing one → 401. Every request
 * counts against the tenant's requests rate, every message against its events rate.
 * realtime-js calls these from `httpSend()` and from `send()` before the channel is joined.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Logger } from '../../core/log.ts';
import { AuthorizationCheckError } from './authorization.ts';
import type { OutboundBroadcast } from './protocol.ts';
import { maxPayloadBytes, type TenantCounters, type TenantLimits } from './rate-limits.ts';
import { RealtimeTokenError, type Claims } from './tokens.ts';
import { isUuid } from '../../core/uuid.ts';

/** Where the gateway (and the stand-in's own HTTP server) routes REST calls to Realtime. */
export const REALTIME_API_PREFIX = '/realtime/v1/api';

/** Plug.Parsers' default body limit. */
const MAX_BODY_BYTES = 8_000_000;

export interface RestBroadcastContext {
  limits: TenantLimits;
  counters: TenantCounters;
  log: Logger;
  verifyToken(token: string): Promise<Claims>;
  resolveApiKey?: (apiKey: string) => string | undefined;
  /** The RLS write check for `broadcast` on a private topic; throws AuthorizationCheckError. */
  canBroadcast(topic: string, claims: Claims, headers: Record<string, string>): Promise<boolean>;
  /** Fans one broadcast out to the topic's subscribers (counting each delivered copy). */
  deliver(topic: string, isPrivate: boolean, broadcast: OutboundBroadcast): void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }
}

/** Phoenix renders its own errors (bad JSON, no route, body too large) as the status text, a JSON string. */
function phoenixError(status: number): HttpError {
  return new HttpError(status, STATUS_CODES[status] ?? 'Error');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw phoenixError(413);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function mediaType(req: IncomingMessage): { type: string; subtype: string } | undefined {
  const header = req.headers['content-type'];
  if (!header) return undefined;
  const [essence] = header.split(';');
  const [type, subtype] = (essence ?? '').trim().toLowerCase().split('/');
  return { type: type ?? '', subtype: subtype ?? '' };
}

/**
 * The body as Plug.Parsers leaves it: JSON bodies parsed (a non-object wrapped as `_json`),
 * `application/octet-stream` kept as bytes, anything else (or no content type) unread.
 */
function parseBody(raw: Buffer, media: { type: string; subtype: string } | undefined): Record<string, unknown> | { _binary: Buffer } {
  if (!media) return {};
  if (media.type === 'application' && media.subtype === 'octet-stream') return { _binary: raw };
  if (media.type === 'application' && (media.subtype === 'json' || media.subtype.endsWith('+json'))) {
    if (raw.length === 0) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      throw phoenixError(400);
    }
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { _json: parsed };
  }
  return {};
}

function isMap(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

interface BatchMessage {
  id?: string;
  topic: string;
  event: string;
  payload: Record<string, unknown>;
  private: boolean;
}

/** Ecto's cast of a `:string` field: "" is no value; a non-string is invalid. */
function castString(value: unknown): { ok: true; value: string | undefined } | { ok: false } {
  if (value === undefined || value === null || value === '') return { ok: true, value: undefined };
  return typeof value === 'string' ? { ok: true, value } : { ok: false };
}

/** Ecto's cast of a `:boolean` field. */
function castBoolean(value: unknown): { ok: true; value: boolean | undefined } | { ok: false } {
  if (value === undefined || value === null || value === '') return { ok: true, value: undefined };
  if (value === true || value === 'true' || value === '1') return { ok: true, value: true };
  if (value === false || value === 'false' || value === '0') return { ok: true, value: false };
  return { ok: false };
}

/** BatchBroadcast's changeset: each message's errors in Ecto's shape, or the messages. */
function validateBatch(params: Record<string, unknown>, maxBytes: number): BatchMessage[] {
  const list = params.messages;
  if (list === undefined || list === null || (Array.isArray(list) && list.length === 0)) {
    throw new HttpError(422, { errors: { messages: ["can't be blank"] } });
  }
  if (!Array.isArray(list) || !list.every(isMap)) throw new HttpError(422, { errors: { messages: ['is invalid'] } });
  const messages: BatchMessage[] = [];
  const errors: Array<Record<string, string[]>> = [];
  for (const entry of list) {
    const fieldErrors: Record<string, string[]> = {};
    const id = castString(entry.id);
    if (!id.ok || (id.value !== undefined && !isUuid(id.value))) fieldErrors.id = ['is invalid'];
    const topic = castString(entry.topic);
    const event = castString(entry.event);
    for (const [field, cast] of [['topic', topic], ['event', event]] as const) {
      if (!cast.ok) fieldErrors[field] = ['is invalid'];
      else if (cast.value === undefined || cast.value.trim() === '') fieldErrors[field] = ["can't be blank"];
    }
    const payload = entry.payload;
    if (payload === undefined || payload === null) fieldErrors.payload = ["can't be blank"];
    else if (!isMap(payload)) fieldErrors.payload = ['is invalid'];
    else if (Buffer.byteLength(JSON.stringify(payload)) > maxBytes) fieldErrors.payload = ['Payload size exceeds tenant limit'];
    const isPrivate = castBoolean(entry.private);
    if (!isPrivate.ok) fieldErrors.private = ['is invalid'];
    errors.push(fieldErrors);
    if (Object.keys(fieldErrors).length === 0 && id.ok && topic.ok && event.ok && isPrivate.ok) {
      messages.push({
        id: id.value?.toLowerCase(),
        topic: topic.value!,
        event: event.value!,
        payload: payload as Record<string, unknown>,
        private: isPrivate.value ?? false,
      });
    }
  }
  if (messages.length !== list.length) throw new HttpError(422, { errors: { messages: errors } });
  return messages;
}

function describeWriteCheckError(error: unknown): HttpError {
  if (error instanceof AuthorizationCheckError) {
    switch (error.kind) {
      case 'rls_policy_error':
        return new HttpError(422, { message: 'RLS policy error' });
      case 'query_canceled':
        return new HttpError(422, { message: 'Query canceled' });
      case 'missing_partition':
        return new HttpError(422, { message: 'Missing messages partition' });
      default:
        return new HttpError(422, { message: 'Tenant database unavailable' });
    }
  }
  return new HttpError(500, { message: 'Unable to authorize broadcast' });
}

/**
 * Builds the handler for requests under {@link REALTIME_API_PREFIX}.
 *
 * @example
 * const handle = createRestBroadcastHandler(context);
 * server.on('request', (req, res) => req.url?.startsWith(REALTIME_API_PREFIX) && handle(req, res));
 */
export function createRestBroadcastHandler(context: RestBroadcastContext): (req: IncomingMessage, res: ServerResponse) => void {
  const { limits, counters, log } = context;
  const maxBytes = maxPayloadBytes(limits);

  function requestToken(req: IncomingMessage): string | undefined {
    const authorization = req.headers.authorization;
    let bearer: string | undefined;
    if (authorization) {
      const parts = authorization.split(' ');
      // Upstream crashes (500) on any other shape; refusing it is no laxer.
      if (parts.length !== 2) throw new HttpError(401, { message: 'Unauthorized' });
      // The gateway swaps a `Bearer sb_…` header for the apikey's JWT.
      if (parts[0]!.toLowerCase() === 'bearer' && parts[1] && !parts[1].startsWith('sb_')) bearer = parts[1];
    }
    const apiKey = req.headers.apikey;
    const raw = bearer ?? (Array.isArray(apiKey) ? apiKey[0] : apiKey);
    if (!raw) return undefined;
    return raw.startsWith('sb_') ? context.resolveApiKey?.(raw) : raw;
  }

  async function authenticate(req: IncomingMessage, res: ServerResponse): Promise<Claims> {
    // AssignTenant counts the request, then RateLimiter compares the requests rate with max_events_per_second.
    counters.requests.add();
    const rolling = Math.trunc(counters.requests.avg);
    res.setHeader('x-rate-rolling', String(rolling));
    res.setHeader('x-rate-limit', String(limits.max_events_per_second));
    res.setHeader('x-rate-limit-remaining', String(limits.max_events_per_second - rolling));
    if (rolling >= limits.max_events_per_second) throw new HttpError(429, { message: 'Too many requests' });
    const token = requestToken(req);
    if (!token) throw new HttpError(401, { message: 'Unauthorized' });
    try {
      return await context.verifyToken(token);
    } catch (error) {
      if (error instanceof RealtimeTokenError) throw new HttpError(401, { message: 'Unauthorized' });
      throw error;
    }
  }

  function requestHeaders(req: IncomingMessage): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    return headers;
  }

  function send(topic: string, isPrivate: boolean, broadcast: OutboundBroadcast): void {
    counters.events.add();
    context.deliver(topic, isPrivate, broadcast);
  }

  async function batch(req: IncomingMessage, res: ServerResponse, params: Record<string, unknown>): Promise<void> {
    const claims = await authenticate(req, res);
    const messages = validateBatch(params, maxBytes);
    const rate = counters.events.avg;
    if (rate > limits.max_events_per_second) throw new HttpError(429, { message: 'You have exceeded your rate limit' });
    if (messages.length + rate > limits.max_events_per_second) {
      throw new HttpError(429, { message: 'Too many messages to broadcast, please reduce the batch size' });
    }
    const asBroadcast = (message: BatchMessage): OutboundBroadcast => ({
      kind: 'json',
      payload: { payload: message.payload, event: message.event, type: 'broadcast', ...(message.id ? { meta: { id: message.id } } : {}) },
    });
    for (const message of messages.filter((m) => !m.private)) send(message.topic, false, asBroadcast(message));
    const privateTopics = new Map<string, BatchMessage[]>();
    for (const message of messages.filter((m) => m.private)) privateTopics.set(message.topic, [...(privateTopics.get(message.topic) ?? []), message]);
    const headers = requestHeaders(req);
    for (const [topic, group] of privateTopics) {
      let allowed = false;
      try {
        allowed = await context.canBroadcast(topic, claims, headers);
      } catch (error) {
        log.error('rest_broadcast_authorization_failed', { topic, error: (error as Error).message });
      }
      if (allowed) for (const message of group) send(topic, true, asBroadcast(message));
    }
    res.writeHead(202);
    res.end();
  }

  async function single(
    req: IncomingMessage,
    res: ServerResponse,
    body: Record<string, unknown> | { _binary: Buffer },
    topic: string,
    event: string,
    query: URLSearchParams,
  ): Promise<void> {
    const claims = await authenticate(req, res);
    const isPrivate = query.get('private') === 'true';
    const binary = '_binary' in body && Buffer.isBuffer(body._binary) ? body._binary : undefined;
    const bytes = binary ?? Buffer.from(JSON.stringify(body));
    if (bytes.byteLength > maxBytes) throw new HttpError(422, { errors: { payload: ['Payload size exceeds tenant limit'] } });
    if (counters.events.avg >= limits.max_events_per_second) throw new HttpError(429, { message: 'You have exceeded your rate limit' });
    if (isPrivate) {
      let allowed: boolean;
      try {
        allowed = await context.canBroadcast(topic, claims, requestHeaders(req));
      } catch (error) {
        log.error('rest_broadcast_authorization_failed', { topic, error: (error as Error).message });
        throw describeWriteCheckError(error);
      }
      if (!allowed) throw new HttpError(403, { message: 'Unauthorized' });
    }
    send(topic, isPrivate, { kind: 'user', userEvent: event, encoding: binary ? 'binary' : 'json', body: new Uint8Array(bytes) });
    res.writeHead(202);
    res.end();
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Plug splits the raw path on "/" (dropping empty segments) and then decodes each segment.
    let segments: string[];
    try {
      segments = url.pathname.slice(REALTIME_API_PREFIX.length).split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      throw phoenixError(400);
    }
    if (req.method === 'OPTIONS') {
      // The gateway's CORS plugin answers preflights.
      res.writeHead(204, {
        'access-control-allow-methods': 'GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS',
        'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '',
        'access-control-max-age': '3600',
      });
      res.end();
      return;
    }
    const isBatch = segments.length === 1 && segments[0] === 'broadcast';
    const isSingle = segments.length === 4 && segments[0] === 'broadcast' && segments[2] === 'events';
    const media = mediaType(req);
    const raw = await readBody(req);
    const body = parseBody(raw, media);
    if (req.method !== 'POST' || (!isBatch && !isSingle)) throw phoenixError(404);
    if (isBatch) return batch(req, res, body as Record<string, unknown>);
    if (media && !(media.type === 'application' && (media.subtype === 'json' || media.subtype === 'octet-stream'))) {
      throw new HttpError(415, { error: 'Unsupported Media Type. Use application/json or application/octet-stream' });
    }
    return single(req, res, body, segments[1]!, segments[3]!, url.searchParams);
  }

  return (req, res) => {
    res.setHeader('access-control-allow-origin', '*');
    route(req, res).catch((error: unknown) => {
      if (res.headersSent) return;
      if (error instanceof HttpError) return sendJson(res, error.status, error.body);
      log.error('rest_broadcast_failed', { error });
      sendJson(res, 500, { message: 'Unknown error' });
    });
  };
}
