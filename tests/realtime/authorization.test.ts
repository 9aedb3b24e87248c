/**
 * Conformance: private-channel authorization by RLS on realtime.messages, token updates and
 * expiry, driven by real supabase-js clients.
 */
import type { RealtimeChannel } from '@supabase/supabase-js';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { authorizeRead, authorizeWrite, emptyPolicies } from '../../devstack/realtime/authorization.ts';
import { createUser, type TestUser } from '../harness/db.ts';
import {
  anonKey,
  signToken,
  createProject,
  eventually,
  startRealtime,
  subscribe,
  useRealtimeFixture,
  userToken,
  type TestClient,
} from './helpers.ts';

const fixture = useRealtimeFixture();
const { sql } = fixture;
const client = (token: string) => fixture.client(token);

interface Watched {
  channel: RealtimeChannel;
  events: Array<{ event: string; payload: Record<string, unknown> }>;
  system: Array<{ status: string; message: string }>;
  statuses: string[];
}

/** Joins the project's presence topic, or `config.topic` (e.g. its server-events topic). */
async function join(c: TestClient, projectId: string, config: { self?: boolean; ack?: boolean; topic?: string } = {}): Promise<Watched & { status: string; error?: Error }> {
  const channel = c.supabase.channel(config.topic ?? `project:${projectId}`, { config: { private: true, broadcast: { self: config.self ?? false, ack: config.ack ?? false } } });
  const watched: Watched = { channel, events: [], system: [], statuses: [] };
  channel.on('broadcast', { event: '*' }, ({ event, payload }) => watched.events.push({ event, payload }));
  channel.on('system', {}, (payload: { status: string; message: string }) => watched.system.push(payload));
  const result = await new Promise<{ status: string; error?: Error }>((resolve) => {
    channel.subscribe((status, error) => {
      watched.statuses.push(status);
      resolve({ status, error });
    });
  });
  return { ...watched, ...result };
}

describe('private channel authorization', () => {
  let owner: TestUser;
  let collaborator: TestUser;
  let viewer: TestUser;
  let outsider: TestUser;
  let projectId: string;

  beforeAll(async () => {
    [owner, collaborator, viewer, outsider] = await Promise.all([createUser(sql), createUser(sql), createUser(sql), createUser(sql)]);
    projectId = await createProject(sql, [[owner!, 'owner'], [collaborator!, 'collaborator'], [viewer!, 'viewer']]);
  });

  it("refuses a non-member's join with Supabase's Unauthorized reason", async () => {
    const c = await client(await userToken(outsider));
    const joined = await join(c, projectId);
    expect(joined.status).toBe('CHANNEL_ERROR');
    expect(joined.error?.message).toBe(`Unauthorized: You do not have permissions to read from this Channel topic: project:${projectId}`);
    await c.supabase.removeChannel(joined.channel);
  });

  it('refuses the anon key on the private channel but lets it join a public one', async () => {
    const c = await client(await anonKey());
    const refused = await join(c, projectId);
    expect(refused.error?.message).toMatch(/^Unauthorized: You do not have permissions to read from this Channel topic/);
    await c.supabase.removeChannel(refused.channel);
    const publicChannel = c.supabase.channel(`lobby:${projectId}`);
    expect((await subscribe(publicChannel)).status).toBe('SUBSCRIBED');
  });

  it('lets the service-role key join (it bypasses RLS)', async () => {
    const c = await client(await signToken({ iss: 'supabase-demo', role: 'service_role' }));
    const joined = await join(c, projectId);
    expect(joined.status).toBe('SUBSCRIBED');
  });

  it("drops a viewer's broadcast and delivers a collaborator's", async () => {
    const observer = await join(await client(await userToken(owner)), projectId);
    const viewerChannel = await join(await client(await userToken(viewer)), projectId);
    const collaboratorChannel = await join(await client(await userToken(collaborator)), projectId, { ack: true });
    expect([observer.status, viewerChannel.status, collaboratorChannel.status]).toEqual(['SUBSCRIBED', 'SUBSCRIBED', 'SUBSCRIBED']);

    expect(await viewerChannel.channel.send({ type: 'broadcast', event: 'cursor', payload: { from: 'viewer' } })).toBe('ok');
    // A channel handles its events in order: once the track is answered, the broadcast was handled.
    expect(await viewerChannel.channel.track({ user_id: viewer.id })).toBe('ok');
    expect(await collaboratorChannel.channel.send({ type: 'broadcast', event: 'cursor', payload: { from: 'collaborator' } })).toBe('ok');

    await eventually("the collaborator's cursor", () => observer.events.find((e) => e.event === 'cursor'));
    expect(observer.events.filter((e) => e.event === 'cursor').map((e) => e.payload.from)).toEqual(['collaborator']);
    expect(collaboratorChannel.events).toEqual([]); // self: false
  });

  it('honours self and ack', async () => {
    const c = await join(await client(await userToken(collaborator)), projectId, { self: true, ack: true });
    expect(await c.channel.send({ type: 'broadcast', event: 'ping', payload: { n: 1 } })).toBe('ok');
    await eventually('own broadcast', () => c.events.find((e) => e.event === 'ping'));
    expect(c.events.find((e) => e.event === 'ping')?.payload).toEqual({ n: 1 });
  });

  it('keeps the channel across a token refresh', async () => {
    const c = await client(await userToken(collaborator, 60));
    const watched = await join(c, projectId, { self: true, ack: true });
    await c.setToken(await userToken(collaborator, 3600));
    expect(await watched.channel.send({ type: 'broadcast', event: 'after-refresh', payload: {} })).toBe('ok');
    await eventually('broadcast after refresh', () => watched.events.find((e) => e.event === 'after-refresh'));
    expect(watched.system).toEqual([]);
    expect(watched.channel.state).toBe('joined');
  });

  it('closes the channel of a member removed from the project on the next token update, and announces member_left', async () => {
    const leaver = await createUser(sql);
    await sql`insert into public.project_members (project_id, user_id, role) values (${projectId}, ${leaver.id}, 'viewer')`;
    const observer = await join(await client(await userToken(owner)), projectId, { topic: `project:${projectId}:events` });
    const leaverClient = await client(await userToken(leaver));
    const leaving = await join(leaverClient, projectId);
    expect(leaving.status).toBe('SUBSCRIBED');

    await sql`delete from public.project_members where project_id = ${projectId} and user_id = ${leaver.id}`;
    const left = await eventually('member_left', () => observer.events.find((e) => e.event === 'member_left'));
    expect(left.payload).toMatchObject({ project_id: projectId, user_id: leaver.id, role: 'viewer' });

    await leaverClient.setToken(await userToken(leaver, 7200));
    await eventually('system error', () => leaving.system.length > 0);
    expect(leaving.system[0]).toMatchObject({
      status: 'error',
      message: `You do not have permissions to read from this Channel topic: project:${projectId}`,
    });
    await eventually('channel closed', () => leaving.statuses.includes('CLOSED'));
  });

  it('closes the channel with a system error when the token expires', async () => {
    const c = await client(await userToken(viewer, 2));
    const watched = await join(c, projectId);
    expect(watched.status).toBe('SUBSCRIBED');
    await eventually('expiry', () => watched.system.length > 0, 8000);
    expect(watched.system[0]?.status).toBe('error');
    expect(watched.system[0]?.message).toMatch(/^Token has expired \d+ seconds ago$/);
    await eventually('channel closed', () => watched.statuses.includes('CLOSED'));
  });

  it('refuses a join with an expired token', async () => {
    const c = await client(await userToken(viewer, -10));
    const refused = await join(c, projectId);
    expect(refused.error?.message).toMatch(/^InvalidJWTToken: Token has expired \d+ seconds ago$/);
    await c.supabase.removeChannel(refused.channel);
  });
});

