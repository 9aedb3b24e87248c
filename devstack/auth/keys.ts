/**
 * Local Auth's signing keys: HS256 with the project's JWT secret (the Supabase CLI's
 * default), or ES256/RS256 with a private JWK whose public half the JWKS endpoint
 * publishes, as Supabase's asymmetric signing keys are. Tokens are verified with the
 * shared verifier, which (like GoTrue) still accepts HS256 tokens signed with the secret.
 */
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeProtectedHeader,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
} from 'jose';
import { createJwtVerifier, InvalidTokenError, type VerifiedToken } from '../../core/auth/jwt.ts';

function anyVerifier(secret: Uint8Array, jwks: JSONWebKeySet): (token: string) => Promise<JWTPayload> {
  const keySet = jwks.keys.length > 0 ? createLocalJWKSet(jwks) : undefined;
  return async (token) => {
    try {
      const alg = decodeProtectedHeader(token).alg;
      if (alg === 'HS256') return (await jwtVerify(token, secret, { algorithms: ['HS256'] })).payload;
      if (!keySet) throw new Error(`signing method ${String(alg)} is invalid`);
      return (await jwtVerify(token, keySet, { algorithms: ['ES256', 'RS256'] })).payload;
    } catch (error) {
      throw new InvalidTokenError((error as Error).message);
    }
  };
}

/**
 * The signing key every `supabase start` uses unless `[auth] signing_keys_path` names
 * another: the CLI's built-in default (supabase/cli apps/cli-go/pkg/config/config.go,
 * `Auth.SigningKeys`), passed to GoTrue as `GOTRUE_JWT_KEYS`. It is public, so tokens
 * signed with it prove nothing outside a development machine.
 */
export const CLI_DEFAULT_SIGNING_JWK: JWK = {
  kty: 'EC',
  kid: 'b81269f1-21d8-4f2e-b719-c2240a840d90',
  use: 'sig',
  key_ops: ['sign', 'verify'],
  alg: 'ES256',
  ext: true,
  crv: 'P-256',
  x: 'M5Sjqn5zwC9Kl1zVfUUGvv9boQjCGd45G8sdopBExB4',
  y: 'P6IXMvA2WYXSHSOMTBH2jsw_9rrzGy89FjPf6oOsIxQ',
  d: 'dIhR8wywJlqlua4y_yMq2SLhlFXDZJBCvFrY1DCHyVU',
};

/** `exp` of the demo API keys `supabase start` prints (supabase/cli pkg/config/apikeys.go, defaultJwtExpiry). */
const CLI_DEMO_KEY_EXPIRY = 1983812996;

/**
 * The anon or service_role key `supabase start` prints for a project without
 * `signing_keys_path`: HS256 with the JWT secret, claims `{iss: "supabase-demo", role,
 * exp: 1983812996}` in that order (supabase/cli pkg/config/apikeys.go). With the CLI's
 * default secret these are the well-known demo keys, the same on every start.
 *
 * @example
 * const anonKey = await cliApiKey('super-secret-jwt-token-with-at-least-32-characters-long', 'anon');
 */
export function cliApiKey(jwtSecret: string, role: 'anon' | 'service_role'): Promise<string> {
  return new SignJWT({ iss: 'supabase-demo', role, exp: CLI_DEMO_KEY_EXPIRY })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(jwtSecret));
}

export interface SigningKeys {
  /** `RS256`/`ES256` when a private JWK is configured, else `HS256`. */
  readonly algorithm: 'HS256' | 'ES256' | 'RS256';
  /** The public keys to publish at `/.well-known/jwks.json` (empty for HS256). */
  readonly jwks: JSONWebKeySet;
  /** Signs claims into a compact JWT (with a `kid` for asymmetric keys). */
  sign(claims: JWTPayload): Promise<string>;
  /** Verifies an access token; throws InvalidTokenError. */
  verify(token: string): Promise<VerifiedToken>;
  /**
   * Verifies any token signed by this project — an API key (anon, service_role: no `sub`,
   * no `aud`) as well as an access token — checking only signature and expiry, as GoTrue's
   * parseJWTClaims does before requireAdmin reads the role. Throws InvalidTokenError.
   */
  verifyAny(token: string): Promise<JWTPayload>;
}

