/**
 * supabase-js conformance of local Auth (HS256): sign-up, sign-in, refresh-token rotation
 * and reuse detection, getUser, signOut, GoTrue's error codes and shapes.
 */
import { randomUUID } from 'node:crypto';
import { AuthApiError, AuthWeakPasswordError } from '@supabase/supabase-js';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_JWT_SECRET } from '../../devstack/auth/server.ts';
import { adminSql } from '../harness/db.ts';
import { startAuth, uniqueEmail, type RunningAuth } from './helpers.ts';

const sql = adminSql();
let auth: RunningAuth;

beforeAll(async () => {
  // This file holds the legacy HS256 signing (`signingJwk: 'hs256'`); tests/auth/accounts.test.ts the default ES256.
  auth = await startAuth({ signingJwk: 'hs256' });
});
afterAll(async () => {
  await auth?.close();
  await sql.end();
});

async function signUp(email = uniqueEmail(), password = 'password123', data: Record<string, unknown> = {}) {
  const client = auth.client();
  const { data: result, error } = await client.auth.signUp({ email, password, options: { data } });
  expect(error).toBeNull();
  expect(result.session).not.toBeNull();
  return { client, email, password, session: result.session!, user: result.user! };
}

describe('sign-up', () => {
  it('creates a confirmed user with a session whose access token carries Supabase claims, and a profile', async () => {
    const email = uniqueEmail();
    const { session, user } = await signUp(email, 'password123', { display_name: 'Ada Lovelace' });

    expect(session.token_type).toBe('bearer');
    expect(session.expires_in).toBe(3600);
    expect(session.refresh_token).toMatch(/^[a-z0-9]{12}$/);
    expect(user).toMatchObject({
      email,
      aud: 'authenticated',
      role: 'authenticated',
      app_metadata: { provider: 'email', providers: ['email'] },
      user_metadata: { display_name: 'Ada Lovelace', email_verified: true },
      is_anonymous: false,
    });
    expect(user.email_confirmed_at).toBeTruthy();
    expect(user.identities?.[0]).toMatchObject({ provider: 'email', user_id: user.id });

    const { payload } = await jwtVerify(session.access_token, new TextEncoder().encode(DEFAULT_JWT_SECRET), {
      issuer: 'http://127.0.0.1:54321/auth/v1',
      audience: 'authenticated',
    });
    expect(decodeProtectedHeader(session.access_token)).toMatchObject({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toMatchObject({
      sub: user.id,
      email,
      phone: '',
      role: 'authenticated',
      aal: 'aal1',
      is_anonymous: false,
      app_metadata: { provider: 'email', providers: ['email'] },
      user_metadata: { display_name: 'Ada Lovelace' },
    });
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(payload.amr).toEqual([{ method: 'password', timestamp: expect.any(Number) }]);
    const [sessionRow] = await sql`select user_id from auth.sessions where id = ${payload.session_id as string}`;
    expect(sessionRow?.user_id).toBe(user.id);

    const [profile] = await sql`select email, display_name from public.profiles where id = ${user.id}`;
    expect(profile).toEqual({ email, display_name: 'Ada Lovelace' });
  });

  it('answers a registered email (in any case) with user_already_exists 422', async () => {
    const { email } = await signUp();
    const { data, error } = await auth.client().auth.signUp({ email: email.toUpperCase(), password: 'another-password' });
    expect(data.session).toBeNull();
    expect(error).toBeInstanceOf(AuthApiError);
    expect(error).toMatchObject({ status: 422, code: 'user_already_exists', message: 'User already registered' });
  });

  it('refuses a short password with weak_password 422 and its reasons', async () => {
    const { error } = await auth.client().auth.signUp({ email: uniqueEmail(), password: 'abc' });
    expect(error).toBeInstanceOf(AuthWeakPasswordError);
    expect(error).toMatchObject({ status: 422, code: 'weak_password', message: 'Password should be at least 6 characters.', reasons: ['length'] });
  });

  it('refuses a password over bcrypt\'s 72 bytes with validation_failed 400', async () => {
    const { error } = await auth.client().auth.signUp({ email: uniqueEmail(), password: 'p'.repeat(73) });
    expect(error).toMatchObject({ status: 400, code: 'validation_failed', message: 'Password cannot be longer than 72 characters' });
  });

  it('refuses a malformed email with validation_failed 400 and stores nothing', async () => {
    const { error } = await auth.client().auth.signUp({ email: 'not-an-email', password: 'password123' });
    expect(error).toMatchObject({ status: 400, code: 'validation_failed', message: 'Unable to validate email address: invalid format' });
    const [row] = await sql`select count(*)::int as n from auth.users where email = 'not-an-email'`;
    expect(row?.n).toBe(0);
  });
});

describe('sign-up metadata', () => {
  const nested = (depth: number) => {
    let data: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < depth; i++) data = { d: data };
    return data;
  };

  it('refuses metadata nested too deep with bad_json 400, writing nothing, and the address stays usable', async () => {
    const email = uniqueEmail();
    const client = auth.client();
    const { data, error } = await client.auth.signUp({ email, password: 'password123', options: { data: nested(3000) } });
    expect(data.session).toBeNull();
    expect(error).toMatchObject({ status: 400, code: 'bad_json', message: "Could not parse request body as JSON: invalid character '{' exceeded max depth" });
    expect(await sql`select 1 from auth.users where email = ${email}`).toHaveLength(0);
    const retried = await client.auth.signUp({ email, password: 'password123', options: { data: { display_name: 'Deep' } } });
    expect(retried.error).toBeNull();
    expect(retried.data.session).not.toBeNull();
  });

  it('accepts metadata nested within the limit, in the user and the access token', async () => {
    const { session, user } = await signUp(uniqueEmail(), 'password123', nested(900));
    let level = user.user_metadata as Record<string, unknown>;
    let depth = 0;
    while (level.d) {
      level = level.d as Record<string, unknown>;
      depth++;
    }
    expect(depth).toBe(900);
    expect((decodeJwt(session.access_token).user_metadata as Record<string, unknown>).d).toBeDefined();
  });

  it('refuses a body over 1 MiB as GoTrue does (413), before anything is written', async () => {
    const email = uniqueEmail();
    const { error } = await auth.client().auth.signUp({ email, password: 'password123', options: { data: { blob: 'x'.repeat(1 << 20) } } });
    expect(error).toMatchObject({ status: 413, code: 'request_entity_too_large' });
    expect(await sql`select 1 from auth.users where email = ${email}`).toHaveLength(0);
  });
});

describe('password sign-in', () => {
  it('signs in with the right password, opening a new session', async () => {
    const { email, password, session: first } = await signUp();
    const { data, error } = await auth.client().auth.signInWithPassword({ email, password });
    expect(error).toBeNull();
    expect(data.user?.email).toBe(email);
    expect(decodeJwt(data.session!.access_token).session_id).not.toBe(decodeJwt(first.access_token).session_id);
  });

  it('answers a wrong password and an unknown email alike: invalid_credentials 400', async () => {
    const { email } = await signUp();
    for (const attempt of [{ email, password: 'wrong-password' }, { email: uniqueEmail(), password: 'password123' }]) {
      const { data, error } = await auth.client().auth.signInWithPassword(attempt);
      expect(data.session).toBeNull();
      expect(error).toBeInstanceOf(AuthApiError);
      expect(error).toMatchObject({ status: 400, code: 'invalid_credentials', message: 'Invalid login credentials' });
    }
  });

  it('signs in a user whose hash pgcrypto made (as supabase/seed.sql does), and that user has a profile', async () => {
    const id = randomUUID();
    const email = uniqueEmail();
    await sql`
      insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
                              raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
      values ('00000000-0000-0000-0000-000000000000', ${id}, 'authenticated', 'authenticated', ${email},
              extensions.crypt('password123', extensions.gen_salt('bf')), now(),
              '{"provider": "email", "providers": ["email"]}', '{"display_name": "Seeded"}', now(), now())`;
    const { data, error } = await auth.client().auth.signInWithPassword({ email, password: 'password123' });
    expect(error).toBeNull();
    expect(data.user?.id).toBe(id);
    const [profile] = await sql`select display_name from public.profiles where id = ${id}`;
    expect(profile?.display_name).toBe('Seeded');
  });

  it('signs in with a password that is now too short, reporting it as weak_password', async () => {
    const email = uniqueEmail();
    await sql`
      insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
      values ('00000000-0000-0000-0000-000000000000', ${randomUUID()}, 'authenticated', 'authenticated', ${email},
              extensions.crypt('abc', extensions.gen_salt('bf')), now(), '{}', '{}', now(), now())`;
    const { data, error } = await auth.client().auth.signInWithPassword({ email, password: 'abc' });
    expect(error).toBeNull();
    expect(data.session).not.toBeNull();
    expect(data.weakPassword).toEqual({ message: 'Password should be at least 6 characters.', reasons: ['length'] });
  });

  it('refuses an unconfirmed email with email_not_confirmed', async () => {
    const email = uniqueEmail();
    await sql`
      insert into auth.users (instance_id, id, aud, role, email, encrypted_password, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
      values ('00000000-0000-0000-0000-000000000000', ${randomUUID()}, 'authenticated', 'authenticated', ${email},
              extensions.crypt('password123', extensions.gen_salt('bf')), '{}', '{}', now(), now())`;
    const { error } = await auth.client().auth.signInWithPassword({ email, password: 'password123' });
    expect(error).toMatchObject({ status: 400, code: 'email_not_confirmed' });
  });
});

describe('refresh tokens', () => {
  it('rotates the refresh token, keeping the session', async () => {
    const { client, session } = await signUp();
    const { data, error } = await client.auth.refreshSession();
    expect(error).toBeNull();
    expect(data.session!.refresh_token).not.toBe(session.refresh_token);
    expect(decodeJwt(data.session!.access_token).session_id).toBe(decodeJwt(session.access_token).session_id);
    const rows = await sql`select token, revoked, parent from auth.refresh_tokens
                           where token in ${sql([session.refresh_token, data.session!.refresh_token])} order by id`;
    expect(rows).toEqual([
      { token: session.refresh_token, revoked: true, parent: null },
      { token: data.session!.refresh_token, revoked: false, parent: session.refresh_token },
    ]);
  });

  it('gives the active token back to a client that reuses its parent (a lost refresh response)', async () => {
    const { session } = await signUp();
    const first = await auth.client().auth.refreshSession({ refresh_token: session.refresh_token });
    const again = await auth.client().auth.refreshSession({ refresh_token: session.refresh_token });
    expect(again.error).toBeNull();
    expect(again.data.session!.refresh_token).toBe(first.data.session!.refresh_token);
  });

  it('serializes concurrent refreshes of one token: both get the same new token', async () => {
    const { session } = await signUp();
    const results = await Promise.all([1, 2, 3].map(() => auth.client().auth.refreshSession({ refresh_token: session.refresh_token })));
    for (const result of results) expect(result.error).toBeNull();
    expect(new Set(results.map((result) => result.data.session!.refresh_token)).size).toBe(1);
  });

  it('within the reuse interval, an older revoked token still refreshes', async () => {
    const { session } = await signUp();
    const t1 = (await auth.client().auth.refreshSession({ refresh_token: session.refresh_token })).data.session!;
    await auth.client().auth.refreshSession({ refresh_token: t1.refresh_token });
    const { data, error } = await auth.client().auth.refreshSession({ refresh_token: session.refresh_token });
    expect(error).toBeNull();
    expect(data.session!.refresh_token).not.toBe(session.refresh_token);
  });

  it('after the reuse interval, reusing a revoked token ends the whole session: refresh_token_already_used', async () => {
    const strict = await startAuth({ refreshTokenReuseIntervalSeconds: 0 });
    try {
      const { data: signedUp } = await strict.client().auth.signUp({ email: uniqueEmail(), password: 'password123' });
      const t0 = signedUp.session!.refresh_token;
      const t1 = (await strict.client().auth.refreshSession({ refresh_token: t0 })).data.session!.refresh_token;
      const t2 = (await strict.client().auth.refreshSession({ refresh_token: t1 })).data.session!.refresh_token;

      const reuse = await strict.client().auth.refreshSession({ refresh_token: t0 });
      expect(reuse.data.session).toBeNull();
      expect(reuse.error).toMatchObject({ status: 400, code: 'refresh_token_already_used', message: 'Invalid Refresh Token: Already Used' });

      // The session ends, as GoTrue ends it on reuse: its tokens go with it.
      const sessionId = decodeJwt(signedUp.session!.access_token).session_id as string;
      expect(await sql`select 1 from auth.sessions where id = ${sessionId}`).toHaveLength(0);
      expect(await sql`select 1 from auth.refresh_tokens where session_id = ${sessionId}`).toHaveLength(0);
      const current = await strict.client().auth.refreshSession({ refresh_token: t2 });
      expect(current.error).toMatchObject({ status: 400, code: 'refresh_token_not_found' });
      const user = await fetch(`${strict.url}/auth/v1/user`, {
        headers: { authorization: `Bearer ${signedUp.session!.access_token}`, 'x-supabase-api-version': '2024-01-01' },
      });
      expect({ status: user.status, body: await user.json() }).toMatchObject({ status: 403, body: { code: 'session_not_found' } });
    } finally {
      await strict.close();
    }
  });

  it('a session ended for reuse stays ended: its newest token gets no fresh reuse window', async () => {
    // Default reuse interval (10 s): the old token's revocation is aged past it by SQL.
    const { session } = await signUp();
    const t0 = session.refresh_token;
    const t1 = (await auth.client().auth.refreshSession({ refresh_token: t0 })).data.session!.refresh_token;
    const t2 = (await auth.client().auth.refreshSession({ refresh_token: t1 })).data.session!.refresh_token;
    await sql`update auth.refresh_tokens set updated_at = now() - interval '1 minute' where token = ${t0}`;

    const reuse = await auth.client().auth.refreshSession({ refresh_token: t0 });
    expect(reuse.error).toMatchObject({ status: 400, code: 'refresh_token_already_used' });
    // Right after: neither the newest token nor the one before it revives the session.
    for (const token of [t2, t1, t0]) {
      const again = await auth.client().auth.refreshSession({ refresh_token: token });
      expect(again.data.session, token).toBeNull();
      expect(again.error, token).toMatchObject({ status: 400, code: 'refresh_token_not_found' });
    }
    const sessionId = decodeJwt(session.access_token).session_id as string;
    expect(await sql`select 1 from auth.refresh_tokens where session_id = ${sessionId}`).toHaveLength(0);
  });

  it('answers an unknown refresh token with refresh_token_not_found', async () => {
    const { error } = await auth.client().auth.refreshSession({ refresh_token: 'nosuchtoken1' });
    expect(error).toMatchObject({ status: 400, code: 'refresh_token_not_found', message: 'Invalid Refresh Token: Refresh Token Not Found' });
  });
});

describe('getUser and signOut', () => {
  it('returns the signed-in user for the access token', async () => {
    const { client, user } = await signUp(undefined, undefined, { display_name: 'Grace' });
    const { data, error } = await client.auth.getUser();
    expect(error).toBeNull();
    expect(data.user).toMatchObject({ id: user.id, email: user.email, user_metadata: { display_name: 'Grace' } });
  });

  it('signOut (global) ends every session: the token no longer gets the user, refresh tokens are gone', async () => {
    const { client, email, password, session } = await signUp();
    const other = await auth.client().auth.signInWithPassword({ email, password });
    const { error } = await client.auth.signOut();
    expect(error).toBeNull();

    const afterwards = await auth.client().auth.getUser(session.access_token);
    expect(afterwards.error).toMatchObject({ name: 'AuthSessionMissingError' });
    const refresh = await auth.client().auth.refreshSession({ refresh_token: other.data.session!.refresh_token });
    expect(refresh.error).toMatchObject({ status: 400, code: 'refresh_token_not_found' });
  });

  it("signOut({scope: 'others'}) keeps the current session only", async () => {
    const { client, email, password } = await signUp();
    const other = await auth.client().auth.signInWithPassword({ email, password });
    expect((await client.auth.signOut({ scope: 'others' })).error).toBeNull();
    expect((await client.auth.getUser()).error).toBeNull();
    expect((await auth.client().auth.getUser(other.data.session!.access_token)).error).toMatchObject({ name: 'AuthSessionMissingError' });
  });

  it('refuses a forged token with bad_jwt 403 and a missing one with no_authorization 401', async () => {
    const { session } = await signUp();
    const [header, payload] = session.access_token.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(43)}`;
    const { error } = await auth.client().auth.getUser(forged);
    expect(error).toMatchObject({ status: 403, code: 'bad_jwt' });

    const response = await fetch(`${auth.url}/auth/v1/user`, { headers: { 'X-Supabase-Api-Version': '2024-01-01' } });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ code: 'no_authorization', message: 'This endpoint requires a valid Bearer token' });
  });
});

describe('GoTrue wire format', () => {
  const wrongLogin = (headers: Record<string, string>) =>
    fetch(`${auth.url}/auth/v1/token?grant_type=password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ email: uniqueEmail(), password: 'password123' }),
    });

  it('answers errors in the 2024-01-01 shape when asked, and echoes the version', async () => {
    const response = await wrongLogin({ 'X-Supabase-Api-Version': '2024-01-01' });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-supabase-api-version')).toBe('2024-01-01');
    expect(response.headers.get('x-sb-error-code')).toBe('invalid_credentials');
    expect(await response.json()).toEqual({ code: 'invalid_credentials', message: 'Invalid login credentials' });
  });

  it('answers errors in the initial shape without the header', async () => {
    const response = await wrongLogin({});
    expect(response.headers.get('x-supabase-api-version')).toBeNull();
    expect(await response.json()).toEqual({ code: 400, error_code: 'invalid_credentials', msg: 'Invalid login credentials' });
  });

  it('answers bad bodies and unknown grants with 400, never 500', async () => {
    const post = (path: string, body: string) =>
      fetch(`${auth.url}/auth/v1${path}`, { method: 'POST', headers: { 'X-Supabase-Api-Version': '2024-01-01' }, body });
    const cases: [string, string, string][] = [
      ['/signup', '{not json', 'bad_json'],
      ['/signup', '[]', 'bad_json'],
      ['/signup', JSON.stringify({ email: 42, password: 'password123' }), 'bad_json'],
      ['/token?grant_type=password', '', 'bad_json'],
      ['/token?grant_type=magic', '{}', 'invalid_credentials'],
      ['/token?grant_type=password', '{}', 'validation_failed'],
    ];
    for (const [path, body, code] of cases) {
      const response = await post(path, body);
      expect(response.status, `${path} ${body}`).toBe(400);
      expect((await response.json()).code).toBe(code);
    }
    const missing = await post('/token?grant_type=refresh_token', '{}');
    // GoTrue validates the token's form first (internal/api/token_refresh.go): missing or malformed is validation_failed.
    expect(await missing.json()).toEqual({ code: 'validation_failed', message: 'Refresh token is not valid' });
    const malformed = await post('/token?grant_type=refresh_token', '{"refresh_token":"not-a-token!"}');
    expect(malformed.status).toBe(400);
    expect((await malformed.json()).code).toBe('validation_failed');
  });

  it('serves health, settings and an empty JWKS for HS256', async () => {
    expect(await (await fetch(`${auth.url}/auth/v1/health`)).json()).toMatchObject({ name: 'GoTrue' });
    expect(await (await fetch(`${auth.url}/auth/v1/settings`)).json()).toMatchObject({
      external: { email: true, phone: false },
      disable_signup: false,
      mailer_autoconfirm: true,
    });
    expect(await (await fetch(`${auth.url}/auth/v1/.well-known/jwks.json`)).json()).toEqual({ keys: [] });
    expect((await fetch(`${auth.url}/auth/v1/nowhere`)).status).toBe(404);
  });
});

describe('rate limits', () => {
  it('answers sign-ups and token requests over the per-IP limit with over_request_rate_limit 429', async () => {
    const limited = await startAuth({ rateLimits: { signUp: { max: 2, windowMs: 60_000 }, token: { max: 2, windowMs: 60_000 } } });
    try {
      const email = uniqueEmail();
      const signUps = [];
      for (const address of [email, uniqueEmail(), uniqueEmail()]) {
        signUps.push(await limited.client().auth.signUp({ email: address, password: 'password123' }));
      }
      expect(signUps.map((result) => result.error?.status ?? 200)).toEqual([200, 200, 429]);
      expect(signUps[2]!.error).toBeInstanceOf(AuthApiError);
      expect(signUps[2]!.error).toMatchObject({ code: 'over_request_rate_limit', message: 'Request rate limit reached' });

      const signIns = [];
      for (let i = 0; i < 3; i += 1) signIns.push(await limited.client().auth.signInWithPassword({ email, password: 'password123' }));
      expect(signIns.map((result) => result.error?.status ?? 200)).toEqual([200, 200, 429]);
      expect(signIns[2]!.error).toMatchObject({ code: 'over_request_rate_limit' });
    } finally {
      await limited.close();
    }
  });
});