describe('asymmetric signing keys (SUPABASE_JWKS)', () => {
  it('accepts ES256 tokens whose kid is in the JWKS and refuses unknown kids with upstream\'s text', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
    const es = await startRealtime({ jwt: { jwks: { keys: [jwk] } } });
    const member = await createUser(sql);
    const projectId = await createProject(sql, [[member, 'owner']]);
    const sign = (kid: string, claims: Record<string, unknown>) =>
      new SignJWT({ exp: Math.floor(Date.now() / 1000) + 600, ...claims }).setProtectedHeader({ alg: 'ES256', kid }).sign(privateKey);
    const anon = await sign('key-1', { role: 'anon' });
    const connected: TestClient[] = [];
    try {
      const ok = await fixture.client(await sign('key-1', { ...member.claims }), { apiKey: anon, baseUrl: es.baseUrl });
      expect((await join(ok, projectId)).status).toBe('SUBSCRIBED');
      connected.push(ok);
      const unknown = await fixture.client(await sign('key-2', { ...member.claims }), { apiKey: anon, baseUrl: es.baseUrl });
      connected.push(unknown);
      const refused = await join(unknown, projectId);
      expect(refused.error?.message).toBe(
        'JwtSignerError: Failed to generate JWT signer for key ID (kid) "key-2", check your JWT secret or JWKS configuration',
      );
      await unknown.supabase.removeChannel(refused.channel);
    } finally {
      await Promise.all(connected.map((client) => client.supabase.removeAllChannels()));
      await es.server.close();
    }
  });
});

describe('the checks themselves (devstack/realtime/authorization.ts)', () => {
  it("decide from the member's role and leave no probe or write-check row behind", async () => {
    const viewer = await createUser(sql);
    const collaborator = await createUser(sql);
    const projectId = await createProject(sql, [[collaborator, 'owner'], [viewer, 'viewer']]);
    const topic = `project:${projectId}`;
    const context = (user: TestUser) => ({ topic, claims: { ...user.claims, role: 'authenticated', exp: 0 }, headers: {} });
    const read = await authorizeRead(sql, emptyPolicies(), context(viewer), ['broadcast', 'presence']);
    expect(read).toEqual({ broadcast: { read: true }, presence: { read: true } });
    expect(await authorizeWrite(sql, read, context(viewer), ['broadcast', 'presence'])).toEqual({
      broadcast: { read: true, write: false },
      presence: { read: true, write: true },
    });
    expect((await authorizeWrite(sql, emptyPolicies(), context(collaborator), ['broadcast'])).broadcast.write).toBe(true);
    const outsider = await createUser(sql);
    expect(await authorizeRead(sql, emptyPolicies(), context(outsider), ['broadcast'])).toEqual({ broadcast: { read: false }, presence: {} });
    const [left] = await sql<{ n: number }[]>`select count(*)::int as n from realtime.messages where topic = ${topic}`;
    expect(left!.n).toBe(0);
  });
});