/** A configuration problem; its message is one line, fit for a startup error. */
export class AuthConfigError extends Error {
  override readonly name = 'AuthConfigError';
}

function parseJwk(value: string | JWK): JWK {
  if (typeof value !== 'string') return value;
  try {
    const parsed: unknown = JSON.parse(value);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as JWK;
  } catch {
    // fall through to the error below
  }
  throw new AuthConfigError('the signing JWK (TANDEM_AUTH_SIGNING_JWK) is not a JSON object');
}

function publicPart(jwk: JWK): JWK {
  if (jwk.kty === 'EC') return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
  return { kty: jwk.kty, n: jwk.n, e: jwk.e };
}

/**
 * Loads the signing keys. `jwtSecret` must have at least 32 characters. Tokens are signed
 * with `signingJwk` (a private EC P-256 or RSA JWK, as JSON text or an object), by default
 * the CLI's ES256 key as `supabase start` does; `'hs256'` signs with the secret instead,
 * as legacy projects do. HS256 tokens are accepted either way, as GoTrue accepts them.
 *
 * @example
 * const keys = await loadSigningKeys({ jwtSecret: 'super-secret-jwt-token-with-at-least-32-characters-long' });
 * const token = await keys.sign({ sub: userId, role: 'authenticated', aud: 'authenticated' });
 */
export async function loadSigningKeys(options: { jwtSecret: string; signingJwk?: string | JWK | 'hs256' }): Promise<SigningKeys> {
  if (options.jwtSecret.length < 32) throw new AuthConfigError('the JWT secret (TANDEM_JWT_SECRET) must have at least 32 characters');
  const secret = new TextEncoder().encode(options.jwtSecret);

  if (options.signingJwk === 'hs256') {
    const verify = createJwtVerifier({ jwtSecret: options.jwtSecret });
    return {
      algorithm: 'HS256',
      jwks: { keys: [] },
      sign: (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(secret),
      verify,
      verifyAny: anyVerifier(secret, { keys: [] }),
    };
  }

  const jwk = parseJwk(options.signingJwk ?? CLI_DEFAULT_SIGNING_JWK);
  const algorithm = jwk.kty === 'EC' && jwk.crv === 'P-256' ? 'ES256' : jwk.kty === 'RSA' ? 'RS256' : undefined;
  if (!algorithm) throw new AuthConfigError('the signing JWK must be an EC P-256 (ES256) or RSA (RS256) key');
  if (typeof jwk.d !== 'string') throw new AuthConfigError('the signing JWK must be a private key (it has no "d")');
  if (jwk.alg && jwk.alg !== algorithm) throw new AuthConfigError(`the signing JWK says alg "${jwk.alg}" but is a ${algorithm} key`);
  let privateKey: CryptoKey;
  try {
    privateKey = (await importJWK({ ...jwk, key_ops: undefined, ext: undefined }, algorithm)) as CryptoKey;
  } catch (error) {
    throw new AuthConfigError(`the signing JWK cannot be imported: ${(error as Error).message}`);
  }
  const publicJwk = publicPart(jwk);
  const kid = jwk.kid ?? (await calculateJwkThumbprint(publicJwk));
  const published: JWK = { ...publicJwk, kid, alg: algorithm, use: 'sig', key_ops: ['verify'], ext: true };
  const jwks = { keys: [published] };
  return {
    algorithm,
    jwks,
    sign: (claims) => new SignJWT(claims).setProtectedHeader({ alg: algorithm, kid, typ: 'JWT' }).sign(privateKey),
    verify: createJwtVerifier({ jwtSecret: options.jwtSecret, jwks }),
    verifyAny: anyVerifier(secret, jwks),
  };
}
