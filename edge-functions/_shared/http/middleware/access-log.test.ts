import { Hono } from 'hono';
import { assertEquals, assertObjectMatch } from '../../testing/assert.ts';
import { createLogger } from '../../../../core/log.ts';
import type { FunctionEnv } from '../env.ts';
import { accessLog } from './access-log.ts';
import { requestId } from './request-id.ts';

function loggedApp() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ service: 'test' }, { write: (line) => lines.push(JSON.parse(line)) });
  const app = new Hono<FunctionEnv>();
  app.use('*', requestId(), accessLog(log));
  app.get('/items/:id', (c) => {
    c.get('log').info('handled');
    return c.text('ok');
  });
  app.get('/broken', (c) => c.text('down', 503));
  return { app, lines };
}

Deno.test('one line per request, with id, method, route, status and duration', async () => {
  const { app, lines } = loggedApp();
  const response = await app.request('/items/7', { headers: { 'x-request-id': 'log-1' } });
  assertEquals(response.status, 200);
  const handled = lines.find((line) => line.msg === 'handled');
  assertObjectMatch(handled!, { request_id: 'log-1', level: 'info' });
  const request = lines.filter((line) => line.msg === 'request');
  assertEquals(request.length, 1);
  assertObjectMatch(request[0]!, { level: 'info', request_id: 'log-1', user_id: null, method: 'GET', route: '/items/:id', status: 200 });
  assertEquals(typeof request[0]!.duration_ms, 'number');
});

Deno.test('a 5xx answer is logged as a warning; an unknown route as (none)', async () => {
  const { app, lines } = loggedApp();
  await app.request('/broken');
  await app.request('/nowhere');
  const request = lines.filter((line) => line.msg === 'request');
  assertObjectMatch(request[0]!, { level: 'warn', status: 503 });
  assertObjectMatch(request[1]!, { level: 'info', status: 404, route: '(none)' });
});
