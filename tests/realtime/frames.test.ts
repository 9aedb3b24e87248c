/**
 * Conformance: what upstream's socket and channel are silent on (malformed frames, unknown
 * events: dropped, the socket kept), the join config's booleans as upstream's FlexibleBoolean
 * parses them, payloads relayed as sent, the oversize-ack reply, and the handshake backoff.
 */
import type { RealtimeChannel } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createUser, type TestUser } from '../harness/db.ts';
import { anonKey, createProject, eventually, openRawSocket, startRealtime, subscribe, useRealtimeFixture, userToken } from './helpers.ts';

const fixture = useRealtimeFixture();
const sockets: WebSocket[] = [];
let owner: TestUser;
let outsider: TestUser;
let projectId: string;

beforeAll(async () => {
  owner = await createUser(fixture.sql);
  outsider = await createUser(fixture.sql);
  projectId = await createProject(fixture.sql, [[owner, 'owner']]);
});

afterAll(() => {
  for (const socket of sockets) socket.terminate();
});

async function raw(vsn: '1.0.0' | '2.0.0', apiKey?: string, wsUrl = fixture.realtime.wsUrl) {
  const opened = await openRawSocket(wsUrl, vsn, apiKey);
  sockets.push(opened.socket);
  return opened;
}

type V2 = [string | null, string | null, string, string, unknown];

function userBroadcastPush(fields: { joinRef: string; ref: string; topic: string; event: string; metadata?: string; json?: boolean }, body: Buffer): Buffer {
  const [joinRef, ref, topic, event, metadata] = [fields.joinRef, fields.ref, fields.topic, fields.event, fields.metadata ?? ''].map((s) => Buffer.from(s));
  const header = Buffer.from([3, joinRef!.length, ref!.length, topic!.length, event!.length, metadata!.length, fields.json ? 1 : 0]);
  return Buffer.concat([header, joinRef!, ref!, topic!, event!, metadata!, body]);
}

