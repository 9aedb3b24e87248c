/**
 * PKCE against local Auth with the real supabase-js (`flowType: 'pkce'`, its verifier in
 * an in-memory storage): signUp (confirmations on), signInWithOtp and
 * resetPasswordForEmail send a code_challenge; the mailed `pkce_` link's /verify redirects
 * with `?code=`; exchangeCodeForSession trades it for a session, once. And the errors of
 * upstream supabase/auth internal/api/token.go and pkce.go: flow_state_not_found,
 * bad_code_verifier, flow_state_expired, validation_failed.
 */
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowStates } from '../../devstack/auth/flow-state.ts';
import type { MailCatcher } from '../../devstack/mail/catcher.ts';
import { ANON_KEY, startMailedAuth, uniqueEmail, type MailedAuth, type RunningAuth } from './helpers.ts';

const SITE = 'http://127.0.0.1:3000';
const CALLBACK = `${SITE}/auth/callback`;
let running: MailedAuth;
let mail: MailCatcher;
let auth: RunningAuth;
let confirming: RunningAuth;

beforeAll(async () => {
  running = await startMailedAuth(SITE);
  ({ mail, auth, confirming } = running);
});
afterAll(() => running?.close());

/** A supabase-js client in the PKCE flow, keeping its verifier in memory. */
function pkceClient(running: RunningAuth): SupabaseClient {
  const store = new Map<string, string>();
  const storage = { getItem: (key: string) => store.get(key) ?? null, setItem: (key: string, value: string) => void store.set(key, value), removeItem: (key: string) => void store.delete(key) };
  return createClient(running.url, ANON_KEY, { auth: { flowType: 'pkce', storage, persistSession: true, autoRefreshToken: false, detectSessionInUrl: false } });
}

/** The link of the newest mail to `to`, pointed at this Auth (links name the gateway's URL). */
function mailedLink(to: string, running: RunningAuth): string {
  const [message] = mail.messages(to);
  const link = /(http:\/\/\S+\/verify\?\S+)/.exec(message!.text)![1]!;
  return link.replace('http://127.0.0.1:54321', running.url);
}

/** Follows a link without following the redirect: where it sends the browser. */
async function follow(link: string): Promise<URL> {
  const response = await fetch(link, { redirect: 'manual' });
  expect(response.status).toBe(303);
  return new URL(response.headers.get('location')!);
}

/** Follows the mailed PKCE link: the auth code and flow id the app's callback receives. */
async function callback(to: string, running: RunningAuth): Promise<{ code: string; flowId: string; location: URL }> {
  const link = mailedLink(to, running);
  expect(new URL(link).searchParams.get('token')).toMatch(/^pkce_[0-9a-f]{56}$/);
  // The link without its prefix is no link at all (GoTrue looks the token up as it is):
  // it must not hand out a session that skips the verifier.
  const stripped = new URL(link);
  stripped.searchParams.set('token', stripped.searchParams.get('token')!.slice('pkce_'.length));
  const refused = await follow(stripped.toString());
  expect(refused.hash).not.toContain('access_token');
  expect(new URLSearchParams(refused.hash.slice(1)).get('error_code')).toBe('otp_expired');
  const location = await follow(link);
  expect(`${location.origin}${location.pathname}`).toBe(CALLBACK);
  // No session in the fragment: only the code, for the client that holds the verifier.
  expect(location.hash).toBe('');
  return { code: location.searchParams.get('code')!, flowId: location.searchParams.get('sb_flow_id')!, location };
}

