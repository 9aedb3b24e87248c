/**
 * The access-token verifier remembers tokens that passed, but never past their `exp`, never
 * before their `nbf`, never for more than a minute, and only for the identical token.
 */
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createClaimsVerifier, InvalidTokenError } from '../../edge-functions/_shared/auth/jwt.ts';

const SECRET = 'jwt-cache-test-secret-at-least-32-characters';

async function sign(claims: Record<string, unknown>, secret = SECRET): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

describe('verified-token cache', () => {
  it('honours exp and nbf for a remembered token, and re-verifies after a minute', async () => {
    let clock = Date.UTC(2026, 10, 25, 12, 0, 0);
    const verify = createClaimsVerifier({ jwtSecret: SECRET }, { now: () => clock });
    const seconds = clock / 1000;
    const token = await sign({ sub: 'u', nbf: seconds, exp: seconds + 120 });

    expect((await verify(token)).sub).toBe('u');
    clock += 30_000;
    expect((await verify(token)).sub).toBe('u');
    clock += 120_000; // past exp: refused although it was remembered
    await expect(verify(token)).rejects.toMatchObject({ reason: 'expired' });

    const early = await sign({ sub: 'v', nbf: seconds + 10, exp: seconds + 600 });
    clock = (seconds + 10) * 1000;
    expect((await verify(early)).sub).toBe('v');
    clock = (seconds + 5) * 1000; // a clock that stepped back before nbf
    await expect(verify(early)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('serves only the identical token: another signature over the same claims is checked', async () => {
    const verify = createClaimsVerifier({ jwtSecret: SECRET });
    const claims = { sub: 'w', exp: Math.floor(Date.now() / 1000) + 600 };
    expect((await verify(await sign(claims))).sub).toBe('w');
    await expect(verify(await sign(claims, 'another-secret-that-is-also-32-characters-long'))).rejects.toMatchObject({ reason: 'signature' });
  });
});
