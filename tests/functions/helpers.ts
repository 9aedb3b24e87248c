/**
 * Helpers for the edge-function suites: the real functions served by Deno over HTTP
 * (devstack/functions/serve.ts) against the run's Postgres and a Redis of the file's
 * choosing, HS256 access tokens signed with jose, and a small HTTP client.
 */
import { SignJWT } from 'jose';
import { expect, inject } from 'vitest';
import { withUser } from '../../devstack/db/setup.ts';
import { startFunctions, type FunctionName, type RunningFunctions } from '../../devstack/functions/serve.ts';
import type { JwtClaims } from '../../core/db/rls.ts';
import { claimsFor, type TestUser } from '../harness/db.ts';
import { functionEnv } from '../harness/function-env.ts';
import { uniquePrefix } from '../harness/redis.ts';

export const JWT_SECRET = 'tandem-functions-test-secret-that-is-long-enough';

export interface TestFunctions extends RunningFunctions {
  /** Every line the functions printed so far (JSON logs). */
  lines: string[];
  /** Their TANDEM_REDIS_PREFIX: each test's functions have their own keys. */
  redisPrefix: string;
}

/**
 * The functions on a free port, as the `postgres` role (the non-superuser functions use
 * on Supabase), with `application_name` set so a test can find their connections, and a
 * Redis key prefix of their own (unless `env` sets TANDEM_REDIS_PREFIX).
 *
 * @example
 * const fns = await startTestFunctions({ redisUrl: runRedisUrl(5), applicationName: 'fn-projects' });
 */
export async function startTestFunctions(options: {
  redisUrl: string;
  applicationName: string;
  env?: Record<string, string>;
  functions?: FunctionName[];
}): Promise<TestFunctions> {
  const databaseUrl = new URL(withUser(inject('databaseUrl'), 'postgres'));
  databaseUrl.searchParams.set('application_name', options.applicationName);
  const lines: string[] = [];
  const redisPrefix = options.env?.TANDEM_REDIS_PREFIX ?? uniquePrefix(options.applicationName);
  const running = await startFunctions({
    port: 0,
    functions: options.functions,
    env: { ...functionEnv({ databaseUrl: databaseUrl.toString(), redisUrl: options.redisUrl, jwtSecret: JWT_SECRET, redisPrefix }), ...options.env },
    onLine: (_name, line) => {
      lines.push(line);
    },
  });
  return { ...running, lines, redisPrefix };
}

/**
 * An HS256 access token like Supabase Auth's for a user (or raw claims), valid for an hour.
 *
 * @example
 * const token = await tokenFor(alice);
 */
export async function tokenFor(
  user: TestUser | JwtClaims,
  options: { secret?: string; expiresIn?: string | number; notBefore?: string | number; header?: Record<string, unknown> } = {},
): Promise<string> {
  const claims: JwtClaims = 'claims' in user ? (user as TestUser).claims : (user as JwtClaims);
  const jwt = new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...options.header }).setIssuedAt();
  if (options.expiresIn !== undefined) jwt.setExpirationTime(options.expiresIn);
  else jwt.setExpirationTime('1h');
  if (options.notBefore !== undefined) jwt.setNotBefore(options.notBefore);
  return jwt.sign(new TextEncoder().encode(options.secret ?? JWT_SECRET));
}

export { claimsFor };

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body (undefined when the body is not JSON). */
  body: T;
}

/**
 * Calls a function. `body` is sent as JSON; `rawBody` is sent as is.
 *
 * @example
 * const res = await call(fns, 'POST', '/projects', { token, body: { name: 'x' } });
 */
export async function call<T = any>(
  fns: { url: string },
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: BodyInit; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: BodyInit | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${fns.url}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, body: parsed as T };
}

/**
 * Asserts the contract's error shape with this status and code.
 *
 * @example
 * expectError(res, 404, 'not_found');
 */
export function expectError(res: ApiResponse, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.error?.code }, res.text).toEqual({ status, code });
  expect(typeof res.body.error.message).toBe('string');
  expect(res.headers.get('x-request-id')).toBeTruthy();
}
