/**
 * Workspace presence and live events over Supabase Realtime, for browsers and Node.
 *
 * Two private channels per project. `project:<project_id>` carries presence (key = user id)
 * and the members' own broadcasts. `project:<project_id>:events` carries the server events
 * (member_*, project_*, job_updated) that database triggers send: members may read it and no
 * client may write it (supabase/migrations/20261202000300_realtime_server_events.sql), so
 * only what arrives there reaches the server-event handlers.
 *
 * Presence proves less: Realtime takes the presence key and payload from the client as sent.
 * The member list therefore comes from the project's members (the `projects` function's
 * members route, under RLS): a key that is not a member is ignored, names and avatars come
 * from `profiles`, never from the payload, and a key tracked by several connections is one
 * member. A member can still claim another member's key (docs/realtime.md, "Trust model").
 */
import type { RealtimeChannel, SupabaseClient } from '@supabase/supabase-js';
import type { Database } from './database.types.ts';

type Enums = Database['public']['Enums'];

/** What the helper tracks on the presence channel. Nothing in it is trusted by receivers. */
export interface PresencePayload {
  /** ISO timestamp of the connection's first join, as the client reports it. */
  online_at: string;
}

/** A member of the project, as the members route returns them (profiles under RLS). */
export interface WorkspaceMember {
  user_id: string;
  role: Enums['project_role'];
  display_name: string | null;
  avatar_url: string | null;
}

/** A member who is online now: their membership and profile, and how many tabs/devices they have open. */
export interface OnlineMember extends WorkspaceMember {
  /** The earliest `online_at` among their connections (client-reported). */
  online_at: string;
  connections: number;
}

/** The events Tandem's triggers send on a project's events topic, with their payloads: ids, statuses and progress only. */
export interface WorkspaceServerEvents {
  member_joined: { project_id: string; user_id: string; role: Enums['project_role']; invited_by: string | null };
  member_left: { project_id: string; user_id: string; role: Enums['project_role'] };
  member_role_changed: { project_id: string; user_id: string; role: Enums['project_role']; previous_role: Enums['project_role'] };
  /** `fields`: the names of the columns that changed (`name`, `description`); read the project for their values. */
  project_updated: { id: string; project_id: string; fields: Array<'name' | 'description'> };
  project_deleted: { id: string; project_id: string };
  /** Read the job (`GET /functions/v1/jobs/<id>`) for its error and result. */
  job_updated: {
    id: string;
    project_id: string;
    type: string;
    status: Enums['job_status'];
    progress: number;
    attempts: number;
    updated_at: string;
  };
}

export type WorkspaceServerEvent = keyof WorkspaceServerEvents;

export const WORKSPACE_SERVER_EVENTS: readonly WorkspaceServerEvent[] = [
  'member_joined',
  'member_left',
  'member_role_changed',
  'project_updated',
  'project_deleted',
  'job_updated',
];

/** The topic of a project's server events. */
export const eventsTopic = (projectId: string): string => `project:${projectId}:events`;

