/**
 * Conformance: rows written by realtime.send (the schema's event triggers) reach members'
 * channels once committed, in order; both serializers; the raw protocol (heartbeat,
 * binary broadcasts, the channel limit, handshake refusals; frames.test.ts has the rest).
 */
import type { RealtimeChannel } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createUser, type TestUser } from '../harness/db.ts';
import { anonKey, createProject, eventually, openRawSocket, startRealtime, subscribe, useRealtimeFixture, userToken } from './helpers.ts';

const fixture = useRealtimeFixture();
const { sql } = fixture;
const sockets: WebSocket[] = [];
let owner: TestUser;
let projectId: string;

beforeAll(async () => {
  owner = await createUser(sql);
  projectId = await createProject(sql, [[owner, 'owner']]);
});

afterAll(() => {
  for (const socket of sockets) socket.terminate();
});

/** Joins the project's server-events topic, or `topic`. */
async function watch(vsn: '1.0.0' | '2.0.0' = '2.0.0', topic = `project:${projectId}:events`) {
  const c = await fixture.client(await userToken(owner), { vsn });
  const channel: RealtimeChannel = c.supabase.channel(topic, { config: { private: true, broadcast: { self: true, ack: true } } });
  const events: Array<{ event: string; payload: Record<string, unknown>; meta?: { id?: string } }> = [];
  channel.on('broadcast', { event: '*' }, (message) => events.push({ event: message.event, payload: message.payload, meta: message.meta }));
  expect((await subscribe(channel)).status).toBe('SUBSCRIBED');
  return { channel, events };
}

/** A raw WebSocket client of the fixture's server, terminated after the file. */
async function raw(vsn: '1.0.0' | '2.0.0', apikey?: string) {
  const opened = await openRawSocket(fixture.realtime.wsUrl, vsn, apikey);
  sockets.push(opened.socket);
  return opened;
}

describe('database events', () => {
  it("delivers a job's progress as job_updated events in order, ending succeeded", async () => {
    const { events } = await watch();
    const [job] = await sql<{ id: string }[]>`
      insert into public.jobs (project_id, created_by, type, payload) values (${projectId}, ${owner.id}, 'diagnostic.sleep', '{"ms": 1}') returning id`;
    const jobId = job!.id;
    await sql`update public.jobs set status = 'running', attempts = 1, started_at = now() where id = ${jobId}`;
    for (const progress of [25, 50, 75]) await sql`update public.jobs set progress = ${progress} where id = ${jobId}`;
    await sql`update public.jobs set status = 'succeeded', progress = 100, finished_at = now() where id = ${jobId}`;

    const jobEvents = () => events.filter((e) => e.event === 'job_updated' && e.payload.id === jobId);
    await eventually('succeeded event', () => jobEvents().some((e) => e.payload.status === 'succeeded'));
    expect(jobEvents().map((e) => [e.payload.status, e.payload.progress])).toEqual([
      ['queued', 0],
      ['running', 0],
      ['running', 25],
      ['running', 50],
      ['running', 75],
      ['succeeded', 100],
    ]);
    expect(jobEvents()[0]).toMatchObject({ payload: { project_id: projectId, type: 'diagnostic.sleep', attempts: 0 }, meta: { id: expect.any(String) } });
  });

  it('delivers private rows only to private channels, and public rows only to public ones', async () => {
    const { events } = await watch('2.0.0', `project:${projectId}`);
    const c = await fixture.client(await anonKey());
    const publicChannel = c.supabase.channel(`project:${projectId}`);
    const publicEvents: string[] = [];
    publicChannel.on('broadcast', { event: '*' }, ({ event }) => publicEvents.push(event));
    expect((await subscribe(publicChannel)).status).toBe('SUBSCRIBED');
    await sql`select realtime.send('{}'::jsonb, 'private-only', ${`project:${projectId}`}, true)`;
    await sql`select realtime.send('{}'::jsonb, 'public-only', ${`project:${projectId}`}, false)`;
    await sql`select realtime.send('{}'::jsonb, 'private-marker', ${`project:${projectId}`}, true)`;
    await eventually('public row on the public channel', () => publicEvents.includes('public-only'));
    await eventually('private marker', () => events.some((e) => e.event === 'private-marker'));
    expect(publicEvents).toEqual(['public-only']);
    expect(events.map((e) => e.event).filter((e) => e !== 'private-marker')).toEqual(['private-only']);
  });

  it('delivers nothing from a rolled-back transaction', async () => {
    const { events } = await watch();
    await sql
      .begin(async (tx) => {
        await tx`update public.projects set name = 'rolled back' where id = ${projectId}`;
        throw new Error('rollback');
      })
      .catch(() => undefined);
    await sql`update public.projects set name = 'committed' where id = ${projectId}`;
    await eventually('project_updated', () => events.find((e) => e.event === 'project_updated'));
    // One event, the committed one's: the rolled-back update announced nothing.
    expect(events.filter((e) => e.event === 'project_updated').map((e) => e.payload.fields)).toEqual([['name']]);
  });
});

