/**
 * Workspace presence and live events over Supabase Realtime, for browsers and Node.
 *
 * One private channel per project, `project:<project_id>`; the presence key is the user id,
 * so a user's tabs and devices show as one member. Server events (member_*, project_*,
 * job_updated) come from database triggers through `realtime.send`; they carry `meta.id`,
 * which client broadcasts never do, so a member cannot forge them.
 */
import type { RealtimeChannel, SupabaseClient } from '@supabase/supabase-js';
import type { Database } from './database.types.ts';

type Enums = Database['public']['Enums'];

/** What each member tracks on the channel. */
export interface PresencePayload {
  user_id: string;
  display_name: string | null;
  avatar_url: string | null;
  online_at: string;
}

/** A member who is online now: their latest presence and how many tabs/devices they have open. */
export interface OnlineMember extends PresencePayload {
  connections: number;
}

/** The events Tandem's triggers send on a workspace channel, with their payloads. */
export interface WorkspaceServerEvents {
  member_joined: { project_id: string; user_id: string; role: Enums['project_role']; display_name: string | null; invited_by: string | null };
  member_left: { project_id: string; user_id: string; role: Enums['project_role'] };
  member_role_changed: { project_id: string; user_id: string; role: Enums['project_role']; previous_role: Enums['project_role'] };
  project_updated: { id: string; project_id: string; name: string; description: string; updated_at: string };
  project_deleted: { id: string; project_id: string };
  job_updated: {
    id: string;
    project_id: string;
    type: string;
    status: Enums['job_status'];
    progress: number;
    attempts: number;
    error: string | null;
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

/** Why the workspace channel could not be joined or was closed. */
export class WorkspaceError extends Error {
  override readonly name = 'WorkspaceError';
  constructor(
    /** `join_refused` (Realtime refused the join), `closed` (Realtime closed the channel), `timeout`, `invalid`. */
    readonly code: 'join_refused' | 'closed' | 'timeout' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

export type WorkspaceHandlers = {
  /** Presence changed; `members` is the full list of online members. */
  sync?: (members: OnlineMember[]) => void;
  /** A member came online (their first tab). */
  join?: (member: OnlineMember) => void;
  /** A member went offline (their last tab closed). */
  leave?: (member: PresencePayload) => void;
  /** A client broadcast from another member (e.g. `cursor`). */
  broadcast?: (event: string, payload: unknown) => void;
  /** The channel failed after it was joined (lost permission, expired token); it is closed. */
  error?: (error: WorkspaceError) => void;
} & { [E in WorkspaceServerEvent]?: (payload: WorkspaceServerEvents[E]) => void };

export interface WorkspaceOptions {
  /** The user id; default: the `sub` of the token supabase-js hands to Realtime. */
  userId?: string;
  /** Display name and avatar to show; default: the user's `profiles` row, else the token's user_metadata. */
  profile?: { display_name?: string | null; avatar_url?: string | null };
  /** How long the first join may take before the promise rejects (default 30 s). */
  joinTimeoutMs?: number;
}

export interface Workspace {
  /** Online members, one per user. */
  members(): OnlineMember[];
  /**
   * Sends a client broadcast (collaborators and owners only; Realtime drops a viewer's
   * broadcast silently). Server event names are refused.
   */
  broadcast(event: string, payload: Record<string, unknown>): Promise<'ok' | 'error' | 'timed out' | (string & {})>;
  /** Untracks and leaves the channel. */
  leave(): Promise<void>;
  /** The underlying supabase-js channel. */
  readonly channel: RealtimeChannel;
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

async function resolveProfile(
  supabase: SupabaseClient<any, any, any>,
  userId: string,
  claims: Record<string, unknown>,
  given: WorkspaceOptions['profile'],
): Promise<{ display_name: string | null; avatar_url: string | null }> {
  if (given) return { display_name: given.display_name ?? null, avatar_url: given.avatar_url ?? null };
  try {
    const { data, error } = await supabase.from('profiles').select('display_name, avatar_url').eq('id', userId).maybeSingle();
    if (!error && data) return { display_name: data.display_name ?? null, avatar_url: data.avatar_url ?? null };
  } catch {
    // no PostgREST (e.g. the Docker-free devstack): use the token's metadata
  }
  const metadata = (claims.user_metadata ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  return { display_name: text(metadata.display_name) ?? text(metadata.full_name) ?? text(metadata.name), avatar_url: text(metadata.avatar_url) };
}

function toMembers(state: Record<string, Array<Record<string, unknown>>>): OnlineMember[] {
  return Object.entries(state)
    .map(([key, metas]) => {
      const latest = [...metas].sort((a, b) => String(b.online_at ?? '').localeCompare(String(a.online_at ?? '')))[0] ?? {};
      return {
        user_id: typeof latest.user_id === 'string' ? latest.user_id : key,
        display_name: typeof latest.display_name === 'string' ? latest.display_name : null,
        avatar_url: typeof latest.avatar_url === 'string' ? latest.avatar_url : null,
        online_at: typeof latest.online_at === 'string' ? latest.online_at : '',
        connections: metas.length,
      };
    })
    .sort((a, b) => a.user_id.localeCompare(b.user_id));
}

/**
 * Joins a project's workspace channel: tracks the user's presence, and calls `handlers` for
 * presence changes, server events and other members' broadcasts. Resolves once joined and
 * tracked; rejects with a WorkspaceError when Realtime refuses the join (not a member), where
 * supabase-js alone would retry forever. Token refreshes (`realtime.setAuth`) and reconnects
 * are handled: after a rejoin the presence is tracked again.
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
  if (supabase.getChannels().some((existing) => existing.topic === `realtime:${topic}`)) {
    throw new WorkspaceError('invalid', `this client already has a channel for ${topic}; leave() it first`);
  }
  // Join payloads are built when subscribe() is called: hand Realtime the user's token first,
  // or a join racing supabase-js's own (async) setAuth goes out with the anon key and is refused.
  if (!supabase.realtime.accessTokenValue) await supabase.realtime.setAuth();
  const claims = decodeClaims(supabase.realtime.accessTokenValue);
  const userId = options.userId ?? (typeof claims.sub === 'string' ? claims.sub : undefined);
  if (!userId) throw new WorkspaceError('invalid', 'no signed-in user: sign in (or pass options.userId) before joining a workspace');
  const profile = await resolveProfile(supabase, userId, claims, options.profile);
  const me: PresencePayload = { user_id: userId, ...profile, online_at: new Date().toISOString() };

  const channel = supabase.channel(topic, { config: { private: true, presence: { key: userId, enabled: true }, broadcast: { self: false, ack: false } } });
  let left = false;
  // Once the channel is gone nobody is known to be online.
  const members = () => (left ? [] : toMembers(channel.presenceState() as Record<string, Array<Record<string, unknown>>>));

  channel.on('presence', { event: 'sync' }, () => handlers.sync?.(members()));
  channel.on('presence', { event: 'join' }, ({ key, currentPresences }) => {
    if (currentPresences.length === 0) {
      const member = members().find((candidate) => candidate.user_id === key);
      if (member) handlers.join?.(member);
    }
  });
  channel.on('presence', { event: 'leave' }, ({ key, currentPresences, leftPresences }) => {
    if (currentPresences.length === 0) {
      const last = (leftPresences[leftPresences.length - 1] ?? {}) as Record<string, unknown>;
      handlers.leave?.({
        user_id: key,
        display_name: typeof last.display_name === 'string' ? last.display_name : null,
        avatar_url: typeof last.avatar_url === 'string' ? last.avatar_url : null,
        online_at: typeof last.online_at === 'string' ? last.online_at : '',
      });
    }
  });
  channel.on('broadcast', { event: '*' }, (message: { event: string; payload?: unknown; meta?: { id?: string } }) => {
    const serverEvent = (WORKSPACE_SERVER_EVENTS as readonly string[]).includes(message.event);
    if (serverEvent) {
      // Only rows written by the database carry meta.id; a look-alike client broadcast is dropped.
      if (message.meta?.id) (handlers[message.event as WorkspaceServerEvent] as ((payload: unknown) => void) | undefined)?.(message.payload);
      return;
    }
    handlers.broadcast?.(message.event, message.payload);
  });
  channel.on('system', {}, (message: { status?: string; message?: string; extension?: string }) => {
    if (message.status === 'error' && message.extension === 'system') {
      handlers.error?.(new WorkspaceError('closed', message.message ?? 'Realtime closed the channel'));
    }
  });

  await new Promise<void>((resolve, reject) => {
    let joined = false;
    const timer = setTimeout(() => {
      if (joined) return;
      void supabase.removeChannel(channel);
      reject(new WorkspaceError('timeout', `joining ${topic} took longer than ${options.joinTimeoutMs ?? 30_000} ms`));
    }, options.joinTimeoutMs ?? 30_000);
    channel.subscribe((status, error) => {
      if (left) return;
      if (status === 'CLOSED') {
        // Realtime closed the channel (after a system error) and supabase-js will not rejoin it.
        left = true;
        if (!joined) {
          joined = true;
          clearTimeout(timer);
          reject(new WorkspaceError('closed', `Realtime closed ${topic} before it was joined`));
        }
        return;
      }
      if (status === 'SUBSCRIBED') {
        // Every (re)join starts without our presence on the server: track again.
        void channel.track(me).then((result) => {
          if (joined) return;
          joined = true;
          clearTimeout(timer);
          if (result === 'ok') resolve();
          else {
            void supabase.removeChannel(channel);
            reject(new WorkspaceError('join_refused', `Realtime did not accept the presence track on ${topic} (${result})`));
          }
        });
        return;
      }
      // A join reply's error carries the server's {reason}; a dropped socket carries a
      // CloseEvent (which has a code, and a reason too) and is retried by supabase-js.
      const cause = error?.cause as { reason?: unknown; code?: unknown } | undefined;
      const reason = cause && typeof cause.code !== 'number' ? cause.reason : undefined;
      if (status === 'CHANNEL_ERROR' && typeof reason === 'string' && reason !== '') {
        // A refused join: supabase-js would retry it forever; stop and say why.
        left = true;
        void supabase.removeChannel(channel);
        const refused = new WorkspaceError('join_refused', reason);
        if (!joined) {
          joined = true;
          clearTimeout(timer);
          reject(refused);
        } else handlers.error?.(refused);
      }
    });
  });

  return {
    channel,
    members,
    async broadcast(event, payload) {
      if ((WORKSPACE_SERVER_EVENTS as readonly string[]).includes(event)) {
        throw new WorkspaceError('invalid', `"${event}" is a server event; clients cannot broadcast it`);
      }
      return channel.send({ type: 'broadcast', event, payload });
    },
    async leave() {
      if (left) return;
      left = true;
      // A closed or reconnecting channel has nothing tracked to remove; don't wait on it.
      if (channel.state === 'joined') await channel.untrack().catch(() => undefined);
      await supabase.removeChannel(channel);
    },
  };
}
