import { Hono } from 'hono';
import { assertEquals, assertObjectMatch } from '../../testing/assert.ts';
import { createLogger } from '../../../../core/log.ts';
import { renderError } from '../error-handler.ts';
import type { FunctionEnv } from '../env.ts';
import { routeGuard } from './route-guard.ts';

function app() {
  const app = new Hono<FunctionEnv>().basePath('/projects');
  app.use('*', routeGuard(app));
  app.onError(renderError(createLogger({ service: 'test' }, { write: () => undefined })));
  app.get('/health', (c) => c.text('ok'));
  app.get('/:id', (c) => c.text(c.req.param('id')));
  app.patch('/:id', (c) => c.text('patched'));
  return app;
}

Deno.test('an unknown path is 404 not_found', async () => {
  const response = await app().request('/projects/a/b/c');
  assertEquals(response.status, 404);
  assertObjectMatch(await response.json(), { error: { code: 'not_found', message: 'no route for GET /projects/a/b/c' } });
});

Deno.test('another method on a known path is 405 with Allow (GET brings HEAD, every path OPTIONS)', async () => {
  const response = await app().request('/projects/x', { method: 'PUT' });
  assertEquals(response.status, 405);
  assertEquals(response.headers.get('allow'), 'GET, HEAD, PATCH, OPTIONS');
  assertObjectMatch(await response.json(), { error: { code: 'method_not_allowed' } });
});

Deno.test('a literal path alone decides: PATCH /health is 405, not the /:id route', async () => {
  const response = await app().request('/projects/health', { method: 'PATCH' });
  assertEquals(response.status, 405);
  assertEquals(response.headers.get('allow'), 'GET, HEAD, OPTIONS');
  assertEquals(await (await app().request('/projects/health')).text(), 'ok');
  assertEquals(await (await app().request('/projects/p1', { method: 'PATCH' })).text(), 'patched');
});
