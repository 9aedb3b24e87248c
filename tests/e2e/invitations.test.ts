/**
 * Invitations as people receive them, end to end through the devstack (gateway, local
 * Auth, functions, the worker mailing through the local mail catcher), with the mail read
 * from the catcher's API: invite → mail → link → accept → member; accepting from one's own
 * list (confirmed and unconfirmed email); re-inviting; profile edits seen by co-members.
 * The SMTP-server-down case is tests/invitations/mail-outage.test.ts.
 */
import type { SupabaseClient } from '@supabase/supabase-js';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { acceptInvitation, acceptInvitationFromList, InvitationError, invitationTokenFromUrl, updateProfile } from '../../client/index.ts';
import type { CaughtMessage } from '../../devstack/mail/catcher.ts';
import { startTestStack, type TestStack } from './stack.ts';

let stack: TestStack;
let sql: postgres.Sql;
beforeAll(async () => {
  stack = await startTestStack();
  sql = postgres(stack.dbUrl!, { max: 2, onnotice: () => undefined });
}, 120_000);
afterAll(async () => {
  await sql?.end();
  await stack?.stop();
});

/** Calls a function through supabase-js and returns status and JSON body, errors included. */
async function call(client: SupabaseClient, path: string, options: { method?: 'GET' | 'POST' | 'DELETE'; body?: unknown } = {}) {
  const { data, error, response } = await client.functions.invoke(path, { method: options.method ?? 'GET', body: options.body as never });
  if (error) {
    const context = (error as { context?: Response }).context;
    return { status: context?.status ?? 0, body: context ? await context.json() : null };
  }
  return { status: response?.status ?? 200, body: data };
}

/** The mails to `to`, newest first, as the catcher's API returns them. */
async function mailsTo(to: string): Promise<CaughtMessage[]> {
  const response = await fetch(`${stack.url}/mail/api/messages?to=${encodeURIComponent(to)}`);
  return (await response.json()) as CaughtMessage[];
}

async function waitForMails(to: string, count: number): Promise<CaughtMessage[]> {
  let mails: CaughtMessage[] = [];
  await expect.poll(async () => (mails = await mailsTo(to)).length, { timeout: 20_000, interval: 100 }).toBeGreaterThanOrEqual(count);
  return mails;
}

const LINK = /(https?:\/\/\S+\/#\/invitations\/accept\?token=([0-9a-f]{64}))/;

async function signUp(email: string, displayName?: string): Promise<{ client: SupabaseClient; id: string }> {
  const client = stack.client();
  const { data, error } = await client.auth.signUp({ email, password: 'password123', options: { data: displayName ? { display_name: displayName } : {} } });
  expect(error).toBeNull();
  return { client, id: data.user!.id };
}

async function alice(): Promise<SupabaseClient> {
  const client = stack.client();
  const { error } = await client.auth.signInWithPassword({ email: 'alice@example.com', password: 'password123' });
  expect(error).toBeNull();
  return client;
}

const stamp = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

test('invite → mail → link → accept → member, and members learn nothing about invitations', async () => {
  const owner = await alice();
  const project = await call(owner, 'projects', { method: 'POST', body: { name: `Mail ${stamp()}` } });
  expect(project.status).toBe(201);
  const projectId: string = project.body.id;
  const newcomer = `newcomer-${stamp()}@e2e.tandem.dev`;

  const created = await call(owner, `projects/${projectId}/invitations`, { method: 'POST', body: { email: newcomer, role: 'collaborator' } });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ email: newcomer, role: 'collaborator', replaced_invitation_id: null });
  expect(created.body.token).toMatch(/^[0-9a-f]{64}$/);

  const [mail] = await waitForMails(newcomer, 1);
  expect(mail!.subject).toContain('Alice invited you to Mail');
  const [, link, mailedToken] = LINK.exec(mail!.text) ?? [];
  expect(link, mail!.text).toBeDefined();
  expect(link!.startsWith(`${stack.url}/#/invitations/accept?token=`)).toBe(true);
  expect(mailedToken).toBe(created.body.token);
  expect(mail!.html).toContain(link!);

  await expect
    .poll(async () => (await call(owner, `projects/${projectId}/invitations`)).body.data[0], { timeout: 10_000 })
    .toMatchObject({ id: created.body.id, status: 'pending', mail_attempts: 1, last_mail_error: null, mailed_at: expect.any(String) });

  // The invitee signs up and follows the link: the console hands the token to the accept route.
  const invitee = await signUp(newcomer, 'Nova');
  const token = invitationTokenFromUrl(link!);
  expect(token).toBe(created.body.token);
  const accepted = await acceptInvitation(invitee.client, token!);
  expect(accepted).toMatchObject({ id: projectId, role: 'collaborator' });
  const members = await call(owner, `projects/${projectId}/members`);
  expect(members.body.data).toEqual(expect.arrayContaining([expect.objectContaining({ user_id: invitee.id, role: 'collaborator', display_name: 'Nova' })]));

  // A member (not an owner) reads no invitation, and no jobs row or job event carries one.
  const other = `other-${stamp()}@e2e.tandem.dev`;
  const second = await call(owner, `projects/${projectId}/invitations`, { method: 'POST', body: { email: other, role: 'viewer' } });
  expect(second.status).toBe(201);
  await waitForMails(other, 1);
  const asMember = await call(invitee.client, `projects/${projectId}/invitations`);
  expect(asMember.status).toBe(403);
  const { data: jobs, error } = await invitee.client.from('jobs').select('*').eq('project_id', projectId);
  expect(error).toBeNull();
  expect(JSON.stringify(jobs)).not.toContain(other);
  const [leaks] = await sql<{ n: number }[]>`
    select count(*)::int as n from realtime.messages
    where payload::text like ${`%${second.body.token}%`} or payload::text ilike ${`%${other}%`}`;
  expect(leaks!.n).toBe(0);
  const [outbox] = await sql<{ n: number }[]>`select count(*)::int as n from private.invitation_mail where invitation_id = ${second.body.id}`;
  expect(outbox!.n, 'the raw token leaves the outbox once mailed').toBe(0);
}, 60_000);

