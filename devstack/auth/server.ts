/**
 * Local Auth: the email subset of Supabase Auth (GoTrue v2.196.0, what the pinned CLI runs)
 * for development and tests, so supabase-js's `auth.*` calls work without Docker.
 * Production uses Supabase Auth.
 *
 *   POST /auth/v1/signup                           sign up → session (or the user alone, mail sent, with confirmations on)
 *   POST /auth/v1/token?grant_type=password        sign in → session
 *   POST /auth/v1/token?grant_type=refresh_token   rotate the refresh token → session
 *   GET  /auth/v1/user                             the signed-in user
 *   POST /auth/v1/logout?scope=global|local|others end sessions → 204
 *   GET  /auth/v1/.well-known/jwks.json            public signing keys
 *   GET  /auth/v1/health, /auth/v1/settings        as GoTrue answers them
 *   ... and the account and admin routes of accounts.ts
 *
 * Statuses, error codes and messages are GoTrue's (see errors.ts for the two error shapes).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import bcrypt from 'bcryptjs';
import type { JSONWebKeySet, JWK } from 'jose';
import postgres from 'postgres';
import { bearerToken, InvalidTokenError } from '../../core/auth/jwt.ts';
import { createLogger, type Logger } from '../../core/log.ts';
import { API_VERSION_HEADER, AuthApiFailure, OAuthFailure, writeFailure, writeJson } from './errors.ts';
import { EMAIL, MAX_PASSWORD_BYTES, objectField, readJsonObject, stringField } from './request.ts';
import { AuthConfigError, loadSigningKeys, type SigningKeys } from './keys.ts';
import { createMailer, type Mailer, type SmtpSettings } from './mail.ts';
import { createRateLimiter, type RateLimit, type RateLimiter } from './rate-limit.ts';
import { registerAccountRoutes } from './accounts.ts';
import { createFlowStates, pkceChallengeOf } from './flow-state.ts';
import {
  findUserByEmail,
  findUserById,
  identitiesOf,
  isBanned,
  NIL_UUID,
  rotateRefreshToken,
  sessionExists,
  signInUser,
  signOut,
  signUpAnonymousUser,
  signUpUser,
  userAlreadyExists,
  userJson,
  type ClientInfo,
  type IssuedSession,
  type Sql,
  type UserRow,
} from './store.ts';

/** The Supabase CLI's default JWT secret. */
export const DEFAULT_JWT_SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';
/** The issuer of `supabase start` (its gateway on 127.0.0.1:54321). */
export const DEFAULT_ISSUER = 'http://127.0.0.1:54321/auth/v1';

export interface AuthServerOptions {
  /** Postgres URL of a superuser or `supabase_auth_admin`. */
  databaseUrl: string;
  /** HS256 secret; defaults to the CLI's. */
  jwtSecret?: string;
  /** A private EC P-256 or RSA JWK (object or JSON text) to sign with; default the CLI's ES256 key; `'hs256'` signs with the secret. */
  signingJwk?: string | JWK | 'hs256';
  /** `iss` of access tokens; defaults to DEFAULT_ISSUER. */
  issuer?: string;
  /** Access-token lifetime; GoTrue's default 3600. */
  jwtExpirySeconds?: number;
  /** How long a rotated refresh token may still be used; 10 as in supabase/config.toml. */
  refreshTokenReuseIntervalSeconds?: number;
  /** GoTrue's default is 6; supabase/config.toml sets 8. */
  minimumPasswordLength?: number;
  /** false answers sign-ups with `signup_disabled`. */
  enableSignup?: boolean;
  /**
   * Per-IP limits, off unless given: `supabase start` sets no rate-limit header, and GoTrue
   * applies none without one (internal/api/middleware.go, performRateLimiting).
   */
  rateLimits?: { signUp?: RateLimit | false; token?: RateLimit | false };
  /** `[auth] site_url`: where links redirect by default. */
  siteUrl?: string;
  /** `[auth] additional_redirect_urls`: other allowed `redirect_to` targets (prefix match). */
  additionalRedirectUrls?: string[];
  /** `[auth] enable_refresh_token_rotation` (default true): false keeps a reused token's session. */
  enableRefreshTokenRotation?: boolean;
  /** `[auth] password_requirements` as GoTrue's character sets, each needed once. */
  requiredCharacters?: string[];
  /** `[auth] enable_anonymous_sign_ins` (default false). */
  enableAnonymousSignIns?: boolean;
  /** `[auth.email] enable_signup` (default true): the email provider. */
  enableEmailProvider?: boolean;
  /** `[auth.email] enable_confirmations` (default false = auto-confirm). */
  enableConfirmations?: boolean;
  /** `[auth.email] double_confirm_changes` (default true): an email change is confirmed on both addresses. */
  doubleConfirmChanges?: boolean;
  /** `[auth.email] secure_password_change` (default false): a password change in a session over 24 h old needs a nonce. */
  securePasswordChange?: boolean;
  /** `[auth.email] max_frequency` in seconds (default 1): the least time between two mails of a kind to a user. */
  maxFrequencySeconds?: number;
  /** `[auth.email] otp_length` (default 6) and `otp_expiry` (default 3600 s). */
  otpLength?: number;
  otpExpirySeconds?: number;
  /** `[auth.sessions] timebox` and `inactivity_timeout` in seconds (0/absent = none). */
  sessionTimeboxSeconds?: number;
  sessionInactivityTimeoutSeconds?: number;
  /** Where mail goes; without it local Auth sends none and answers mail routes with 500 as GoTrue without SMTP would. */
  smtp?: SmtpSettings;
  /** bcrypt cost of new password hashes; GoTrue uses 10. */
  bcryptCost?: number;
  logger?: Logger;
}