describe('database events across a lost LISTEN connection', () => {
  it('delivers every row committed while the listener reconnects, in order', async () => {
    const applicationName = `realtime-listen-${Math.random().toString(36).slice(2, 10)}`;
    const own = await startRealtime({ applicationName });
    try {
      const c = await fixture.client(await userToken(owner), { baseUrl: own.baseUrl });
      const channel = c.supabase.channel(`project:${projectId}`, { config: { private: true } });
      const seen: number[] = [];
      channel.on('broadcast', { event: 'tick' }, ({ payload }) => seen.push(payload.n as number));
      expect((await subscribe(channel)).status).toBe('SUBSCRIBED');
      const [killed] = await sql<{ count: number }[]>`
        select count(pg_terminate_backend(pid))::int as count from pg_stat_activity
        where application_name like ${`${applicationName}:realtime_messages:%`} and query ilike 'listen%'`;
      expect(killed?.count).toBe(1);
      for (let n = 1; n <= 20; n++) {
        await sql`select realtime.send(${sql.json({ n })}, 'tick', ${`project:${projectId}`}, true)`;
      }
      await eventually('all 20 ticks', () => seen.length >= 20, 15_000);
      expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    } finally {
      await own.server.close();
    }
  });
});

describe('serializers', () => {
  it('1.0.0 and 2.0.0 clients exchange broadcasts and receive database events', async () => {
    const v1 = await watch('1.0.0', `project:${projectId}`);
    const v2 = await watch('2.0.0', `project:${projectId}`);
    expect(await v1.channel.send({ type: 'broadcast', event: 'from-v1', payload: { a: 1 } })).toBe('ok');
    expect(await v2.channel.send({ type: 'broadcast', event: 'from-v2', payload: { b: 2 } })).toBe('ok');
    await sql`select realtime.send('{"hello": "db"}'::jsonb, 'from-db', ${`project:${projectId}`}, true)`;
    for (const client of [v1, v2]) {
      await eventually('all three', () => ['from-v1', 'from-v2', 'from-db'].every((name) => client.events.some((e) => e.event === name)));
      expect(client.events.find((e) => e.event === 'from-v1')?.payload).toEqual({ a: 1 });
      expect(client.events.find((e) => e.event === 'from-v2')?.payload).toEqual({ b: 2 });
      expect(client.events.find((e) => e.event === 'from-db')).toMatchObject({ payload: { hello: 'db', id: expect.any(String) }, meta: { id: expect.any(String) } });
    }
  });

  it('speaks 1.0.0 JSON objects on the wire', async () => {
    const { socket, received } = await raw('1.0.0');
    socket.send(JSON.stringify({ topic: 'phoenix', event: 'heartbeat', payload: {}, ref: '1' }));
    socket.send(JSON.stringify({ topic: 'realtime:lobby-v1', event: 'phx_join', payload: { config: { presence: { key: 'me', enabled: true } } }, ref: '2', join_ref: '2' }));
    await eventually('presence_state', () => received.find((m) => (m as { event?: string }).event === 'presence_state'));
    expect(received[0]).toEqual({ topic: 'phoenix', event: 'phx_reply', payload: { status: 'ok', response: {} }, ref: '1' });
    expect(received[1]).toEqual({ topic: 'realtime:lobby-v1', event: 'phx_reply', payload: { status: 'ok', response: { postgres_changes: [] } }, ref: '2' });
    expect(received[2]).toEqual({ topic: 'realtime:lobby-v1', event: 'presence_state', payload: {}, ref: null });
  });
});

