/**
 * Invitations and profiles from an app: read the token from the mailed accept link, accept
 * with it or straight from the invitee's list, and edit one's own profile.
 *
 * The mail's link is `<site>/#/invitations/accept?token=<64 hex>` (worker/src/mail/template.ts):
 * the token rides in the URL fragment, which browsers never send to a server.
 */
import type { SupabaseClient } from '@supabase/supabase-js';

/** A project the caller just joined, as the `projects` function returns it. */
export interface JoinedProject {
  id: string;
  name: string;
  description: string | null;
  role: 'owner' | 'collaborator' | 'viewer';
  member_count: number;
  created_at: string;
  updated_at: string;
}

/** An API refusal: `status` and `code` as the functions answer (403 forbidden, 404, 409 conflict...). */
export class InvitationError extends Error {
  override readonly name = 'InvitationError';
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/**
 * The invitation token in an accept link, or null when the URL is not one.
 *
 * @example
 * invitationTokenFromUrl(location.href) // '3f1c…' on <site>/#/invitations/accept?token=3f1c…
 */
export function invitationTokenFromUrl(url: string | URL): string | null {
  const hash = new URL(String(url)).hash;
  const match = /^#\/invitations\/accept\?(.*)$/.exec(hash);
  if (!match) return null;
  const token = new URLSearchParams(match[1]).get('token');
  return token && /^[0-9a-f]{64}$/.test(token) ? token : null;
}

async function joined(call: Promise<{ data: unknown; error: unknown }>): Promise<JoinedProject> {
  const { data, error } = await call;
  if (!error) return data as JoinedProject;
  const context = (error as { context?: Response }).context;
  let body: { error?: { code?: string; message?: string } } | undefined;
  try {
    body = context ? ((await context.json()) as typeof body) : undefined;
  } catch {
    body = undefined;
  }
  throw new InvitationError(context?.status ?? 0, body?.error?.code ?? 'unavailable', body?.error?.message ?? (error as Error).message);
}

/**
 * Accepts an invitation with the token from its mail (signed in as the invited address).
 *
 * @example
 * const token = invitationTokenFromUrl(location.href);
 * if (token) await acceptInvitation(supabase, token);
 */
export function acceptInvitation(supabase: SupabaseClient, token: string): Promise<JoinedProject> {
  return joined(supabase.functions.invoke('projects/invitations/accept', { method: 'POST', body: { token } }));
}

/**
 * Accepts one of the caller's pending invitations (from `projects/invitations/mine`)
 * without the token. Refused (403) until the account's email is confirmed.
 *
 * @example
 * await acceptInvitationFromList(supabase, invitation.id);
 */
export function acceptInvitationFromList(supabase: SupabaseClient, invitationId: string): Promise<JoinedProject> {
  return joined(supabase.functions.invoke(`projects/invitations/${encodeURIComponent(invitationId)}/accept`, { method: 'POST' }));
}

/**
 * Edits the caller's display name and avatar URL (an empty string clears it). Saved in
 * the Auth user's metadata, which the database copies to `public.profiles`, the source of
 * truth co-members read (member lists, presence).
 *
 * @example
 * await updateProfile(supabase, { displayName: 'Ada L.', avatarUrl: 'https://example.com/ada.png' });
 */
export async function updateProfile(supabase: SupabaseClient, profile: { displayName?: string; avatarUrl?: string }): Promise<void> {
  const data: Record<string, string> = {};
  if (profile.displayName !== undefined) data.display_name = profile.displayName;
  if (profile.avatarUrl !== undefined) data.avatar_url = profile.avatarUrl;
  const { error } = await supabase.auth.updateUser({ data });
  if (error) throw error;
}
