/**
 * Presence as Phoenix.Presence keeps it for Supabase Realtime: per topic, each tracking
 * channel holds one meta under its presence key; metas carry a unique `phx_ref` (and
 * `phx_ref_prev` after an update). The state groups metas by key; diffs list joins and
 * leaves the same way, and an update is a leave of the old meta plus a join of the new.
 */
import { randomBytes } from 'node:crypto';

export type Meta = Record<string, unknown> & { phx_ref: string; phx_ref_prev?: string };
export type PresenceGroups = Record<string, { metas: Meta[] }>;
export interface PresenceDiff {
  joins: PresenceGroups;
  leaves: PresenceGroups;
}

interface Entry {
  key: string;
  meta: Meta;
  /** The user payload as tracked, to recognize an unchanged track. */
  payloadJson: string;
}

function newRef(): string {
  return randomBytes(12).toString('base64url');
}

/**
 * Presence entries of all topics, keyed by the tracking channel's id.
 *
 * @example
 * const presence = new PresenceRegistry();
 * const diff = presence.track('project:1', 'chan-1', 'user-a', { online_at: '…' });
 */
export class PresenceRegistry {
  private readonly topics = new Map<string, Map<string, Entry>>();

  /** The current state of a topic, grouped by presence key. */
  list(topic: string): PresenceGroups {
    const groups: PresenceGroups = Object.create(null) as PresenceGroups;
    for (const entry of this.topics.get(topic)?.values() ?? []) {
      (groups[entry.key] ??= { metas: [] }).metas.push(entry.meta);
    }
    return groups;
  }

  /**
   * Tracks (or updates) a channel's presence. Returns the diff to fan out, or undefined when
   * the payload did not change.
   */
  track(topic: string, channelId: string, key: string, payload: Record<string, unknown>): PresenceDiff | undefined {
    const entries = this.topics.get(topic) ?? new Map<string, Entry>();
    this.topics.set(topic, entries);
    const payloadJson = JSON.stringify(payload);
    const previous = entries.get(channelId);
    if (previous && previous.payloadJson === payloadJson && previous.key === key) return undefined;
    const meta: Meta = { ...payload, phx_ref: newRef() };
    if (previous) meta.phx_ref_prev = previous.meta.phx_ref;
    entries.set(channelId, { key, meta, payloadJson });
    const diff: PresenceDiff = { joins: { [key]: { metas: [meta] } }, leaves: {} };
    if (previous) diff.leaves[previous.key] = { metas: [previous.meta] };
    return diff;
  }

  /** Removes a channel's presence; returns the leave diff, or undefined if it had none. */
  untrack(topic: string, channelId: string): PresenceDiff | undefined {
    const entries = this.topics.get(topic);
    const previous = entries?.get(channelId);
    if (!entries || !previous) return undefined;
    entries.delete(channelId);
    if (entries.size === 0) this.topics.delete(topic);
    return { joins: {}, leaves: { [previous.key]: { metas: [previous.meta] } } };
  }
}
