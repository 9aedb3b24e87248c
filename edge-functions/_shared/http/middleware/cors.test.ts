import { Hono } from 'hono';
import { assert, assertEquals } from '../../testing/assert.ts';
import { functionCors } from './cors.ts';

function app() {
  const app = new Hono();
  app.use('*', functionCors());
  app.get('/', (c) => c.text('ok'));
  return app;
}

Deno.test("a preflight gets any origin, the contract's request headers and a day's max-age", async () => {
  const response = await app().request('/', {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'idempotency-key' },
  });
  assertEquals(response.status, 204);
  assertEquals(response.headers.get('access-control-allow-origin'), '*');
  const allowed = response.headers.get('access-control-allow-headers') ?? '';
  for (const header of ['authorization', 'x-client-info', 'apikey', 'content-type', 'idempotency-key', 'x-request-id']) assert(allowed.includes(header), header);
  assertEquals(response.headers.get('access-control-allow-methods'), 'GET,POST,PATCH,DELETE,OPTIONS');
  assertEquals(response.headers.get('access-control-max-age'), '86400');
});

Deno.test("a response exposes the contract's headers", async () => {
  const response = await app().request('/', { headers: { origin: 'https://app.example' } });
  assertEquals(response.headers.get('access-control-allow-origin'), '*');
  assertEquals(response.headers.get('access-control-expose-headers'), 'X-Request-Id,X-Cache,Location,Retry-After');
});
