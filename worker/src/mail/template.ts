/**
 * The invitation mail: subject, text and HTML, rendered from the invitation and an accept
 * link on the site (TANDEM_SITE_URL). The link carries the raw token in the URL fragment
 * (`#/invitations/accept?token=...`), which browsers never send to a server, so it stays
 * out of access logs and Referer headers; the console reads it from there.
 */

export interface InvitationMailContent {
  /** Project name, as the invitee will see it. */
  projectName: string;
  role: string;
  /** Display name (or email) of the owner who invited, when known. */
  inviterName: string | null;
  expiresAt: Date;
  acceptLink: string;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The accept link for `token` on the site at `siteUrl`.
 *
 * @example
 * acceptLink('http://127.0.0.1:54321', 'ab12…') // 'http://127.0.0.1:54321/#/invitations/accept?token=ab12…'
 */
export function acceptLink(siteUrl: string, token: string): string {
  return `${siteUrl.replace(/\/+$/, '')}/#/invitations/accept?token=${encodeURIComponent(token)}`;
}

/**
 * Renders the invitation mail.
 *
 * @example
 * renderInvitationMail({ projectName: 'Apollo', role: 'viewer', inviterName: 'Ada', expiresAt, acceptLink: link }).subject
 * // 'Ada invited you to Apollo'
 */
export function renderInvitationMail(content: InvitationMailContent): { subject: string; text: string; html: string } {
  const who = content.inviterName ?? 'Someone';
  const subject = `${who} invited you to ${content.projectName}`;
  const lead = `${who} invited you to join the project "${content.projectName}" as ${content.role}.`;
  const expiry = `The invitation expires on ${content.expiresAt.toISOString().slice(0, 10)}.`;
  const text = [subject, '', lead, 'Follow this link to accept the invitation:', content.acceptLink, '', expiry, ''].join('\n');
  const html = [
    `<h2>${escapeHtml(subject)}</h2>`,
    `<p>${escapeHtml(lead)}</p>`,
    `<p><a href="${escapeHtml(content.acceptLink)}">Accept the invitation</a></p>`,
    `<p>${escapeHtml(expiry)}</p>`,
  ].join('\n');
  return { subject, text, html };
}