export interface AuthServer {
  /** Handles `/auth/v1/...` requests (a leading `/auth/v1` is optional). */
  handler(req: IncomingMessage, res: ServerResponse): void;
  /** The public keys published at `/.well-known/jwks.json`. */
  readonly jwks: JSONWebKeySet;
  close(): Promise<void>;
}

type Route = (request: AuthRequest) => Promise<void>;

interface AuthRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  client: ClientInfo;
}

const invalidLogin = () => new AuthApiFailure(400, 'invalid_credentials', 'Invalid login credentials');

function clientInfo(req: IncomingMessage): ClientInfo {
  const address = req.socket.remoteAddress?.replace(/^::ffff:/, '');
  const userAgent = req.headers['user-agent'];
  return { ip: address, userAgent: typeof userAgent === 'string' ? userAgent : undefined };
}

function applyCors(req: IncomingMessage, res: ServerResponse): void {
  const origin = req.headers.origin;
  res.setHeader('Access-Control-Allow-Origin', origin ?? '*');
  if (origin) {
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Vary', 'Origin');
  }
  res.setHeader('Access-Control-Expose-Headers', `${API_VERSION_HEADER}, x-sb-error-code, Retry-After`);
}

async function connect(databaseUrl: string): Promise<Sql> {
  const sql = postgres(databaseUrl, { max: 5, onnotice: () => undefined, connection: { application_name: 'tandem-local-auth' } });
  try {
    await sql`select 1 from auth.users, auth.sessions, auth.refresh_tokens limit 0`;
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    const { code, message } = error as { code?: string; message?: string };
    throw new AuthConfigError(
      code === '42P01'
        ? 'the database has no auth tables (auth.users, auth.sessions, auth.refresh_tokens): prepare it with `npm run db:setup`'
        : `local Auth cannot use the database: ${message ?? String(error)}`,
    );
  }
  return sql;
}

/**
 * Creates the local Auth server: a node:http request handler for `/auth/v1/...` and a
 * `close()` that releases its database pool. Bad configuration (short secret, unusable
 * JWK, unreachable database or missing auth tables) rejects with AuthConfigError.
 *
 * @example
 * const auth = await createAuthServer({ databaseUrl: process.env.DATABASE_URL! });
 * createServer(auth.handler).listen(54333, '127.0.0.1');
 * // supabase-js: createClient('http://127.0.0.1:54333', anonKey).auth.signUp({ email, password })
 */
