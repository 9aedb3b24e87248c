import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { assertEquals, assertObjectMatch } from '../../testing/assert.ts';
import { createLogger } from '../../../../core/log.ts';
import { renderError } from '../error-handler.ts';
import { jsonBody } from '../schemas.ts';
import { validationHook } from '../validation-hook.ts';
import { checkJsonBody, MAX_BODY_BYTES } from './json-body.ts';

function app() {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.use('*', checkJsonBody());
  app.onError(renderError(createLogger({ service: 'test' }, { write: () => undefined })));
  const route = createRoute({
    method: 'post',
    path: '/echo',
    request: { body: jsonBody(z.object({ name: z.string() }), 'A name') },
    responses: { 200: { description: 'The body' } },
  });
  app.openapi(route, (c) => c.json(c.req.valid('json'), 200));
  app.post('/no-schema', (c) => c.text('ok'));
  return app;
}

const post = (path: string, body: BodyInit | null, contentType: string | null = 'application/json') =>
  app().request(path, { method: 'POST', body, headers: contentType ? { 'content-type': contentType } : {} });

async function expectError(response: Response, status: number, code: string, message?: RegExp) {
  assertEquals(response.status, status);
  const body = await response.json();
  assertObjectMatch(body, { error: { code } });
  if (message && !message.test(body.error.message)) throw new Error(`message ${body.error.message} does not match ${message}`);
}

Deno.test("the route's validator sees the body the check read", async () => {
  const response = await post('/echo', '{"name":"Apollo"}', 'application/json; charset=utf-8');
  assertEquals(response.status, 200);
  assertEquals(await response.json(), { name: 'Apollo' });
});

Deno.test('malformed JSON, invalid UTF-8: 400, on routes with a body schema and without', async () => {
  for (const path of ['/echo', '/no-schema']) {
    await expectError(await post(path, '{"name":'), 400, 'invalid_request', /^malformed JSON: /);
    await expectError(await post(path, new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])), 400, 'invalid_request', /not valid UTF-8/);
  }
});

Deno.test('a body that is not JSON: 415', async () => {
  await expectError(await post('/no-schema', 'name=x', 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type', /x-www-form-urlencoded/);
  await expectError(await post('/no-schema', new TextEncoder().encode('{}'), null), 415, 'unsupported_media_type', /no Content-Type/);
});

Deno.test('over 256 KiB: 413, with or without Content-Length', async () => {
  const big = `{"name":"${'x'.repeat(MAX_BODY_BYTES)}"}`;
  await expectError(await post('/echo', big), 413, 'payload_too_large');
  const stream = new Blob([big]).stream();
  await expectError(await post('/echo', stream), 413, 'payload_too_large');
});

Deno.test('an empty body passes to the route', async () => {
  assertEquals((await post('/no-schema', '')).status, 200);
});