describe('silence where upstream is silent', () => {
  it('drops malformed 2.0.0 frames and unknown events without a reply, and keeps the socket and channel', async () => {
    const { socket, received } = await raw('2.0.0');
    socket.send(JSON.stringify(['1', '1', 'realtime:quiet-room', 'phx_join', { config: { broadcast: { self: true, ack: true } } }]));
    await eventually('join reply', () => received.length === 1);
    socket.send('not json');
    socket.send(JSON.stringify({ not: 'an array' }));
    socket.send(JSON.stringify(['1', '2', 'realtime:quiet-room']));
    socket.send(JSON.stringify(['1', '3', 42, 'broadcast', {}]));
    socket.send(Buffer.from([9, 9, 9]));
    socket.send(Buffer.from([3, 5, 5, 5]));
    socket.send(userBroadcastPush({ joinRef: '1', ref: '4', topic: 'realtime:quiet-room', event: 'x', metadata: '{oops' }, Buffer.from('{}')));
    socket.send(JSON.stringify(['1', '5', 'realtime:quiet-room', 'mystery', {}]));
    socket.send(JSON.stringify(['1', '6', 'realtime:quiet-room', 'access_token', { access_token: 42 }]));
    socket.send(JSON.stringify(['1', '7', 'realtime:quiet-room', 'broadcast', { type: 'broadcast', event: 'still-here', payload: { n: 1 } }]));
    socket.send(JSON.stringify([null, '8', 'phoenix', 'heartbeat', {}]));
    await eventually('heartbeat reply', () => received.some((m) => (m as V2)[1] === '8'));
    expect(received).toEqual([
      ['1', '1', 'realtime:quiet-room', 'phx_reply', { status: 'ok', response: { postgres_changes: [] } }],
      [null, null, 'realtime:quiet-room', 'broadcast', { type: 'broadcast', event: 'still-here', payload: { n: 1 } }],
      ['1', '7', 'realtime:quiet-room', 'phx_reply', { status: 'ok', response: {} }],
      [null, '8', 'phoenix', 'phx_reply', { status: 'ok', response: {} }],
    ]);
    expect(socket.readyState).toBe(WebSocket.OPEN);
  });

  it('drops 1.0.0 frames missing a key Phoenix requires, and answers an unjoined topic with "unmatched topic"', async () => {
    const { socket, received } = await raw('1.0.0');
    socket.send('{"topic":');
    socket.send(JSON.stringify({ topic: 'phoenix', event: 'heartbeat', payload: {} }));
    socket.send(JSON.stringify({ topic: 'realtime:nowhere', event: 'broadcast', payload: {}, ref: '2' }));
    socket.send(JSON.stringify({ topic: 'phoenix', event: 'heartbeat', payload: {}, ref: '3' }));
    await eventually('heartbeat reply', () => received.some((m) => (m as { ref?: string }).ref === '3'));
    expect(received).toEqual([
      { topic: 'realtime:nowhere', event: 'phx_reply', payload: { status: 'error', response: { reason: 'unmatched topic' } }, ref: '2' },
      { topic: 'phoenix', event: 'phx_reply', payload: { status: 'ok', response: {} }, ref: '3' },
    ]);
    expect(socket.readyState).toBe(WebSocket.OPEN);
  });

  it("leaves a supabase-js push of an unknown type unanswered ('timed out', as in production)", async () => {
    const c = await fixture.client(await anonKey());
    const channel = c.supabase.channel('quiet-js');
    expect((await subscribe(channel)).status).toBe('SUBSCRIBED');
    expect(await channel.send({ type: 'custom' as 'broadcast', event: 'x', payload: {} }, { timeout: 300 })).toBe('timed out');
    expect(channel.state).toBe('joined');
  });

  it('relays a broadcast payload that is not a map, and a kind-3 JSON payload unparsed to 2.0.0 clients only', async () => {
    const v2 = await raw('2.0.0');
    const v1 = await raw('1.0.0');
    v2.socket.send(JSON.stringify(['1', '1', 'realtime:odd-payloads', 'phx_join', { config: { broadcast: { self: true } } }]));
    v1.socket.send(JSON.stringify({ topic: 'realtime:odd-payloads', event: 'phx_join', payload: {}, ref: '1', join_ref: '1' }));
    await eventually('both joined', () => v2.received.length === 1 && v1.received.length === 1);
    v2.socket.send(JSON.stringify(['1', '2', 'realtime:odd-payloads', 'broadcast', 'just a string']));
    v2.socket.send(userBroadcastPush({ joinRef: '1', ref: '3', topic: 'realtime:odd-payloads', event: 'not-json', json: true }, Buffer.from('{nope')));
    v2.socket.send(userBroadcastPush({ joinRef: '1', ref: '4', topic: 'realtime:odd-payloads', event: 'json', json: true }, Buffer.from('{"ok":true}')));
    await eventually('the last broadcast on both', () => v2.received.length === 4 && v1.received.length === 3);
    expect(v2.received[1]).toEqual([null, null, 'realtime:odd-payloads', 'broadcast', 'just a string']);
    const notJson = v2.received[2] as Buffer;
    expect([notJson[0], notJson.subarray(notJson.length - 5).toString()]).toEqual([4, '{nope']);
    expect(v1.received.slice(1)).toEqual([
      { topic: 'realtime:odd-payloads', event: 'broadcast', payload: 'just a string', ref: null },
      { topic: 'realtime:odd-payloads', event: 'broadcast', payload: { event: 'json', payload: { ok: true }, type: 'broadcast' }, ref: null },
    ]);
  });
});

