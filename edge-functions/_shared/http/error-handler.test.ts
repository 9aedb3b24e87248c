import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { assert, assertEquals, assertObjectMatch } from '../testing/assert.ts';
import { createLogger } from '../../../core/log.ts';
import { notFound, renderError } from './error-handler.ts';
import type { FunctionEnv } from './env.ts';
import { ApiError } from './errors.ts';

function app() {
  const lines: Record<string, unknown>[] = [];
  const app = new Hono<FunctionEnv>().basePath('/projects');
  app.onError(renderError(createLogger({ service: 'test' }, { write: (line) => lines.push(JSON.parse(line)) })));
  app.notFound(notFound);
  app.get('/api-error', () => {
    throw new ApiError('rate_limited', 'slow down', { limit: 'ip' }, { 'Retry-After': '3' });
  });
  app.get('/http-exception', () => {
    throw new HTTPException(415, { message: 'Unsupported Media Type' });
  });
  app.get('/database-down', () => {
    throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  });
  app.get('/unique', () => {
    throw Object.assign(new Error('duplicate key value violates unique constraint "x"'), { code: '23505' });
  });
  app.get('/bug', () => {
    throw new TypeError("Cannot read properties of undefined (reading 'id')");
  });
  return { app, lines };
}

Deno.test('an ApiError is its body, status and headers', async () => {
  const response = await app().app.request('/projects/api-error');
  assertEquals(response.status, 429);
  assertEquals(response.headers.get('retry-after'), '3');
  assertEquals(await response.json(), { error: { code: 'rate_limited', message: 'slow down', details: { limit: 'ip' } } });
});

Deno.test("Hono's HTTPException gets the contract's code for its status", async () => {
  const response = await app().app.request('/projects/http-exception');
  assertEquals(response.status, 415);
  assertEquals(await response.json(), { error: { code: 'unsupported_media_type', message: 'Unsupported Media Type' } });
});

Deno.test('database errors: unavailable is 503 (and a warning), a unique violation 409', async () => {
  const { app: api, lines } = app();
  const down = await api.request('/projects/database-down');
  assertEquals(down.status, 503);
  assertObjectMatch(await down.json(), { error: { code: 'unavailable' } });
  assert(lines.some((line) => line.msg === 'database_unavailable' && line.level === 'warn'));
  assertEquals((await api.request('/projects/unique')).status, 409);
});

Deno.test('anything else is a 500 that says nothing, logged as unhandled_error', async () => {
  const { app: api, lines } = app();
  const response = await api.request('/projects/bug');
  assertEquals(response.status, 500);
  assertEquals(await response.json(), { error: { code: 'internal', message: 'internal error' } });
  assert(lines.some((line) => line.msg === 'unhandled_error' && line.level === 'error'));
});

Deno.test('a path outside the base path is a 404 with an X-Request-Id', async () => {
  const response = await app().app.request('/elsewhere');
  assertEquals(response.status, 404);
  assert(response.headers.get('x-request-id'));
  assertEquals(await response.json(), { error: { code: 'not_found', message: 'no route for GET /elsewhere' } });
});
