import { Hono } from 'hono';
import { assert, assertEquals, assertMatch } from '../../testing/assert.ts';
import { createLogger } from '../../../../core/log.ts';
import { renderError } from '../error-handler.ts';
import type { FunctionEnv } from '../env.ts';
import { ApiError } from '../errors.ts';
import { REQUEST_ID, requestId } from './request-id.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function app() {
  const app = new Hono<FunctionEnv>();
  app.use('*', requestId());
  app.onError(renderError(createLogger({ service: 'test' }, { write: () => undefined })));
  app.get('/', (c) => c.text(c.get('requestId')));
  app.get('/fails', () => {
    throw new ApiError('forbidden', 'no');
  });
  return app;
}

Deno.test("keeps the caller's X-Request-Id, including Hono's refused '.' and ':'", async () => {
  for (const id of ['trace-123', 'svc:web.1=a_b', 'x'.repeat(128)]) {
    const response = await app().request('/', { headers: { 'x-request-id': id } });
    assertEquals(response.headers.get('x-request-id'), id);
    assertEquals(await response.text(), id, 'c.get("requestId") is the same id');
  }
});

Deno.test('replaces a missing or unfit id with a UUID', async () => {
  for (const headers of [{}, { 'x-request-id': 'has space' }, { 'x-request-id': 'x'.repeat(129) }, { 'x-request-id': 'a/b' }] as Record<string, string>[]) {
    const response = await app().request('/', { headers });
    const id = response.headers.get('x-request-id');
    assert(id !== null);
    assertMatch(id, UUID);
    assertEquals(await response.text(), id);
  }
});

Deno.test('an error response carries the id too', async () => {
  const response = await app().request('/fails', { headers: { 'x-request-id': 'err-1' } });
  assertEquals(response.status, 403);
  assertEquals(response.headers.get('x-request-id'), 'err-1');
});

Deno.test('REQUEST_ID is the contract: 1-128 of word characters . : = -', () => {
  assert(REQUEST_ID.test('a.b:c=d-e_f'));
  assert(!REQUEST_ID.test(''));
  assert(!REQUEST_ID.test('a b'));
});
