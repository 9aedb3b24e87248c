/**
 * Conformance: presence on a workspace channel, driven by real supabase-js clients.
 */
import { describe, expect, it } from 'vitest';
import { createUser, type TestUser } from '../harness/db.ts';
import { createProject, eventually, subscribe, useRealtimeFixture, userToken, type TestClient } from './helpers.ts';

const fixture = useRealtimeFixture();
const { sql } = fixture;
const client = async (user: TestUser) => fixture.client(await userToken(user));

function workspace(c: TestClient, projectId: string, user: TestUser) {
  return c.supabase.channel(`project:${projectId}`, { config: { private: true, presence: { key: user.id, enabled: true } } });
}

describe('presence', () => {
  it('two members see each other join and leave', async () => {
    const alice = await createUser(sql, { displayName: 'Alice' });
    const bob = await createUser(sql, { displayName: 'Bob' });
    const projectId = await createProject(sql, [[alice, 'owner'], [bob, 'viewer']]);

    const aliceClient = await client(alice);
    const aliceChannel = workspace(aliceClient, projectId, alice);
    const joins: string[] = [];
    const leaves: string[] = [];
    aliceChannel.on('presence', { event: 'join' }, ({ key }) => joins.push(key));
    aliceChannel.on('presence', { event: 'leave' }, ({ key }) => leaves.push(key));
    expect((await subscribe(aliceChannel)).status).toBe('SUBSCRIBED');
    expect(await aliceChannel.track({ user_id: alice.id, display_name: 'Alice' })).toBe('ok');

    const bobClient = await client(bob);
    const bobChannel = workspace(bobClient, projectId, bob);
    bobChannel.on('presence', { event: 'sync' }, () => undefined);
    expect((await subscribe(bobChannel)).status).toBe('SUBSCRIBED');
    expect(await bobChannel.track({ user_id: bob.id, display_name: 'Bob' })).toBe('ok');

    await eventually('alice sees bob', () => joins.includes(bob.id));
    await eventually('bob sees both', () => Object.keys(bobChannel.presenceState()).length === 2);
    expect(bobChannel.presenceState()[alice.id]?.[0]).toMatchObject({ user_id: alice.id, display_name: 'Alice' });
    expect(bobChannel.presenceState()[alice.id]?.[0]?.presence_ref).toEqual(expect.any(String));

    await bobClient.supabase.removeChannel(bobChannel);
    await eventually('alice sees bob leave', () => leaves.includes(bob.id));
    expect(Object.keys(aliceChannel.presenceState())).toEqual([alice.id]);
  });

  it('an update is a leave plus a join, and tabs of one user are one key with several metas', async () => {
    const carol = await createUser(sql);
    const projectId = await createProject(sql, [[carol, 'owner']]);
    const tab1 = workspace(await client(carol), projectId, carol);
    const tab2 = workspace(await client(carol), projectId, carol);
    const events: Array<{ event: string; refs: string[] }> = [];
    tab1.on('presence', { event: '*' }, (payload) => {
      if (!payload || (payload.event !== 'join' && payload.event !== 'leave')) return;
      const metas = 'newPresences' in payload ? payload.newPresences : payload.leftPresences;
      events.push({ event: payload.event, refs: metas.map((meta) => meta.presence_ref) });
    });
    expect((await subscribe(tab1)).status).toBe('SUBSCRIBED');
    expect((await subscribe(tab2)).status).toBe('SUBSCRIBED');
    await tab1.track({ user_id: carol.id, status: 'reading' });
    await tab2.track({ user_id: carol.id, status: 'reading' });
    await eventually('two metas under one key', () => tab1.presenceState()[carol.id]?.length === 2);
    expect(Object.keys(tab1.presenceState())).toEqual([carol.id]);

    const before = tab1.presenceState()[carol.id]!.map((meta) => meta.presence_ref);
    events.length = 0;
    await tab2.track({ user_id: carol.id, status: 'typing' });
    await eventually('update seen as leave + join', () => events.some((e) => e.event === 'leave') && events.some((e) => e.event === 'join'));
    const after = tab1.presenceState<{ status: string }>()[carol.id]!;
    expect(after).toHaveLength(2);
    expect(after.map((meta) => meta.status).sort()).toEqual(['reading', 'typing']);
    expect(after.map((meta) => meta.presence_ref)).not.toEqual(before);
  });

  it('public and private channels of the same name are separate', async () => {
    const dave = await createUser(sql);
    const projectId = await createProject(sql, [[dave, 'owner']]);
    const c = await client(dave);
    const privateChannel = workspace(c, projectId, dave);
    expect((await subscribe(privateChannel)).status).toBe('SUBSCRIBED');
    await privateChannel.track({ user_id: dave.id });

    const other = await client(dave);
    const publicChannel = other.supabase.channel(`project:${projectId}`, { config: { presence: { key: 'public-watcher' } } });
    publicChannel.on('presence', { event: 'sync' }, () => undefined);
    expect((await subscribe(publicChannel)).status).toBe('SUBSCRIBED');
    await publicChannel.track({ who: 'public' });
    await eventually('public sees itself', () => publicChannel.presenceState()['public-watcher']);
    await eventually('private sees only its own', () => privateChannel.presenceState()[dave.id]);
    expect(Object.keys(publicChannel.presenceState())).toEqual(['public-watcher']);
    expect(Object.keys(privateChannel.presenceState())).toEqual([dave.id]);
  });

  it('closes the channel of a client that tracks more than 5 times in 30 s, as hosted Realtime does', async () => {
    const erin = await createUser(sql);
    const projectId = await createProject(sql, [[erin, 'owner']]);
    const channel = workspace(await client(erin), projectId, erin);
    const system: Array<{ status: string; message: string }> = [];
    channel.on('system', {}, (message: { status: string; message: string }) => system.push(message));
    expect((await subscribe(channel)).status).toBe('SUBSCRIBED');
    for (let n = 1; n <= 5; n++) expect(await channel.track({ user_id: erin.id, n })).toBe('ok');
    void channel.track({ user_id: erin.id, n: 6 });
    await eventually('rate limit', () => system[0]);
    expect(system[0]).toMatchObject({ status: 'error', message: 'Client presence rate limit exceeded' });
  });

  it('50 clients in one workspace converge on the same presence state', async () => {
    const users = await Promise.all(Array.from({ length: 50 }, () => createUser(sql)));
    const projectId = await createProject(sql, users.map((user, index) => [user, index === 0 ? 'owner' : 'viewer'] as const) as never);
    const channels = await Promise.all(
      users.map(async (user) => {
        const c = await client(user);
        const channel = workspace(c, projectId, user);
        channel.on('presence', { event: 'sync' }, () => undefined);
        const { status } = await subscribe(channel);
        expect(status).toBe('SUBSCRIBED');
        expect(await channel.track({ user_id: user.id })).toBe('ok');
        return channel;
      }),
    );
    const expected = users.map((user) => user.id).sort();
    await eventually('every client sees all 50', () => channels.every((channel) => Object.keys(channel.presenceState()).length === 50), 30_000);
    for (const channel of channels) expect(Object.keys(channel.presenceState()).sort()).toEqual(expected);
  });
});
