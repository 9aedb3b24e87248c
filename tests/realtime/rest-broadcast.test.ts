/**
 * Conformance: Realtime's REST broadcast (`POST /realtime/v1/api/broadcast` and
 * `/api/broadcast/:topic/events/:event`) as realtime-js uses it — `httpSend()` and `send()`
 * before the channel is joined — reaching subscribers of public and private topics, with
 * upstream's authorization (the token, RLS for private topics), validation and rate limit.
 */
import type { RealtimeChannel } from '@supabase/supabase-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { createUser, type TestUser } from '../harness/db.ts';
import { anonKey, createProject, eventually, signToken, startRealtime, subscribe, useRealtimeFixture, userToken, type TestClient } from './helpers.ts';

const fixture = useRealtimeFixture();
let owner: TestUser;
let collaborator: TestUser;
let viewer: TestUser;
let projectId: string;

beforeAll(async () => {
  [owner, collaborator, viewer] = await Promise.all([createUser(fixture.sql), createUser(fixture.sql), createUser(fixture.sql)]);
  projectId = await createProject(fixture.sql, [
    [owner, 'owner'],
    [collaborator, 'collaborator'],
    [viewer, 'viewer'],
  ]);
});

const api = () => `${fixture.realtime.baseUrl}/realtime/v1/api/broadcast`;

async function listen(c: TestClient, topic: string, config: Record<string, unknown> = {}) {
  const channel: RealtimeChannel = c.supabase.channel(topic, { config });
  const events: Array<{ event: string; payload: unknown; meta?: { id?: string } }> = [];
  channel.on('broadcast', { event: '*' }, (message) => events.push({ event: message.event, payload: message.payload, meta: message.meta }));
  expect((await subscribe(channel)).status).toBe('SUBSCRIBED');
  return events;
}

/** A supabase-js client acting as `token` whose Realtime already holds it (what httpSend sends as the bearer). */
async function sender(token: string): Promise<TestClient> {
  const c = await fixture.client(token);
  await c.setToken(token);
  return c;
}

describe('public topics', () => {
  it('delivers httpSend() (the single-message endpoint) to 2.0.0 and 1.0.0 subscribers', async () => {
    const v2 = await listen(await fixture.client(await anonKey()), 'rest-room');
    const v1 = await listen(await fixture.client(await anonKey(), { vsn: '1.0.0' }), 'rest-room');
    const c = await sender(await anonKey());
    expect(await c.supabase.channel('rest-room').httpSend('hello', { a: 1 })).toEqual({ success: true });
    for (const events of [v2, v1]) {
      await eventually('hello', () => events.length > 0);
      expect(events).toEqual([{ event: 'hello', payload: { a: 1 }, meta: undefined }]);
    }
  });

  it("delivers send() made before the channel is joined (realtime-js falls back to the batch endpoint), answering 'ok'", async () => {
    const events = await listen(await fixture.client(await anonKey()), 'early-room');
    const c = await sender(await anonKey());
    const unjoined = c.supabase.channel('early-room');
    expect(await unjoined.send({ type: 'broadcast', event: 'early', payload: { b: 2 } })).toBe('ok');
    await eventually('early', () => events.length > 0);
    expect(events).toEqual([{ event: 'early', payload: { b: 2 }, meta: undefined }]);
  });
});

describe('private topics (RLS write check)', () => {
  it("delivers a collaborator's httpSend() to members and refuses a viewer's with 403 Unauthorized", async () => {
    const topic = `project:${projectId}`;
    const events = await listen(await fixture.client(await userToken(owner)), topic, { private: true });
    const asCollaborator = await sender(await userToken(collaborator));
    expect(await asCollaborator.supabase.channel(topic, { config: { private: true } }).httpSend('cursor', { x: 1 })).toEqual({ success: true });
    const asViewer = await sender(await userToken(viewer));
    await expect(asViewer.supabase.channel(topic, { config: { private: true } }).httpSend('cursor', { x: 2 })).rejects.toThrow('Unauthorized');
    const outsider = await sender(await userToken(await createUser(fixture.sql)));
    await expect(outsider.supabase.channel(topic, { config: { private: true } }).httpSend('cursor', { x: 3 })).rejects.toThrow('Unauthorized');
    await eventually('cursor', () => events.length > 0);
    await asCollaborator.supabase.channel(topic, { config: { private: true } }).httpSend('marker', {});
    await eventually('marker', () => events.some((e) => e.event === 'marker'));
    expect(events.map((e) => [e.event, e.payload])).toEqual([
      ['cursor', { x: 1 }],
      ['marker', {}],
    ]);
  });

  it("batch: skips a viewer's private messages silently (202), delivers a collaborator's with meta.id, and keeps public and private apart", async () => {
    const topic = `project:${projectId}`;
    const privateEvents = await listen(await fixture.client(await userToken(owner)), topic, { private: true });
    const publicEvents = await listen(await fixture.client(await anonKey()), topic);
    const post = async (token: string, messages: unknown[]) =>
      fetch(api(), { method: 'POST', headers: { apikey: await anonKey(), authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ messages }) });
    const viewerResponse = await post(await userToken(viewer), [{ topic, event: 'forged', payload: {}, private: true }]);
    expect([viewerResponse.status, await viewerResponse.text()]).toEqual([202, '']);
    const id = '3f1d6a52-7b1e-4c52-9a63-0c4b6f2d9e11';
    const collaboratorResponse = await post(await userToken(collaborator), [
      { topic, event: 'real', payload: { ok: true }, private: true, id: id.toUpperCase() },
      { topic, event: 'open', payload: {} },
    ]);
    expect(collaboratorResponse.status).toBe(202);
    await eventually('both', () => privateEvents.length > 0 && publicEvents.length > 0);
    expect(privateEvents).toEqual([{ event: 'real', payload: { ok: true }, meta: { id } }]);
    expect(publicEvents).toEqual([{ event: 'open', payload: {}, meta: undefined }]);
  });
});

