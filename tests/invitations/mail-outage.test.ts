/**
 * Invitation mail while the SMTP server is down: the worker retries with backoff, the
 * invitation shows the failure to its owners, members see neither the address nor the
 * token (not in invitations, jobs rows, job events or the outbox), and the mail goes out
 * once the server is back. Also: giving up after the configured attempts. Real Postgres,
 * a real SMTP server (the local mail catcher) and the real worker.
 */
import { afterEach, expect, test } from 'vitest';
import { startMailCatcher, type MailCatcher } from '../../devstack/mail/catcher.ts';
import { findFreePort } from '../../devstack/net/ports.ts';
import { createInvitationMailer, type InvitationMailConfig } from '../../worker/src/mail/outbox.ts';
import { startWorker, type RunningWorker } from '../../worker/src/worker.ts';
import { createUser, type Sql, type TestUser } from '../harness/db.ts';
import { createProject, quietLog, testConfig, usePrivateDatabase, waitFor } from '../worker/helpers.ts';

const db = usePrivateDatabase();
let worker: RunningWorker | undefined;
let catcher: MailCatcher | undefined;
afterEach(async () => {
  await worker?.stop();
  await catcher?.close();
  worker = undefined;
  catcher = undefined;
});

function mailConfig(port: number, overrides: Partial<InvitationMailConfig> = {}): InvitationMailConfig {
  return {
    smtp: { host: '127.0.0.1', port, adminEmail: 'tandem@test.tandem.dev', senderName: 'Tandem' },
    siteUrl: 'http://app.test.tandem.dev',
    maxAttempts: 50,
    pollMs: 100,
    backoff: { baseMs: 50, maxMs: 200 },
    ...overrides,
  };
}

/** Runs `statement` as `user` under RLS, as PostgREST would. */
async function asUser<T>(sql: Sql, user: TestUser, statement: (tx: Sql) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${JSON.stringify(user.claims)}, true)`;
    return statement(tx as unknown as Sql);
  }) as Promise<T>;
}

async function invite(sql: Sql, owner: TestUser, projectId: string, email: string): Promise<{ id: string; token: string }> {
  const token = await asUser(sql, owner, async (tx) => {
    const [row] = await tx<{ token: string }[]>`select public.create_invitation(${projectId}, ${email}, 'viewer') as token`;
    return row!.token;
  });
  const [row] = await sql<{ id: string }[]>`
    select id from public.project_invitations where project_id = ${projectId} and email = ${email} and revoked_at is null`;
  return { id: row!.id, token };
}

interface MailStatus {
  mailed_at: Date | null;
  mail_attempts: number;
  last_mail_error: string | null;
}

const status = async (sql: Sql, id: string) =>
  (await sql<MailStatus[]>`select mailed_at, mail_attempts, last_mail_error from public.project_invitations where id = ${id}`)[0]!;

test('SMTP down: retries, the failure is on the invitation, members see nothing; the mail goes out once SMTP is back', async () => {
  const { sql } = db;
  const smtpPort = await findFreePort();
  const { owner, projectId } = await createProject(sql);
  const member = await createUser(sql);
  await sql`insert into public.project_members (project_id, user_id, role) values (${projectId}, ${member.id}, 'collaborator')`;
  worker = await startWorker(testConfig(db.url, { mail: mailConfig(smtpPort) }), { log: quietLog });

  const email = `outage-${owner.id.slice(0, 8)}@test.tandem.dev`;
  const invitation = await invite(sql, owner, projectId, email);

  const failing = await waitFor(async () => {
    const row = await status(sql, invitation.id);
    return row.mail_attempts >= 2 && row.last_mail_error ? row : undefined;
  }, 'two failed attempts');
  expect(failing.mailed_at).toBeNull();
  expect(failing.last_mail_error).toMatch(/ECONNREFUSED/);

  // The owner sees the failure; a member reads no invitation and cannot reach the outbox.
  const ownerView = await asUser(sql, owner, (tx) => tx<MailStatus[]>`
    select mailed_at, mail_attempts, last_mail_error from public.project_invitations where id = ${invitation.id}`);
  expect(ownerView[0]?.last_mail_error).toMatch(/ECONNREFUSED/);
  const memberView = await asUser(sql, member, (tx) => tx`select id, email, last_mail_error from public.project_invitations`);
  expect(memberView).toHaveLength(0);
  await expect(asUser(sql, member, (tx) => tx`select * from private.invitation_mail`)).rejects.toMatchObject({ code: '42501' });
  const memberJobs = await asUser(sql, member, (tx) => tx`select * from public.jobs where project_id = ${projectId}`);
  for (const text of [email, invitation.token]) {
    expect(JSON.stringify(memberJobs)).not.toContain(text);
    const [events] = await sql<{ n: number }[]>`select count(*)::int as n from realtime.messages where payload::text like ${`%${text}%`}`;
    expect(events!.n).toBe(0);
  }
  const [queued] = await sql<{ token: string }[]>`select token from private.invitation_mail where invitation_id = ${invitation.id}`;
  expect(queued?.token, 'the token waits in the private outbox while the mail is not sent').toBe(invitation.token);

  // SMTP comes back on the same port: the next retry delivers.
  catcher = await startMailCatcher({ smtpPort });
  const [mail] = await waitFor(async () => {
    const mails = catcher!.messages(email);
    return mails.length ? mails : undefined;
  }, 'the mail once SMTP is back');
  expect(mail!.text).toContain(`http://app.test.tandem.dev/#/invitations/accept?token=${invitation.token}`);
  const sent = await waitFor(async () => {
    const row = await status(sql, invitation.id);
    return row.mailed_at ? row : undefined;
  }, 'mailed_at');
  expect(sent.last_mail_error).toBeNull();
  expect(sent.mail_attempts).toBeGreaterThanOrEqual(3);
  const [left] = await sql<{ n: number }[]>`select count(*)::int as n from private.invitation_mail where invitation_id = ${invitation.id}`;
  expect(left!.n, 'the raw token is deleted once mailed').toBe(0);
  expect(catcher.messages(email)).toHaveLength(1);
});

