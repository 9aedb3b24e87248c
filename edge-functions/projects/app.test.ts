/**
 * The `projects` app as a whole, in-process: the middleware run in the contract's order
 * before any route (docs/functions.md). Routes that touch Postgres are tested over HTTP in
 * tests/functions/.
 */
import { assert, assertEquals, assertObjectMatch } from '../_shared/testing/assert.ts';
import { testDeps } from '../_shared/testing/deps.ts';
import { createProjectsApp } from './app.ts';

const app = () => createProjectsApp(testDeps('projects'));

Deno.test('a protected route without a token: 401, with an X-Request-Id and a log line', async () => {
  const deps = testDeps('projects');
  const response = await createProjectsApp(deps).request('/projects', { headers: { 'x-request-id': 'app-1' } });
  assertEquals(response.status, 401);
  assertEquals(response.headers.get('x-request-id'), 'app-1');
  assertObjectMatch(deps.lines.find((line) => line.msg === 'request')!, { request_id: 'app-1', status: 401, method: 'GET' });
});

Deno.test('404 and 405 come before authentication', async () => {
  assertEquals((await app().request(`/projects/${crypto.randomUUID()}/nothing`)).status, 404);
  const health = await app().request('/projects/health', { method: 'PATCH' });
  assertEquals(health.status, 405);
  assertEquals(health.headers.get('allow'), 'GET, HEAD, OPTIONS');
});

Deno.test('the OpenAPI document is public and names every route', async () => {
  const response = await app().request('/projects/openapi.json');
  assertEquals(response.status, 200);
  const document = await response.json();
  assertEquals(document.openapi, '3.1.0');
  for (const path of ['/projects', '/projects/{id}', '/projects/{id}/members', '/projects/{id}/invitations', '/projects/invitations/mine']) {
    assert(path in document.paths, path);
  }
});

Deno.test('a CORS preflight passes without a token', async () => {
  const response = await app().request('/projects', {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
  });
  assertEquals(response.status, 204);
  assertEquals(response.headers.get('access-control-allow-origin'), '*');
});