describe('refusals', () => {
  it('answers 401 without a valid token (apikey or bearer), whatever the topic', async () => {
    const body = JSON.stringify({ messages: [{ topic: 'room', event: 'e', payload: {} }] });
    const headers = { 'content-type': 'application/json' };
    const forged = `${(await anonKey()).slice(0, -4)}AAAA`;
    const expired = await signToken({ role: 'anon' }, -10);
    const variants: Array<Record<string, string>> = [{}, { apikey: forged }, { authorization: `Bearer ${forged}`, apikey: await anonKey() }, { apikey: expired }, { authorization: 'Bearer' }];
    for (const extra of variants) {
      const response = await fetch(api(), { method: 'POST', headers: { ...headers, ...extra }, body });
      expect([response.status, await response.json()]).toEqual([401, { message: 'Unauthorized' }]);
    }
  });

  it('validates as upstream: 422 with per-message errors, 415 for another media type, 404 for other routes', async () => {
    const headers = { apikey: await anonKey(), 'content-type': 'application/json' };
    const post = (body: unknown, path = '') => fetch(`${api()}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    let response = await post({ messages: [{ topic: 'room', event: 'e', payload: {} }, { topic: '', payload: 'text', private: 'yes', id: 'x' }] });
    expect([response.status, await response.json()]).toEqual([
      422,
      { errors: { messages: [{}, { topic: ["can't be blank"], event: ["can't be blank"], payload: ['is invalid'], private: ['is invalid'], id: ['is invalid'] }] } },
    ]);
    response = await post({});
    expect([response.status, await response.json()]).toEqual([422, { errors: { messages: ["can't be blank"] } }]);
    response = await post({ messages: 'all of them' });
    expect([response.status, await response.json()]).toEqual([422, { errors: { messages: ['is invalid'] } }]);
    response = await fetch(`${api()}/room/events/e`, { method: 'POST', headers: { ...headers, 'content-type': 'text/plain' }, body: 'hi' });
    expect([response.status, await response.json()]).toEqual([415, { error: 'Unsupported Media Type. Use application/json or application/octet-stream' }]);
    response = await fetch(api(), { method: 'POST', headers, body: '{"messages": [' });
    expect(response.status).toBe(400);
    response = await fetch(api(), { headers });
    expect(response.status).toBe(404);
    response = await post({}, '/room');
    expect(response.status).toBe(404);
  });

  it('refuses a batch that would pass max_events_per_second with 429, and an oversize payload with 422', async () => {
    const limited = await startRealtime({ tenant: { max_events_per_second: 2, max_payload_size_in_kb: 1 }, rateCounterTickMs: 100 });
    try {
      const headers = { apikey: await anonKey(), 'content-type': 'application/json' };
      const url = `${limited.baseUrl}/realtime/v1/api/broadcast`;
      const messages = [1, 2, 3].map((n) => ({ topic: 'room', event: 'e', payload: { n } }));
      let response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ messages }) });
      expect([response.status, await response.json()]).toEqual([429, { message: 'Too many messages to broadcast, please reduce the batch size' }]);
      response = await fetch(`${url}/room/events/e`, { method: 'POST', headers, body: JSON.stringify({ text: 'x'.repeat(1500) }) });
      expect([response.status, await response.json()]).toEqual([422, { errors: { payload: ['Payload size exceeds tenant limit'] } }]);
      expect(response.headers.get('x-rate-limit')).toBe('2');
    } finally {
      await limited.server.close();
    }
  });
});
