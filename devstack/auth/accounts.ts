/**
 * Local Auth's account routes: the calls apps make besides sign-up and sign-in, as GoTrue
 * v2.196.0 answers them (supabase/auth internal/api: user.go, recover.go, otp.go,
 * magic_link.go, verify.go, resend.go, reauthenticate.go, invite.go, admin.go, mail.go).
 *
 *   PUT  /user                   metadata, password (reauthentication rule), email change
 *   GET  /reauthenticate         mails a nonce for a password change
 *   POST /recover                mails a password-reset link and code
 *   POST /otp, /magiclink        mails a magic link and code (signs the address up if new)
 *   GET  /verify                 follows a mailed link → 303 to redirect_to with the session in the fragment
 *   POST /verify                 checks a code or token hash → session
 *   POST /resend                 mails the signup confirmation or the email-change links again
 *   POST /invite                 (service_role) invites an address
 *   GET/POST /admin/users, GET/PUT/DELETE /admin/users/<id>, POST /admin/generate_link (service_role)
 *
 * The implicit flow and PKCE: a `code_challenge` on sign-up, /otp, /recover or an email
 * change leaves a flow state (flow-state.ts) and mails a `pkce_` link, whose /verify
 * redirects with `?code=` for `POST /token?grant_type=pkce` (server.ts).
 * One-time tokens live in GoTrue's columns of auth.users (confirmation_token,
 * recovery_token, email_change_token_new/current, reauthentication_token) as GoTrue keeps
 * them: the SHA-224 of the address and the code, in hex.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import bcrypt from 'bcryptjs';
import type postgres from 'postgres';
import { bearerToken, InvalidTokenError } from '../../core/auth/jwt.ts';
import { AuthApiFailure, writeJson } from './errors.ts';
import { flowMethodOf, PKCE_PREFIX, pkceChallengeOf, type FlowMethod, type FlowStates, type PkceChallenge } from './flow-state.ts';
import type { Mailer, MailKind } from './mail.ts';
import { EMAIL, MAX_PASSWORD_BYTES, objectField, readJsonObject, stringField } from './request.ts';
import {
  findUserByEmail,
  findUserById,
  identitiesOf,
  isBanned,
  NIL_UUID,
  signInUser,
  signUpUser,
  USER_COLUMNS,
  userJson,
  type ClientInfo,
  type IssuedSession,
  type Sql,
  type UserRow,
} from './store.ts';

export interface AccountRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  client: ClientInfo;
}

export interface AccountSettings {
  externalUrl: string;
  siteUrl: string;
  additionalRedirectUrls: string[];
  autoconfirm: boolean;
  enableSignup: boolean;
  enableEmailProvider: boolean;
  doubleConfirmChanges: boolean;
  securePasswordChange: boolean;
  maxFrequencySeconds: number;
  otpLength: number;
  otpExpirySeconds: number;
  bcryptCost: number;
}

export interface AccountContext {
  sql: Sql;
  settings: AccountSettings;
  mailer: Mailer | undefined;
  /** PKCE flow states, shared with the PKCE grant of /token. */
  flows: FlowStates;
  authenticate(req: IncomingMessage): Promise<{ user: UserRow; sessionId: string | undefined }>;
  verifyClaims(token: string): Promise<Record<string, unknown>>;
  sessionResponse(issued: IssuedSession, method?: string): Promise<Record<string, unknown>>;
  passwordWeakness(password: string): { message: string; reasons: string[] } | undefined;
}

type Route = (request: AccountRequest) => Promise<void>;

const DUPLICATE_EMAIL = 'A user with this email address has already been registered';
const SINGLE_CONFIRMATION = 'Confirmation link accepted. Please proceed to confirm link sent to the other email';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** GoTrue's token hash (internal/crypto/crypto.go, GenerateTokenHash). */
export const tokenHash = (address: string, code: string) => createHash('sha224').update(address + code).digest('hex');

const newCode = (length: number) => Array.from({ length }, () => String(randomInt(10))).join('');

function validEmail(email: string): string {
  if (!email) throw new AuthApiFailure(400, 'validation_failed', 'An email address is required');
  if (email.length > 255) throw new AuthApiFailure(400, 'validation_failed', 'An email address is too long');
  if (!EMAIL.test(email)) throw new AuthApiFailure(400, 'validation_failed', 'Unable to validate email address: invalid format');
  return email.toLowerCase();
}

/**
 * The account routes, to merge into local Auth's route table.
 *
 * @example
 * const routes = { ...baseRoutes, ...registerAccountRoutes(context) };
 */