const tokenGrant = (running: RunningAuth, body: Record<string, unknown>) =>
  fetch(`${running.url}/token?grant_type=pkce`, { method: 'POST', headers: { apikey: ANON_KEY, 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('PKCE with supabase-js', () => {
  it('signUp with confirmations: the link gives a code, exchanged once for a session of the confirmed user', async () => {
    const client = pkceClient(confirming);
    const email = uniqueEmail();
    const signUp = await client.auth.signUp({ email, password: 'password123', options: { emailRedirectTo: CALLBACK } });
    expect(signUp.error).toBeNull();
    expect(signUp.data.session).toBeNull();
    const { code, flowId } = await callback(email, confirming);
    expect(code).toMatch(/^[0-9a-f-]{36}$/);
    const { data, error } = await client.auth.exchangeCodeForSession(code, { flowId });
    expect(error).toBeNull();
    expect(data.user).toMatchObject({ email, id: signUp.data.user!.id });
    expect(data.user!.email_confirmed_at).toBeTruthy();
    expect(decodeJwt(data.session!.access_token)).toMatchObject({ sub: signUp.data.user!.id, role: 'authenticated', amr: [{ method: 'email/signup' }] });
    expect((await client.auth.getUser()).data.user!.id).toBe(signUp.data.user!.id);
    // The code is spent.
    const again = await tokenGrant(confirming, { auth_code: code, code_verifier: 'x'.repeat(43) });
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ error_code: 'flow_state_not_found' });
  });

  it('signInWithOtp: the magic link gives a code for a session', async () => {
    const email = uniqueEmail();
    await createClient(auth.url, ANON_KEY, { auth: { persistSession: false } }).auth.signUp({ email, password: 'password123' });
    const client = pkceClient(auth);
    expect((await client.auth.signInWithOtp({ email, options: { emailRedirectTo: CALLBACK } })).error).toBeNull();
    const { code, flowId } = await callback(email, auth);
    const { data, error } = await client.auth.exchangeCodeForSession(code, { flowId });
    expect(error).toBeNull();
    expect(data.user!.email).toBe(email);
    expect(decodeJwt(data.session!.access_token).amr).toMatchObject([{ method: 'magiclink' }]);
  });

  it('resetPasswordForEmail: the code gives a recovery session that may set a new password', async () => {
    const email = uniqueEmail();
    await createClient(auth.url, ANON_KEY, { auth: { persistSession: false } }).auth.signUp({ email, password: 'password123' });
    const client = pkceClient(auth);
    expect((await client.auth.resetPasswordForEmail(email, { redirectTo: CALLBACK })).error).toBeNull();
    const { code, flowId } = await callback(email, auth);
    const { data, error } = await client.auth.exchangeCodeForSession(code, { flowId });
    expect(error).toBeNull();
    expect((data as { redirectType?: string | null }).redirectType).toBe('recovery');
    expect((await client.auth.updateUser({ password: 'a-new-password' })).error).toBeNull();
    const signIn = await createClient(auth.url, ANON_KEY, { auth: { persistSession: false } }).auth.signInWithPassword({ email, password: 'a-new-password' });
    expect(signIn.error).toBeNull();
  });

  it('a wrong verifier is bad_code_verifier and leaves the code usable; a used link redirects with the error in the query', async () => {
    const email = uniqueEmail();
    await createClient(auth.url, ANON_KEY, { auth: { persistSession: false } }).auth.signUp({ email, password: 'password123' });
    const client = pkceClient(auth);
    await client.auth.signInWithOtp({ email, options: { emailRedirectTo: CALLBACK } });
    const link = mailedLink(email, auth);
    const { code, flowId } = await callback(email, auth);
    const wrong = await tokenGrant(auth, { auth_code: code, code_verifier: 'w'.repeat(43) });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error_code: 'bad_code_verifier', msg: 'code challenge does not match previously saved code verifier' });
    expect((await client.auth.exchangeCodeForSession(code, { flowId })).error).toBeNull();
    const used = await follow(link);
    expect(used.searchParams.get('error_code')).toBe('otp_expired');
    expect(new URLSearchParams(used.hash.slice(1)).get('error_code')).toBe('otp_expired');
    expect(used.searchParams.get('code')).toBeNull();
  });

  it('refuses a malformed grant or challenge with 400 validation_failed', async () => {
    const missing = await tokenGrant(auth, { auth_code: '', code_verifier: 'v' });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error_code: 'validation_failed', msg: 'invalid request: both auth code and code verifier should be non-empty' });
    const otp = (body: Record<string, unknown>) =>
      fetch(`${auth.url}/otp`, { method: 'POST', headers: { apikey: ANON_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ email: uniqueEmail(), ...body }) });
    const short = await otp({ code_challenge: 'abc', code_challenge_method: 's256' });
    expect(short.status).toBe(400);
    expect(await short.json()).toMatchObject({ error_code: 'validation_failed', msg: 'code challenge has to be between 43 and 128 characters' });
    const noMethod = await otp({ code_challenge: 'a'.repeat(43) });
    expect(await noMethod.json()).toMatchObject({ error_code: 'validation_failed', msg: 'PKCE flow requires code_challenge_method and code_challenge' });
    const method = await otp({ code_challenge: 'a'.repeat(43), code_challenge_method: 'md5' });
    expect(method.status).toBe(400);
    expect((await method.json()).error_code).toBe('validation_failed');
  });
});

describe('flow states', () => {
  it('expire five minutes after they were made (flow_state_expired), plain challenges compare as they are', () => {
    let clock = 1_000_000;
    const flows = createFlowStates(300, () => clock);
    flows.create('u1', 'email/signup', { challenge: 'p'.repeat(43), method: 'plain' });
    const code = flows.issueAuthCode('u1', 'email/signup');
    clock += 301_000;
    expect(() => flows.exchange(code, 'p'.repeat(43))).toThrow(expect.objectContaining({ status: 422, errorCode: 'flow_state_expired' }));
    flows.create('u2', 'recovery', { challenge: 'q'.repeat(43), method: 'plain' });
    expect(flows.exchange(flows.issueAuthCode('u2', 'recovery'), 'q'.repeat(43))).toEqual({ userId: 'u2', authMethod: 'recovery' });
    expect(() => flows.issueAuthCode('u3', 'magiclink')).toThrow(expect.objectContaining({ status: 422, errorCode: 'flow_state_not_found' }));
  });
});