test('accepting from one\'s own list needs a confirmed email; the token path still works without', async () => {
  const owner = await alice();
  const project = await call(owner, 'projects', { method: 'POST', body: { name: `List ${stamp()}` } });
  const projectId: string = project.body.id;
  const confirmedEmail = `listed-${stamp()}@e2e.tandem.dev`;
  const unconfirmedEmail = `unconfirmed-${stamp()}@e2e.tandem.dev`;
  const forConfirmed = await call(owner, `projects/${projectId}/invitations`, { method: 'POST', body: { email: confirmedEmail, role: 'viewer' } });
  const forUnconfirmed = await call(owner, `projects/${projectId}/invitations`, { method: 'POST', body: { email: unconfirmedEmail, role: 'viewer' } });

  // Confirmations are off locally (supabase/config.toml): an address counts as confirmed at
  // sign-up. The unconfirmed case is what enable_confirmations = true gives before the click.
  const confirmed = await signUp(confirmedEmail);
  const unconfirmed = await signUp(unconfirmedEmail);
  await sql`update auth.users set email_confirmed_at = null where id = ${unconfirmed.id}`;

  const listed = await call(confirmed.client, 'projects/invitations/mine');
  expect(listed.body.data).toMatchObject([{ id: forConfirmed.body.id, project_id: projectId, role: 'viewer' }]);
  const joined = await acceptInvitationFromList(confirmed.client, forConfirmed.body.id);
  expect(joined).toMatchObject({ id: projectId, role: 'viewer' });
  expect((await call(confirmed.client, 'projects/invitations/mine')).body.data).toEqual([]);

  const stranger = await call(confirmed.client, `projects/invitations/${forUnconfirmed.body.id}/accept`, { method: 'POST' });
  expect(stranger.status).toBe(404);

  const refused = await acceptInvitationFromList(unconfirmed.client, forUnconfirmed.body.id).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(InvitationError);
  expect(refused).toMatchObject({ status: 403, code: 'forbidden', message: expect.stringMatching(/confirm your email address/) });
  const [mail] = await waitForMails(unconfirmedEmail, 1);
  const token = LINK.exec(mail!.text)![2];
  const viaLink = await call(unconfirmed.client, 'projects/invitations/accept', { method: 'POST', body: { token } });
  expect(viaLink.status).toBe(200);
}, 60_000);