describe("the join config's booleans (upstream's FlexibleBoolean)", () => {
  it('takes "TRUE" as private (and refuses an outsider), 1 and "1" as not private', async () => {
    const { socket, received } = await raw('2.0.0', await userToken(outsider));
    const topic = `realtime:project:${projectId}`;
    socket.send(JSON.stringify(['1', '1', topic, 'phx_join', { config: { private: 'TRUE' } }]));
    await eventually('refusal', () => received.length === 1);
    expect(received[0]).toEqual(['1', '1', topic, 'phx_reply', { status: 'error', response: { reason: `Unauthorized: You do not have permissions to read from this Channel topic: project:${projectId}` } }]);
    socket.send(JSON.stringify(['2', '2', topic, 'phx_join', { config: { private: 1 } }]));
    socket.send(JSON.stringify(['3', '3', 'realtime:other', 'phx_join', { config: { private: '1' } }]));
    await eventually('two joins', () => received.length === 3);
    expect(received.slice(1).map((m) => (m as V2)[4])).toEqual([
      { status: 'ok', response: { postgres_changes: [] } },
      { status: 'ok', response: { postgres_changes: [] } },
    ]);
  });

  it('takes "True" for self and "true" for ack, and 1 as false', async () => {
    const { socket, received } = await raw('2.0.0');
    socket.send(JSON.stringify(['1', '1', 'realtime:flags', 'phx_join', { config: { broadcast: { self: 'True', ack: 'true' } } }]));
    socket.send(JSON.stringify(['2', '2', 'realtime:flags-off', 'phx_join', { config: { broadcast: { self: 1, ack: 1 } } }]));
    await eventually('joins', () => received.length === 2);
    socket.send(JSON.stringify(['2', '3', 'realtime:flags-off', 'broadcast', { type: 'broadcast', event: 'off', payload: {} }]));
    socket.send(JSON.stringify(['1', '4', 'realtime:flags', 'broadcast', { type: 'broadcast', event: 'on', payload: {} }]));
    await eventually('ack of the second', () => received.some((m) => (m as V2)[1] === '4'));
    expect(received.slice(2)).toEqual([
      [null, null, 'realtime:flags', 'broadcast', { type: 'broadcast', event: 'on', payload: {} }],
      ['1', '4', 'realtime:flags', 'phx_reply', { status: 'ok', response: {} }],
    ]);
  });
});

describe('payload size (max_payload_size_in_kb)', () => {
  it('acks an oversize broadcast with response "payload_size_exceeded" and delivers nothing; supabase-js gets "error"', async () => {
    const small = await startRealtime({ tenant: { max_payload_size_in_kb: 1 } });
    try {
      const { socket, received } = await raw('2.0.0', undefined, small.wsUrl);
      socket.send(JSON.stringify(['1', '1', 'realtime:sizes', 'phx_join', { config: { broadcast: { self: true, ack: true } } }]));
      await eventually('join', () => received.length === 1);
      // 1 kB + upstream's 500 bytes of padding: 1,500 bytes pass, more do not.
      const fits = { type: 'broadcast', event: 'fits', payload: { text: 'x'.repeat(1400) } };
      const tooBig = { type: 'broadcast', event: 'too-big', payload: { text: 'x'.repeat(1500) } };
      socket.send(JSON.stringify(['1', '2', 'realtime:sizes', 'broadcast', tooBig]));
      socket.send(JSON.stringify(['1', '3', 'realtime:sizes', 'broadcast', fits]));
      await eventually('second ack', () => received.some((m) => (m as V2)[1] === '3'));
      expect(received.slice(1).map((m) => [(m as V2)[3], (m as V2)[4]])).toEqual([
        ['phx_reply', { status: 'error', response: 'payload_size_exceeded' }],
        ['broadcast', fits],
        ['phx_reply', { status: 'ok', response: {} }],
      ]);

      const c = await fixture.client(await anonKey(), { baseUrl: small.baseUrl });
      const channel: RealtimeChannel = c.supabase.channel('sizes-js', { config: { broadcast: { ack: true } } });
      expect((await subscribe(channel)).status).toBe('SUBSCRIBED');
      expect(await channel.send({ type: 'broadcast', event: 'big', payload: { text: 'x'.repeat(2000) } })).toBe('error');
      expect(await channel.send({ type: 'broadcast', event: 'small', payload: { text: 'x' } })).toBe('ok');
      await c.supabase.removeAllChannels();
    } finally {
      await small.server.close();
    }
  });
});

describe('handshake refusals', () => {
  it('answers a refused handshake only after the connect backoff (upstream CONNECT_ERROR_BACKOFF_MS)', async () => {
    const slow = await startRealtime({ connectErrorBackoffMs: 400 });
    try {
      const refusal = (url: string) =>
        new Promise<{ status: number; ms: number }>((resolve) => {
          const started = Date.now();
          const socket = new WebSocket(url);
          socket.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, ms: Date.now() - started }));
          socket.on('error', () => undefined);
        });
      const missingKey = await refusal(`${slow.wsUrl}?vsn=2.0.0`);
      expect(missingKey.status).toBe(401);
      expect(missingKey.ms).toBeGreaterThanOrEqual(400);
      const forged = await refusal(`${slow.wsUrl}?vsn=2.0.0&apikey=${(await anonKey()).slice(0, -4)}AAAA`);
      expect(forged.status).toBe(401);
      expect(forged.ms).toBeGreaterThanOrEqual(400);
    } finally {
      await slow.server.close();
    }
  });
});
