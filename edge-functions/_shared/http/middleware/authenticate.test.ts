import { Hono } from 'hono';
import { assert, assertEquals, assertObjectMatch } from '../../testing/assert.ts';
import { testDeps, testToken } from '../../testing/deps.ts';
import { renderError } from '../error-handler.ts';
import type { FunctionEnv } from '../env.ts';
import { authenticate, isPublic } from './authenticate.ts';
import { accessLog } from './access-log.ts';
import { requestId } from './request-id.ts';

const USER = '6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f';

function app(userExists: (userId: string, check?: { fresh?: boolean }) => Promise<boolean> = () => Promise.resolve(true)) {
  const deps = testDeps('projects', {}, { userExists });
  const app = new Hono<FunctionEnv>().basePath('/projects');
  app.use('*', requestId(), accessLog(deps.log), authenticate(deps));
  app.onError(renderError(deps.log));
  app.get('/health', (c) => c.text('public'));
  app.options('/', (c) => c.body(null, 204));
  app.all('/', (c) => c.text(c.get('user').userId));
  return { app, deps };
}

const bearer = async (userId = USER) => ({ authorization: `Bearer ${await testToken(userId)}` });

Deno.test('public routes and CORS preflights need no token', async () => {
  assertEquals(await (await app().app.request('/projects/health')).text(), 'public');
  assertEquals((await app().app.request('/projects', { method: 'OPTIONS' })).status, 204);
  assert(isPublic('/docs/assets/swagger-ui-dist/swagger-ui.css'));
  assert(!isPublic('/documents'));
});

Deno.test('no token: 401 with a Bearer challenge', async () => {
  const response = await app().app.request('/projects');
  assertEquals(response.status, 401);
  assertEquals(response.headers.get('www-authenticate'), 'Bearer realm="tandem"');
  assertObjectMatch(await response.json(), { error: { code: 'unauthorized', message: 'an access token is required (Authorization: Bearer <token>)' } });
});

Deno.test('a token signed with another secret: 401 invalid_token', async () => {
  const token = await testToken(USER, 'another-secret-that-is-also-long-enough-for-hs256');
  const response = await app().app.request('/projects', { headers: { authorization: `Bearer ${token}` } });
  assertEquals(response.status, 401);
  assertEquals(response.headers.get('www-authenticate'), 'Bearer realm="tandem", error="invalid_token"');
});

Deno.test("a valid token's user is c.get('user'); writes ask afresh whether the user exists", async () => {
  const checks: { userId: string; fresh?: boolean }[] = [];
  const { app: api } = app((userId, check) => {
    checks.push({ userId, fresh: check?.fresh });
    return Promise.resolve(true);
  });
  assertEquals(await (await api.request('/projects', { headers: await bearer() })).text(), USER);
  assertEquals(await (await api.request('/projects', { method: 'POST', headers: await bearer() })).text(), USER);
  assertEquals(checks, [
    { userId: USER, fresh: false },
    { userId: USER, fresh: true },
  ]);
});

Deno.test("a deleted user's token: 401 user no longer exists", async () => {
  const response = await app(() => Promise.resolve(false)).app.request('/projects', { headers: await bearer() });
  assertEquals(response.status, 401);
  assertObjectMatch(await response.json(), { error: { code: 'unauthorized', message: 'user no longer exists' } });
});

Deno.test('with Postgres unreachable the user check steps aside, with a warning', async () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  const { app: api, deps } = app(() => Promise.reject(refused));
  assertEquals(await (await api.request('/projects', { headers: await bearer() })).text(), USER);
  assert(deps.lines.some((line) => line.msg === 'user_check_skipped'));
});
