import { Hono } from 'hono';
import { assert, assertEquals, assertObjectMatch } from '../../testing/assert.ts';
import { testDeps, testToken } from '../../testing/deps.ts';
import { renderError } from '../error-handler.ts';
import type { FunctionEnv } from '../env.ts';
import type { FunctionDeps } from '../../runtime.ts';
import { accessLog } from './access-log.ts';
import { authenticate } from './authenticate.ts';
import { rateLimit } from './rate-limit.ts';
import { requestId } from './request-id.ts';

/** An app with authentication and the rate limit, on the Redis at REDIS_URL (or `env`'s). */
function app(env: Record<string, string>) {
  const deps = testDeps('jobs', { TANDEM_RATE_LIMIT_USER_WRITES: '2', TANDEM_RATE_LIMIT_USER_READS: '1', TANDEM_RATE_LIMIT_IP: '0', ...env });
  const api = new Hono<FunctionEnv>().basePath('/jobs');
  api.use('*', requestId(), accessLog(deps.log), authenticate(deps));
  api.use('*', rateLimit({ name: deps.name, redis: deps.redis, keys: deps.config.redisKeys, repeats: deps.repeats, limits: deps.config.rateLimit, listingRoutes: ['/'] }));
  api.onError(renderError(deps.log));
  api.on(['GET', 'POST'], ['/', '/:id'], (c) => c.text('ok'));
  return { api, deps };
}

async function withApp(env: Record<string, string>, run: (api: Hono<FunctionEnv>, deps: FunctionDeps & { lines: Record<string, unknown>[] }) => Promise<void>) {
  const { api, deps } = app(env);
  try {
    await run(api, deps);
  } finally {
    await deps.redis.quit();
  }
}

Deno.test('REDIS_URL is given (tests/functions/unit.test.ts passes its Redis)', () => {
  assert(Deno.env.get('REDIS_URL'), 'these tests use a real Redis');
});

Deno.test("a user's third write in the window is 429 with Retry-After", async () => {
  await withApp({}, async (api) => {
    const headers = { authorization: `Bearer ${await testToken(crypto.randomUUID())}` };
    assertEquals((await api.request('/jobs', { method: 'POST', headers })).status, 200);
    assertEquals((await api.request('/jobs', { method: 'POST', headers })).status, 200);
    const refused = await api.request('/jobs', { method: 'POST', headers });
    assertEquals(refused.status, 429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assertObjectMatch(await refused.json(), { error: { code: 'rate_limited', details: { limit: 'user-writes', retry_after_seconds: retryAfter } } });
  });
});

Deno.test('listings count as reads; other GETs are not limited', async () => {
  await withApp({}, async (api) => {
    const headers = { authorization: `Bearer ${await testToken(crypto.randomUUID())}` };
    for (let i = 0; i < 3; i++) assertEquals((await api.request(`/jobs/${crypto.randomUUID()}`, { headers })).status, 200);
    assertEquals((await api.request('/jobs', { headers })).status, 200);
    assertEquals((await api.request('/jobs', { headers })).status, 429);
  });
});

Deno.test('with Redis unreachable the limit is not enforced, with a warning', async () => {
  await withApp({ REDIS_URL: 'redis://127.0.0.1:1' }, async (api, deps) => {
    const headers = { authorization: `Bearer ${await testToken(crypto.randomUUID())}` };
    for (let i = 0; i < 3; i++) assertEquals((await api.request('/jobs', { method: 'POST', headers })).status, 200);
    assert(deps.lines.some((line) => line.msg === 'rate_limit_skipped'));
  });
});
