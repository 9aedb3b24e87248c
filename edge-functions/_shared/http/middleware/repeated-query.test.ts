import { Hono } from 'hono';
import { assertEquals } from '../../testing/assert.ts';
import { createLogger } from '../../../../core/log.ts';
import { renderError } from '../error-handler.ts';
import type { FunctionEnv } from '../env.ts';
import { rejectRepeatedQuery } from './repeated-query.ts';

function app() {
  const app = new Hono<FunctionEnv>();
  app.use('*', rejectRepeatedQuery());
  app.onError(renderError(createLogger({ service: 'test' }, { write: () => undefined })));
  app.get('/', (c) => c.text('ok'));
  return app;
}

Deno.test('a parameter given twice is 400 naming it', async () => {
  const response = await app().request('/?limit=100&status=queued&limit=5');
  assertEquals(response.status, 400);
  assertEquals(await response.json(), {
    error: { code: 'invalid_request', message: 'the query parameter "limit" is given more than once', details: { parameter: 'limit' } },
  });
});

Deno.test('a long name is cut at 100 characters', async () => {
  const name = 'n'.repeat(150);
  const body = await (await app().request(`/?${name}=1&${name}=2`)).json();
  assertEquals(body.error.details.parameter, `${'n'.repeat(100)}…`);
});

Deno.test('distinct parameters pass', async () => {
  assertEquals((await app().request('/?a=1&b=2')).status, 200);
  assertEquals((await app().request('/')).status, 200);
});
