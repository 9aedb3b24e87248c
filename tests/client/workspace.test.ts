/**
 * The client helper `joinWorkspace` against the local Realtime, with real supabase-js
 * clients: presence (one member per user), server events, client broadcasts, refused
 * joins, token refresh, reconnects and lost permissions.
 */
import { createClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinWorkspace, WorkspaceError, type OnlineMember, type Workspace, type WorkspaceServerEvents } from '../../client/index.ts';
import type { Database } from '../../client/database.types.ts';
import { adminSql, createUser, type TestUser } from '../harness/db.ts';
import { anonKey, connectClient, createProject, eventually, startRealtime, userToken, type StartedRealtime, type TestClient } from '../realtime/helpers.ts';

const sql = adminSql();
let realtime: StartedRealtime;
const clients: TestClient[] = [];
const workspaces: Workspace[] = [];

beforeAll(async () => {
  realtime = await startRealtime();
});

afterAll(async () => {
  await Promise.all(workspaces.map((w) => w.leave().catch(() => undefined)));
  await Promise.all(clients.map((c) => c.supabase.removeAllChannels()));
  await realtime.server.close();
  await sql.end();
});

async function clientFor(user: TestUser, expiresIn?: number): Promise<TestClient> {
  const c = await connectClient(realtime.baseUrl, await userToken(user, expiresIn));
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

async function join(c: TestClient, projectId: string, handlers: object, displayName: string): Promise<Workspace> {
  const workspace = await joinWorkspace(c.supabase, projectId, handlers, { profile: { display_name: displayName } });
  workspaces.push(workspace);
  return workspace;
}

describe('joinWorkspace', () => {
  let owner: TestUser;
  let collaborator: TestUser;
  let viewer: TestUser;
  let projectId: string;

  beforeAll(async () => {
    [owner, collaborator, viewer] = await Promise.all([createUser(sql), createUser(sql), createUser(sql)]);
    projectId = await createProject(sql, [[owner!, 'owner'], [collaborator!, 'collaborator'], [viewer!, 'viewer']]);
  });

  it('shows each user once, whatever the number of tabs, and reports joins and leaves per user', async () => {
    const ownerSide = recorder();
    const ownerWorkspace = await join(await clientFor(owner), projectId, ownerSide.handlers, 'Owner');
    const tab1 = await join(await clientFor(viewer), projectId, {}, 'Viewer');
    const tab2 = await join(await clientFor(viewer), projectId, {}, 'Viewer');

    await eventually('two members, viewer with two tabs', () => ownerWorkspace.members().find((m) => m.user_id === viewer.id)?.connections === 2);
    expect(ownerWorkspace.members().map((m) => m.user_id).sort()).toEqual([owner.id, viewer.id].sort());
    expect(ownerWorkspace.members().find((m) => m.user_id === viewer.id)).toMatchObject({ display_name: 'Viewer', avatar_url: null, online_at: expect.any(String) });
    expect(ownerSide.seen.joins.filter((id) => id === viewer.id)).toHaveLength(1);

    await tab1.leave();
    await eventually('one tab left', () => ownerWorkspace.members().find((m) => m.user_id === viewer.id)?.connections === 1);
    expect(ownerSide.seen.leaves).toEqual([]);
    await tab2.leave();
    await eventually('viewer offline', () => ownerSide.seen.leaves.includes(viewer.id));
    expect(ownerWorkspace.members().map((m) => m.user_id)).toEqual([owner.id]);
    expect(ownerSide.seen.sync.length).toBeGreaterThan(0);
  });

  it('delivers server events to their handlers and ignores look-alike client broadcasts', async () => {
    const ownerSide = recorder();
    await join(await clientFor(owner), projectId, ownerSide.handlers, 'Owner');
    const collaboratorWorkspace = await join(await clientFor(collaborator), projectId, {}, 'Collab');

    // A forged "job_updated" sent as a raw client broadcast (the helper itself refuses it).
    await collaboratorWorkspace.channel.send({ type: 'broadcast', event: 'job_updated', payload: { id: 'forged', status: 'succeeded' } });
    await expect(collaboratorWorkspace.broadcast('job_updated', {})).rejects.toBeInstanceOf(WorkspaceError);
    await collaboratorWorkspace.broadcast('cursor', { x: 1, y: 2 });

    await sql`update public.project_members set role = 'collaborator' where project_id = ${projectId} and user_id = ${viewer.id}`;
    const [job] = await sql<{ id: string }[]>`insert into public.jobs (project_id, created_by, type) values (${projectId}, ${owner.id}, 'project.stats') returning id`;
    await sql`update public.jobs set status = 'running' where id = ${job!.id}`;

    await eventually('cursor', () => ownerSide.seen.broadcasts.find((b) => b.event === 'cursor'));
    await eventually('job running', () => ownerSide.seen.events.find((e) => e.event === 'job_updated' && (e.payload as { status: string }).status === 'running'));
    expect(ownerSide.seen.broadcasts).toEqual([{ event: 'cursor', payload: { x: 1, y: 2 } }]);
    expect(ownerSide.seen.events.map((e) => e.event)).toEqual(['member_role_changed', 'job_updated', 'job_updated']);
    expect(ownerSide.seen.events[0]?.payload).toMatchObject({ user_id: viewer.id, role: 'collaborator', previous_role: 'viewer' });
    expect(ownerSide.seen.events.some((e) => (e.payload as { id?: string }).id === 'forged')).toBe(false);
    await sql`update public.project_members set role = 'viewer' where project_id = ${projectId} and user_id = ${viewer.id}`;
  });

  it('rejects a refused join with a clear error and stops retrying', async () => {
    const outsider = await createUser(sql);
    const c = await clientFor(outsider);
    const error = await joinWorkspace(c.supabase, projectId, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkspaceError);
    expect(error).toMatchObject({
      code: 'join_refused',
      message: `Unauthorized: You do not have permissions to read from this Channel topic: project:${projectId}`,
    });
    expect(c.supabase.getChannels()).toEqual([]);
  });

  it('refuses to join without a signed-in user', async () => {
    const c = await connectClient(realtime.baseUrl, await anonKey());
    clients.push(c);
    await expect(joinWorkspace(c.supabase, projectId, {})).rejects.toMatchObject({ code: 'invalid' });
  });

  it('keeps working across a token refresh and a reconnect, tracking again after the rejoin', async () => {
    const ownerSide = recorder();
    const ownerWorkspace = await join(await clientFor(owner), projectId, ownerSide.handlers, 'Owner');
    const viewerClient = await clientFor(viewer, 120);
    const viewerSide = recorder();
    await join(viewerClient, projectId, viewerSide.handlers, 'Viewer');
    await eventually('viewer online', () => ownerWorkspace.members().some((m) => m.user_id === viewer.id));

    await viewerClient.setToken(await userToken(viewer, 3600));
    await sql`update public.projects set name = 'after refresh' where id = ${projectId}`;
    await eventually('project_updated after refresh', () => viewerSide.seen.events.find((e) => e.event === 'project_updated'));

    realtime.server.dropConnections();
    // A newcomer joining after the drop sees the viewer only if the viewer rejoined and tracked again.
    const newcomer = await join(await clientFor(owner), projectId, {}, 'Newcomer');
    await eventually('viewer tracked again after reconnect', () => newcomer.members().some((m) => m.user_id === viewer.id), 20_000);
    await eventually('owner sees the viewer again', () => ownerWorkspace.members().some((m) => m.user_id === viewer.id), 20_000);
    await sql`update public.projects set name = 'after reconnect' where id = ${projectId}`;
    await eventually('project_updated after reconnect', () =>
      viewerSide.seen.events.find((e) => e.event === 'project_updated' && (e.payload as { name: string }).name === 'after reconnect'),
    );
    expect(viewerSide.seen.errors).toEqual([]);
  });

  it('reports a lost permission through the error handler', async () => {
    const leaver = await createUser(sql);
    await sql`insert into public.project_members (project_id, user_id, role) values (${projectId}, ${leaver.id}, 'viewer')`;
    const c = await clientFor(leaver);
    const side = recorder();
    const workspace = await join(c, projectId, side.handlers, 'Leaver');
    await sql`delete from public.project_members where project_id = ${projectId} and user_id = ${leaver.id}`;
    await c.setToken(await userToken(leaver, 7200));
    await eventually('error handler', () => side.seen.errors[0]);
    expect(side.seen.errors[0]).toMatchObject({ code: 'closed', message: `You do not have permissions to read from this Channel topic: project:${projectId}` });
    await eventually('no members once closed', () => workspace.members().length === 0);
    await workspace.leave();
  });

  it('accepts a typed SupabaseClient<Database>', async () => {
    const typed = createClient<Database>(realtime.baseUrl, await anonKey(), {
      accessToken: async () => userToken(owner),
    });
    const workspace = await joinWorkspace(typed, projectId, {}, { profile: { display_name: 'Typed' } });
    expect(workspace.members().some((m) => m.user_id === owner.id)).toBe(true);
    await workspace.leave();
    await typed.removeAllChannels();
  });
});