test('after the configured attempts the mailer gives up, says so on the invitation and drops the token', async () => {
  const { sql } = db;
  const smtpPort = await findFreePort();
  const { owner, projectId } = await createProject(sql);
  const invitation = await invite(sql, owner, projectId, `giveup-${owner.id.slice(0, 8)}@test.tandem.dev`);
  const mailer = createInvitationMailer({ sql, config: mailConfig(smtpPort, { maxAttempts: 2 }), log: quietLog });
  try {
    await mailer.drain();
    expect(await status(sql, invitation.id)).toMatchObject({ mail_attempts: 1, mailed_at: null });
    await sql`update private.invitation_mail set next_attempt_at = now() where invitation_id = ${invitation.id}`;
    await mailer.drain();
  } finally {
    mailer.close();
  }
  const row = await status(sql, invitation.id);
  expect(row.mail_attempts).toBe(2);
  expect(row.last_mail_error).toMatch(/^gave up after 2 attempts: .*ECONNREFUSED/);
  const [left] = await sql<{ n: number }[]>`select count(*)::int as n from private.invitation_mail where invitation_id = ${invitation.id}`;
  expect(left!.n).toBe(0);
});

test('an invitation revoked or accepted before its mail went out is never mailed', async () => {
  const { sql } = db;
  const { owner, projectId } = await createProject(sql);
  catcher = await startMailCatcher({ smtpPort: 0 });
  const revoked = await invite(sql, owner, projectId, `revoked-${owner.id.slice(0, 8)}@test.tandem.dev`);
  await asUser(sql, owner, (tx) => tx`select public.revoke_invitation(${revoked.id})`);
  const invitee = await createUser(sql);
  const accepted = await invite(sql, owner, projectId, invitee.email);
  await asUser(sql, invitee, (tx) => tx`select public.accept_invitation(${accepted.token})`);
  // Rows that slipped into the outbox anyway (a worker that claimed before the revoke) are
  // dropped when claimed: simulate one.
  const late = await invite(sql, owner, projectId, `late-${owner.id.slice(0, 8)}@test.tandem.dev`);
  await sql`update public.project_invitations set revoked_at = now() where id = ${late.id}`;
  const mailer = createInvitationMailer({ sql, config: mailConfig(catcher.smtpPort), log: quietLog });
  try {
    await mailer.drain();
  } finally {
    mailer.close();
  }
  expect(catcher.messages()).toHaveLength(0);
  const [left] = await sql<{ n: number }[]>`
    select count(*)::int as n from private.invitation_mail where invitation_id in (${revoked.id}, ${accepted.id}, ${late.id})`;
  expect(left!.n).toBe(0);
});
