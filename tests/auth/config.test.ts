/**
 * Local Auth's configuration: asymmetric signing keys published at the JWKS endpoint,
 * refused configurations, and the standalone `npm run auth` entry point.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { describe, expect, inject, it } from 'vitest';
import { authOptionsFromConfigToml, projectAuthOptions, tomlSections } from '../../devstack/auth/config.ts';
import { createAuthServer } from '../../devstack/auth/server.ts';
import { repoRoot } from '../../devstack/db/setup.ts';
import { findFreePort } from '../../devstack/net/ports.ts';
import { createJwtVerifier } from '../../core/auth/jwt.ts';
import { startAuth, uniqueEmail } from './helpers.ts';

describe('asymmetric signing keys', () => {
  it.each(['ES256', 'RS256'] as const)('signs %s tokens with a kid that verify against the published JWKS', async (alg) => {
    const { privateKey } = await generateKeyPair(alg, { extractable: true });
    const kid = `tandem-test-${alg.toLowerCase()}`;
    const auth = await startAuth({ signingJwk: JSON.stringify({ ...(await exportJWK(privateKey)), kid }), issuer: 'http://auth.test/auth/v1' });
    try {
      const client = auth.client();
      const { data, error } = await client.auth.signUp({ email: uniqueEmail(), password: 'password123' });
      expect(error).toBeNull();
      const token = data.session!.access_token;
      expect(decodeProtectedHeader(token)).toMatchObject({ alg, kid, typ: 'JWT' });

      const jwksUrl = `${auth.url}/auth/v1/.well-known/jwks.json`;
      const jwks = (await (await fetch(jwksUrl)).json()) as { keys: Record<string, unknown>[] };
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]).toMatchObject({ kid, alg, use: 'sig' });
      expect(jwks.keys[0]).not.toHaveProperty('d');

      const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(jwksUrl)), {
        issuer: 'http://auth.test/auth/v1',
        audience: 'authenticated',
      });
      expect(payload.sub).toBe(data.user!.id);
      // The edge functions' verifier, pointed at the same JWKS, accepts the token too.
      expect((await createJwtVerifier({ jwksUrl })(token)).userId).toBe(data.user!.id);
      // supabase-js verifies asymmetric tokens itself with the JWKS.
      const claims = await client.auth.getClaims();
      expect(claims.error).toBeNull();
      expect(claims.data?.claims.sub).toBe(data.user!.id);
      expect((await client.auth.getUser()).data.user?.id).toBe(data.user!.id);
    } finally {
      await auth.close();
    }
  });
});

describe('settings from supabase/config.toml', () => {
  it("reads the project's [auth] settings as `supabase start` applies them", () => {
    expect(projectAuthOptions()).toEqual({
      jwtExpirySeconds: 3600,
      refreshTokenReuseIntervalSeconds: 10,
      minimumPasswordLength: 8,
      enableSignup: true,
      siteUrl: 'http://127.0.0.1:54321',
      additionalRedirectUrls: ['http://127.0.0.1:54321'],
      enableRefreshTokenRotation: true,
      enableAnonymousSignIns: false,
      enableEmailProvider: true,
      enableConfirmations: false,
      doubleConfirmChanges: true,
    });
  });

  it('reads only the auth sections, ignores other literals and keeps defaults for missing keys', () => {
    const text = [
      '[db]',
      'minimum_password_length = 99',
      '[auth]',
      'enable_signup = false # closed beta',
      'site_url = "http://127.0.0.1:3000"',
      '[auth.rate_limit]',
      'token_refresh = 0',
      '[auth.email]',
      'enable_signup = true',
    ].join('\n');
    // [auth.rate_limit] is not read: GoTrue under `supabase start` applies no per-IP limits.
    expect(authOptionsFromConfigToml(text)).toEqual({ enableSignup: false, siteUrl: 'http://127.0.0.1:3000', enableEmailProvider: true });
  });

  it('reads one-line string arrays and skips other values', () => {
    const api = tomlSections('[api]\nschemas = ["public", "graphql_public"] # exposed\nextra_search_path = []\nport = 54321\nmax_rows = 1.5').get('api');
    expect(api?.get('schemas')).toEqual(['public', 'graphql_public']);
    expect(api?.get('extra_search_path')).toEqual([]);
    expect(api?.get('port')).toBe(54321);
    expect(api?.has('max_rows')).toBe(false);
  });

  it('applies minimum_password_length = 8 to sign-ups', async () => {
    const auth = await startAuth(projectAuthOptions());
    try {
      const { error } = await auth.client().auth.signUp({ email: uniqueEmail(), password: 'seven77' });
      expect(error).toMatchObject({ status: 422, code: 'weak_password', message: 'Password should be at least 8 characters.' });
    } finally {
      await auth.close();
    }
  });
});

describe('each config.toml auth setting, on and off', () => {
  it('reads strings, durations and the [auth.email] / [auth.sessions] keys', () => {
    const text = [
      '[auth]',
      'password_requirements = "lower_upper_letters_digits"',
      'enable_anonymous_sign_ins = true',
      'enable_refresh_token_rotation = false',
      '[auth.email]',
      'enable_confirmations = true',
      'secure_password_change = true',
      'max_frequency = "1m30s"',
      'otp_length = 8',
      'otp_expiry = 600',
      '[auth.sessions]',
      'timebox = "24h"',
    ].join('\n');
    expect(authOptionsFromConfigToml(text)).toEqual({
      requiredCharacters: ['abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '0123456789'],
      enableAnonymousSignIns: true,
      enableRefreshTokenRotation: false,
      enableConfirmations: true,
      securePasswordChange: true,
      maxFrequencySeconds: 90,
      otpLength: 8,
      otpExpirySeconds: 600,
      sessionTimeboxSeconds: 86_400,
    });
  });

  it('password_requirements: a password missing a character set is weak (reason characters); without it, accepted', async () => {
    const strict = await startAuth({ requiredCharacters: ['abcdefghijklmnopqrstuvwxyz', '0123456789'] });
    const lax = await startAuth();
    try {
      const { error } = await strict.client().auth.signUp({ email: uniqueEmail(), password: 'lettersonly' });
      expect(error).toMatchObject({ status: 422, code: 'weak_password' });
      expect((error as { reasons?: string[] }).reasons).toEqual(['characters']);
      expect((await lax.client().auth.signUp({ email: uniqueEmail(), password: 'lettersonly' })).error).toBeNull();
    } finally {
      await strict.close();
      await lax.close();
    }
  });

  it('[auth.email] enable_signup = false: email sign-ups are email_provider_disabled; [auth] enable_signup = false: signup_disabled and otp_disabled', async () => {
    const noEmail = await startAuth({ enableEmailProvider: false });
    const closed = await startAuth({ enableSignup: false });
    try {
      expect((await noEmail.client().auth.signUp({ email: uniqueEmail(), password: 'password123' })).error).toMatchObject({ status: 400, code: 'email_provider_disabled' });
      expect((await closed.client().auth.signUp({ email: uniqueEmail(), password: 'password123' })).error).toMatchObject({ status: 422, code: 'signup_disabled' });
      expect((await closed.client().auth.signInWithOtp({ email: uniqueEmail() })).error).toMatchObject({ status: 422, code: 'otp_disabled' });
    } finally {
      await noEmail.close();
      await closed.close();
    }
  });

  it('enable_refresh_token_rotation = false: a reused token is refused but the session lives on', async () => {
    const auth = await startAuth({ enableRefreshTokenRotation: false, refreshTokenReuseIntervalSeconds: 0 });
    try {
      const client = auth.client();
      const { data } = await client.auth.signUp({ email: uniqueEmail(), password: 'password123' });
      const first = data.session!.refresh_token;
      const next = await client.auth.refreshSession({ refresh_token: first });
      const newest = next.data.session!.refresh_token;
      await new Promise((resolve) => setTimeout(resolve, 1100));
      // A second child, so `first` is no longer the active token's parent.
      const after = await client.auth.refreshSession({ refresh_token: newest });
      expect(after.error).toBeNull();
      expect((await client.auth.refreshSession({ refresh_token: first })).error).toMatchObject({ code: 'refresh_token_already_used' });
      expect((await client.auth.refreshSession({ refresh_token: after.data.session!.refresh_token })).error).toBeNull();
    } finally {
      await auth.close();
    }
  });

  it('[auth.sessions] timebox: an older session no longer refreshes (session_expired); without it, it does', async () => {
    const boxed = await startAuth({ sessionTimeboxSeconds: 1 });
    const open = await startAuth();
    try {
      const a = (await boxed.client().auth.signUp({ email: uniqueEmail(), password: 'password123' })).data.session!;
      const b = (await open.client().auth.signUp({ email: uniqueEmail(), password: 'password123' })).data.session!;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect((await boxed.client().auth.refreshSession({ refresh_token: a.refresh_token })).error).toMatchObject({ status: 400, code: 'session_expired' });
      expect((await open.client().auth.refreshSession({ refresh_token: b.refresh_token })).error).toBeNull();
    } finally {
      await boxed.close();
      await open.close();
    }
  });

  it('enable_anonymous_sign_ins = true: signInAnonymously() gives an anonymous user and session', async () => {
    const auth = await startAuth({ enableAnonymousSignIns: true });
    try {
      const client = auth.client();
      const { data, error } = await client.auth.signInAnonymously({ options: { data: { theme: 'dark' } } });
      expect(error).toBeNull();
      const { session, user } = data;
      expect(user).toMatchObject({ is_anonymous: true, role: 'authenticated', aud: 'authenticated', email: '', app_metadata: {}, user_metadata: { theme: 'dark' }, identities: [] });
      const claims = decodeJwt(session!.access_token);
      expect(claims).toMatchObject({ sub: user!.id, role: 'authenticated', is_anonymous: true, email: '', aal: 'aal1' });
      expect((claims.amr as { method: string }[]).map((entry) => entry.method)).toEqual(['anonymous']);
      // The session is a real one: the user reads itself and refreshes.
      expect((await client.auth.getUser(session!.access_token)).data.user).toMatchObject({ id: user!.id, is_anonymous: true });
      const refreshed = await client.auth.refreshSession({ refresh_token: session!.refresh_token });
      expect(refreshed.error).toBeNull();
      expect(decodeJwt(refreshed.data.session!.access_token).is_anonymous).toBe(true);
      // Each call is a new user.
      const again = await auth.client().auth.signInAnonymously();
      expect(again.data.user!.id).not.toBe(user!.id);
    } finally {
      await auth.close();
    }
  });

  it('an anonymous user becomes a permanent one by adding an email (and a password) with auto-confirm', async () => {
    const auth = await startAuth({ enableAnonymousSignIns: true });
    try {
      const client = auth.client();
      const { data } = await client.auth.signInAnonymously();
      const id = data.user!.id;
      expect((await client.auth.updateUser({ password: 'password123' })).error).toMatchObject({
        status: 422,
        code: 'validation_failed',
        message: 'Updating password of an anonymous user without an email or phone is not allowed',
      });
      const email = uniqueEmail();
      const updated = await client.auth.updateUser({ email, password: 'password123' });
      expect(updated.error).toBeNull();
      expect(updated.data.user).toMatchObject({ id, email, is_anonymous: false, app_metadata: { provider: 'email', providers: ['email'] } });
      expect(updated.data.user!.identities).toMatchObject([{ provider: 'email', user_id: id, identity_data: { email, email_verified: true } }]);
      const signIn = await auth.client().auth.signInWithPassword({ email, password: 'password123' });
      expect(signIn.error).toBeNull();
      expect(signIn.data.user!.id).toBe(id);
      expect(decodeJwt(signIn.data.session!.access_token).is_anonymous).toBe(false);
    } finally {
      await auth.close();
    }
  });

  it('enable_anonymous_sign_ins = true with enable_signup = false: signup_disabled', async () => {
    const auth = await startAuth({ enableAnonymousSignIns: true, enableSignup: false });
    try {
      expect((await auth.client().auth.signInAnonymously()).error).toMatchObject({ status: 422, code: 'signup_disabled' });
    } finally {
      await auth.close();
    }
  });

  it('enable_anonymous_sign_ins = false (the default): anonymous sign-in is anonymous_provider_disabled', async () => {
    const auth = await startAuth();
    try {
      expect((await auth.client().auth.signInAnonymously()).error).toMatchObject({ status: 422, code: 'anonymous_provider_disabled' });
    } finally {
      await auth.close();
    }
  });
});

describe('refused configurations', () => {
  const databaseUrl = () => inject('databaseUrl');

  it('refuses a short secret, a public or unsupported JWK and an unusable database with one clear line', async () => {
    const { publicKey } = await generateKeyPair('ES256', { extractable: true });
    const { privateKey: edKey } = await generateKeyPair('EdDSA', { extractable: true });
    const cases: [Parameters<typeof createAuthServer>[0], RegExp][] = [
      [{ databaseUrl: databaseUrl(), jwtSecret: 'too-short' }, /at least 32 characters/],
      [{ databaseUrl: databaseUrl(), signingJwk: '{nope' }, /not a JSON object/],
      [{ databaseUrl: databaseUrl(), signingJwk: await exportJWK(publicKey) }, /must be a private key/],
      [{ databaseUrl: databaseUrl(), signingJwk: await exportJWK(edKey) }, /EC P-256 \(ES256\) or RSA/],
      [{ databaseUrl: 'postgres://nobody@127.0.0.1:1/none' }, /cannot use the database/],
    ];
    for (const [options, message] of cases) {
      const error = await createAuthServer(options).then(
        () => undefined,
        (caught: unknown) => caught as Error,
      );
      expect(error?.name).toBe('AuthConfigError');
      expect(error?.message).toMatch(message);
      expect(error?.message).not.toContain('\n');
    }
  });
});

describe('npm run auth', () => {
  const tsx = `${repoRoot}/node_modules/.bin/tsx`;
  const main = `${repoRoot}/devstack/auth/main.ts`;
  const cleanEnv = () => {
    const env = { ...process.env };
    for (const name of ['DATABASE_URL', 'SUPABASE_DB_URL', 'TANDEM_JWT_SECRET', 'TANDEM_AUTH_SIGNING_JWK', 'PORT']) delete env[name];
    return env;
  };

  it('exits with one error line when no database is configured', async () => {
    const child = spawn(tsx, [main], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^local Auth: set DATABASE_URL/)]);
  });

  it('serves /auth/v1 on PORT until SIGTERM', async () => {
    const port = await findFreePort();
    const child = spawn(tsx, [main], {
      env: { ...cleanEnv(), DATABASE_URL: inject('databaseUrl'), PORT: String(port) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: child.stdout });
      for await (const line of lines) if (line.includes('auth_listening')) break;
      const response = await fetch(`http://127.0.0.1:${port}/auth/v1/health`);
      expect(await response.json()).toMatchObject({ name: 'GoTrue' });
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });
});
