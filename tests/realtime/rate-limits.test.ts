/**
 * Conformance: the tenant limits of hosted Realtime (events, joins, concurrent users, presence
 * events per second) trip with upstream's messages and leave the client where upstream
 * leaves it; the rate counter averages as upstream's does. Limits are set low and the
 * counter's tick short, so each limit trips within a few dozen messages.
 */
import type { RealtimeChannel } from '@supabase/supabase-js';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { RateCounter, tenantLimitsFromEnv, type TenantLimits } from '../../devstack/realtime/rate-limits.ts';
import { anonKey, eventually, openRawSocket, startRealtime, subscribe, useRealtimeFixture, type StartedRealtime } from './helpers.ts';

const fixture = useRealtimeFixture();
const servers: StartedRealtime[] = [];
const sockets: WebSocket[] = [];

afterAll(async () => {
  for (const socket of sockets) socket.terminate();
  await Promise.all(servers.map((s) => s.server.close()));
});

async function limitedServer(tenant: Partial<TenantLimits>, tickMs = 100) {
  const started = await startRealtime({ tenant, rateCounterTickMs: tickMs });
  servers.push(started);
  return started;
}

type SystemMessage = { extension: string; status: string; message: string; channel: string };

/** A supabase-js channel recording its statuses and system messages. */
async function watchedChannel(baseUrl: string, topic: string, config: Record<string, unknown> = {}) {
  const c = await fixture.client(await anonKey(), { baseUrl });
  const channel: RealtimeChannel = c.supabase.channel(topic, { config });
  const statuses: string[] = [];
  const system: SystemMessage[] = [];
  const received: unknown[] = [];
  channel.on('system', {}, (message: SystemMessage) => system.push(message));
  channel.on('broadcast', { event: '*' }, ({ payload }) => received.push(payload));
  const joined = new Promise<string>((resolve) => channel.subscribe((status) => (statuses.push(status), status !== 'CLOSED' && resolve(status))));
  return { c, channel, statuses, system, received, joined };
}


/** The HTTP answer to a new socket's handshake: 101 when it opens, else the refusal's status and body. */
async function handshakeStatus(wsUrl: string): Promise<{ code: number; body: string }> {
  const key = await anonKey();
  return new Promise((resolve) => {
    const next = new WebSocket(`${wsUrl}?apikey=${key}&vsn=2.0.0`);
    next.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
    });
    next.on('open', () => resolve({ code: 101, body: '' }));
    next.on('error', () => undefined);
  });
}

describe('RateCounter (upstream Realtime.RateCounter)', () => {
  afterEach(() => vi.useRealTimers());

  it('averages per second over the kept ticks, starting with one empty tick, and triggers at the limit until it falls below', () => {
    vi.useFakeTimers();
    const triggers: number[] = [];
    const counter = new RateCounter({ tickMs: 5000, maxBuckets: 12, limit: 100, onTrigger: () => triggers.push(Date.now()) });
    counter.add(999);
    expect([counter.avg, counter.triggered]).toEqual([0, false]);
    vi.advanceTimersByTime(5000);
    // Buckets [999, 0]: 999 / 2 / 5 s.
    expect(counter.avg).toBeCloseTo(99.9);
    expect(counter.triggered).toBe(false);
    counter.add(1);
    vi.advanceTimersByTime(5000);
    // [1, 999, 0] → 1000 / 3 / 5 = 66.7: still below.
    expect(counter.triggered).toBe(false);
    counter.add(3000);
    vi.advanceTimersByTime(5000);
    expect(counter.avg).toBeCloseTo(4000 / 4 / 5);
    expect(counter.triggered).toBe(true);
    expect(triggers).toHaveLength(1);
    for (let tick = 0; tick < 12; tick++) vi.advanceTimersByTime(5000);
    expect([counter.avg, counter.triggered]).toEqual([0, false]);
    counter.stop();
  });

  it('keeps at most maxBuckets ticks', () => {
    vi.useFakeTimers();
    const counter = new RateCounter({ tickMs: 1000, maxBuckets: 3 });
    counter.add(30);
    vi.advanceTimersByTime(1000);
    vi.advanceTimersByTime(1000);
    vi.advanceTimersByTime(1000);
    expect(counter.avg).toBe(10);
    vi.advanceTimersByTime(1000);
    expect(counter.avg).toBe(0);
    counter.stop();
  });
});

describe('tenantLimitsFromEnv', () => {
  it("reads upstream's variable names and refuses what is not a positive integer", () => {
    const env: Record<string, string> = { TENANT_MAX_EVENTS_PER_SECOND: '10', TENANT_MAX_CONCURRENT_USERS: '1_000', TENANT_MAX_PAYLOAD_SIZE_IN_KB: '256' };
    expect(tenantLimitsFromEnv((name) => env[name])).toEqual({ max_events_per_second: 10, max_concurrent_users: 1000, max_payload_size_in_kb: 256 });
    expect(() => tenantLimitsFromEnv((name) => (name === 'TENANT_MAX_JOINS_PER_SECOND' ? '0' : undefined))).toThrow(/TENANT_MAX_JOINS_PER_SECOND/);
    expect(() => tenantLimitsFromEnv((name) => (name === 'CLIENT_PRESENCE_MAX_CALLS' ? 'many' : undefined))).toThrow(/CLIENT_PRESENCE_MAX_CALLS/);
  });
});

