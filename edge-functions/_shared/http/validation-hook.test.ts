import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { assertEquals } from '../testing/assert.ts';
import { validationHook } from './validation-hook.ts';

function app() {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  const route = createRoute({
    method: 'get',
    path: '/items/{id}',
    request: { params: z.object({ id: z.uuid() }), query: z.object({ limit: z.coerce.number().int().max(100).optional(), page: z.coerce.number().int().optional() }) },
    responses: { 200: { description: 'The item' } },
  });
  app.openapi(route, (c) => c.json(c.req.valid('param'), 200));
  return app;
}

Deno.test('a failed validation is a 400 naming the first issue, with every issue in details', async () => {
  const response = await app().request(`/items/${crypto.randomUUID()}?limit=500&page=x`);
  assertEquals(response.status, 400);
  const body = await response.json();
  assertEquals(body.error.code, 'invalid_request');
  assertEquals(body.error.message, `invalid request at ${body.error.details.issues[0].path}: ${body.error.details.issues[0].message}`);
  assertEquals(body.error.details.issues.map((issue: { path: string }) => issue.path).sort(), ['limit', 'page']);
});

Deno.test('a passing validation reaches the handler', async () => {
  const id = crypto.randomUUID();
  assertEquals(await (await app().request(`/items/${id}?limit=5`)).json(), { id });
});
