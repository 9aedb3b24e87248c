/**
 * Access-token verification with jose, shared by the edge functions and the devstack's
 * local Realtime. HS256 tokens are checked with the project's JWT secret; ES256/RS256
 * tokens with the project's JWKS (`SUPABASE_JWKS`, else
 * `${SUPABASE_URL}/auth/v1/.well-known/jwks.json`). `createJwtVerifier` passes only
 * signed-in users' tokens (`aud` and `role` must be `authenticated`); `createClaimsVerifier`
 * checks signature and expiry only, for services such as Realtime that also accept the
 * anon and service-role keys and leave authorization to RLS.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { JwtClaims } from '../db/rls.ts';
import { isUuid } from '../uuid.ts';

export interface JwtVerifierConfig {
  /** HS256 secret (TANDEM_JWT_SECRET). */
  jwtSecret?: string;
  /** The JWKS as JSON text or an object (SUPABASE_JWKS). */
  jwks?: string | JSONWebKeySet;
  /** Where to fetch the JWKS when `jwks` is not given. */
  jwksUrl?: string;
}

/** A verified user's identity and claims. */
export interface VerifiedToken {
  userId: string;
  email: string | undefined;
  claims: JwtClaims;
}

/** Machine-readable cause of an InvalidTokenError. */
export type InvalidTokenReason = 'malformed' | 'expired' | 'signature' | 'unknown_key' | 'algorithm' | 'claims';

/** Why a token was refused; its message is safe to show to the caller. */
export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
  constructor(
    message: string,
    /** The cause, for callers that word their own errors (Realtime's protocol texts). */
    readonly reason: InvalidTokenReason = 'claims',
  ) {
    super(message);
  }
}

/**
 * Reads the verifier's configuration through `get` (Deno.env.get or process.env lookup).
 *
 * @example
 * const config = jwtVerifierConfigFromEnv((name) => Deno.env.get(name));
 */
export function jwtVerifierConfigFromEnv(get: (name: string) => string | undefined): JwtVerifierConfig {
  const supabaseUrl = get('SUPABASE_URL');
  return {
    jwtSecret: get('TANDEM_JWT_SECRET') || undefined,
    jwks: get('SUPABASE_JWKS') || undefined,
    jwksUrl: supabaseUrl ? `${supabaseUrl.replace(/\/+$/, '')}/auth/v1/.well-known/jwks.json` : undefined,
  };
}

function parseJwks(jwks: string | JSONWebKeySet): JSONWebKeySet {
  const value: unknown = typeof jwks === 'string' ? JSON.parse(jwks) : jwks;
  if (Array.isArray(value)) return { keys: value };
  if (value && typeof value === 'object' && Array.isArray((value as JSONWebKeySet).keys)) return value as JSONWebKeySet;
  throw new Error('SUPABASE_JWKS must be a JSON Web Key Set ({"keys": [...]})');
}

/**
 * Builds a function that checks a token's signature (HS256 with the secret, ES256/RS256
 * with the JWKS), its `exp`/`nbf` and, when given, its audience, and returns its claims;
 * it throws InvalidTokenError (with a `reason`) otherwise. Roles are not checked.
 *
 * @example
 * const verifyClaims = createClaimsVerifier({ jwtSecret: process.env.TANDEM_JWT_SECRET });
 * const claims = await verifyClaims(anonKey); // { role: 'anon', exp: ..., ... }
 */
