/**
 * The access-token verifier remembers tokens that passed, but never past their `exp`, never
 * before their `nbf`, never for more than a minute, and only for the identical token; the
 * user-existence check beside it (user-exists.ts) bounds how long a deleted user's reads pass.
 */
import { SignJWT } from 'jose';
import { createUserExistence } from '../../edge-functions/_shared/auth/user-exists.ts';
import { describe, expect, it } from 'vitest';
import { createClaimsVerifier, createJwtVerifier, InvalidTokenError } from '../../core/auth/jwt.ts';

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

  it("refuses a remembered token once its exp has passed, well within the cache's minute", async () => {
    // Only the cache's own exp check can refuse here: 25 s is far below the one-minute
    // re-verification, so a cache that ignored exp would keep serving the token.
    let clock = Date.UTC(2026, 10, 25, 12, 0, 0);
    const verify = createJwtVerifier({ jwtSecret: SECRET }, { now: () => clock });
    const seconds = clock / 1000;
    const userId = '6f1c1f5e-3a2b-4c1d-9e8f-0a1b2c3d4e5f';
    const token = await sign({ sub: userId, role: 'authenticated', aud: 'authenticated', iat: seconds, exp: seconds + 20 });

    expect((await verify(token)).userId).toBe(userId);
    clock += 19_000;
    expect((await verify(token)).userId).toBe(userId);
    clock += 6_000; // 25 s after the first check, 5 s past exp
    await expect(verify(token)).rejects.toMatchObject({ name: 'InvalidTokenError', reason: 'expired', message: 'the access token has expired' });
  });

  it('serves only the identical token: another signature over the same claims is checked', async () => {
    const verify = createClaimsVerifier({ jwtSecret: SECRET });
    const claims = { sub: 'w', exp: Math.floor(Date.now() / 1000) + 600 };
    expect((await verify(await sign(claims))).sub).toBe('w');
    await expect(verify(await sign(claims, 'another-secret-that-is-also-32-characters-long'))).rejects.toMatchObject({ reason: 'signature' });
  });
});

describe('user existence check', () => {
  it('reuses "exists" for reads up to its TTL, asks afresh for writes, keeps "gone", and shares a lookup', async () => {
    let clock = 0;
    const users = new Set(['a']);
    let lookups = 0;
    let release: () => void = () => undefined;
    let gate: Promise<void> | undefined;
    const userExists = createUserExistence({
      lookup: async (id) => {
        lookups++;
        await gate;
        return users.has(id);
      },
      now: () => clock,
    });
    expect(await userExists('a')).toBe(true);
    users.delete('a'); // deleted after the answer was remembered
    clock += 999;
    expect(await userExists('a')).toBe(true); // a read within the TTL
    expect(await userExists('a', { fresh: true })).toBe(false); // a write always asks
    expect(await userExists('a')).toBe(false); // and "gone" is remembered at once
    expect(lookups).toBe(2);
    clock += 30_000;
    expect(await userExists('a')).toBe(false);
    expect(lookups).toBe(2);

    users.add('b');
    gate = new Promise((resolve) => (release = resolve));
    const waiting = [userExists('b'), userExists('b'), userExists('b')];
    release();
    expect(await Promise.all(waiting)).toEqual([true, true, true]);
    expect(lookups).toBe(3);
    clock += 1000; // the TTL passed: the next read asks again
    expect(await userExists('b')).toBe(true);
    expect(lookups).toBe(4);
  });
});
