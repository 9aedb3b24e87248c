/**
 * The client helper `joinWorkspace` against the local Realtime and the real `projects`
 * function (its member list), with real supabase-js clients: presence (one member per user,
 * members only, names from profiles), server events only from the events topic, client
 * broadcasts, refused joins, token refresh, reconnects, removal and lost permissions.
 */
import { createClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinWorkspace, WORKSPACE_SERVER_EVENTS, WorkspaceError, type OnlineMember, type Workspace, type WorkspaceServerEvents } from '../../client/index.ts';
import type { Database } from '../../client/database.types.ts';
import { JobUpdated } from '../../core/jobs/row.ts';
import { adminSql, createUser, type TestUser } from '../harness/db.ts';
import { anonKey, connectClient, createProject, eventually, subscribe, userToken, type TestClient } from '../realtime/helpers.ts';
import { startWorkspaceStack, type WorkspaceStack } from './workspace-stack.ts';

const sql = adminSql();
let stack: WorkspaceStack;
const clients: TestClient[] = [];
const workspaces: Workspace[] = [];

beforeAll(async () => {
  stack = await startWorkspaceStack();
});

afterAll(async () => {
  await Promise.all(workspaces.map((w) => w.leave().catch(() => undefined)));
  await Promise.all(clients.map((c) => c.supabase.removeAllChannels()));
  await stack.stop();
  await sql.end();
});

async function clientFor(user: TestUser, expiresIn?: number, vsn?: '1.0.0' | '2.0.0'): Promise<TestClient> {
  const c = await connectClient(stack.baseUrl, await userToken(user, expiresIn), { vsn });
  clients.push(c);
  return c;
}

function recorder() {
  const seen = {
    sync: [] as OnlineMember[][],
    joins: [] as string[],
    leaves: [] as string[],
    events: [] as Array<{ event: string; payload: unknown }>,
    broadcasts: [] as Array<{ event: string; payload: unknown }>,
    errors: [] as WorkspaceError[],
  };
  const server = <E extends keyof WorkspaceServerEvents>(event: E) => (payload: WorkspaceServerEvents[E]) => seen.events.push({ event, payload });
  const handlers = {
    sync: (members: OnlineMember[]) => seen.sync.push(members),
    join: (member: OnlineMember) => seen.joins.push(member.user_id),
    leave: (member: { user_id: string }) => seen.leaves.push(member.user_id),
    broadcast: (event: string, payload: unknown) => seen.broadcasts.push({ event, payload }),
    error: (error: WorkspaceError) => seen.errors.push(error),
    member_joined: server('member_joined'),
    member_left: server('member_left'),
    member_role_changed: server('member_role_changed'),
    project_updated: server('project_updated'),
    project_deleted: server('project_deleted'),
    job_updated: server('job_updated'),
  };
  return { seen, handlers };
}

async function join(c: TestClient, projectId: string, handlers: object = {}): Promise<Workspace> {
  const workspace = await joinWorkspace(c.supabase, projectId, handlers);
  workspaces.push(workspace);
  return workspace;
}

/** Joins `topic` with plain supabase-js (no helper), recording every broadcast. */
async function plainChannel(c: TestClient, topic: string, config: Record<string, unknown> = {}) {
  const channel = c.supabase.channel(topic, { config: { private: true, ...config } });
  const received: Array<{ event: string; payload: Record<string, unknown> }> = [];
  channel.on('broadcast', { event: '*' }, (message) => received.push({ event: message.event, payload: message.payload }));
  const joined = await subscribe(channel);
  return { channel, received, joined };
}

