/**
 * Token checks as Supabase Realtime makes them: any correctly signed, unexpired JWT with
 * `role` and `exp` passes (anon and service-role keys included; RLS decides what they may
 * read). Failures carry upstream's error codes and texts, which clients see in join replies,
 * system messages and handshake refusals.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createClaimsVerifier, InvalidTokenError, type JwtVerifierConfig } from '../../core/auth/jwt.ts';

export type Claims = Record<string, unknown> & { role: string; exp: number; sub?: string };

/** A refused token: `code` and `message` as upstream words them. */
export class RealtimeTokenError extends Error {
  override readonly name = 'RealtimeTokenError';
  constructor(
    /** Upstream's log code, the prefix of join-reply reasons (e.g. `InvalidJWTToken`). */
    readonly code: string,
    message: string,
    /** The shorter text upstream uses when refusing the WebSocket handshake. */
    readonly handshakeMessage: string,
  ) {
    super(message);
  }
  /** `<code>: <message>`, the join reply's reason. */
  get reason(): string {
    return `${this.code}: ${this.message}`;
  }
}

/**
 * Builds the token check used at connect, join, `access_token` and expiry time.
 *
 * @example
 * const verify = createRealtimeTokenVerifier({ jwtSecret });
 * const claims = await verify(accessToken); // throws RealtimeTokenError
 */
export function createRealtimeTokenVerifier(config: JwtVerifierConfig): (token: string) => Promise<Claims> {
  const verifyClaims = createClaimsVerifier(config);
  return async (rawToken: string) => {
    const token = rawToken.replace(/\s/g, '');
    let claims: Record<string, unknown>;
    try {
      claims = await verifyClaims(token);
    } catch (error) {
      throw translate(error, token);
    }
    if (typeof claims.role !== 'string' || typeof claims.exp !== 'number') {
      const message = 'Fields `role` and `exp` are required in JWT';
      throw new RealtimeTokenError('InvalidJWTToken', message, message);
    }
    return { ...claims, exp: Math.round(claims.exp) } as Claims;
  };
}

function translate(error: unknown, token: string): RealtimeTokenError {
  const reason = error instanceof InvalidTokenError ? error.reason : 'malformed';
  switch (reason) {
    case 'expired': {
      const exp = Number(decodeJwt(token).exp);
      const ago = Math.max(0, Math.floor(Date.now() / 1000) - exp);
      return new RealtimeTokenError('InvalidJWTToken', `Token has expired ${ago} seconds ago`, 'Token has expired');
    }
    case 'signature':
      return new RealtimeTokenError('JwtSignatureError', 'Failed to validate JWT signature', 'Failed to validate JWT signature');
    case 'unknown_key': {
      const kid = safeKid(token);
      const message = `Failed to generate JWT signer for key ID (kid) ${JSON.stringify(kid)}, check your JWT secret or JWKS configuration`;
      return new RealtimeTokenError('JwtSignerError', message, message);
    }
    case 'algorithm': {
      const message = 'Failed to generate JWT signer, check your JWT secret or JWKS configuration';
      return new RealtimeTokenError('JwtSignerError', message, message);
    }
    case 'claims':
      return new RealtimeTokenError('UnknownErrorOnChannel', (error as Error).message, 'Error connecting to Realtime');
    default:
      return new RealtimeTokenError('MalformedJWT', 'The token provided is not a valid JWT', 'The token provided is not a valid JWT');
  }
}

function safeKid(token: string): string | undefined {
  try {
    return decodeProtectedHeader(token).kid;
  } catch {
    return undefined;
  }
}
