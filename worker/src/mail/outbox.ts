/**
 * The invitation mailer: drains `private.invitation_mail`, the outbox create_invitation
 * writes (supabase/migrations/20261202002100_invitation_mail_and_profiles.sql).
 *
 * Why not a BullMQ job on the jobs queue: the worker mirrors every job into a `jobs` row
 * that members read and that produces `job_updated` events, and clients may submit any
 * catalog type. The mail carries an address and a raw token no member may see, so it
 * never becomes a job: the outbox is in a schema no API role can read, the NOTIFY carries
 * only the invitation id, and there is no job type a client could submit.
 *
 * A drain claims due rows with `for update skip locked` (several workers never send the
 * same mail at once) and leases them (`next_attempt_at` moved ahead) so that the SMTP
 * conversation runs outside any transaction. A success records `mailed_at` on the
 * invitation and deletes the raw token; a failure records `mail_attempts` and
 * `last_mail_error` (owners see them) and schedules the next try with backoff, until
 * `maxAttempts`, when the row is dropped and the error says the worker gave up (the
 * owner still holds the token, or re-invites).
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from '../../../core/log.ts';
import { retryDelay } from '../backoff.ts';
import type { Sql } from '../db.ts';
import { acceptLink, renderInvitationMail } from './template.ts';

export interface SmtpSettings {
  host: string;
  port: number;
  user?: string;
  pass?: string;
  /** `From` address. */
  adminEmail: string;
  senderName: string;
}

export interface InvitationMailConfig {
  smtp: SmtpSettings;
  /** Base of the accept link (TANDEM_SITE_URL). */
  siteUrl: string;
  /** Tries per mail before giving up. */
  maxAttempts: number;
  /** How often due rows are looked for besides NOTIFY tandem_mail (retries become due this way). */
  pollMs: number;
  backoff: { baseMs: number; maxMs: number };
}

export interface InvitationMailer {
  /** Sends every due mail; concurrent calls share one drain. */
  drain(): Promise<void>;
  /** Waits for a running drain. */
  idle(): Promise<void>;
  close(): void;
}

interface ClaimedMail {
  invitation_id: string;
  token: string;
  attempts: number;
  email: string;
  role: string;
  expires_at: Date;
  pending: boolean;
  project_name: string;
  inviter_name: string | null;
}

/** How long a claimed row is hidden from other drains while its SMTP conversation runs. */
const LEASE_SECONDS = 120;
const BATCH = 20;

/**
 * Creates the mailer over `sql` (the worker's privileged pool).
 *
 * @example
 * const mailer = createInvitationMailer({ sql, config: mailConfig, log });
 * await mailer.drain();
 */
export function createInvitationMailer(options: { sql: Sql; config: InvitationMailConfig; log: Logger; transport?: Transporter }): InvitationMailer {
  const { sql, config, log } = options;
  const transport: Transporter =
    options.transport ??
    nodemailer.createTransport({
      host: config.smtp.host,
      port: config.smtp.port,
      secure: config.smtp.port === 465,
      auth: config.smtp.user ? { user: config.smtp.user, pass: config.smtp.pass ?? '' } : undefined,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
  const from = { name: config.smtp.senderName, address: config.smtp.adminEmail };
  let running: Promise<void> | undefined;
  let again = false;

  const claim = () => sql<ClaimedMail[]>`
    with due as (
      select m.invitation_id from private.invitation_mail m
      where m.next_attempt_at <= now()
      order by m.next_attempt_at
      limit ${BATCH}
      for update skip locked
    ), leased as (
      update private.invitation_mail m
      set attempts = m.attempts + 1, next_attempt_at = now() + make_interval(secs => ${LEASE_SECONDS})
      from due where m.invitation_id = due.invitation_id
      returning m.invitation_id, m.token, m.attempts
    )
    select l.invitation_id, l.token, l.attempts, i.email, i.role::text as role, i.expires_at,
           (i.accepted_at is null and i.revoked_at is null and i.expires_at > now()) as pending,
           p.name as project_name, coalesce(pr.display_name, pr.email) as inviter_name
    from leased l
    join public.project_invitations i on i.id = l.invitation_id
    join public.projects p on p.id = i.project_id
    left join public.profiles pr on pr.id = i.invited_by`;

  const sendOne = async (mail: ClaimedMail) => {
    if (!mail.pending) {
      await sql`delete from private.invitation_mail where invitation_id = ${mail.invitation_id}`;
      return;
    }
    try {
      const content = renderInvitationMail({
        projectName: mail.project_name,
        role: mail.role,
        inviterName: mail.inviter_name,
        expiresAt: mail.expires_at,
        acceptLink: acceptLink(config.siteUrl, mail.token),
      });
      await transport.sendMail({ from, to: mail.email, ...content });
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).slice(0, 900);
      const giveUp = mail.attempts >= config.maxAttempts;
      const message = giveUp ? `gave up after ${mail.attempts} attempts: ${reason}` : reason;
      await sql.begin(async (tx) => {
        await tx`update public.project_invitations set mail_attempts = ${mail.attempts}, last_mail_error = ${message}
                 where id = ${mail.invitation_id}`;
        if (giveUp) await tx`delete from private.invitation_mail where invitation_id = ${mail.invitation_id}`;
        else {
          const delayMs = retryDelay(mail.attempts, config.backoff);
          await tx`update private.invitation_mail set next_attempt_at = now() + make_interval(secs => ${delayMs / 1000})
                   where invitation_id = ${mail.invitation_id}`;
        }
      });
      // The invitation id only: the address and the token stay out of the logs.
      log.warn(giveUp ? 'invitation_mail_gave_up' : 'invitation_mail_failed', { invitation_id: mail.invitation_id, attempts: mail.attempts, error: reason });
      return;
    }
    await sql.begin(async (tx) => {
      await tx`update public.project_invitations set mailed_at = now(), mail_attempts = ${mail.attempts}, last_mail_error = null
               where id = ${mail.invitation_id}`;
      await tx`delete from private.invitation_mail where invitation_id = ${mail.invitation_id}`;
    });
    log.info('invitation_mailed', { invitation_id: mail.invitation_id, attempts: mail.attempts });
  };

  const drainOnce = async () => {
    for (;;) {
      const batch = await claim();
      await Promise.all(batch.map((mail) => sendOne(mail)));
      if (batch.length < BATCH) return;
    }
  };

  const drain = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await drainOnce();
        } while (again);
      } catch (error) {
        log.warn('invitation_mail_drain_failed', { error });
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  return {
    drain,
    idle: async () => {
      await running;
    },
    close: () => transport.close(),
  };
}