describe('max_events_per_second', () => {
  it('closes a channel that receives past the limit with "Too many messages per second" (CLOSED, not rejoined)', async () => {
    const realtime = await limitedServer({ max_events_per_second: 5 });
    const chatter = await watchedChannel(realtime.baseUrl, 'busy-room', { broadcast: { self: true } });
    expect(await chatter.joined).toBe('SUBSCRIBED');
    for (let n = 0; n < 500 && chatter.system.length === 0; n++) {
      await chatter.channel.send({ type: 'broadcast', event: 'tick', payload: { n } });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await eventually('CLOSED', () => chatter.statuses.includes('CLOSED'));
    expect(chatter.system).toEqual([{ extension: 'system', status: 'error', message: 'Too many messages per second', channel: 'busy-room' }]);
    expect(chatter.channel.state).toBe('closed');
  });

  it('counts delivered copies: a listener is closed while a sender that does not hear itself stays joined', async () => {
    const realtime = await limitedServer({ max_events_per_second: 5 });
    const listener = await watchedChannel(realtime.baseUrl, 'lecture');
    const speaker = await watchedChannel(realtime.baseUrl, 'lecture');
    expect([await listener.joined, await speaker.joined]).toEqual(['SUBSCRIBED', 'SUBSCRIBED']);
    for (let n = 0; n < 500 && listener.system.length === 0; n++) {
      await speaker.channel.send({ type: 'broadcast', event: 'word', payload: { n } });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await eventually('listener CLOSED', () => listener.statuses.includes('CLOSED'));
    expect(listener.system.map((m) => m.message)).toEqual(['Too many messages per second']);
    expect(speaker.system).toEqual([]);
    expect(speaker.channel.state).toBe('joined');
  });
});

describe('max_joins_per_second', () => {
  it('refuses a join past the limit with "ClientJoinRateLimitReached: Too many joins per second", drops the socket, and refuses handshakes (429) meanwhile', async () => {
    const realtime = await limitedServer({ max_joins_per_second: 2 }, 300);
    const { socket, received } = await openRawSocket(realtime.wsUrl, '2.0.0');
    sockets.push(socket);
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    const refusal = (m: unknown) => (m as [unknown, unknown, string, string, { status: string }])[4].status === 'error';
    for (let n = 1; n <= 90 && !received.some(refusal); n++) {
      socket.send(JSON.stringify([String(n), String(n), `realtime:doorway-${n}`, 'phx_join', {}]));
      await eventually(`reply ${n}`, () => received.length >= n);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const last = received.at(-1) as [string, string, string, string, unknown];
    expect(last.slice(3)).toEqual(['phx_reply', { status: 'error', response: { reason: 'ClientJoinRateLimitReached: Too many joins per second' } }]);
    expect(await closed).toBe(1000);

    const status = await handshakeStatus(realtime.wsUrl);
    expect(status).toEqual({ code: 429, body: JSON.stringify({ error: 'Too many joins per second' }) });
  });
});

describe('max_concurrent_users', () => {
  it('refuses a second socket: at its join ("ConnectionRateLimitReached: Too many connected users") and at a new handshake (429)', async () => {
    const realtime = await limitedServer({ max_concurrent_users: 1 });
    // Connected (no channel yet, so not counted) before the first user joins.
    const early = await fixture.client(await anonKey(), { baseUrl: realtime.baseUrl });
    early.supabase.realtime.connect();
    await eventually('early socket open', () => early.supabase.realtime.isConnected());
    const first = await watchedChannel(realtime.baseUrl, 'crowded');
    expect(await first.joined).toBe('SUBSCRIBED');

    const refusedJoin = await new Promise<{ status: string; error?: Error }>((resolve) => {
      const probe = early.supabase.channel('crowded-too');
      probe.subscribe((status, error) => resolve({ status, error }));
    });
    expect(refusedJoin.status).toBe('CHANNEL_ERROR');
    expect(refusedJoin.error?.message).toBe('ConnectionRateLimitReached: Too many connected users');

    const handshake = await handshakeStatus(realtime.wsUrl);
    expect(handshake).toEqual({ code: 429, body: JSON.stringify({ error: 'Too many connected users' }) });
    await early.supabase.removeAllChannels();
  });
});

describe('max_presence_events_per_second', () => {
  it('closes a channel whose track finds the presence rate over the limit with "Too many presence messages per second"', async () => {
    const realtime = await limitedServer({ max_presence_events_per_second: 1, max_client_presence_events_per_window: 1000 });
    const member = await watchedChannel(realtime.baseUrl, 'lobby', { presence: { key: 'me', enabled: true } });
    expect(await member.joined).toBe('SUBSCRIBED');
    for (let n = 0; n < 200 && member.system.length === 0; n++) {
      // Not awaited: the track that trips the limit is never answered.
      void member.channel.track({ n });
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await eventually('CLOSED', () => member.statuses.includes('CLOSED'));
    expect(member.system).toEqual([{ extension: 'system', status: 'error', message: 'Too many presence messages per second', channel: 'lobby' }]);
  });
});