describe('raw protocol (2.0.0)', () => {
  it('relays kind-3 binary broadcasts as kind-4 frames, and closes on leave', async () => {
    const sender = await raw('2.0.0');
    const receiver = await raw('2.0.0');
    for (const peer of [sender, receiver]) peer.socket.send(JSON.stringify(['1', '1', 'realtime:binary-room', 'phx_join', {}]));
    await eventually('both joined', () => sender.received.length > 0 && receiver.received.length > 0);
    const enc = new TextEncoder();
    const [joinRef, ref, topic, event] = ['1', '2', 'realtime:binary-room', 'bytes'].map((s) => enc.encode(s));
    const body = Buffer.from([1, 2, 3, 250]);
    sender.socket.send(
      Buffer.concat([Buffer.from([3, joinRef!.length, ref!.length, topic!.length, event!.length, 0, 0]), joinRef!, ref!, topic!, event!, body]),
    );
    const frame = await eventually('kind-4 frame', () => receiver.received.find((m): m is Buffer => Buffer.isBuffer(m)));
    expect(frame[0]).toBe(4);
    const [topicSize, eventSize, metaSize, encoding] = [frame[1]!, frame[2]!, frame[3]!, frame[4]!];
    expect(frame.subarray(5, 5 + topicSize).toString()).toBe('realtime:binary-room');
    expect(frame.subarray(5 + topicSize, 5 + topicSize + eventSize).toString()).toBe('bytes');
    expect([metaSize, encoding]).toEqual([0, 0]);
    expect([...frame.subarray(5 + topicSize + eventSize)]).toEqual([1, 2, 3, 250]);

    receiver.socket.send(JSON.stringify(['1', '3', 'realtime:binary-room', 'phx_leave', {}]));
    await eventually('phx_close', () => receiver.received.find((m) => Array.isArray(m) && m[3] === 'phx_close'));
    const tail = receiver.received.filter(Array.isArray).slice(-2);
    expect(tail).toEqual([
      ['1', '3', 'realtime:binary-room', 'phx_reply', { status: 'ok', response: {} }],
      ['1', '1', 'realtime:binary-room', 'phx_close', {}],
    ]);
  });

  it('refuses joins past the per-socket channel limit', async () => {
    const limited = await startRealtime({ tenant: { max_channels_per_client: 2 } });
    try {
      const socket = new WebSocket(`${limited.wsUrl}?apikey=${await anonKey()}&vsn=2.0.0`);
      const received: unknown[][] = [];
      socket.on('message', (data: Buffer) => received.push(JSON.parse(String(data))));
      await new Promise((resolve) => socket.once('open', resolve));
      for (const n of [1, 2, 3]) socket.send(JSON.stringify([String(n), String(n), `realtime:room-${n}`, 'phx_join', {}]));
      await eventually('three replies', () => received.length === 3);
      expect(received.map((m) => (m[4] as { status: string }).status)).toEqual(['ok', 'ok', 'error']);
      expect(received[2]?.[4]).toEqual({ status: 'error', response: { reason: 'ChannelRateLimitReached: Too many channels' } });
      socket.close();
    } finally {
      await limited.server.close();
    }
  });

  it('closes a socket that stays silent past the idle timeout (no heartbeat)', async () => {
    const quiet = await startRealtime({ idleTimeoutMs: 300 });
    try {
      const socket = new WebSocket(`${quiet.wsUrl}?apikey=${await anonKey()}&vsn=2.0.0`);
      const code = await new Promise<number>((resolve) => socket.on('close', (closeCode) => resolve(closeCode)));
      expect(code).toBe(1000);
    } finally {
      await quiet.server.close();
    }
  });

  it('refuses handshakes without an API key or with a forged one', async () => {
    const status = (url: string) =>
      new Promise<number>((resolve) => {
        const socket = new WebSocket(url);
        socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.on('open', () => resolve(101));
        socket.on('error', () => undefined);
      });
    expect(await status(`${fixture.realtime.wsUrl}?vsn=2.0.0`)).toBe(401);
    const forged = (await anonKey()).slice(0, -4) + 'AAAA';
    expect(await status(`${fixture.realtime.wsUrl}?vsn=2.0.0&apikey=${forged}`)).toBe(401);
    expect(await status(`${fixture.realtime.wsUrl.replace('/websocket', '/nope')}?vsn=2.0.0&apikey=${await anonKey()}`)).toBe(404);
    expect(await status(`${fixture.realtime.wsUrl}?vsn=3.0.0&apikey=${await anonKey()}`)).toBe(403);
  });
});
