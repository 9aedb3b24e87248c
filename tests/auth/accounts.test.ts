/**
 * supabase-js against local Auth for the account calls apps make (updateUser,
 * resetPasswordForEmail, signInWithOtp, verifyOtp, resend, reauthenticate, auth.admin.*),
 * with the mail read from the local catcher's API, and the keys `supabase start` prints.
 * Local Auth signs ES256 with the CLI's default key here (its default).
 */
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliApiKey } from '../../devstack/auth/keys.ts';
import { DEFAULT_JWT_SECRET } from '../../devstack/auth/server.ts';
import type { CaughtMessage, MailCatcher } from '../../devstack/mail/catcher.ts';
import { createJwtVerifier } from '../../core/auth/jwt.ts';
import { adminSql } from '../harness/db.ts';
import { startAuth, startMailedAuth, uniqueEmail, type MailedAuth, type RunningAuth } from './helpers.ts';

// The keys `supabase start` prints with the default secret (supabase/cli apps/cli-go/docs/templates/examples.yaml).
const CLI_ANON_KEY =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0';
const CLI_SERVICE_ROLE_KEY =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4MzgxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU';
const SITE = 'http://127.0.0.1:3000';

let running: MailedAuth;
let mail: MailCatcher;
let auth: RunningAuth;
let confirming: RunningAuth;

beforeAll(async () => {
  running = await startMailedAuth(SITE);
  ({ mail, auth, confirming } = running);
});
afterAll(() => running?.close());

const client = (running: RunningAuth, key = CLI_ANON_KEY) =>
  createClient(running.url, key, { auth: { persistSession: false, autoRefreshToken: false } });

/** The newest mail to `to` once it has arrived (SMTP delivery finishes before the route answers). */
function lastMail(to: string, count = 1): CaughtMessage[] {
  const messages = mail.messages(to);
  expect(messages.length, `mails to ${to}`).toBeGreaterThanOrEqual(count);
  return messages;
}
const codeOf = (message: CaughtMessage) => /enter the code: (\d{6})/.exec(message.text)![1]!;
const linkOf = (message: CaughtMessage) => /(http:\/\/\S+\/verify\?\S+)/.exec(message.text)![1]!;

async function signedIn(running = auth): Promise<{ client: SupabaseClient; email: string; id: string }> {
  const supabase = client(running);
  const email = uniqueEmail();
  const { data, error } = await supabase.auth.signUp({ email, password: 'password123' });
  expect(error).toBeNull();
  return { client: supabase, email, id: data.user!.id };
}

/** Follows a mailed link without following the redirect: the session (or error) is in the Location's fragment. */
async function follow(link: string, running = auth): Promise<URLSearchParams> {
  // Links name the gateway's public URL (the issuer, http://127.0.0.1:54321/auth/v1); this Auth listens elsewhere.
  const response = await fetch(link.replace('http://127.0.0.1:54321', running.url), { redirect: 'manual' });
  expect(response.status).toBe(303);
  const location = new URL(response.headers.get('location')!);
  return new URLSearchParams(location.hash.slice(1));
}

describe('keys and signing as `supabase start`', () => {
  it('prints the same demo anon and service_role keys on every start', async () => {
    expect(await cliApiKey(DEFAULT_JWT_SECRET, 'anon')).toBe(CLI_ANON_KEY);
    expect(await cliApiKey(DEFAULT_JWT_SECRET, 'service_role')).toBe(CLI_SERVICE_ROLE_KEY);
  });

  it('signs user tokens ES256 with the CLI key, verifiable through the JWKS by the functions and supabase-js', async () => {
    const { client: supabase } = await signedIn();
    const { data } = await supabase.auth.getSession();
    const token = data.session!.access_token;
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: 'b81269f1-21d8-4f2e-b719-c2240a840d90' });
    const jwks = await (await fetch(`${auth.url}/auth/v1/.well-known/jwks.json`)).json();
    await jwtVerify(token, createLocalJWKSet(jwks), { audience: 'authenticated' });
    expect((await createJwtVerifier({ jwksUrl: `${auth.url}/auth/v1/.well-known/jwks.json` })(token)).claims.role).toBe('authenticated');
    expect((await supabase.auth.getClaims()).data?.claims.role).toBe('authenticated');
  });

  it('adds GoTrue identity data to user_metadata and gives the identity its own id', async () => {
    const { client: supabase, email, id } = await signedIn();
    const { data } = await supabase.auth.getUser();
    expect(data.user!.user_metadata).toEqual({ sub: id, email, email_verified: true, phone_verified: false });
    const identity = data.user!.identities![0]!;
    expect(identity).toMatchObject({ id, user_id: id, provider: 'email' });
    expect(identity.identity_id).not.toBe(id);
  });
});