describe('joinWorkspace', () => {
  let owner: TestUser;
  let collaborator: TestUser;
  let viewer: TestUser;
  let projectId: string;

  beforeAll(async () => {
    [owner, collaborator, viewer] = await Promise.all([
      createUser(sql, { displayName: 'Olive Owner' }),
      createUser(sql, { displayName: 'Colin Collab' }),
      createUser(sql, { displayName: 'Vera Viewer' }),
    ]);
    projectId = await createProject(sql, [[owner!, 'owner'], [collaborator!, 'collaborator'], [viewer!, 'viewer']]);
  });

  it('shows each user once, whatever the number of tabs, with their profile, and reports joins and leaves per user', async () => {
    const ownerSide = recorder();
    const ownerWorkspace = await join(await clientFor(owner), projectId, ownerSide.handlers);
    const tab1 = await join(await clientFor(viewer), projectId);
    const tab2 = await join(await clientFor(viewer), projectId);

    await eventually('two members, viewer with two tabs', () => ownerWorkspace.members().find((m) => m.user_id === viewer.id)?.connections === 2);
    expect(ownerWorkspace.members().map((m) => m.user_id).sort()).toEqual([owner.id, viewer.id].sort());
    expect(ownerWorkspace.members().find((m) => m.user_id === viewer.id)).toMatchObject({
      role: 'viewer', display_name: 'Vera Viewer', avatar_url: null, online_at: expect.any(String),
    });
    expect(ownerSide.seen.joins.filter((id) => id === viewer.id)).toHaveLength(1);

    await tab1.leave();
    await eventually('one tab left', () => ownerWorkspace.members().find((m) => m.user_id === viewer.id)?.connections === 1);
    expect(ownerSide.seen.leaves).toEqual([]);
    await tab2.leave();
    await eventually('viewer offline', () => ownerSide.seen.leaves.includes(viewer.id));
    expect(ownerWorkspace.members().map((m) => m.user_id)).toEqual([owner.id]);
    expect(ownerSide.seen.sync.length).toBeGreaterThan(0);
  });

  it('never shows a member as someone else, nor a key that is not a member', async () => {
    const ownerSide = recorder();
    const ownerWorkspace = await join(await clientFor(owner), projectId, ownerSide.handlers);
    const outsider = await createUser(sql, { displayName: 'Otto Outsider' });
    // The collaborator tracks, with their own key, a payload claiming to be the viewer.
    const impostor = await plainChannel(await clientFor(collaborator), `project:${projectId}`, { presence: { key: collaborator.id } });
    expect(impostor.joined.status).toBe('SUBSCRIBED');
    expect(await impostor.channel.track({ user_id: viewer.id, display_name: 'Vera Viewer', avatar_url: 'https://evil.example/v.png' })).toBe('ok');
    // ... and, on other connections, keys of a non-member and of no user at all.
    for (const key of [outsider.id, '00000000-0000-4000-8000-000000000000', 'Olive Owner']) {
      const forged = await plainChannel(await clientFor(collaborator), `project:${projectId}`, { presence: { key } });
      expect(await forged.channel.track({ user_id: key, display_name: 'Someone' })).toBe('ok');
    }

    await eventually('the collaborator online', () => ownerWorkspace.members().some((m) => m.user_id === collaborator.id));
    // Give the forged keys' diffs time to arrive (they are sent before the marker below).
    const marker = await join(await clientFor(viewer), projectId);
    await eventually('the marker online', () => ownerWorkspace.members().some((m) => m.user_id === viewer.id));
    const presenceKeys = Object.keys(ownerWorkspace.channel.presenceState());
    expect(presenceKeys).toEqual(expect.arrayContaining([outsider.id, 'Olive Owner', collaborator.id]));
    expect(ownerWorkspace.members().find((m) => m.user_id === collaborator.id)).toMatchObject({
      display_name: 'Colin Collab', avatar_url: null, role: 'collaborator', connections: 1,
    });
    expect(ownerWorkspace.members().map((m) => m.user_id).sort()).toEqual([owner.id, collaborator.id, viewer.id].sort());
    expect(ownerSide.seen.joins).not.toContain(outsider.id);
    await marker.leave();
    await eventually('the viewer offline again', () => !ownerWorkspace.members().some((m) => m.user_id === viewer.id));
    expect(ownerWorkspace.members().some((m) => m.user_id === viewer.id)).toBe(false);
    await impostor.channel.untrack();
  });

  it.each(['1.0.0', '2.0.0'] as const)('delivers only the database\'s server events to their handlers, whatever a collaborator forges (%s)', async (vsn) => {
    const ownerSide = recorder();
    const ownerWorkspace = await join(await clientFor(owner), projectId, ownerSide.handlers);
    const collaboratorClient = await clientFor(collaborator, undefined, vsn);
    const collaboratorWorkspace = await join(collaboratorClient, projectId);
    await expect(collaboratorWorkspace.broadcast('job_updated', {})).rejects.toBeInstanceOf(WorkspaceError);

    // Forgeries on the presence topic (with meta, which used to pass for proof) ...
    const forged = { project_id: projectId, id: projectId, user_id: owner.id, role: 'owner', status: 'succeeded' };
    for (const event of WORKSPACE_SERVER_EVENTS) {
      await collaboratorWorkspace.channel.send({ type: 'broadcast', event, payload: forged, meta: { id: 'forged' } } as never);
    }
    // ... and on the events topic, which no client may write (nor track on).
    const forger = await clientFor(collaborator, undefined, vsn);
    const events = await plainChannel(forger, `project:${projectId}:events`);
    expect(events.joined.status).toBe('SUBSCRIBED');
    for (const event of WORKSPACE_SERVER_EVENTS) await events.channel.send({ type: 'broadcast', event, payload: forged });
    expect(await events.channel.track({ online_at: 'now' }, { timeout: 3000 })).not.toBe('ok');
    await collaboratorWorkspace.broadcast('cursor', { x: 1, y: 2 });

    await sql`update public.project_members set role = 'collaborator' where project_id = ${projectId} and user_id = ${viewer.id}`;
    const [job] = await sql<{ id: string }[]>`insert into public.jobs (project_id, created_by, type) values (${projectId}, ${owner.id}, 'project.stats') returning id`;
    await sql`update public.jobs set status = 'running', attempts = 1 where id = ${job!.id}`;
    await sql`update public.jobs set status = 'failed', error = 'secret failure text' where id = ${job!.id}`;
    await sql`update public.projects set description = ${`secret plans ${vsn}`} where id = ${projectId}`;

    await eventually('cursor', () => ownerSide.seen.broadcasts.find((b) => b.event === 'cursor'));
    await eventually('project_updated', () => ownerSide.seen.events.find((e) => e.event === 'project_updated'));
    expect(ownerSide.seen.broadcasts).toEqual([{ event: 'cursor', payload: { x: 1, y: 2 } }]);
    expect(ownerSide.seen.events.map((e) => e.event)).toEqual(['member_role_changed', 'job_updated', 'job_updated', 'job_updated', 'project_updated']);
    expect(ownerSide.seen.events[0]?.payload).toMatchObject({ user_id: viewer.id, role: 'collaborator', previous_role: 'viewer' });
    expect(ownerSide.seen.events[3]?.payload).toEqual({
      id: job!.id, project_id: projectId, type: 'project.stats', status: 'failed', progress: 0, attempts: 1, updated_at: expect.any(String),
    });
    expect(ownerSide.seen.events[4]?.payload).toEqual({ id: projectId, project_id: projectId, fields: ['description'] });
    expect(JSON.stringify(ownerSide.seen.events)).not.toMatch(/secret|forged/);
    expect(ownerSide.seen.errors).toEqual([]);
    expect(ownerWorkspace.channel.state).toBe('joined');
    expect(ownerWorkspace.members().find((m) => m.user_id === viewer.id)?.role ?? 'collaborator').toBe('collaborator');
    await sql`update public.project_members set role = 'viewer' where project_id = ${projectId} and user_id = ${viewer.id}`;
    // Wait for the reset's announcement, or a workspace of the next case could still receive it.
    await eventually('the reset announced', () =>
      ownerSide.seen.events.find((e) => e.event === 'member_role_changed' && (e.payload as { role: string }).role === 'viewer'));
    await forger.supabase.removeChannel(events.channel);
  });

  it('rejects a refused join with a clear error and stops retrying', async () => {
    const outsider = await createUser(sql);
    const c = await clientFor(outsider);
    const error = await joinWorkspace(c.supabase, projectId, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkspaceError);
    expect(error).toMatchObject({ code: 'join_refused' });
    expect((error as Error).message).toMatch(
      new RegExp(`^Unauthorized: You do not have permissions to read from this Channel topic: project:${projectId}(:events)?$`),
    );
    await eventually('no channels left', () => c.supabase.getChannels().length === 0);
  });

  it('refuses to join without a signed-in user', async () => {
    const c = await connectClient(stack.baseUrl, await anonKey());
    clients.push(c);
    await expect(joinWorkspace(c.supabase, projectId, {})).rejects.toMatchObject({ code: 'invalid' });
  });

  it('keeps working across a token refresh and a reconnect, tracking again after the rejoin', async () => {
    const ownerSide = recorder();
    const ownerWorkspace = await join(await clientFor(owner), projectId, ownerSide.handlers);
    const viewerClient = await clientFor(viewer, 120);
    const viewerSide = recorder();
    await join(viewerClient, projectId, viewerSide.handlers);
    await eventually('viewer online', () => ownerWorkspace.members().some((m) => m.user_id === viewer.id));

    await viewerClient.setToken(await userToken(viewer, 3600));
    await sql`update public.projects set name = 'after refresh' where id = ${projectId}`;
    await eventually('project_updated after refresh', () => viewerSide.seen.events.find((e) => e.event === 'project_updated'));

    stack.realtime.server.dropConnections();
    // A newcomer joining after the drop sees the viewer only if the viewer rejoined and tracked again.
    const newcomer = await join(await clientFor(owner), projectId);
    await eventually('viewer tracked again after reconnect', () => newcomer.members().some((m) => m.user_id === viewer.id), 20_000);
    await eventually('owner sees the viewer again', () => ownerWorkspace.members().some((m) => m.user_id === viewer.id), 20_000);
    const before = viewerSide.seen.events.length;
    await sql`update public.projects set name = 'after reconnect' where id = ${projectId}`;
    await eventually('project_updated after reconnect', () => viewerSide.seen.events.slice(before).find((e) => e.event === 'project_updated'));
    expect(viewerSide.seen.errors).toEqual([]);
  });

  it('leaves on its own removal; meanwhile a plain client of the removed member gets nothing but ids and statuses until its token is refreshed', async () => {
    const leaver = await createUser(sql, { displayName: 'Lea Leaver' });
    await sql`insert into public.project_members (project_id, user_id, role) values (${projectId}, ${leaver.id}, 'collaborator')`;
    const c = await clientFor(leaver);
    const side = recorder();
    const workspace = await join(c, projectId, side.handlers);
    const plain = await clientFor(leaver);
    const kept = await plainChannel(plain, `project:${projectId}:events`);
    expect(kept.joined.status).toBe('SUBSCRIBED');

    await sql`delete from public.project_members where project_id = ${projectId} and user_id = ${leaver.id}`;
    await eventually('removed', () => side.seen.errors[0]);
    expect(side.seen.errors[0]).toMatchObject({ code: 'removed' });
    // (The leaver's own member_joined may still arrive after their join: it was sent just before.)
    expect(side.seen.events.map((e) => e.event).filter((event) => event !== 'member_joined')).toEqual(['member_left']);
    await eventually('the helper left both channels', () => c.supabase.getChannels().length === 0);
    expect(workspace.members()).toEqual([]);

    // What the removed member's own supabase-js channel still receives before a token refresh.
    const [job] = await sql<{ id: string }[]>`insert into public.jobs (project_id, created_by, type) values (${projectId}, ${owner.id}, 'project.stats') returning id`;
    await sql`update public.jobs set status = 'running', attempts = 1 where id = ${job!.id}`;
    await sql`update public.jobs set status = 'failed', error = 'stack trace with secrets' where id = ${job!.id}`;
    await sql`update public.projects set name = 'Confidential rename', description = 'the new confidential plan' where id = ${projectId}`;
    await sql`insert into public.project_members (project_id, user_id, role) values (${projectId}, ${(await createUser(sql, { displayName: 'Nina Newcomer' })).id}, 'viewer')`;
    await eventually('the newcomer announced', () => kept.received.find((m) => m.event === 'member_joined'));
    const keys = (event: string) => kept.received.filter((m) => m.event === event).map((m) => Object.keys(m.payload).sort());
    const jobKeys = Object.keys(JobUpdated.shape).sort();
    expect(keys('job_updated')).toEqual([jobKeys, jobKeys, jobKeys]);
    expect(kept.received.filter((m) => m.event === 'job_updated').map((m) => m.payload.status)).toEqual(['queued', 'running', 'failed']);
    expect(kept.received.find((m) => m.event === 'project_updated')?.payload).toEqual({ id: projectId, project_id: projectId, fields: ['name', 'description'] });
    expect(keys('member_joined')).toEqual([['id', 'invited_by', 'project_id', 'role', 'user_id']]);
    expect(JSON.stringify(kept.received)).not.toMatch(/secret|[Cc]onfidential|Nina/);

    // The next token the client hands over ends it (what a refresh, at most one token lifetime away, does).
    const closed = new Promise<string>((resolve) => kept.channel.on('system', {}, (message: { message?: string; status?: string }) => {
      if (message.status === 'error') resolve(message.message ?? '');
    }));
    await plain.setToken(await userToken(leaver, 7200));
    expect(await closed).toMatch(new RegExp(`permissions? to read from this Channel topic: project:${projectId}:events$`));
  });

  it('reports a lost channel through the error handler when Realtime closes it', async () => {
    const c = await clientFor(viewer, 3);
    const side = recorder();
    const workspace = await join(c, projectId, side.handlers);
    await eventually('error handler', () => side.seen.errors[0], 15_000);
    expect(side.seen.errors[0]).toMatchObject({ code: 'closed', message: expect.stringMatching(/^Token has expired/) });
    expect(side.seen.errors).toHaveLength(1);
    await eventually('no members once closed', () => workspace.members().length === 0);
    await eventually('both channels gone', () => c.supabase.getChannels().length === 0);
    await workspace.leave();
  });

  it('accepts a typed SupabaseClient<Database>', async () => {
    const typed = createClient<Database>(stack.baseUrl, await anonKey(), {
      accessToken: async () => userToken(owner),
    });
    const workspace = await joinWorkspace(typed, projectId, {});
    expect(workspace.members().find((m) => m.user_id === owner.id)).toMatchObject({ display_name: 'Olive Owner', role: 'owner' });
    await workspace.leave();
    await typed.removeAllChannels();
  });
});
