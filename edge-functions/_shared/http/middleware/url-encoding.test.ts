import { Hono } from 'hono';
import { assertEquals, assertObjectMatch } from '../../testing/assert.ts';
import { createLogger } from '../../../../core/log.ts';
import { renderError } from '../error-handler.ts';
import type { FunctionEnv } from '../env.ts';
import { rejectBrokenEncoding } from './url-encoding.ts';

function app() {
  const app = new Hono<FunctionEnv>();
  app.use('*', rejectBrokenEncoding());
  app.onError(renderError(createLogger({ service: 'test' }, { write: () => undefined })));
  app.get('*', (c) => c.text('ok'));
  return app;
}

Deno.test('broken percent-encoding in the path or the query is 400 invalid_request', async () => {
  for (const path of ['/a%E0%A4%A', '/%', '/a?q=%FF', '/a?%C3=1']) {
    const response = await app().request(path);
    assertEquals(response.status, 400, path);
    assertObjectMatch(await response.json(), { error: { code: 'invalid_request', message: 'the URL is not valid percent-encoding' } });
  }
});

Deno.test('valid encodings pass', async () => {
  for (const path of ['/caf%C3%A9', '/a?q=%E2%82%AC&r=a+b', '/plain']) assertEquals((await app().request(path)).status, 200, path);
});