export async function createAuthServer(options: AuthServerOptions): Promise<AuthServer> {
  const keys: SigningKeys = await loadSigningKeys({ jwtSecret: options.jwtSecret ?? DEFAULT_JWT_SECRET, signingJwk: options.signingJwk });
  const log = options.logger ?? createLogger({ service: 'local-auth' });
  const issuer = options.issuer ?? DEFAULT_ISSUER;
  const jwtExpiry = options.jwtExpirySeconds ?? 3600;
  const reuseInterval = options.refreshTokenReuseIntervalSeconds ?? 10;
  const minimumPasswordLength = options.minimumPasswordLength ?? 6;
  const enableSignup = options.enableSignup ?? true;
  const bcryptCost = options.bcryptCost ?? 10;
  const fiveMinutes = 5 * 60_000;
  const limiter = (limit: RateLimit | false | undefined, fallback: RateLimit): RateLimiter | undefined => {
    if (limit === false) return undefined;
    const { max, windowMs } = limit ?? fallback;
    if (!(max >= 1) || !(windowMs > 0)) throw new AuthConfigError(`a rate limit needs max >= 1 and windowMs > 0 (got ${max} per ${windowMs} ms)`);
    return createRateLimiter({ max, windowMs });
  };
  const signUpLimiter = options.rateLimits?.signUp ? limiter(options.rateLimits.signUp, { max: 30, windowMs: fiveMinutes }) : undefined;
  const tokenLimiter = options.rateLimits?.token ? limiter(options.rateLimits.token, { max: 150, windowMs: fiveMinutes }) : undefined;
  const autoconfirm = !(options.enableConfirmations ?? false);
  const enableEmailProvider = options.enableEmailProvider ?? true;
  const requiredCharacters = options.requiredCharacters ?? [];
  const mailer: Mailer | undefined = options.smtp ? createMailer(options.smtp) : undefined;
  const sql = await connect(options.databaseUrl);
  const flows = createFlowStates();

  function enforce(rateLimiter: RateLimiter | undefined, client: ClientInfo): void {
    const waitSeconds = rateLimiter?.take(client.ip ?? 'unknown') ?? 0;
    if (waitSeconds > 0) {
      throw new AuthApiFailure(429, 'over_request_rate_limit', 'Request rate limit reached', {}, { 'Retry-After': String(waitSeconds) });
    }
  }

  /** GoTrue's strength rule (length); sign-up refuses a weak password, sign-in reports it. */
  function passwordWeakness(password: string): { message: string; reasons: string[] } | undefined {
    const messages: string[] = [];
    const reasons: string[] = [];
    if (Buffer.byteLength(password) < minimumPasswordLength) {
      reasons.push('length');
      messages.push(`Password should be at least ${minimumPasswordLength} characters.`);
    }
    if (requiredCharacters.some((set) => ![...set].some((c) => password.includes(c)))) {
      reasons.push('characters');
      messages.push(`Password should contain at least one character of each: ${requiredCharacters.join(', ')}.`);
    }
    return reasons.length ? { message: messages.join(' '), reasons } : undefined;
  }

  async function sessionResponse(issued: IssuedSession, method = 'password'): Promise<Record<string, unknown>> {
    const { user, session, refreshToken } = issued;
    const issuedAt = Math.floor(Date.now() / 1000);
    const expiresAt = issuedAt + jwtExpiry;
    const accessToken = await keys.sign({
      iss: issuer,
      sub: user.id,
      aud: user.aud ?? 'authenticated',
      exp: expiresAt,
      iat: issuedAt,
      email: user.email ?? '',
      phone: user.phone ?? '',
      app_metadata: user.raw_app_meta_data ?? {},
      user_metadata: user.raw_user_meta_data ?? {},
      role: user.role ?? 'authenticated',
      aal: 'aal1',
      amr: [{ method, timestamp: Math.floor(session.created_at.getTime() / 1000) }],
      session_id: session.id,
      is_anonymous: user.is_anonymous,
    });
    return {
      access_token: accessToken,
      token_type: 'bearer',
      expires_in: jwtExpiry,
      expires_at: expiresAt,
      refresh_token: refreshToken,
      user: userJson(user, issued.identities ?? (await identitiesOf(sql, user.id))),
    };
  }

  /** GoTrue's `requireAuthentication`: a valid access token of an existing user and session. */
  async function authenticate(req: IncomingMessage): Promise<{ user: UserRow; sessionId: string | undefined }> {
    const token = bearerToken(req.headers.authorization);
    if (!token) throw new AuthApiFailure(401, 'no_authorization', 'This endpoint requires a valid Bearer token');
    let claims: Record<string, unknown>;
    try {
      ({ claims } = await keys.verify(token));
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      throw new AuthApiFailure(403, 'bad_jwt', `invalid JWT: unable to parse or verify signature, ${error.message}`);
    }
    const user = await findUserById(sql, String(claims.sub));
    if (!user) throw new AuthApiFailure(403, 'user_not_found', 'User from sub claim in JWT does not exist');
    const sessionId = typeof claims.session_id === 'string' && claims.session_id !== NIL_UUID ? claims.session_id : undefined;
    if (sessionId && !(await sessionExists(sql, sessionId))) {
      throw new AuthApiFailure(403, 'session_not_found', 'Session from session_id claim in JWT does not exist');
    }
    if (isBanned(user)) throw new AuthApiFailure(403, 'user_banned', 'User is banned');
    return { user, sessionId };
  }

  async function signUp({ req, res, client, url }: AuthRequest): Promise<void> {
    const body = await readJsonObject(req);
    // Neither email nor phone is an anonymous sign-in, refused before anything else when
    // off (upstream supabase/auth internal/api/api.go, the /signup route).
    if (!stringField(body, 'email') && !stringField(body, 'phone')) return signUpAnonymously(body, res, client);
    if (!enableSignup) throw new AuthApiFailure(422, 'signup_disabled', 'Signups not allowed for this instance');
    // A PKCE sign-up matters only with confirmations: the mailed link then ends in an auth code.
    if (stringField(body, 'phone') && body.code_challenge) throw new AuthApiFailure(400, 'validation_failed', 'PKCE not supported for phone signups');
    const pkce = pkceChallengeOf(body);
    const email = stringField(body, 'email');
    const phone = stringField(body, 'phone');
    const password = stringField(body, 'password');
    const metadata = objectField(body, 'data');
    enforce(signUpLimiter, client);
    if (!password) throw new AuthApiFailure(400, 'validation_failed', 'Signup requires a valid password');
    if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
      throw new AuthApiFailure(400, 'validation_failed', `Password cannot be longer than ${MAX_PASSWORD_BYTES} characters`);
    }
    const weakness = passwordWeakness(password);
    if (weakness) throw new AuthApiFailure(422, 'weak_password', weakness.message, { weak_password: { reasons: weakness.reasons } });
    if (email && phone) {
      throw new AuthApiFailure(400, 'validation_failed', 'Only an email address or phone number should be provided on signup.');
    }
    if (!email) throw new AuthApiFailure(400, 'phone_provider_disabled', 'Phone signups are disabled');
    if (!enableEmailProvider) throw new AuthApiFailure(400, 'email_provider_disabled', 'Email signups are disabled');
    if (email.length > 255) throw new AuthApiFailure(400, 'validation_failed', 'An email address is too long');
    if (!EMAIL.test(email)) throw new AuthApiFailure(400, 'validation_failed', 'Unable to validate email address: invalid format');
    const normalizedEmail = email.toLowerCase();
    const existing = await findUserByEmail(sql, normalizedEmail);
    if (existing && autoconfirm) throw userAlreadyExists();
    if (existing) {
      // With confirmations on GoTrue does not tell who has an account: an unconfirmed user
      // gets the confirmation mail again, and either way the answer looks like a new user.
      if (!existing.email_confirmed_at) await accounts.sendConfirmation(existing, url.searchParams.get('redirect_to'), pkce);
      return writeJson(res, 200, { id: randomUUID(), aud: 'authenticated', role: '', email: normalizedEmail, phone: '', app_metadata: { provider: 'email', providers: ['email'] }, user_metadata: {}, identities: [], created_at: new Date().toISOString(), updated_at: new Date().toISOString(), is_anonymous: false });
    }
    const passwordHash = await bcrypt.hash(password, bcryptCost);
    if (autoconfirm) {
      writeJson(res, 200, await signUpUser(sql, { email: normalizedEmail, passwordHash, metadata }, client, (_user, issued) => sessionResponse(issued!)));
      return;
    }
    // GoTrue answers an unconfirmed sign-up with the user alone and mails the confirmation.
    const user = await signUpUser(sql, { email: normalizedEmail, passwordHash, metadata, confirmed: false }, undefined, async (created) => created);
    await accounts.sendConfirmation(user, url.searchParams.get('redirect_to'), pkce);
    const current = (await findUserById(sql, user.id))!;
    writeJson(res, 200, userJson(current, await identitiesOf(sql, user.id)));
  }

  /** supabase-js `signInAnonymously()` (upstream supabase/auth internal/api/anonymous.go). */
  async function signUpAnonymously(body: Record<string, unknown>, res: AuthRequest['res'], client: ClientInfo): Promise<void> {
    if (!(options.enableAnonymousSignIns ?? false)) throw new AuthApiFailure(422, 'anonymous_provider_disabled', 'Anonymous sign-ins are disabled');
    enforce(signUpLimiter, client);
    if (!enableSignup) throw new AuthApiFailure(422, 'signup_disabled', 'Signups not allowed for this instance');
    const metadata = objectField(body, 'data');
    writeJson(res, 200, await sessionResponse(await signUpAnonymousUser(sql, metadata, client), 'anonymous'));
  }

  async function passwordGrant({ req, res, client }: AuthRequest): Promise<void> {
    const body = await readJsonObject(req);
    const email = stringField(body, 'email');
    const phone = stringField(body, 'phone');
    const password = stringField(body, 'password');
    if (email && phone) {
      throw new AuthApiFailure(400, 'validation_failed', 'Only an email address or phone number should be provided on login.');
    }
    if (phone) throw new AuthApiFailure(422, 'phone_provider_disabled', 'Phone logins are disabled');
    if (!email) throw new AuthApiFailure(400, 'validation_failed', 'missing email or phone');
    const user = await findUserByEmail(sql, email);
    if (!user?.encrypted_password) throw invalidLogin();
    if (isBanned(user)) throw new AuthApiFailure(400, 'user_banned', 'User is banned');
    const valid = await bcrypt.compare(password, user.encrypted_password).catch(() => false);
    if (!valid) throw invalidLogin();
    if (!user.email_confirmed_at) throw new AuthApiFailure(400, 'email_not_confirmed', 'Email not confirmed');
    const weakness = passwordWeakness(password);
    const response = await sessionResponse(await signInUser(sql, user.id, client));
    writeJson(res, 200, weakness ? { ...response, weak_password: weakness } : response);
  }

  async function refreshGrant({ req, res, client }: AuthRequest): Promise<void> {
    const body = await readJsonObject(req);
    const refreshToken = stringField(body, 'refresh_token');
    // GoTrue's RefreshTokenGrantParams.Validate (internal/api/token_refresh.go): local Auth
    // issues only the legacy 12-character tokens, so anything else is not one of its tokens.
    if (!/^[a-z0-9]{12}$/.test(refreshToken)) throw new AuthApiFailure(400, 'validation_failed', 'Refresh token is not valid');
    writeJson(res, 200, await sessionResponse(await rotateRefreshToken(sql, refreshToken, reuseInterval, client, options.enableRefreshTokenRotation ?? true, {
          timeboxSeconds: options.sessionTimeboxSeconds,
          inactivitySeconds: options.sessionInactivityTimeoutSeconds,
        })));
  }

  /** supabase-js `exchangeCodeForSession` (upstream supabase/auth internal/api/token.go, PKCE). */
  async function pkceGrant({ req, res, client }: AuthRequest): Promise<void> {
    const body = await readJsonObject(req);
    const { userId, authMethod } = flows.exchange(stringField(body, 'auth_code'), stringField(body, 'code_verifier'));
    const user = await findUserById(sql, userId);
    if (!user) throw new AuthApiFailure(404, 'user_not_found', 'User not found');
    if (isBanned(user)) throw new AuthApiFailure(400, 'user_banned', 'User is banned');
    writeJson(res, 200, await sessionResponse(await signInUser(sql, user.id, client), authMethod));
  }

  async function token(request: AuthRequest): Promise<void> {
    const grantType = request.url.searchParams.get('grant_type');
    const grants: Record<string, (request: AuthRequest) => Promise<void>> = { password: passwordGrant, refresh_token: refreshGrant, pkce: pkceGrant };
    const grant = grantType && Object.hasOwn(grants, grantType) ? grants[grantType] : undefined;
    if (!grant) throw new AuthApiFailure(400, 'invalid_credentials', 'unsupported_grant_type');
    enforce(tokenLimiter, request.client);
    await grant(request);
  }

  async function getUser({ req, res }: AuthRequest): Promise<void> {
    const { user } = await authenticate(req);
    writeJson(res, 200, userJson(user, await identitiesOf(sql, user.id)));
  }

  async function logout({ req, res, url }: AuthRequest): Promise<void> {
    const { user, sessionId } = await authenticate(req);
    const scope = url.searchParams.get('scope') || 'global';
    if (scope !== 'global' && scope !== 'local' && scope !== 'others') {
      throw new AuthApiFailure(400, 'validation_failed', `Unsupported logout scope ${JSON.stringify(scope)}`);
    }
    await signOut(sql, user.id, sessionId, scope);
    res.writeHead(204);
    res.end();
  }

  async function jwksRoute({ res }: AuthRequest): Promise<void> {
    writeJson(res, 200, keys.jwks, { 'Cache-Control': 'public, max-age=600' });
  }

  async function health({ res }: AuthRequest): Promise<void> {
    writeJson(res, 200, { version: 'tandem-local', name: 'GoTrue', description: 'GoTrue is a user registration and authentication API' });
  }

  async function settings({ res }: AuthRequest): Promise<void> {
    const providers = ['anonymous_users', 'apple', 'azure', 'bitbucket', 'discord', 'facebook', 'snapchat', 'figma', 'fly', 'github',
      'gitlab', 'google', 'keycloak', 'kakao', 'linkedin', 'linkedin_oidc', 'notion', 'spotify', 'slack', 'slack_oidc', 'workos',
      'twitch', 'twitter', 'email', 'phone', 'zoom'];
    writeJson(res, 200, {
      external: Object.fromEntries(providers.map((name) => [name, name === 'email' ? enableEmailProvider : false])),
      disable_signup: !enableSignup,
      mailer_autoconfirm: autoconfirm,
      phone_autoconfirm: false,
      sms_provider: '',
      saml_enabled: false,
      saml_private_key_next_configured: false,
      passkeys_enabled: false,
    });
  }

  const accounts = registerAccountRoutes({
    sql,
    mailer,
    flows,
    settings: {
      externalUrl: issuer,
      siteUrl: options.siteUrl ?? 'http://127.0.0.1:3000',
      additionalRedirectUrls: options.additionalRedirectUrls ?? [],
      autoconfirm,
      enableSignup,
      enableEmailProvider,
      doubleConfirmChanges: options.doubleConfirmChanges ?? true,
      securePasswordChange: options.securePasswordChange ?? false,
      maxFrequencySeconds: options.maxFrequencySeconds ?? 1,
      otpLength: options.otpLength ?? 6,
      otpExpirySeconds: options.otpExpirySeconds ?? 3600,
      bcryptCost,
    },
    authenticate,
    verifyClaims: (token) => keys.verifyAny(token),
    sessionResponse,
    passwordWeakness,
  });

  const routes: Record<string, Partial<Record<string, Route>>> = {
    ...accounts.exact,
    '/signup': { POST: signUp },
    '/token': { POST: token },
    '/user': { GET: getUser, ...accounts.exact['/user'] },
    '/logout': { POST: logout },
    '/.well-known/jwks.json': { GET: jwksRoute },
    '/health': { GET: health },
    '/settings': { GET: settings },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let path = req.url ?? '/';
    try {
      const url = new URL(req.url ?? '/', 'http://local-auth');
      path = url.pathname.replace(/^\/auth\/v1(?=\/|$)/, '').replace(/\/+$/, '') || '/';
      applyCors(req, res);
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
          'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? '*',
          'Access-Control-Max-Age': '86400',
        });
        res.end();
        return;
      }
      const adminUser = /^\/admin\/users\/([^/]+)$/.exec(path);
      if (adminUser) {
        const adminRoute = accounts.adminUser[req.method ?? 'GET'];
        if (!adminRoute) throw new AuthApiFailure(405, 'method_not_allowed', `${req.method} is not allowed on ${path}`);
        return await adminRoute({ req, res, url, client: clientInfo(req) }, decodeURIComponent(adminUser[1]!));
      }
      const methods = routes[path];
      const route = methods?.[req.method ?? 'GET'];
      if (!methods) throw new AuthApiFailure(404, 'not_found', `No route for ${path}`);
      if (!route) throw new AuthApiFailure(405, 'method_not_allowed', `${req.method} is not allowed on ${path}`);
      await route({ req, res, url, client: clientInfo(req) });
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
      } else if (error instanceof AuthApiFailure || error instanceof OAuthFailure) {
        writeFailure(req, res, error);
      } else {
        log.error('auth_unexpected_error', { path, error });
        writeFailure(req, res, new AuthApiFailure(500, 'unexpected_failure', 'Unexpected failure, please check server logs for more information'));
      }
    }
  }

  return {
    handler: (req, res) => void handle(req, res),
    jwks: keys.jwks,
    close: async () => {
      mailer?.close();
      await sql.end({ timeout: 5 });
    },
  };
}