export function createClaimsVerifier(
  config: JwtVerifierConfig,
  options: { audience?: string; now?: () => number } = {},
): (token: string) => Promise<JWTPayload> {
  // The HMAC key is imported once, not once per token.
  const secret = config.jwtSecret
    ? crypto.subtle.importKey('raw', new TextEncoder().encode(config.jwtSecret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
    : undefined;
  let keySet: JWTVerifyGetKey | undefined;
  if (config.jwks) keySet = createLocalJWKSet(parseJwks(config.jwks));
  else if (config.jwksUrl) keySet = createRemoteJWKSet(new URL(config.jwksUrl), { cooldownDuration: 30_000 });
  const audience = options.audience;
  const now = options.now ?? Date.now;
  const verified = new VerifiedTokenCache(now);

  const verifySignature = async (token: string): Promise<JWTPayload> => {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new InvalidTokenError('the access token is malformed', 'malformed');
    }
    try {
      if (alg === 'HS256') {
        if (!secret) throw new InvalidTokenError('HS256 tokens are not accepted: no JWT secret is configured', 'algorithm');
        return (await jwtVerify(token, await secret, { algorithms: ['HS256'], audience, currentDate: new Date(now()) })).payload;
      }
      if (alg === 'ES256' || alg === 'RS256') {
        if (!keySet) throw new InvalidTokenError(`${alg} tokens are not accepted: no JWKS is configured`, 'algorithm');
        return (await jwtVerify(token, keySet, { algorithms: ['ES256', 'RS256'], audience, currentDate: new Date(now()) })).payload;
      }
      throw new InvalidTokenError(`tokens signed with "${alg ?? 'none'}" are not accepted`, 'algorithm');
    } catch (error) {
      if (error instanceof InvalidTokenError) throw error;
      throw describeJoseError(error);
    }
  };

  return async (token: string) => {
    const cached = verified.get(token);
    if (cached) return cached;
    const payload = await verifySignature(token);
    verified.set(token, payload);
    return payload;
  };
}

/**
 * Tokens whose signature and claims already passed, so that a client sending the same
 * token with every request pays for the signature check once (it was ~10 % of a
 * function's CPU under load). Keyed by the whole token, so only an identical token hits.
 * An entry is used only while the token is within its `nbf`..`exp` window and for at most
 * a minute (a JWKS key that was rotated away stops being honoured within that minute);
 * the oldest entries make room beyond 1,000 tokens.
 */
class VerifiedTokenCache {
  private static readonly MAX_ENTRIES = 1000;
  private static readonly MAX_AGE_MS = 60_000;
  private readonly entries = new Map<string, { payload: JWTPayload; until: number }>();

  constructor(private readonly now: () => number) {}

  get(token: string): JWTPayload | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    const now = this.now();
    const notBefore = typeof entry.payload.nbf === 'number' ? entry.payload.nbf * 1000 : 0;
    if (now >= entry.until || now < notBefore) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.payload;
  }

  set(token: string, payload: JWTPayload): void {
    const expires = typeof payload.exp === 'number' ? payload.exp * 1000 : Number.POSITIVE_INFINITY;
    this.entries.set(token, { payload, until: Math.min(expires, this.now() + VerifiedTokenCache.MAX_AGE_MS) });
    if (this.entries.size > VerifiedTokenCache.MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }
}

/**
 * Builds a function that verifies a bearer token and returns the user it names, or
 * throws InvalidTokenError (expired, not yet valid, wrong audience, `alg: none`, forged,
 * unknown key, anon or service-role token). `now` is the clock (tests).
 *
 * @example
 * const verify = createJwtVerifier({ jwtSecret: 'super-secret-jwt-token-with-at-least-32-characters-long' });
 * const { userId, claims } = await verify(token);
 */
export function createJwtVerifier(config: JwtVerifierConfig, options: { now?: () => number } = {}): (token: string) => Promise<VerifiedToken> {
  const verifyClaims = createClaimsVerifier(config, { audience: 'authenticated', now: options.now });
  return async (token: string) => {
    const payload = await verifyClaims(token);
    if (payload.role !== 'authenticated') throw new InvalidTokenError('the token is not a signed-in user\'s (role must be "authenticated")');
    if (!isUuid(payload.sub)) throw new InvalidTokenError('the token has no user id (sub)');
    if (typeof payload.exp !== 'number') throw new InvalidTokenError('the token has no expiry (exp)');
    const claims = payload as JwtClaims;
    return { userId: payload.sub, email: typeof payload.email === 'string' ? payload.email : undefined, claims };
  };
}

function describeJoseError(error: unknown): InvalidTokenError {
  const code = (error as { code?: string }).code;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return new InvalidTokenError('the access token has expired', 'expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return new InvalidTokenError(
        `the access token is not valid here (${(error as { claim?: string }).claim ?? 'claim'} check failed)`,
        'claims',
      );
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new InvalidTokenError('the access token signature is invalid', 'signature');
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return new InvalidTokenError('the access token was signed with an unknown key', 'unknown_key');
    default:
      return new InvalidTokenError('the access token is invalid', 'malformed');
  }
}

/**
 * The token of an `Authorization: Bearer <token>` header, or undefined.
 *
 * @example
 * bearerToken('Bearer abc.def.ghi') // 'abc.def.ghi'
 */
export function bearerToken(header: string | null | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
