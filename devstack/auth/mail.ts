/**
 * Local Auth's mail: GoTrue's default templates (subjects and bodies, text and HTML, all in
 * this file) sent over SMTP with nodemailer — to the devstack's mail catcher, or to any SMTP
 * server configured. GoTrue's defaults: supabase/auth internal/mailer (default subjects
 * "Confirm Your Signup", "You have been invited", "Reset Your Password", "Your Magic Link",
 * "Confirm Email Change", "Confirm reauthentication").
 */
import nodemailer, { type Transporter } from 'nodemailer';

export type MailKind = 'confirmation' | 'invite' | 'recovery' | 'magic_link' | 'email_change' | 'reauthentication';

export interface MailContent {
  /** The link to follow (absent for reauthentication, which has only a code). */
  link?: string;
  /** The six-digit (otp_length) code. */
  code: string;
  /** The address being confirmed (email change). */
  newEmail?: string;
}

const TEMPLATES: Record<MailKind, { subject: string; heading: string; lead: string; action: string }> = {
  confirmation: { subject: 'Confirm Your Signup', heading: 'Confirm your signup', lead: 'Follow this link to confirm your user:', action: 'Confirm your mail' },
  invite: { subject: 'You have been invited', heading: 'You have been invited', lead: 'You have been invited to create a user. Follow this link to accept the invite:', action: 'Accept the invite' },
  recovery: { subject: 'Reset Your Password', heading: 'Reset Password', lead: 'Follow this link to reset the password for your user:', action: 'Reset Password' },
  magic_link: { subject: 'Your Magic Link', heading: 'Magic Link', lead: 'Follow this link to login:', action: 'Log In' },
  email_change: { subject: 'Confirm Email Change', heading: 'Confirm Change of Email', lead: 'Follow this link to confirm the update of your email:', action: 'Change Email' },
  reauthentication: { subject: 'Confirm reauthentication', heading: 'Confirm reauthentication', lead: 'Enter the code:', action: '' },
};

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The subject, text and HTML of one mail.
 *
 * @example
 * renderMail('recovery', { link, code: '123456' }).subject // 'Reset Your Password'
 */
export function renderMail(kind: MailKind, content: MailContent): { subject: string; text: string; html: string } {
  const t = TEMPLATES[kind];
  const lead = content.newEmail ? `${t.lead} ${content.newEmail}` : t.lead;
  const text = [t.heading, '', content.link ? `${lead}\n${content.link}` : lead, '', `Alternatively, enter the code: ${content.code}`, ''].join('\n');
  const html = [
    `<h2>${escapeHtml(t.heading)}</h2>`,
    `<p>${escapeHtml(lead)}</p>`,
    content.link ? `<p><a href="${escapeHtml(content.link)}">${escapeHtml(t.action)}</a></p>` : '',
    `<p>Alternatively, enter the code: ${escapeHtml(content.code)}</p>`,
  ].join('\n');
  return { subject: t.subject, text, html };
}

export interface SmtpSettings {
  host: string;
  port: number;
  user?: string;
  pass?: string;
  /** `From` address; the CLI's Inbucket default is admin@email.com. */
  adminEmail?: string;
  senderName?: string;
}

export interface Mailer {
  send(to: string, kind: MailKind, content: MailContent): Promise<void>;
  close(): void;
}

/**
 * A mailer sending over SMTP (plain, as to a local catcher, unless the server offers TLS).
 *
 * @example
 * const mailer = createMailer({ host: '127.0.0.1', port: 54325 });
 * await mailer.send('ada@example.com', 'magic_link', { link, code });
 */
export function createMailer(settings: SmtpSettings): Mailer {
  const transport: Transporter = nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.port === 465,
    auth: settings.user ? { user: settings.user, pass: settings.pass ?? '' } : undefined,
  });
  const from = { name: settings.senderName ?? 'Admin', address: settings.adminEmail ?? 'admin@email.com' };
  return {
    async send(to, kind, content) {
      await transport.sendMail({ from, to, ...renderMail(kind, content) });
    },
    close: () => transport.close(),
  };
}
