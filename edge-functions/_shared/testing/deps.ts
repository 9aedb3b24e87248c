/**
 * A function's dependencies for unit tests that call an app in-process (`app.request()`):
 * the real configuration, token verifier and Redis client, a logger whose lines the test
 * reads, no warm-up, and no Postgres unless the test provides one.
 */
import { SignJWT } from 'jose';
import { createJwtVerifier } from '../../../core/auth/jwt.ts';
import { createRepeatedLog } from '../../../core/log-repeats.ts';
import { createLogger } from '../../../core/log.ts';
import { configFromEnv } from '../config.ts';
import { createRedis } from '../redis.ts';
import type { FunctionDeps } from '../runtime.ts';

/** The HS256 secret the test tokens are signed with. */
export const TEST_JWT_SECRET = 'tandem-deno-unit-test-secret-that-is-long-enough';

export interface TestDeps extends FunctionDeps {
  /** The JSON log lines written so far, parsed. */
  lines: Record<string, unknown>[];
}

/**
 * Dependencies for `name`, configured from `env` (over a JWT secret and Redis at
 * `REDIS_URL`, which tests/functions/unit.test.ts passes in) and then `overrides`. Close
 * the Redis client with `deps.redis.quit()` when the test used it.
 *
 * @example
 * const deps = testDeps('jobs', { TANDEM_DIAGNOSTIC_JOBS: 'on' });
 * const response = await createJobsApp(deps).request('/jobs/openapi.json');
 */
export function testDeps(name: string, env: Record<string, string> = {}, overrides: Partial<FunctionDeps> = {}): TestDeps {
  const values: Record<string, string | undefined> = { TANDEM_JWT_SECRET: TEST_JWT_SECRET, REDIS_URL: Deno.env.get('REDIS_URL'), ...env };
  const config = configFromEnv((key) => values[key]);
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ service: 'test' }, { level: 'debug', write: (line) => lines.push(JSON.parse(line)) });
  return {
    name,
    title: `Tandem ${name}`,
    description: `The ${name} function under test`,
    config,
    db: () => Promise.reject(new Error('this test has no database')),
    redis: createRedis(config.redis),
    verify: createJwtVerifier(config.jwt),
    userExists: () => Promise.resolve(true),
    log,
    repeats: createRepeatedLog(log),
    warmUp: () => undefined,
    lines,
    ...overrides,
  };
}

/**
 * An HS256 access token for a user id, signed with TEST_JWT_SECRET and valid for an hour.
 *
 * @example
 * const response = await app.request('/projects', { headers: { authorization: `Bearer ${await testToken(id)}` } });
 */
export function testToken(userId: string, secret = TEST_JWT_SECRET): Promise<string> {
  return new SignJWT({ sub: userId, role: 'authenticated', aud: 'authenticated' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
}
