import { Hono } from 'hono';
import { assertEquals } from '../../testing/assert.ts';
import { warmUp } from './warm-up.ts';

Deno.test('starts the warm-up after the response is ready, on every request', async () => {
  const events: string[] = [];
  const app = new Hono();
  app.use('*', warmUp(() => events.push('warm-up')));
  app.get('/', (c) => {
    events.push('handler');
    return c.text('ok');
  });
  await app.request('/');
  await app.request('/');
  assertEquals(events, ['handler', 'warm-up', 'handler', 'warm-up']);
});

Deno.test('starts it after an error response too', async () => {
  let started = 0;
  const app = new Hono();
  app.use('*', warmUp(() => started++));
  app.onError((_error, c) => c.text('failed', 500));
  app.get('/', () => {
    throw new Error('boom');
  });
  assertEquals((await app.request('/')).status, 500);
  assertEquals(started, 1);
});