test('re-inviting replaces the pending invitation: a new mail, the old token answers "replaced"', async () => {
  const owner = await alice();
  const project = await call(owner, 'projects', { method: 'POST', body: { name: `Again ${stamp()}` } });
  const projectId: string = project.body.id;
  const email = `again-${stamp()}@e2e.tandem.dev`;
  const first = await call(owner, `projects/${projectId}/invitations`, { method: 'POST', body: { email, role: 'viewer' } });
  const again = await call(owner, `projects/${projectId}/invitations`, { method: 'POST', body: { email, role: 'collaborator' } });
  expect(again.status).toBe(201);
  expect(again.body.replaced_invitation_id).toBe(first.body.id);
  expect(again.body.token).not.toBe(first.body.token);

  const listed = (await call(owner, `projects/${projectId}/invitations`)).body.data as Array<{ id: string; status: string; replaced_by: string | null }>;
  expect(listed.find((row) => row.id === first.body.id)).toMatchObject({ status: 'revoked', replaced_by: again.body.id });

  // A mail with the new token arrives; the old one's mail was sent only if the worker got
  // to it before the re-invite (its outbox row goes with the replacement).
  await expect
    .poll(async () => (await mailsTo(email)).map((mail) => LINK.exec(mail.text)?.[2]), { timeout: 20_000, interval: 100 })
    .toContain(again.body.token);

  const invitee = await signUp(email);
  const wrongUser = await signUp(`wrong-${stamp()}@e2e.tandem.dev`);
  const stranger = await call(wrongUser.client, 'projects/invitations/accept', { method: 'POST', body: { token: first.body.token } });
  expect(stranger.status).toBe(403);
  expect(stranger.body.error.message).toBe('this invitation was sent to another email address');
  const stale = await call(invitee.client, 'projects/invitations/accept', { method: 'POST', body: { token: first.body.token } });
  expect(stale.status).toBe(409);
  expect(stale.body.error.message).toMatch(/replaced by a newer invitation/);
  const fresh = await call(invitee.client, 'projects/invitations/accept', { method: 'POST', body: { token: again.body.token } });
  expect(fresh.status).toBe(200);
  expect(fresh.body.role).toBe('collaborator');
}, 60_000);

test('profile edits are seen by co-members and refused for others', async () => {
  const owner = await alice();
  const project = await call(owner, 'projects', { method: 'POST', body: { name: `Faces ${stamp()}` } });
  const projectId: string = project.body.id;
  const email = `face-${stamp()}@e2e.tandem.dev`;
  const invitation = await call(owner, `projects/${projectId}/invitations`, { method: 'POST', body: { email, role: 'viewer' } });
  const member = await signUp(email, 'Before');
  expect((await call(member.client, 'projects/invitations/accept', { method: 'POST', body: { token: invitation.body.token } })).status).toBe(200);

  // Through Auth's user metadata (supabase-js updateUser): the profile follows.
  await updateProfile(member.client, { displayName: 'After', avatarUrl: 'https://example.com/after.png' });
  const members = await call(owner, `projects/${projectId}/members`);
  expect(members.body.data).toEqual(expect.arrayContaining([
    expect.objectContaining({ user_id: member.id, display_name: 'After', avatar_url: 'https://example.com/after.png' }),
  ]));

  // Through the profiles table under RLS, as PostgREST runs a PATCH: the owner of the row
  // may, anyone else changes nothing; the edit reaches the Auth metadata too.
  const asUser = (userId: string, statement: (tx: postgres.TransactionSql) => Promise<postgres.RowList<postgres.Row[]>>) =>
    sql.begin(async (tx) => {
      await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${JSON.stringify({ sub: userId, role: 'authenticated' })}, true)`;
      return statement(tx);
    });
  const [aliceRow] = await sql<{ id: string }[]>`select id from auth.users where email = 'alice@example.com'`;
  const hijack = await asUser(aliceRow!.id, (tx) => tx`update public.profiles set display_name = 'Hijacked' where id = ${member.id} returning id`);
  expect(hijack.count).toBe(0);
  const own = await asUser(member.id, (tx) => tx`update public.profiles set display_name = 'Edited' where id = ${member.id} returning id`);
  expect(own.count).toBe(1);
  const after = await call(owner, `projects/${projectId}/members`);
  expect(after.body.data.find((row: { user_id: string }) => row.user_id === member.id).display_name).toBe('Edited');
  const { data: refreshed } = await member.client.auth.getUser();
  expect(refreshed.user?.user_metadata.display_name).toBe('Edited');
}, 60_000);