describe('updateUser', () => {
  it('merges metadata', async () => {
    const { client: supabase } = await signedIn();
    const { data, error } = await supabase.auth.updateUser({ data: { display_name: 'Ada' } });
    expect(error).toBeNull();
    expect(data.user!.user_metadata).toMatchObject({ display_name: 'Ada', email_verified: true });
  });

  it('changes the password, refusing the same one and a weak one', async () => {
    const { client: supabase, email } = await signedIn();
    expect((await supabase.auth.updateUser({ password: 'password123' })).error).toMatchObject({ status: 422, code: 'same_password' });
    expect((await supabase.auth.updateUser({ password: 'abc' })).error).toMatchObject({ status: 422, code: 'weak_password' });
    expect((await supabase.auth.updateUser({ password: 'a-new-password' })).error).toBeNull();
    expect((await client(auth).auth.signInWithPassword({ email, password: 'a-new-password' })).error).toBeNull();
  });

  it('refuses app_metadata (not_admin) and a token-less call (no_authorization)', async () => {
    const { client: supabase } = await signedIn();
    const { data } = await supabase.auth.getSession();
    const response = await fetch(`${auth.url}/auth/v1/user`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${data.session!.access_token}`, 'X-Supabase-Api-Version': '2024-01-01' },
      body: JSON.stringify({ app_metadata: { admin: true } }),
    });
    expect(response.status).toBe(403);
    expect((await response.json()).code).toBe('not_admin');
    expect((await fetch(`${auth.url}/auth/v1/user`, { method: 'PUT', body: '{}' })).status).toBe(401);
  });

  it('with secure_password_change, a session over 24 h old needs the mailed nonce', async () => {
    const secure = await startAuth({ smtp: { host: '127.0.0.1', port: mail.smtpPort }, maxFrequencySeconds: 0, securePasswordChange: true });
    try {
      const { client: supabase, email } = await signedIn(secure);
      // A fresh session needs none.
      expect((await supabase.auth.updateUser({ password: 'second-password' })).error).toBeNull();
      const sql = adminSql({ max: 1 });
      try {
        await sql`update auth.sessions set created_at = now() - interval '25 hours' where user_id = (select id from auth.users where email = ${email})`;
      } finally {
        await sql.end();
      }
      expect((await supabase.auth.updateUser({ password: 'third-password' })).error).toMatchObject({ status: 400, code: 'reauthentication_needed' });
      expect((await supabase.auth.updateUser({ password: 'third-password', nonce: '000000' })).error).toMatchObject({ code: 'reauthentication_not_valid' });
      expect((await supabase.auth.reauthenticate()).error).toBeNull();
      const nonce = codeOf(lastMail(email)[0]!);
      expect((await supabase.auth.updateUser({ password: 'third-password', nonce })).error).toBeNull();
    } finally {
      await secure.close();
    }
  });
});

describe('email change', () => {
  it('with auto-confirm (supabase start default) mails both addresses, and either link completes it', async () => {
    const { client: supabase, email, id } = await signedIn();
    const next = uniqueEmail();
    const { data, error } = await supabase.auth.updateUser({ email: next });
    expect(error).toBeNull();
    expect(data.user!.email).toBe(email);
    expect(data.user!.new_email).toBe(next);
    const toNew = lastMail(next)[0]!;
    expect(lastMail(email)[0]!.subject).toBe('Confirm Email Change');
    const fragment = await follow(linkOf(toNew));
    expect(fragment.get('type')).toBe('email_change');
    const { data: after } = await client(auth, CLI_SERVICE_ROLE_KEY).auth.admin.getUserById(id);
    expect(after.user!.email).toBe(next);
  });

  it('with confirmations on nothing changes until both links are followed', async () => {
    const { id, email } = await (async () => {
      const admin = client(confirming, CLI_SERVICE_ROLE_KEY).auth.admin;
      const address = uniqueEmail();
      const { data } = await admin.createUser({ email: address, password: 'password123', email_confirm: true });
      return { id: data.user!.id, email: address };
    })();
    const supabase = client(confirming);
    expect((await supabase.auth.signInWithPassword({ email, password: 'password123' })).error).toBeNull();
    const next = uniqueEmail();
    expect((await supabase.auth.updateUser({ email: next })).error).toBeNull();
    const first = await follow(linkOf(lastMail(email)[0]!), confirming);
    expect(first.get('message')).toBe('Confirmation link accepted. Please proceed to confirm link sent to the other email');
    const admin = client(confirming, CLI_SERVICE_ROLE_KEY).auth.admin;
    expect((await admin.getUserById(id)).data.user!.email).toBe(email);
    const second = await follow(linkOf(lastMail(next)[0]!), confirming);
    expect(second.get('access_token')).toBeTruthy();
    expect((await admin.getUserById(id)).data.user!.email).toBe(next);
  });

  it('refuses an address another user has (email_exists 422)', async () => {
    const { client: supabase } = await signedIn();
    const { email: taken } = await signedIn();
    expect((await supabase.auth.updateUser({ email: taken })).error).toMatchObject({ status: 422, code: 'email_exists' });
  });
});

describe('recovery, magic link and codes', () => {
  it('resetPasswordForEmail mails a link that signs in (type recovery), then updateUser sets the password', async () => {
    const { email } = await signedIn();
    const supabase = client(auth);
    expect((await supabase.auth.resetPasswordForEmail(email, { redirectTo: `${SITE}/reset` })).error).toBeNull();
    const message = lastMail(email)[0]!;
    expect(message.subject).toBe('Reset Your Password');
    expect(message.html).toContain('/verify?token=');
    const fragment = await follow(linkOf(message));
    expect(fragment.get('type')).toBe('recovery');
    await supabase.auth.setSession({ access_token: fragment.get('access_token')!, refresh_token: fragment.get('refresh_token')! });
    expect((await supabase.auth.updateUser({ password: 'recovered-pass' })).error).toBeNull();
    // A used link is gone.
    expect((await follow(linkOf(message))).get('error_code')).toBe('otp_expired');
  });

  it('answers an unknown address the same (200) and sends nothing', async () => {
    const email = uniqueEmail();
    expect((await client(auth).auth.resetPasswordForEmail(email)).error).toBeNull();
    expect(mail.messages(email)).toEqual([]);
  });

  it('signInWithOtp mails a six-digit code that verifyOtp exchanges for a session; a wrong code is otp_expired 403', async () => {
    const { email } = await signedIn();
    const supabase = client(auth);
    expect((await supabase.auth.signInWithOtp({ email })).error).toBeNull();
    const message = lastMail(email)[0]!;
    expect(message.subject).toBe('Your Magic Link');
    expect((await supabase.auth.verifyOtp({ email, token: '000000', type: 'email' })).error).toMatchObject({ status: 403, code: 'otp_expired' });
    const { data, error } = await supabase.auth.verifyOtp({ email, token: codeOf(message), type: 'email' });
    expect(error).toBeNull();
    expect(data.session?.user.email).toBe(email);
  });

  it('signInWithOtp signs a new address up unless shouldCreateUser is false (otp_disabled 422)', async () => {
    const email = uniqueEmail();
    expect((await client(auth).auth.signInWithOtp({ email, options: { shouldCreateUser: false } })).error).toMatchObject({ status: 422, code: 'otp_disabled' });
    expect((await client(auth).auth.signInWithOtp({ email })).error).toBeNull();
    const fragment = await follow(linkOf(lastMail(email)[0]!));
    expect(fragment.get('type')).toBe('magiclink');
  });

  it('verifyOtp with a token hash (POST) signs in', async () => {
    const { email } = await signedIn();
    const admin = client(auth, CLI_SERVICE_ROLE_KEY).auth.admin;
    const { data } = await admin.generateLink({ type: 'magiclink', email });
    const { data: verified, error } = await client(auth).auth.verifyOtp({ token_hash: data.properties!.hashed_token, type: 'magiclink' });
    expect(error).toBeNull();
    expect(verified.user?.email).toBe(email);
  });
});

describe('confirmations on ([auth.email] enable_confirmations = true)', () => {
  it('sign-up returns no session and mails a confirmation; password sign-in waits for it; resend mails again', async () => {
    const supabase = client(confirming);
    const email = uniqueEmail();
    const { data, error } = await supabase.auth.signUp({ email, password: 'password123' });
    expect(error).toBeNull();
    expect(data.session).toBeNull();
    expect(data.user!.email_confirmed_at).toBeUndefined();
    expect((await supabase.auth.signInWithPassword({ email, password: 'password123' })).error).toMatchObject({ code: 'email_not_confirmed' });
    expect(lastMail(email)[0]!.subject).toBe('Confirm Your Signup');
    expect((await supabase.auth.resend({ type: 'signup', email })).error).toBeNull();
    const messages = lastMail(email, 2);
    const { error: verifyError } = await supabase.auth.verifyOtp({ email, token: codeOf(messages[0]!), type: 'signup' });
    expect(verifyError).toBeNull();
    expect((await supabase.auth.signInWithPassword({ email, password: 'password123' })).error).toBeNull();
  });

  it('a repeated sign-up tells nothing (200, no session)', async () => {
    const email = uniqueEmail();
    await client(confirming).auth.signUp({ email, password: 'password123' });
    const { data, error } = await client(confirming).auth.signUp({ email, password: 'password123' });
    expect(error).toBeNull();
    expect(data.session).toBeNull();
  });
});

describe('admin API', () => {
  const admin = () => client(auth, CLI_SERVICE_ROLE_KEY).auth.admin;

  it('creates, reads, lists, updates and deletes users', async () => {
    const email = uniqueEmail();
    const created = await admin().createUser({ email, password: 'password123', email_confirm: true, user_metadata: { display_name: 'Grace' } });
    expect(created.error).toBeNull();
    const id = created.data.user!.id;
    expect((await admin().createUser({ email, password: 'password123' })).error).toMatchObject({ status: 422, code: 'email_exists' });
    expect((await admin().getUserById(id)).data.user?.user_metadata).toMatchObject({ display_name: 'Grace' });
    const listed = await admin().listUsers({ page: 1, perPage: 1000 });
    expect(listed.error).toBeNull();
    expect(listed.data.users.some((u) => u.id === id)).toBe(true);
    const updated = await admin().updateUserById(id, { user_metadata: { team: 'core' }, app_metadata: { plan: 'pro' } });
    expect(updated.data.user).toMatchObject({ user_metadata: { display_name: 'Grace', team: 'core' }, app_metadata: { plan: 'pro' } });
    expect((await client(auth).auth.signInWithPassword({ email, password: 'password123' })).error).toBeNull();
    expect((await admin().deleteUser(id)).error).toBeNull();
    expect((await admin().getUserById(id)).error).toMatchObject({ status: 404, code: 'user_not_found' });
    // auth-js checks the UUID itself; GoTrue's own answer to a malformed id:
    const response = await fetch(`${auth.url}/auth/v1/admin/users/nope`, {
      headers: { authorization: `Bearer ${CLI_SERVICE_ROLE_KEY}`, 'X-Supabase-Api-Version': '2024-01-01' },
    });
    expect(response.status).toBe(404);
    expect((await response.json()).code).toBe('validation_failed');
  });

  it('invites an address: the mailed link signs the user in', async () => {
    const email = uniqueEmail();
    const { data, error } = await admin().inviteUserByEmail(email);
    expect(error).toBeNull();
    expect(data.user?.invited_at).toBeTruthy();
    const message = lastMail(email)[0]!;
    expect(message.subject).toBe('You have been invited');
    expect((await follow(linkOf(message))).get('type')).toBe('invite');
  });

  it('generateLink returns the link, code and hash without mailing', async () => {
    const { email } = await signedIn();
    const before = mail.messages(email).length;
    const { data, error } = await admin().generateLink({ type: 'recovery', email });
    expect(error).toBeNull();
    expect(data.properties).toMatchObject({ verification_type: 'recovery', email_otp: expect.stringMatching(/^\d{6}$/) });
    expect(mail.messages(email).length).toBe(before);
    expect((await follow(data.properties!.action_link)).get('type')).toBe('recovery');
  });

  it('refuses the anon key and a user token (not_admin 403), and no token (401)', async () => {
    expect((await client(auth).auth.admin.listUsers()).error).toMatchObject({ status: 403, code: 'not_admin' });
    const { client: supabase } = await signedIn();
    const token = (await supabase.auth.getSession()).data.session!.access_token;
    expect((await client(auth, token).auth.admin.listUsers()).error).toMatchObject({ status: 403, code: 'not_admin' });
    const response = await fetch(`${auth.url}/auth/v1/admin/users`);
    expect(response.status).toBe(401);
  });
});
