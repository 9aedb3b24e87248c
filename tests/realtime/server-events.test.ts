/**
 * The server-events topic `project:<id>:events` against the local Realtime with real
 * supabase-js clients: every member receives the triggers' events there and nothing the
 * database sends reaches `project:<id>`; no member's broadcast or track on the events topic
 * (either serializer, any role) reaches anyone; outsiders cannot join it.
 */
import type { RealtimeChannel } from '@supabase/supabase-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { createUser, type TestUser } from '../harness/db.ts';
import { createProject, eventually, subscribe, useRealtimeFixture, userToken } from './helpers.ts';

const fixture = useRealtimeFixture();
const { sql } = fixture;
let owner: TestUser;
let collaborator: TestUser;
let viewer: TestUser;
let projectId: string;

beforeAll(async () => {
  [owner, collaborator, viewer] = await Promise.all([createUser(sql), createUser(sql), createUser(sql)]);
  projectId = await createProject(sql, [[owner, 'owner'], [collaborator, 'collaborator'], [viewer, 'viewer']]);
});

async function listen(user: TestUser, topic: string, vsn: '1.0.0' | '2.0.0' = '2.0.0') {
  const c = await fixture.client(await userToken(user), { vsn });
  const channel: RealtimeChannel = c.supabase.channel(topic, { config: { private: true, broadcast: { self: true } } });
  const events: Array<{ event: string; payload: Record<string, unknown> }> = [];
  channel.on('broadcast', { event: '*' }, ({ event, payload }) => events.push({ event, payload }));
  const joined = await subscribe(channel);
  return { channel, events, joined };
}

describe('the server-events topic', () => {
  it('carries the database events to every member, and project:<id> carries none of them', async () => {
    const events = `project:${projectId}:events`;
    const listeners = await Promise.all([owner, collaborator, viewer].map((user) => listen(user, events)));
    const presenceTopic = await listen(owner, `project:${projectId}`);
    for (const listener of [...listeners, presenceTopic]) expect(listener.joined.status).toBe('SUBSCRIBED');

    await sql`update public.projects set name = ${`renamed ${Date.now()}`} where id = ${projectId}`;
    for (const listener of listeners) {
      await eventually('project_updated', () => listener.events.find((e) => e.event === 'project_updated'));
      expect(listener.events.find((e) => e.event === 'project_updated')?.payload).toMatchObject({ project_id: projectId, fields: ['name'] });
    }
    // A marker sent after the update on project:<id> arrives after anything sent before it.
    await sql`select realtime.send('{}'::jsonb, 'marker', ${`project:${projectId}`}, true)`;
    await eventually('marker', () => presenceTopic.events.find((e) => e.event === 'marker'));
    expect(presenceTopic.events.map((e) => e.event)).toEqual(['marker']);
  });

  it.each(['1.0.0', '2.0.0'] as const)('refuses every member\'s broadcast and track there (%s)', async (vsn) => {
    const topic = `project:${projectId}:events`;
    const receiver = await listen(viewer, topic);
    const senders = await Promise.all([owner, collaborator, viewer].map((user) => listen(user, topic, vsn)));
    for (const sender of senders) {
      expect(sender.joined.status).toBe('SUBSCRIBED');
      for (const event of ['job_updated', 'project_deleted', 'member_left']) {
        await sender.channel.send({ type: 'broadcast', event, payload: { project_id: projectId, id: 'forged' } });
      }
      expect(await sender.channel.track({ online_at: 'forged' }, { timeout: 3000 })).not.toBe('ok');
    }
    await sql`select realtime.send('{}'::jsonb, 'marker', ${topic}, true)`;
    await eventually('marker', () => receiver.events.find((e) => e.event === 'marker'));
    expect(receiver.events.map((e) => e.event)).toEqual(['marker']);
    // Not even the senders' own echo (broadcast.self): the broadcast never left Realtime.
    for (const sender of senders) {
      await eventually('sender marker', () => sender.events.find((e) => e.event === 'marker'));
      expect(sender.events.map((e) => e.event)).toEqual(['marker']);
    }
  });

  it('refuses non-members the join', async () => {
    const outsider = await createUser(sql);
    const { joined } = await listen(outsider, `project:${projectId}:events`);
    expect(joined.status).toBe('CHANNEL_ERROR');
    expect(joined.error?.message).toBe(`Unauthorized: You do not have permissions to read from this Channel topic: project:${projectId}:events`);
  });
});