export function registerAccountRoutes(ctx: AccountContext): {
  /** Mails a sign-up confirmation (sign-up with confirmations on). */
  sendConfirmation(user: UserRow, redirectTo: string | null, pkce?: PkceChallenge): Promise<void>;
  exact: Record<string, Partial<Record<string, Route>>>;
  adminUser: Partial<Record<string, (request: AccountRequest, id: string) => Promise<void>>>;
} {
  const { sql, settings } = ctx;

  const reload = async (id: string) => (await findUserById(sql, id))!;
  const respondUser = async (res: ServerResponse, user: UserRow, extra: Record<string, unknown> = {}) =>
    writeJson(res, 200, { ...userJson(user, await identitiesOf(sql, user.id)), ...extra });

  /** GoTrue's GetReferrer: redirect_to when allowed (site URL's origin or an allow-list prefix), else the site URL. */
  function referrer(candidate: string | null | undefined): string {
    if (candidate) {
      const allowed = [settings.siteUrl, ...settings.additionalRedirectUrls];
      try {
        const target = new URL(candidate);
        if (allowed.some((base) => candidate.startsWith(base) || new URL(base).origin === target.origin)) return candidate;
      } catch {
        // not a URL: the site URL
      }
    }
    return settings.siteUrl;
  }

  const actionLink = (hash: string, type: string, redirectTo: string) =>
    `${settings.externalUrl}/verify?token=${hash}&type=${type}&redirect_to=${encodeURIComponent(redirectTo)}`;

  function frequencyCheck(sentAt: Date | null): void {
    if (!sentAt) return;
    const left = sentAt.getTime() + settings.maxFrequencySeconds * 1000 - Date.now();
    if (left > 0) {
      throw new AuthApiFailure(429, 'over_email_send_rate_limit', `For security purposes, you can only request this after ${Math.floor(left / 1000)} seconds.`);
    }
  }

  async function send(to: string, kind: MailKind, content: { link?: string; code: string; newEmail?: string }): Promise<void> {
    if (!ctx.mailer) throw new AuthApiFailure(500, 'unexpected_failure', 'Error sending email: no SMTP server is configured');
    try {
      await ctx.mailer.send(to, kind, content);
    } catch (error) {
      throw new AuthApiFailure(500, 'unexpected_failure', `Error sending ${kind} email: ${(error as Error).message}`);
    }
  }

  /**
   * A PKCE request's flow state, and the token prefix its mailed links carry (GoTrue's
   * generateFlowState and addFlowPrefixToToken); no prefix for the implicit flow.
   */
  function startFlow(user: UserRow, pkce: PkceChallenge | undefined, method: FlowMethod): string {
    if (!pkce) return '';
    ctx.flows.create(user.id, method, pkce);
    return PKCE_PREFIX;
  }

  type TokenColumn = 'confirmation' | 'recovery' | 'reauthentication';
  /** Stores a new code for `column` and mails it (with a link unless reauthentication); with `pkce`, as a PKCE flow of `linkType`. */
  async function issueAndMail(
    user: UserRow,
    column: TokenColumn,
    kind: MailKind,
    linkType: string | undefined,
    redirectTo: string,
    pkce?: PkceChallenge,
  ): Promise<void> {
    frequencyCheck(user[`${column}_sent_at`]);
    const code = newCode(settings.otpLength);
    const prefix = linkType ? startFlow(user, pkce, flowMethodOf(linkType)) : '';
    const hash = prefix + tokenHash(user.email!, code);
    await sql`update auth.users set ${sql(`${column}_token`)} = ${hash}, ${sql(`${column}_sent_at`)} = now(), updated_at = now() where id = ${user.id}`;
    await send(user.email!, kind, { code, link: linkType ? actionLink(hash, linkType, redirectTo) : undefined });
  }

  /** Starts an email change (GoTrue's sendEmailChange): a link to the new address, and to the current one when changes are double-confirmed. */
  async function startEmailChange(user: UserRow, newEmail: string, redirectTo: string, pkce?: PkceChallenge): Promise<void> {
    frequencyCheck(user.email_change_sent_at);
    const prefix = startFlow(user, pkce, 'email_change');
    const codeNew = newCode(settings.otpLength);
    const hashNew = prefix + tokenHash(newEmail, codeNew);
    const codeCurrent = settings.doubleConfirmChanges && user.email ? newCode(settings.otpLength) : undefined;
    const hashCurrent = codeCurrent ? prefix + tokenHash(user.email!, codeCurrent) : '';
    await sql`
      update auth.users set email_change = ${newEmail}, email_change_token_new = ${hashNew}, email_change_token_current = ${hashCurrent},
        email_change_confirm_status = 0, email_change_sent_at = now(), updated_at = now()
      where id = ${user.id}`;
    await send(newEmail, 'email_change', { code: codeNew, newEmail, link: actionLink(hashNew, 'email_change', redirectTo) });
    if (codeCurrent) await send(user.email!, 'email_change', { code: codeCurrent, newEmail, link: actionLink(hashCurrent, 'email_change', redirectTo) });
  }

  /**
   * GoTrue's emailChangeVerify, last step: the new address becomes the user's; an anonymous
   * user becomes a permanent one, with an email identity and provider.
   */
  async function applyEmailChange(userId: string, newEmail: string): Promise<void> {
    await sql.begin(async (tx) => {
      await tx`
        update auth.users set email = ${newEmail}, email_change = '', email_change_token_new = '', email_change_token_current = '',
          email_change_confirm_status = 0, email_change_sent_at = null, email_confirmed_at = coalesce(email_confirmed_at, now()),
          raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb) || ${tx.json({ email: newEmail, email_verified: true })},
          raw_app_meta_data = case when is_anonymous then coalesce(raw_app_meta_data, '{}'::jsonb) || '{"provider": "email", "providers": ["email"]}'
                                   else raw_app_meta_data end,
          is_anonymous = false, updated_at = now()
        where id = ${userId}`;
      const updated = await tx`
        update auth.identities set identity_data = identity_data || ${tx.json({ email: newEmail, email_verified: true })}, updated_at = now()
        where user_id = ${userId} and provider = 'email' returning id`;
      if (updated.length === 0) {
        const identityData = { sub: userId, email: newEmail, email_verified: true, phone_verified: false };
        await tx`
          insert into auth.identities (provider_id, user_id, identity_data, provider, created_at, updated_at)
          values (${userId}, ${userId}, ${tx.json(identityData)}, 'email', now(), now())`;
      }
    });
  }

  async function passwordHash(password: string): Promise<string> {
    if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
      throw new AuthApiFailure(400, 'validation_failed', `Password cannot be longer than ${MAX_PASSWORD_BYTES} characters`);
    }
    const weakness = ctx.passwordWeakness(password);
    if (weakness) throw new AuthApiFailure(422, 'weak_password', weakness.message, { weak_password: { reasons: weakness.reasons } });
    return bcrypt.hash(password, settings.bcryptCost);
  }

  async function emailTaken(email: string, exceptId?: string): Promise<boolean> {
    const other = await findUserByEmail(sql, email);
    return other !== undefined && other.id !== exceptId;
  }

  /** Merges `data` into a jsonb column the way GoTrue's UpdateUserMetaData does: keys set, null values removed. */
  async function mergeMetadata(id: string, column: 'raw_user_meta_data' | 'raw_app_meta_data', data: Record<string, unknown>): Promise<void> {
    const removed = Object.keys(data).filter((key) => data[key] === null);
    const kept = Object.fromEntries(Object.entries(data).filter(([, value]) => value !== null));
    await sql`
      update auth.users set ${sql(column)} = (coalesce(${sql(column)}, '{}'::jsonb) || ${sql.json(kept as postgres.JSONValue)}) - ${removed}::text[], updated_at = now()
      where id = ${id}`;
  }

  // ---- PUT /user -------------------------------------------------------------------------

  async function updateUser({ req, res, url }: AccountRequest): Promise<void> {
    const { user, sessionId } = await ctx.authenticate(req);
    const body = await readJsonObject(req);
    const pkce = pkceChallengeOf(body);
    const email = stringField(body, 'email') ? validEmail(stringField(body, 'email')) : '';
    const password = body.password === undefined || body.password === null ? undefined : stringField(body, 'password');
    const nonce = stringField(body, 'nonce');
    if (user.is_anonymous && password && !email) {
      throw new AuthApiFailure(422, 'validation_failed', 'Updating password of an anonymous user without an email or phone is not allowed');
    }
    if (password !== undefined && password !== '') {
      const weakness = ctx.passwordWeakness(password);
      if (weakness) throw new AuthApiFailure(422, 'weak_password', weakness.message, { weak_password: { reasons: weakness.reasons } });
    }
    if (body.app_metadata !== undefined && body.app_metadata !== null) {
      throw new AuthApiFailure(403, 'not_admin', 'Updating app_metadata requires admin privileges');
    }
    if (email && email !== user.email && (await emailTaken(email, user.id))) throw new AuthApiFailure(422, 'email_exists', DUPLICATE_EMAIL);

    let newHash: string | undefined;
    if (password !== undefined) {
      if (settings.securePasswordChange) {
        const [session] = sessionId
          ? await sql<{ old: boolean }[]>`select created_at < now() - interval '24 hours' as old from auth.sessions where id = ${sessionId}`
          : [];
        if (!session || session.old) {
          if (!nonce) throw new AuthApiFailure(400, 'reauthentication_needed', 'Password update requires reauthentication');
          const valid =
            user.reauthentication_token &&
            user.reauthentication_sent_at &&
            user.reauthentication_sent_at.getTime() + settings.otpExpirySeconds * 1000 > Date.now() &&
            tokenHash(user.email ?? '', nonce) === user.reauthentication_token;
          if (!valid) throw new AuthApiFailure(422, 'reauthentication_not_valid', 'Nonce has expired or is invalid');
          await sql`update auth.users set reauthentication_token = '', reauthentication_sent_at = null where id = ${user.id}`;
        }
      }
      if (password !== '' && user.encrypted_password && (await bcrypt.compare(password, user.encrypted_password).catch(() => false))) {
        throw new AuthApiFailure(422, 'same_password', 'New password should be different from the old password.');
      }
      newHash = await passwordHash(password);
    }

    if (newHash !== undefined) {
      await sql`update auth.users set encrypted_password = ${newHash}, updated_at = now() where id = ${user.id}`;
      // GoTrue's UpdatePassword ends the user's other sessions (internal/models/user.go).
      if (sessionId) await sql`delete from auth.sessions where user_id = ${user.id} and id <> ${sessionId}`;
    }
    if (body.data !== undefined && body.data !== null) await mergeMetadata(user.id, 'raw_user_meta_data', objectField(body, 'data'));
    if (email && email !== user.email) {
      // An anonymous user adding an address with auto-confirm is signing up: no mail (GoTrue's UserUpdate).
      if (user.is_anonymous && settings.autoconfirm) await applyEmailChange(user.id, email);
      else await startEmailChange(await reload(user.id), email, referrer(url.searchParams.get('redirect_to')), pkce);
    }
    await respondUser(res, await reload(user.id));
  }

  async function reauthenticate({ req, res }: AccountRequest): Promise<void> {
    const { user } = await ctx.authenticate(req);
    if (!user.email) throw new AuthApiFailure(400, 'validation_failed', 'Reauthentication requires the user to have an email or a phone number');
    if (!user.email_confirmed_at) throw new AuthApiFailure(422, 'email_not_confirmed', 'Please verify your email first.');
    await issueAndMail(user, 'reauthentication', 'reauthentication', undefined, settings.siteUrl);
    writeJson(res, 200, {});
  }

  // ---- mailed links and codes ------------------------------------------------------------

  async function recover({ req, res, url }: AccountRequest): Promise<void> {
    if (!settings.enableEmailProvider) throw new AuthApiFailure(400, 'email_provider_disabled', 'Email logins are disabled');
    const body = await readJsonObject(req);
    if (!stringField(body, 'email')) throw new AuthApiFailure(400, 'validation_failed', 'Password recovery requires an email');
    const email = validEmail(stringField(body, 'email'));
    const pkce = pkceChallengeOf(body);
    const user = await findUserByEmail(sql, email);
    // An unknown address gets the same answer, so the route tells nobody who has an account.
    if (user) await issueAndMail(user, 'recovery', 'recovery', 'recovery', referrer(url.searchParams.get('redirect_to')), pkce);
    writeJson(res, 200, {});
  }

  async function otp({ req, res, url }: AccountRequest): Promise<void> {
    const body = await readJsonObject(req);
    const email = stringField(body, 'email');
    const phone = stringField(body, 'phone');
    if (email && phone) throw new AuthApiFailure(400, 'validation_failed', 'Only an email address or phone number should be provided');
    if (phone) throw new AuthApiFailure(400, 'phone_provider_disabled', 'Unsupported phone provider');
    if (!email) throw new AuthApiFailure(400, 'validation_failed', 'One of email or phone must be set');
    const createUser = body.create_user === undefined ? true : body.create_user === true;
    const address = validEmail(email);
    const pkce = pkceChallengeOf(body);
    if (!settings.enableEmailProvider) throw new AuthApiFailure(422, 'email_provider_disabled', 'Email logins are disabled');
    const redirectTo = referrer(url.searchParams.get('redirect_to'));
    let user = await findUserByEmail(sql, address);
    if (!user && (!createUser || !settings.enableSignup)) throw new AuthApiFailure(422, 'otp_disabled', 'Signups not allowed for otp');
    if (!user || !user.email_confirmed_at) {
      // GoTrue signs a new address up (with a random password) first: auto-confirmed, then a
      // magic link; otherwise the confirmation mail is the magic link.
      if (!user) {
        user = await signUpUser(sql, { email: address, passwordHash: null, metadata: objectField(body, 'data'), confirmed: settings.autoconfirm }, undefined, async (created) => created);
      }
      if (!settings.autoconfirm) {
        await issueAndMail(user, 'confirmation', 'confirmation', 'signup', redirectTo, pkce);
        return writeJson(res, 200, {});
      }
    }
    await issueAndMail(user, 'recovery', 'magic_link', 'magiclink', redirectTo, pkce);
    writeJson(res, 200, {});
  }

  async function resend({ req, res, url }: AccountRequest): Promise<void> {
    const body = await readJsonObject(req);
    const type = stringField(body, 'type');
    const email = stringField(body, 'email');
    const phone = stringField(body, 'phone');
    if (!['signup', 'email_change', 'sms', 'phone_change'].includes(type)) {
      throw new AuthApiFailure(400, 'validation_failed', 'Missing one of these types: signup, email_change, sms, phone_change');
    }
    if ((type === 'signup' || type === 'email_change') && !email) throw new AuthApiFailure(400, 'validation_failed', 'Type provided requires an email address');
    if ((type === 'sms' || type === 'phone_change') && !phone) throw new AuthApiFailure(400, 'validation_failed', 'Type provided requires a phone number');
    if (email && phone) throw new AuthApiFailure(400, 'validation_failed', 'Only an email address or phone number should be provided.');
    if (phone) throw new AuthApiFailure(400, 'phone_provider_disabled', 'Phone logins are disabled');
    if (!settings.enableEmailProvider) throw new AuthApiFailure(400, 'email_provider_disabled', 'Email logins are disabled');
    const address = validEmail(email);
    const redirectTo = referrer(url.searchParams.get('redirect_to'));
    if (type === 'signup') {
      const user = await findUserByEmail(sql, address);
      // Unknown or already confirmed: nothing to send, the same empty answer.
      if (user && !user.email_confirmed_at) await issueAndMail(user, 'confirmation', 'confirmation', 'signup', redirectTo);
    } else {
      const [user] = await sql<UserRow[]>`
        select ${sql.unsafe(USER_COLUMNS)} from auth.users
        where instance_id = ${NIL_UUID} and lower(email) = ${address} and coalesce(email_change, '') <> ''`;
      if (user) await startEmailChange(user, user.email_change!, redirectTo);
    }
    writeJson(res, 200, {});
  }

  // ---- /verify ---------------------------------------------------------------------------

  type Verified = { kind: 'session'; issued: IssuedSession } | { kind: 'verified'; user: UserRow } | { kind: 'half' };

  const linkInvalid = () => new AuthApiFailure(403, 'otp_expired', 'Email link is invalid or has expired');
  const codeInvalid = () => new AuthApiFailure(403, 'otp_expired', 'Token has expired or is invalid');
  const fresh = (sentAt: Date | null) => sentAt !== null && sentAt.getTime() + settings.otpExpirySeconds * 1000 > Date.now();

  /** Finds the user a token hash belongs to, for `type`; `address` narrows it to a code typed for that address. */
  async function findByToken(type: string, hash: string, address: string | undefined): Promise<{ user: UserRow; type: string } | undefined> {
    const columns: Record<string, string[]> = {
      signup: ['confirmation_token'],
      invite: ['confirmation_token'],
      recovery: ['recovery_token'],
      magiclink: ['recovery_token'],
      email: ['confirmation_token', 'recovery_token'],
      email_change: ['email_change_token_current', 'email_change_token_new'],
    };
    // A link's token (GET, or POST with token_hash) is the stored value itself, `pkce_`
    // prefix and all; a typed code is hashed here, and a PKCE flow's code is stored prefixed.
    const stored = address === undefined ? [hash] : [hash, PKCE_PREFIX + hash];
    for (const column of columns[type] ?? []) {
      const [user] = await sql<UserRow[]>`
        select ${sql.unsafe(USER_COLUMNS)} from auth.users
        where instance_id = ${NIL_UUID} and ${sql(column)} = any(${stored}::text[])
          and (${address ?? null}::text is null or lower(email) = ${address ?? ''} or lower(email_change) = ${address ?? ''})`;
      if (!user) continue;
      const sentAt = column === 'confirmation_token' ? user.confirmation_sent_at : column === 'recovery_token' ? user.recovery_sent_at : user.email_change_sent_at;
      if (!fresh(sentAt)) return undefined;
      const resolved = type === 'email' ? (column === 'recovery_token' ? 'magiclink' : 'signup') : type;
      return { user, type: resolved };
    }
    return undefined;
  }

  /** Applies a verified token; then a session, or (`session` false: a PKCE link) only the user. */
  async function completeVerification(found: { user: UserRow; type: string }, hash: string, client: ClientInfo, session = true): Promise<Verified> {
    const { user, type } = found;
    if (isBanned(user)) throw new AuthApiFailure(403, 'user_banned', 'User is banned');
    if (type === 'signup' || type === 'invite') {
      await sql`
        update auth.users set email_confirmed_at = coalesce(email_confirmed_at, now()), confirmation_token = '', confirmation_sent_at = null,
          raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb) || '{"email_verified": true}', updated_at = now()
        where id = ${user.id}`;
      await sql`update auth.identities set identity_data = identity_data || '{"email_verified": true}' where user_id = ${user.id} and provider = 'email'`;
    } else if (type === 'recovery' || type === 'magiclink') {
      await sql`
        update auth.users set recovery_token = '', recovery_sent_at = null, email_confirmed_at = coalesce(email_confirmed_at, now()), updated_at = now()
        where id = ${user.id}`;
    } else {
      // GoTrue's emailChangeVerify: with confirmations on and secure changes, the first of
      // the two links only marks itself used; the change happens on the second.
      if (!settings.autoconfirm && settings.doubleConfirmChanges && user.email_change_confirm_status === 0 && user.email) {
        const column = hash === user.email_change_token_current || PKCE_PREFIX + hash === user.email_change_token_current ? 'email_change_token_current' : 'email_change_token_new';
        await sql`update auth.users set email_change_confirm_status = 1, ${sql(column)} = '' where id = ${user.id}`;
        return { kind: 'half' };
      }
      await applyEmailChange(user.id, user.email_change!);
    }
    if (!session) return { kind: 'verified', user };
    return { kind: 'session', issued: await signInUser(sql, user.id, client) };
  }

  async function verifyGet({ res, url, client, req }: AccountRequest): Promise<void> {
    const type = url.searchParams.get('type') ?? '';
    const token = url.searchParams.get('token') ?? '';
    if (!type) throw new AuthApiFailure(400, 'validation_failed', 'Verify requires a verification type');
    if (!token) throw new AuthApiFailure(400, 'validation_failed', 'Verify requires a token or a token hash');
    const redirectTo = referrer(url.searchParams.get('redirect_to') ?? (typeof req.headers.referer === 'string' ? req.headers.referer : undefined));
    const target = new URL(redirectTo);
    const fragment = new URLSearchParams();
    // A PKCE link (GoTrue's verifyGet): the app gets an auth code in the query, not a
    // session in the fragment; messages and errors go in the query too.
    const pkce = token.startsWith(PKCE_PREFIX);
    const alsoInQuery = (key: string, value: string) => {
      fragment.set(key, value);
      if (pkce) target.searchParams.set(key, value);
    };
    try {
      if (!['signup', 'invite', 'recovery', 'magiclink', 'email_change'].includes(type)) {
        throw new AuthApiFailure(400, 'validation_failed', 'Unsupported verification type');
      }
      const found = await findByToken(type, token, undefined);
      if (!found) throw linkInvalid();
      const outcome = await completeVerification(found, token, client, !pkce);
      if (outcome.kind === 'half') {
        alsoInQuery('message', SINGLE_CONFIRMATION);
      } else if (outcome.kind === 'verified') {
        let code: string;
        try {
          code = ctx.flows.issueAuthCode(outcome.user.id, flowMethodOf(type));
        } catch (error) {
          if (!(error instanceof AuthApiFailure)) throw error;
          throw new AuthApiFailure(400, 'flow_state_not_found', `No associated flow state found. ${error.message}`);
        }
        target.searchParams.set('code', code);
        res.writeHead(303, { location: target.toString() });
        res.end();
        return;
      } else {
        const session = await ctx.sessionResponse(outcome.issued, 'otp');
        for (const key of ['access_token', 'token_type', 'expires_in', 'expires_at', 'refresh_token']) fragment.set(key, String(session[key]));
        fragment.set('type', type);
      }
    } catch (error) {
      if (!(error instanceof AuthApiFailure)) throw error;
      // GoTrue's prepErrorRedirectURL: the error goes to the app in the fragment.
      alsoInQuery('error', error.status === 403 ? 'access_denied' : error.status >= 500 ? 'server_error' : 'invalid_request');
      alsoInQuery('error_code', error.errorCode);
      alsoInQuery('error_description', error.message);
    }
    fragment.set('sb', '');
    target.hash = fragment.toString();
    res.writeHead(303, { location: target.toString() });
    res.end();
  }

  async function verifyPost({ req, res, client }: AccountRequest): Promise<void> {
    const body = await readJsonObject(req);
    const type = stringField(body, 'type');
    const token = stringField(body, 'token');
    const hashParam = stringField(body, 'token_hash');
    const email = stringField(body, 'email');
    const phone = stringField(body, 'phone');
    if (!type) throw new AuthApiFailure(400, 'validation_failed', 'Verify requires a verification type');
    if ((!token && !hashParam) || (token && hashParam)) throw new AuthApiFailure(400, 'validation_failed', 'Verify requires either a token or a token hash');
    let hash = hashParam;
    let address: string | undefined;
    if (token) {
      if (phone && !email) throw new AuthApiFailure(400, 'phone_provider_disabled', 'Unsupported phone provider');
      if (!email || phone) throw new AuthApiFailure(400, 'validation_failed', 'Only an email address or phone number should be provided on verify');
      if (!EMAIL.test(email)) throw new AuthApiFailure(422, 'validation_failed', 'Invalid email format');
      address = email.toLowerCase();
      hash = tokenHash(address, token);
    } else if (email || phone || body.redirect_to) {
      throw new AuthApiFailure(400, 'validation_failed', 'Only the token_hash and type should be provided');
    }
    if (!['signup', 'invite', 'recovery', 'magiclink', 'email', 'email_change'].includes(type)) {
      throw new AuthApiFailure(400, 'validation_failed', type === 'sms' || type === 'phone_change' ? 'Unsupported phone provider' : 'Unsupported verification type');
    }
    const found = await findByToken(type, hash, address);
    if (!found) throw token ? codeInvalid() : linkInvalid();
    const outcome = await completeVerification(found, hash, client);
    if (outcome.kind === 'half') return writeJson(res, 200, { msg: SINGLE_CONFIRMATION, code: '200' });
    if (outcome.kind !== 'session') throw new Error('a code or token hash always ends in a session');
    writeJson(res, 200, await ctx.sessionResponse(outcome.issued, 'otp'));
  }

  // ---- admin (service_role) --------------------------------------------------------------

  /** GoTrue's requireAdminCredentials: a valid token whose role is an admin role (`service_role`). */
  async function requireAdmin(req: IncomingMessage): Promise<void> {
    const token = bearerToken(req.headers.authorization);
    if (!token) throw new AuthApiFailure(401, 'no_authorization', 'This endpoint requires a valid Bearer token');
    let claims: Record<string, unknown>;
    try {
      claims = await ctx.verifyClaims(token);
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      throw new AuthApiFailure(403, 'bad_jwt', `invalid JWT: unable to parse or verify signature, ${error.message}`);
    }
    if (claims.role !== 'service_role') throw new AuthApiFailure(403, 'not_admin', 'User not allowed');
  }

  const admin = (route: Route): Route => async (request) => {
    await requireAdmin(request.req);
    await route(request);
  };

  function banUntil(body: Record<string, unknown>): Date | null | undefined {
    const duration = stringField(body, 'ban_duration');
    if (!duration) return undefined;
    if (duration === 'none') return null;
    const match = /^(\d+(?:\.\d+)?)(h|m|s|ms)$/.exec(duration);
    if (!match) throw new AuthApiFailure(400, 'validation_failed', `invalid format for ban duration: time: invalid duration "${duration}"`);
    const ms = Number(match[1]) * { h: 3_600_000, m: 60_000, s: 1000, ms: 1 }[match[2] as 'h'];
    return new Date(Date.now() + ms);
  }

  async function listUsers({ res, url }: AccountRequest): Promise<void> {
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const perPage = Math.min(1000, Math.max(1, Number(url.searchParams.get('per_page') ?? 50) || 50));
    const [counted] = await sql<{ total: number }[]>`select count(*)::int as total from auth.users where instance_id = ${NIL_UUID} and aud = 'authenticated'`;
    const total = counted?.total ?? 0;
    const users = await sql<UserRow[]>`
      select ${sql.unsafe(USER_COLUMNS)} from auth.users where instance_id = ${NIL_UUID} and aud = 'authenticated'
      order by created_at desc, id limit ${perPage} offset ${(page - 1) * perPage}`;
    const identities = await sql<{ user_id: string }[]>`
      select id, provider_id, user_id, identity_data, provider, email, last_sign_in_at, created_at, updated_at
      from auth.identities where user_id = any(${users.map((u) => u.id)}::uuid[]) order by created_at, id`;
    // GoTrue's pagination headers (internal/api/pagination.go), which auth-js reads for nextPage/lastPage.
    const last = Math.max(1, Math.ceil(total / perPage));
    const base = `${settings.externalUrl}/admin/users`;
    const links = [`<${base}?page=${last}&per_page=${perPage}>; rel="last"`];
    if (page < last) links.unshift(`<${base}?page=${page + 1}&per_page=${perPage}>; rel="next"`);
    writeJson(
      res,
      200,
      { users: users.map((u) => userJson(u, identities.filter((i) => i.user_id === u.id) as never)), aud: 'authenticated' },
      { 'x-total-count': String(total), link: links.join(', ') },
    );
  }

  async function createUser({ req, res }: AccountRequest): Promise<void> {
    const body = await readJsonObject(req);
    const emailText = stringField(body, 'email');
    const phone = stringField(body, 'phone');
    if (!emailText && !phone) throw new AuthApiFailure(400, 'validation_failed', 'Cannot create a user without either an email or phone');
    if (phone && !emailText) throw new AuthApiFailure(400, 'validation_failed', 'Phone users are not supported by local Auth');
    const email = validEmail(emailText);
    if (await emailTaken(email)) throw new AuthApiFailure(422, 'email_exists', DUPLICATE_EMAIL);
    const password = stringField(body, 'password');
    const hash = password ? await passwordHash(password) : null;
    const ban = banUntil(body);
    const user = await signUpUser(
      sql,
      { email, passwordHash: hash, metadata: objectField(body, 'user_metadata'), confirmed: body.email_confirm === true, appMetadata: objectField(body, 'app_metadata') },
      undefined,
      async (created) => created,
    );
    if (ban !== undefined) await sql`update auth.users set banned_until = ${ban} where id = ${user.id}`;
    await respondUser(res, await reload(user.id));
  }

  async function adminUserById(id: string): Promise<UserRow> {
    if (!UUID.test(id)) throw new AuthApiFailure(404, 'validation_failed', 'user_id must be an UUID');
    const user = await findUserById(sql, id);
    if (!user) throw new AuthApiFailure(404, 'user_not_found', 'User not found');
    return user;
  }

  async function updateUserById({ req, res }: AccountRequest, id: string): Promise<void> {
    const user = await adminUserById(id);
    const body = await readJsonObject(req);
    const emailText = stringField(body, 'email');
    const email = emailText ? validEmail(emailText) : undefined;
    if (email && email !== user.email && (await emailTaken(email, user.id))) throw new AuthApiFailure(422, 'email_exists', DUPLICATE_EMAIL);
    const password = body.password === undefined ? undefined : stringField(body, 'password');
    const hash = password ? await passwordHash(password) : undefined;
    const ban = banUntil(body);
    await sql.begin(async (tx) => {
      if (email && email !== user.email) {
        await tx`update auth.users set email = ${email}, updated_at = now() where id = ${id}`;
        await tx`update auth.identities set identity_data = identity_data || ${tx.json({ email })} where user_id = ${id} and provider = 'email'`;
      }
      if (hash) await tx`update auth.users set encrypted_password = ${hash}, updated_at = now() where id = ${id}`;
      if (body.email_confirm === true) await tx`update auth.users set email_confirmed_at = coalesce(email_confirmed_at, now()) where id = ${id}`;
      if (ban !== undefined) await tx`update auth.users set banned_until = ${ban} where id = ${id}`;
      if (body.role !== undefined) await tx`update auth.users set role = ${stringField(body, 'role')} where id = ${id}`;
    });
    if (body.user_metadata) await mergeMetadata(id, 'raw_user_meta_data', objectField(body, 'user_metadata'));
    if (body.app_metadata) await mergeMetadata(id, 'raw_app_meta_data', objectField(body, 'app_metadata'));
    await respondUser(res, await reload(id));
  }

  async function deleteUser({ req, res }: AccountRequest, id: string): Promise<void> {
    const user = await adminUserById(id);
    const body = req.headers['content-length'] === '0' || !req.headers['content-type'] ? {} : await readJsonObject(req);
    if (body.should_soft_delete === true) {
      throw new AuthApiFailure(400, 'validation_failed', 'Soft deletion (should_soft_delete) is not supported by local Auth');
    }
    await sql`delete from auth.users where id = ${user.id}`;
    writeJson(res, 200, {});
  }

  async function invite({ req, res, url }: AccountRequest): Promise<void> {
    const body = await readJsonObject(req);
    const email = validEmail(stringField(body, 'email'));
    let user = await findUserByEmail(sql, email);
    if (user?.email_confirmed_at) throw new AuthApiFailure(422, 'email_exists', DUPLICATE_EMAIL);
    if (!user) {
      user = await signUpUser(sql, { email, passwordHash: null, metadata: objectField(body, 'data'), confirmed: false }, undefined, async (created) => created);
    }
    await sql`update auth.users set invited_at = now() where id = ${user.id}`;
    await issueAndMail(await reload(user.id), 'confirmation', 'invite', 'invite', referrer(url.searchParams.get('redirect_to') ?? stringField(body, 'redirect_to')));
    await respondUser(res, await reload(user.id));
  }

  async function generateLink({ req, res }: AccountRequest): Promise<void> {
    const body = await readJsonObject(req);
    let type = stringField(body, 'type');
    const email = validEmail(stringField(body, 'email'));
    const redirectTo = referrer(stringField(body, 'redirect_to'));
    let user = await findUserByEmail(sql, email);
    if (!user) {
      if (type === 'magiclink') type = 'signup';
      else if (type === 'recovery' || type === 'email_change_current' || type === 'email_change_new') {
        throw new AuthApiFailure(404, 'user_not_found', 'User with this email not found');
      }
    }
    const code = newCode(settings.otpLength);
    let hash = tokenHash(email, code);
    let verificationType = type;
    if (type === 'magiclink' || type === 'recovery') {
      await sql`update auth.users set recovery_token = ${hash}, recovery_sent_at = now() where id = ${user!.id}`;
    } else if (type === 'signup' || type === 'invite') {
      if (user?.email_confirmed_at) throw new AuthApiFailure(422, 'email_exists', DUPLICATE_EMAIL);
      if (!user) {
        const password = stringField(body, 'password') || randomBytes(24).toString('base64url');
        const passwordHashValue = type === 'signup' ? await passwordHash(password) : null;
        user = await signUpUser(sql, { email, passwordHash: passwordHashValue, metadata: objectField(body, 'data'), confirmed: false }, undefined, async (created) => created);
      }
      await sql`update auth.users set confirmation_token = ${hash}, confirmation_sent_at = now(), invited_at = ${type === 'invite' ? new Date() : user.invited_at} where id = ${user.id}`;
    } else if (type === 'email_change_current' || type === 'email_change_new') {
      if (!settings.doubleConfirmChanges && type === 'email_change_current') {
        throw new AuthApiFailure(400, 'validation_failed', 'Enable secure email change to generate link for current email');
      }
      const newEmail = validEmail(stringField(body, 'new_email'));
      if (await emailTaken(newEmail, user!.id)) throw new AuthApiFailure(422, 'email_exists', DUPLICATE_EMAIL);
      if (type === 'email_change_new') hash = tokenHash(newEmail, code);
      await sql`
        update auth.users set email_change = ${newEmail}, email_change_sent_at = now(), email_change_confirm_status = 0,
          email_change_token_current = ${type === 'email_change_current' ? hash : ''}, email_change_token_new = ${type === 'email_change_new' ? hash : ''}
        where id = ${user!.id}`;
      verificationType = type;
      type = 'email_change';
    } else {
      throw new AuthApiFailure(400, 'validation_failed', `Invalid email action link type requested: ${type}`);
    }
    const current = await reload(user!.id);
    await respondUser(res, current, {
      action_link: actionLink(hash, type, redirectTo),
      email_otp: code,
      hashed_token: hash,
      verification_type: verificationType,
      redirect_to: redirectTo,
    });
  }

  return {
    sendConfirmation: (user, redirectTo, pkce) => issueAndMail(user, 'confirmation', 'confirmation', 'signup', referrer(redirectTo), pkce),
    exact: {
      '/user': { PUT: updateUser },
      '/reauthenticate': { GET: reauthenticate },
      '/recover': { POST: recover },
      '/otp': { POST: otp },
      '/magiclink': { POST: otp },
      '/verify': { GET: verifyGet, POST: verifyPost },
      '/resend': { POST: resend },
      '/invite': { POST: admin(invite) },
      '/admin/users': { GET: admin(listUsers), POST: admin(createUser) },
      '/admin/generate_link': { POST: admin(generateLink) },
    },
    adminUser: {
      GET: async (request, id) => {
        await requireAdmin(request.req);
        await respondUser(request.res, await adminUserById(id));
      },
      PUT: async (request, id) => {
        await requireAdmin(request.req);
        await updateUserById(request, id);
      },
      DELETE: async (request, id) => {
        await requireAdmin(request.req);
        await deleteUser(request, id);
      },
    },
  };
}