/** Why the workspace could not be joined or was closed. */
export class WorkspaceError extends Error {
  override readonly name = 'WorkspaceError';
  constructor(
    /**
     * `join_refused` (Realtime or the members route refused: not a member), `closed` (Realtime
     * closed a channel), `removed` (the user left or was removed, or the project was deleted;
     * the helper left), `unavailable` (the member list could not be loaded), `timeout`, `invalid`.
     */
    readonly code: 'join_refused' | 'closed' | 'removed' | 'unavailable' | 'timeout' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

export type WorkspaceHandlers = {
  /** Presence or membership changed; `members` is the full list of online members. */
  sync?: (members: OnlineMember[]) => void;
  /** A member came online (their first tab). */
  join?: (member: OnlineMember) => void;
  /** A member went offline (their last tab closed) or stopped being a member. */
  leave?: (member: OnlineMember) => void;
  /** A client broadcast from another member (e.g. `cursor`). Never a server event. */
  broadcast?: (event: string, payload: unknown) => void;
  /** The workspace ended after it was joined (removed, lost permission, expired token); its channels are gone. */
  error?: (error: WorkspaceError) => void;
} & { [E in WorkspaceServerEvent]?: (payload: WorkspaceServerEvents[E]) => void };

export interface WorkspaceOptions {
  /** The user id; default: the `sub` of the token supabase-js hands to Realtime. */
  userId?: string;
  /** How long the first join may take before the promise rejects (default 30 s). */
  joinTimeoutMs?: number;
}

export interface Workspace {
  /** Online members, one per user; only project members, with their profiles' names and avatars. */
  members(): OnlineMember[];
  /**
   * Sends a client broadcast on the presence channel (collaborators and owners only;
   * Realtime drops a viewer's broadcast silently). Server event names are refused.
   */
  broadcast(event: string, payload: Record<string, unknown>): Promise<'ok' | 'error' | 'timed out' | (string & {})>;
  /** Untracks and leaves both channels. */
  leave(): Promise<void>;
  /** The presence channel, `project:<id>` (supabase-js). */
  readonly channel: RealtimeChannel;
  /** The server-events channel, `project:<id>:events` (supabase-js). */
  readonly eventsChannel: RealtimeChannel;
}

function decodeClaims(token: string | null | undefined): Record<string, unknown> {
  const part = token?.split('.')[1];
  if (!part) return {};
  try {
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    const json = decodeURIComponent(
      Array.from(atob(base64), (char) => `%${char.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''),
    );
    const claims: unknown = JSON.parse(json);
    return claims && typeof claims === 'object' ? (claims as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/**
 * The project's members with their profiles, from the `projects` function (RLS decides what
 * the caller sees). Throws a WorkspaceError: `join_refused` when the project is not the
 * caller's, `unavailable` otherwise.
 */
async function loadMembers(supabase: SupabaseClient<any, any, any>, projectId: string): Promise<Map<string, WorkspaceMember>> {
  const { data, error } = await supabase.functions.invoke(`projects/${encodeURIComponent(projectId)}/members`, { method: 'GET' });
  if (error) {
    const status = (error as { context?: { status?: unknown } }).context?.status;
    if (status === 404 || status === 403) throw new WorkspaceError('join_refused', `not a member of project ${projectId}`);
    throw new WorkspaceError('unavailable', `could not load the members of project ${projectId}: ${(error as Error).message}`);
  }
  const rows: unknown[] = Array.isArray((data as { data?: unknown })?.data) ? (data as { data: unknown[] }).data : [];
  const members = new Map<string, WorkspaceMember>();
  for (const row of rows as Array<Record<string, unknown>>) {
    const userId = text(row.user_id);
    if (!userId) continue;
    members.set(userId, {
      user_id: userId,
      role: row.role as Enums['project_role'],
      display_name: text(row.display_name),
      avatar_url: text(row.avatar_url),
    });
  }
  return members;
}

/** Online members: presence keys that are members, one entry per key however many connections. */
function onlineMembers(state: Record<string, Array<Record<string, unknown>>>, roster: Map<string, WorkspaceMember>): OnlineMember[] {
  const online: OnlineMember[] = [];
  for (const [key, metas] of Object.entries(state)) {
    const member = roster.get(key);
    if (!member || metas.length === 0) continue;
    const since = metas.map((meta) => text(meta.online_at) ?? '').filter((at) => at !== '').sort()[0] ?? '';
    online.push({ ...member, online_at: since, connections: metas.length });
  }
  return online.sort((a, b) => a.user_id.localeCompare(b.user_id));
}

/**
 * Joins a project's workspace: the presence channel (tracking the user) and the server-events
 * channel, and loads the member list. Calls `handlers` for presence changes, server events
 * and other members' broadcasts. Resolves once both channels are joined, the user is tracked
 * and the members are loaded; rejects with a WorkspaceError when Realtime refuses a join (not
 * a member), where supabase-js alone would retry forever. Token refreshes
 * (`realtime.setAuth`) and reconnects are handled: after a rejoin the presence is tracked
 * again and the member list reloaded. On its own removal (member_left for this user, or
 * project_deleted) the helper leaves both channels and reports `removed` to `handlers.error`.
 *
 * @example
 * const workspace = await joinWorkspace(supabase, projectId, {
 *   sync: (members) => render(members),
 *   job_updated: (job) => updateProgress(job.id, job.progress, job.status),
 *   broadcast: (event, payload) => event === 'cursor' && moveCursor(payload),
 * });
 * await workspace.broadcast('cursor', { x: 10, y: 20 });
 * await workspace.leave();
 */
export async function joinWorkspace(
  supabase: SupabaseClient<any, any, any>,
  projectId: string,
  handlers: WorkspaceHandlers = {},
  options: WorkspaceOptions = {},
): Promise<Workspace> {
  const topic = `project:${projectId}`;
  const serverTopic = eventsTopic(projectId);
  if (supabase.getChannels().some((existing) => existing.topic === `realtime:${topic}` || existing.topic === `realtime:${serverTopic}`)) {
    throw new WorkspaceError('invalid', `this client already has a channel for ${topic}; leave() it first`);
  }
  // Join payloads are built when subscribe() is called: hand Realtime the user's token first,
  // or a join racing supabase-js's own (async) setAuth goes out with the anon key and is refused.
  if (!supabase.realtime.accessTokenValue) await supabase.realtime.setAuth();
  const claims = decodeClaims(supabase.realtime.accessTokenValue);
  const userId = options.userId ?? (typeof claims.sub === 'string' ? claims.sub : undefined);
  if (!userId) throw new WorkspaceError('invalid', 'no signed-in user: sign in (or pass options.userId) before joining a workspace');
  const me: PresencePayload = { online_at: new Date().toISOString() };

  const channel = supabase.channel(topic, { config: { private: true, presence: { key: userId, enabled: true }, broadcast: { self: false, ack: false } } });
  const eventsChannel = supabase.channel(serverTopic, { config: { private: true, broadcast: { self: false, ack: false } } });
  let roster = new Map<string, WorkspaceMember>();
  let online = new Map<string, OnlineMember>();
  let ended = false;
  let ready = false;

  // Once the workspace has ended nobody is known to be online.
  const members = () => (ended ? [] : onlineMembers(channel.presenceState() as Record<string, Array<Record<string, unknown>>>, roster));

  /** Recomputes who is online and reports joins, leaves and the new list. */
  const refresh = () => {
    if (!ready || ended) return;
    const now = new Map(members().map((member) => [member.user_id, member]));
    for (const [id, member] of online) if (!now.has(id)) handlers.leave?.(member);
    for (const [id, member] of now) if (!online.has(id)) handlers.join?.(member);
    online = now;
    handlers.sync?.([...now.values()]);
  };

  // One load at a time; a change announced meanwhile loads again afterwards.
  let loading: Promise<void> | null = null;
  let stale = false;
  const reloadMembers = (): Promise<void> => {
    if (loading) {
      stale = true;
      return loading;
    }
    loading = (async () => {
      do {
        stale = false;
        try {
          roster = await loadMembers(supabase, projectId);
        } catch {
          // Keep the list we have; the next membership event or rejoin loads it again.
        }
      } while (stale && !ended);
      loading = null;
      refresh();
    })();
    return loading;
  };

  const teardown = async () => {
    if (channel.state === 'joined') await channel.untrack().catch(() => undefined);
    await Promise.all([supabase.removeChannel(channel), supabase.removeChannel(eventsChannel)]);
  };

  /** Ends the workspace after it was joined, once, and says why. */
  const end = (error: WorkspaceError) => {
    if (ended) return;
    ended = true;
    void teardown();
    handlers.error?.(error);
  };

  channel.on('presence', { event: 'sync' }, () => refresh());
  channel.on('broadcast', { event: '*' }, (message: { event: string; payload?: unknown }) => {
    // A client broadcast named like a server event is a forgery: the helper never sends one.
    if ((WORKSPACE_SERVER_EVENTS as readonly string[]).includes(message.event)) return;
    handlers.broadcast?.(message.event, message.payload);
  });
  eventsChannel.on('broadcast', { event: '*' }, (message: { event: string; payload?: Record<string, unknown> }) => {
    if (ended || !(WORKSPACE_SERVER_EVENTS as readonly string[]).includes(message.event)) return;
    const payload = message.payload ?? {};
    if (payload.project_id !== projectId) return;
    const event = message.event as WorkspaceServerEvent;
    (handlers[event] as ((payload: unknown) => void) | undefined)?.(payload);
    if ((event === 'member_left' && payload.user_id === userId) || event === 'project_deleted') {
      end(new WorkspaceError('removed', event === 'project_deleted' ? `project ${projectId} was deleted` : `no longer a member of project ${projectId}`));
      return;
    }
    if (event === 'member_joined' || event === 'member_left' || event === 'member_role_changed') void reloadMembers();
  });
  for (const each of [channel, eventsChannel]) {
    each.on('system', {}, (message: { status?: string; message?: string; extension?: string }) => {
      if (ready && message.status === 'error' && message.extension === 'system') {
        end(new WorkspaceError('closed', message.message ?? 'Realtime closed the channel'));
      }
    });
  }

  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const subscribed = new Set<RealtimeChannel>();
    let tracked = false;
    const fail = (error: WorkspaceError) => {
      if (settled) return;
      settled = true;
      ended = true;
      clearTimeout(timer);
      void teardown();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new WorkspaceError('timeout', `joining ${topic} took longer than ${options.joinTimeoutMs ?? 30_000} ms`)),
      options.joinTimeoutMs ?? 30_000,
    );
    const maybeReady = () => {
      if (settled || !tracked || subscribed.size < 2) return;
      loadMembers(supabase, projectId).then(
        (loaded) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          roster = loaded;
          ready = true;
          resolve();
          refresh();
        },
        (error: unknown) => fail(error instanceof WorkspaceError ? error : new WorkspaceError('unavailable', String(error))),
      );
    };
    const onStatus = (which: RealtimeChannel) => (status: string, error?: Error) => {
      if (ended) return;
      if (status === 'CLOSED') {
        // Realtime closed the channel (after a system error) and supabase-js will not rejoin it.
        if (!settled) fail(new WorkspaceError('closed', `Realtime closed ${which.subTopic} before it was joined`));
        else end(new WorkspaceError('closed', `Realtime closed ${which.subTopic}`));
        return;
      }
      if (status === 'SUBSCRIBED') {
        const rejoin = subscribed.has(which);
        subscribed.add(which);
        if (which === channel) {
          // Every (re)join starts without our presence on the server: track again.
          void channel.track(me).then((result) => {
            if (settled) return;
            if (result === 'ok') {
              tracked = true;
              maybeReady();
            } else fail(new WorkspaceError('join_refused', `Realtime did not accept the presence track on ${topic} (${result})`));
          });
        }
        // Membership events sent while this client was away were missed: load the list again.
        if (rejoin && ready && which === eventsChannel) void reloadMembers();
        maybeReady();
        return;
      }
      // A join reply's error carries the server's {reason}; a dropped socket carries a
      // CloseEvent (which has a code, and a reason too) and is retried by supabase-js.
      const cause = error?.cause as { reason?: unknown; code?: unknown } | undefined;
      const reason = cause && typeof cause.code !== 'number' ? cause.reason : undefined;
      if (status === 'CHANNEL_ERROR' && typeof reason === 'string' && reason !== '') {
        // A refused join: supabase-js would retry it forever; stop and say why.
        const refused = new WorkspaceError('join_refused', reason);
        if (!settled) fail(refused);
        else end(refused);
      }
    };
    channel.subscribe(onStatus(channel));
    eventsChannel.subscribe(onStatus(eventsChannel));
  });

  return {
    channel,
    eventsChannel,
    members,
    async broadcast(event, payload) {
      if ((WORKSPACE_SERVER_EVENTS as readonly string[]).includes(event)) {
        throw new WorkspaceError('invalid', `"${event}" is a server event; clients cannot broadcast it`);
      }
      return channel.send({ type: 'broadcast', event, payload });
    },
    async leave() {
      if (ended) return;
      ended = true;
      await teardown();
    },
  };
}
